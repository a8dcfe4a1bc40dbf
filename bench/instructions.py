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
"""

from __future__ import annotations

import argparse
import gc
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


def count(name: str, warm_url: str, url: str) -> tuple[int, int]:
    """Instructions executed by one child process, and the events its client received."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            name,
            warm_url,
            url,
        ],
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts in every run
        timeout=1800,
        check=False,
    )
    instructions, events = _COLLECTED.search(done.stderr), _EVENTS.search(done.stdout)
    if done.returncode != 0 or instructions is None or events is None:
        tail = done.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(f"{name} under valgrind failed (exit {done.returncode}):\n{tail}")
    return int(instructions.group(1)), int(events.group(1))


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


def main(argv: list[str] | None = None) -> int:
    """Parse the command line; count, or (``--child``) run one client."""
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--mix", nargs="+", choices=get_args(Mix), default=["small", "audio"])
    parser.add_argument("--clients", nargs="+", choices=list(CLIENTS), default=list(CLIENTS))
    parser.add_argument("--turns", nargs=2, type=int, default=(10, 40), metavar=("A", "B"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child", nargs=3, metavar=("CLIENT", "WARM_URL", "URL"))
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    first, second = args.turns
    if not 0 < first < second:
        parser.error("--turns A B needs 0 < A < B")
    print(report(measure(args.clients, args.mix, (first, second), args.jobs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
