"""Many sessions in one process, each measured in a fresh process of its own.

``python -m bench.fleet burst CLIENT URL SESSIONS [--gc-threshold N]`` connects
SESSIONS clients at once, each receiving the stream at URL, and prints one JSON
line: events delivered, complete sessions, CPU and wall time, resident memory
before the burst and at its peak, and the garbage collector's share.
``python -m bench.fleet idle URL SESSIONS [--traced | --objects | --census]
[--backend trio]`` connects SESSIONS sessions that stay idle after
``session.created`` and prints the memory they hold, or (``--objects``, each
with the burst's handlers) the objects the garbage collector tracks per
session: the stable figure behind the collector's share of a fleet's CPU;
``--census`` adds them by type. A fresh process per measurement, so that no
memory freed by an earlier run is reused (which made idle sessions look 4x
smaller), and a warm-up session first, so that lazy imports and model building
are not counted.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from typing import Any

import anyio
import websockets
from websockets.asyncio.client import connect as ws_connect

from realtime_events import Session

from .clients import HANDLED_TYPES, MODEL, SESSION_UPDATE
from .measure import rss

CLIENTS = ("session", "raw")


async def _session(url: str, delivered: list[int], index: int) -> None:
    # Keepalive on, as a user gets it and as websockets' client below keeps its own.
    session = Session(model=MODEL, url=url, reconnect=False)

    def count(event: Any) -> None:
        delivered[index] += 1

    for name in HANDLED_TYPES:
        session.on(name, count)
    await session.run()


async def _raw(url: str, delivered: list[int], index: int) -> None:
    # What a user writes without a framework: websockets + json.loads, counting types.
    types: dict[str, int] = {}
    async with ws_connect(url, max_size=None, compression=None) as ws:
        await ws.send(SESSION_UPDATE)
        try:
            while True:
                kind = json.loads(await ws.recv())["type"]  # text frames come as str
                types[kind] = types.get(kind, 0) + 1
        except websockets.ConnectionClosed:
            pass
    delivered[index] += sum(types.values())


def burst(client: str, url: str, sessions: int) -> dict[str, float]:
    """Run ``sessions`` clients at once; return what they received and what it cost."""
    one = _session if client == "session" else _raw
    anyio.run(one, url, [0], 0)  # the warm-up
    delivered = [0] * sessions
    times: list[float] = []

    async def main() -> None:
        times.extend((time.perf_counter(), time.process_time()))
        async with anyio.create_task_group() as tg:
            for index in range(sessions):
                tg.start_soon(one, url, delivered, index)
        times.extend((time.perf_counter(), time.process_time()))

    gc.collect()
    base = rss()
    collector = _Collections()
    gc.callbacks.append(collector)
    try:
        anyio.run(main)
    finally:
        gc.callbacks.remove(collector)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "events": sum(delivered),
        "sessions": sessions,
        "min_events": min(delivered),
        "wall": times[2] - times[0],
        "cpu": times[3] - times[1],
        "base": base,
        "peak": peak,
        "gc_cpu": collector.cpu,
        "full_collections": collector.runs[2],
    }


class _Collections:
    """A ``gc.callbacks`` entry: the CPU the garbage collector took, and its runs per generation.

    At a thousand sessions most of a fleet's objects live as long as their
    session, so the collector walks them again and again while collecting
    nothing (docs/performance.md, round 5): its share is worth reading apart.
    """

    def __init__(self) -> None:
        self.cpu = 0.0
        self.runs = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.cpu += time.process_time() - self._started
            self.runs[info["generation"]] += 1


def _census() -> Counter[str]:
    """The objects the garbage collector tracks, by type (``module:`` for a non-builtin one)."""
    kinds: Counter[str] = Counter()
    for tracked in gc.get_objects():
        kind = type(tracked)
        module = kind.__module__.split(".")[0]
        kinds[kind.__qualname__ if module == "builtins" else f"{module}:{kind.__qualname__}"] += 1
    return kinds


def idle(
    url: str,
    sessions: int,
    traced: bool,
    objects: bool = False,
    census: bool = False,
    backend: str = "asyncio",
) -> dict[str, Any]:
    """Connect ``sessions`` sessions that stay idle; return the memory (or objects) each holds."""
    result: dict[str, Any] = {}
    objects = objects or census

    async def main() -> None:
        async def connected(count: int) -> list[Session]:
            def count_event(event: Any) -> None:
                pass

            ready = anyio.Event()
            opened = [0]
            held: list[Session] = []

            def on_created(event: Any) -> None:
                opened[0] += 1
                if opened[0] == count:
                    ready.set()

            for _ in range(count):
                session = Session(model=MODEL, url=url, reconnect=False)
                session.on("session.created", on_created)
                for name in HANDLED_TYPES if objects else ():
                    session.on(name, count_event)  # what the burst's sessions register
                await session.start()
                held.append(session)
            with anyio.fail_after(120):
                await ready.wait()
            return held

        async def close(held: list[Session]) -> None:
            async with anyio.create_task_group() as tg:
                for session in held:
                    tg.start_soon(session.close)

        await close(await connected(1))  # the warm-up
        gc.collect()
        if objects:
            before = _census() if census else Counter[str]()
            count = len(gc.get_objects())
            held = await connected(sessions)
            gc.collect()
            result["objects"] = (len(gc.get_objects()) - count) / sessions
            if census:
                added = _census() - before
                result["by_type"] = {
                    kind: round(number / sessions, 2)
                    for kind, number in added.most_common()
                    if number >= sessions / 2  # at least one every other session
                }
            await close(held)
            return
        if traced:
            tracemalloc.start()
        rss0, traced0 = rss(), tracemalloc.get_traced_memory()[0]
        held = await connected(sessions)
        gc.collect()
        rss1, traced1 = rss(), tracemalloc.get_traced_memory()[0]
        if traced:
            tracemalloc.stop()
            result["traced"] = (traced1 - traced0) / sessions
        else:
            result["rss"] = (rss1 - rss0) / sessions
        await close(held)

    anyio.run(main, backend=backend)
    return result


def in_fresh_process(*args: object) -> dict[str, float]:
    """Run ``python -m bench.fleet ARGS`` and return the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.fleet", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench.fleet {args} failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure, print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.fleet")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("burst")
    b.add_argument("client", choices=CLIENTS)
    b.add_argument("url")
    b.add_argument("sessions", type=int)
    b.add_argument(
        "--gc-threshold",
        type=int,
        metavar="N",
        help="collect generation 0 every N net new objects instead of 700 (docs/scaling.md)",
    )
    i = sub.add_parser("idle")
    i.add_argument("url")
    i.add_argument("sessions", type=int)
    kind = i.add_mutually_exclusive_group()
    kind.add_argument("--traced", action="store_true")
    kind.add_argument("--objects", action="store_true", help="tracked objects per session")
    kind.add_argument("--census", action="store_true", help="--objects, and by type")
    i.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    args = parser.parse_args(argv)
    if args.command == "burst":
        if args.gc_threshold is not None:
            gc.set_threshold(args.gc_threshold, *gc.get_threshold()[1:])
        print(json.dumps(burst(args.client, args.url, args.sessions)))
    else:
        measured = idle(
            args.url, args.sessions, args.traced, args.objects, args.census, args.backend
        )
        print(json.dumps(measured))
    return 0


if __name__ == "__main__":
    sys.exit(main())
