"""Instructions per event of each client, counted: the figure the machine's load does not move.

``python -m bench.instructions [--mix small audio] [--clients NAME ...]`` runs
each client over two lengths of the same stream under valgrind's callgrind (a
CPU simulator that counts the instructions a process executes), and prints
the instructions per event: the difference between the two counts over the
difference between their events, so that starting Python, importing, the
warm-up run and connecting cancel out. It is deterministic: a repeated count
agrees to within a few hundredths of a percent, where CPU time on a shared
machine moved by 10-50 % between runs of the same code (docs/performance.md,
round 8).

An instruction is not a unit of time: code that misses the CPU's caches or
mispredicts its branches takes longer per instruction, so a client can execute
fewer instructions than another and still take more CPU. Read both: this
table for what a change adds or removes, ``python -m bench`` for what it
costs. valgrind must be installed (Debian: ``apt-get install valgrind``);
each client takes a minute or two under it, run as many at once as there are
cores.

``--fleet`` counts a burst of short sessions instead (``python -m bench.fleet
burst``, raw websockets and the Session): 50 and then 150 at once by default
(``--sessions A B``; under the simulator, many more miss their handshake
timeout), each receiving the fleet's stream of 51 events, and prints the
instructions per session, the collector's included (docs/performance.md,
round 9).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import get_args

import anyio

from . import clients
from .clients import Client, Tally
from .measure import table
from .server import BenchServer
from .stream import Mix, Plan

#: The clients by short name: the floors, the Session, and what a user writes.
CLIENTS: dict[str, Client] = {
    "frames": clients.our_frames,
    "validate": clients.our_validate,
    "json": clients.our_json,
    "session": clients.session_sync,
    "websockets": clients.raw_json,
    "aiohttp": clients.aiohttp_json,
}
#: What each short name stands for, as ``python -m bench`` names its rows.
LABELS = {
    "frames": "floor: our connection, frames only",
    "validate": "floor: our connection + pydantic validate_json",
    "json": "floor: our connection + json.loads (the fair raw floor)",
    "session": "realtime-events Session: sync handler per type (core on)",
    "websockets": "user: websockets + json.loads",
    "aiohttp": "user: aiohttp + json.loads",
}
_COLLECTED = re.compile(rb"Collected : (\d+)")
_EVENTS = re.compile(rb"events (\d+)")


def child(name: str, warm_url: str, url: str) -> None:
    """Run one client as the bench does a measured run: warm, then collected, then counted.

    ``run_client`` collects garbage before each run; so does this, or the
    imports of the warm-up would leave a full collection due in the counted run
    (about 5,000 instructions per event of a short stream, on no client's path).
    """
    client = CLIENTS[name]
    anyio.run(client, warm_url, Tally())
    gc.collect()
    tally = Tally()
    anyio.run(client, url, tally)
    print(f"events {tally.events}")


def _counted(what: str, *module_args: str) -> tuple[int, bytes]:
    """Run ``python -m MODULE_ARGS`` under callgrind: its instructions and what it printed."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            *module_args,
        ],
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts in every run
        timeout=1800,
        check=False,
    )
    instructions = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or instructions is None:
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{what} under valgrind failed (exit {done.returncode}):\n{tail}")
    return int(instructions.group(1)), done.stdout


def count(name: str, warm_url: str, url: str) -> tuple[int, int]:
    """Instructions executed by one child process, and the events its client received."""
    instructions, out = _counted(name, "bench.instructions", "--child", name, warm_url, url)
    events = _EVENTS.search(out)
    if events is None:
        raise SystemExit(f"{name} under valgrind printed no event count: {out[-500:]!r}")
    return instructions, int(events.group(1))


def count_burst(client: str, url: str, sessions: int) -> tuple[int, int]:
    """Instructions of a fresh process running ``sessions`` clients at once, and the sessions.

    Refused unless every session received the whole stream: one that timed out
    under the simulator would count less than a session's work.
    """
    what = f"a burst of {sessions} {client} clients"
    instructions, out = _counted(what, "bench.fleet", "burst", client, url, str(sessions))
    burst = json.loads(out.splitlines()[-1])
    if burst["min_events"] * sessions != burst["events"] or not burst["min_events"]:
        raise SystemExit(f"{what}: not every session received the whole stream; fewer sessions")
    return instructions, sessions


def per_event(first: tuple[int, int], second: tuple[int, int]) -> float:
    """Instructions per event between two runs of one client over streams of two lengths."""
    (short_ir, short_events), (long_ir, long_events) = first, second
    if long_events <= short_events:
        raise ValueError("the second stream must carry more events than the first")
    return (long_ir - short_ir) / (long_events - short_events)


def measure(
    names: list[str],
    mixes: list[Mix],
    turns: tuple[int, int],
    jobs: int,
    counter: Callable[[str, str, str], tuple[int, int]] = count,
) -> dict[Mix, dict[str, float]]:
    """Instructions per event of each client on each mix."""
    results: dict[Mix, dict[str, float]] = {}
    with BenchServer() as server, ThreadPoolExecutor(jobs) as pool:
        runs = {}
        for mix in mixes:
            warm = server.url(*Plan("ga", 1, 100, mix).segments())
            short, long = (server.url(*Plan("ga", n, 100, mix).segments()) for n in turns)
            for name in names:
                runs[mix, name] = (
                    pool.submit(counter, name, warm, short),
                    pool.submit(counter, name, warm, long),
                )
        for (mix, name), (first, second) in runs.items():
            results.setdefault(mix, {})[name] = per_event(first.result(), second.result())
    return results


def report(results: dict[Mix, dict[str, float]]) -> str:
    """The tables: instructions per event, and each over the Session's where it ran."""
    out = []
    for mix, counted in results.items():
        session = counted.get("session")
        rows = [
            [
                LABELS[name],
                f"{value:,.0f}",
                f"{value / session:.2f}x" if session else "-",
            ]
            for name, value in counted.items()
        ]
        out.append(f"## Instructions per event, {mix} mix (GA)")
        out.append(table(["client", "instructions / event", "over the Session's"], rows))
    return "\n".join(out)


#: The clients of a burst (``python -m bench.fleet``), as ``python -m bench`` names them.
FLEET_LABELS = {"raw": "user: websockets + json.loads", "session": "realtime-events Session"}


def measure_fleet(
    sizes: tuple[int, int],
    jobs: int,
    counter: Callable[[str, str, int], tuple[int, int]] = count_burst,
) -> dict[str, float]:
    """Instructions per session of each client, over bursts of ``sizes`` sessions at once."""
    with BenchServer() as server, ThreadPoolExecutor(jobs) as pool:
        url = server.url(*Plan("ga", 1, 20).segments())  # the fleet's stream in python -m bench
        runs = {name: [pool.submit(counter, name, url, n) for n in sizes] for name in FLEET_LABELS}
        return {name: per_event(*(run.result() for run in pair)) for name, pair in runs.items()}


def report_fleet(counted: dict[str, float], sizes: tuple[int, int]) -> str:
    """The table: instructions per session, and each over the Session's."""
    session = counted["session"]
    rows = [
        [FLEET_LABELS[name], f"{value:,.0f}", f"{value / session:.2f}x"]
        for name, value in counted.items()
    ]
    heading = f"## Instructions per session, bursts of {sizes[0]} and {sizes[1]} short sessions"
    return heading + "\n" + table(["client", "instructions / session", "over the Session's"], rows)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line; count, or (``--child``) run one client."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--mix", nargs="+", choices=get_args(Mix), default=["small", "audio"])
    parser.add_argument("--clients", nargs="+", choices=list(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--turns", nargs=2, type=int, default=(10, 40), metavar=("A", "B"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child", nargs=3, metavar=("CLIENT", "WARM_URL", "URL"))
    parser.add_argument("--fleet", action="store_true", help="count bursts of short sessions")
    parser.add_argument("--sessions", nargs=2, type=int, default=(50, 150), metavar=("A", "B"))
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    sizes: tuple[int, int] = tuple(args.sessions if args.fleet else args.turns)
    if not 0 < sizes[0] < sizes[1]:
        parser.error(f"{'--sessions' if args.fleet else '--turns'} A B needs 0 < A < B")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    if args.fleet:
        print(report_fleet(measure_fleet(sizes, args.jobs), sizes))
    else:
        print(report(measure(args.clients, args.mix, sizes, args.jobs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
