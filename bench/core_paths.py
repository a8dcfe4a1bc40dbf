"""The core's per-event path without the socket: parse and dispatch one turn, paired.

``python -m bench.core_paths`` times, per event, what a Session does with one
turn's frames once they are read: the frame parser, then the dispatcher with
the core's handlers and one user handler per type, for the audio and the small
mix. ``--against DIR`` pairs it with another checkout of the library (say
``git archive`` of the commit before a change, unpacked in DIR): each
repetition runs both in fresh processes, back to back, and the figure is the
median of the per-repetition ratios of their CPU per event. That is how round
4 measured each lever alone (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import anyio

from realtime_events import Session
from realtime_events.dispatch import current_dispatcher
from realtime_events.frames import FrameParser

from .clients import HANDLED_TYPES, MODEL
from .stream import Mix, mix_turn


def _session() -> tuple[Session, FrameParser]:
    session = Session(model=MODEL, url="ws://127.0.0.1:9/", reconnect=False)
    for name in HANDLED_TYPES:
        session.on(name, lambda event: None)
    return session, FrameParser(session)


def cpu_per_event(mix: Mix, turns: int) -> float:
    """CPU seconds per event to parse and dispatch ``turns`` turns of ``mix``, warm."""
    frames = [f.payload for f in mix_turn(mix, "ga", 100)]
    session, parse = _session()
    dispatcher = session._dispatcher

    async def run(turns: int) -> float:
        current_dispatcher.set(dispatcher)  # as the run's dispatch loop does
        started = time.process_time()
        for n in range(turns):
            # Fresh ids per turn, as the bench server sends them.
            token = b"t_%04d" % n
            parsed = (parse(f.replace(b"t_0000", token), True) for f in frames)
            batch = [event for event in parsed if event is not None]
            await dispatcher.dispatch_many(batch, release=True)
        return time.process_time() - started

    async def main() -> float:
        await run(2)  # warm: lazily built models, routes
        return await run(turns)

    cpu: float = anyio.run(main)
    return cpu / (turns * len(frames))


def _in_process(mix: Mix, turns: int, library: str | None) -> float:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*([library] if library else []), os.getcwd()])
    # -P: the working directory is not put first on the path, where this checkout's
    # package would shadow ``library``'s (and both runs would measure this one).
    command = [sys.executable, "-P", "-m", "bench.core_paths", "--one", mix, "--turns", str(turns)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def paired(mix: Mix, against: str, reps: int, turns: int) -> tuple[float, float, float]:
    """This checkout's and ``against``'s CPU per event (medians), and their paired ratio."""
    now, then = [], []
    for _ in range(reps):
        now.append(_in_process(mix, turns, None))
        then.append(_in_process(mix, turns, against))
    ratio = statistics.median(n / t for n, t in zip(now, then, strict=True))
    return statistics.median(now), statistics.median(then), ratio


def main(argv: list[str] | None = None) -> None:
    """Print the CPU per event of the parse-and-dispatch path, alone or paired."""
    parser = argparse.ArgumentParser(prog="python -m bench.core_paths", description=__doc__)
    parser.add_argument("--against", metavar="DIR", help="another checkout to pair with")
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--one", choices=("audio", "small"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(cpu_per_event(args.one, args.turns))
        return
    for mix in ("audio", "small"):
        if args.against:
            now, then, ratio = paired(mix, args.against, args.reps, args.turns)
            print(f"{mix}: {now * 1e6:.2f} us CPU per event, against {then * 1e6:.2f} us: "
                  f"{ratio:.3f}x, paired over {args.reps}")  # fmt: skip
        else:
            runs = [cpu_per_event(mix, args.turns) for _ in range(args.reps)]
            print(f"{mix}: {statistics.median(runs) * 1e6:.2f} us CPU per event")


if __name__ == "__main__":
    main()
