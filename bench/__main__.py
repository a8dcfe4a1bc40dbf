"""``python -m bench``: throughput, latency, concurrency and soak of realtime-events.

Run from the repository root. ``--smoke`` runs tiny counts in a few seconds (CI
runs it); ``--profile NAME`` profiles one client with cProfile instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import anyio

from realtime_events import Session

from . import clients
from .clients import Client, Tally
from .server import BenchServer
from .stream import Plan

KiB = 1024
MiB = 1024 * 1024

THROUGHPUT: dict[str, Client] = {
    "raw: websockets recv + json.loads": clients.raw_json,
    "ref: websockets recv + pydantic validate_json": clients.raw_validate,
    "openai SDK: async for": clients.sdk_iter,
    "openai SDK: dispatch_events + on()": clients.sdk_dispatch,
    "realtime-events: sync handler per type": clients.session_sync,
    "realtime-events: async handler per type": clients.session_async,
    "realtime-events: '*' handler only": clients.session_star,
    "realtime-events: + transcript plugin": clients.session_transcript,
}
FRAMES: dict[str, Client] = {
    "websockets asyncio client: frames, no parsing": clients.ws_frames,
    "realtime-events connection: frames, no parsing": clients.our_frames,
}
BETA: dict[str, Client] = {
    "raw: websockets recv + json.loads": clients.raw_json,
    "openai SDK: async for": clients.sdk_iter,
    "realtime-events: sync handler per type": clients.session_sync,
}
LATENCY: dict[str, Client] = {
    "raw: websockets recv + json.loads": clients.raw_json,
    "openai SDK: async for": clients.sdk_iter,
    "realtime-events: sync handler per type": clients.session_sync,
}
RAW = "raw: websockets recv + json.loads"
SDK = "openai SDK: async for"


@dataclass
class Sample:
    """One run of one client over one stream."""

    wall: float
    cpu: float
    events: int
    latencies: list[int]


def run_client(
    client: Client, url: str, *, stamped: bool = False, backend: str = "asyncio"
) -> Sample:
    """Run ``client`` on a fresh event loop; time it from connect to the server's close."""
    tally = Tally(stamped=stamped)
    times: list[float] = []

    async def timed() -> None:
        times.extend((time.perf_counter(), time.process_time()))
        await client(url, tally)
        times.extend((time.perf_counter(), time.process_time()))

    gc.collect()
    anyio.run(timed, backend=backend)
    return Sample(times[2] - times[0], times[3] - times[1], tally.events, tally.latencies)


def rss() -> int:
    """This process's resident memory now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        " | ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        ),
        "-|-".join("-" * w for w in widths),
    ]
    for row in rows:
        cells = (
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def throughput(
    server: BenchServer,
    contenders: dict[str, Client],
    plan: Plan,
    reps: int,
    *,
    baseline: str,
    extra: dict[str, str] | None = None,
    backends: dict[str, str] | None = None,
) -> dict[str, float]:
    """Measure each contender ``reps`` times, interleaved; print medians and ratios."""
    url = server.url("stream", plan.dialect, plan.turns, plan.audio_deltas)
    expected, size = plan.events(), plan.payload_bytes()
    samples: dict[str, list[Sample]] = {name: [] for name in contenders}
    for _ in range(reps):
        for name, client in contenders.items():
            backend = (backends or {}).get(name, "asyncio")
            sample = run_client(client, url, backend=backend)
            if sample.events != expected:
                raise SystemExit(f"{name}: got {sample.events} events, expected {expected}")
            samples[name].append(sample)
    rates = {
        name: statistics.median(expected / s.wall for s in runs) for name, runs in samples.items()
    }
    other = next(iter(extra.values())) if extra else baseline
    rows = []
    for name, runs in samples.items():
        wall = statistics.median(s.wall for s in runs)
        cpu = statistics.median(s.cpu for s in runs)
        rows.append(
            [
                name,
                f"{rates[name]:,.0f}",
                f"{size / wall / MiB:,.1f}",
                f"{cpu / expected * 100_000:.2f}",
                f"{rates[name] / rates[baseline]:.2f}x",
                *((f"{rates[name] / rates[other]:.2f}x",) if extra else ()),
            ]
        )
    headers = ["client", "events/s", "MB/s", "CPU s/100k ev", f"x {baseline.split(':')[0]}"]
    if extra:
        headers.append(f"x {next(iter(extra))}")
    print(_table(headers, rows))
    return rates


def latency(
    server: BenchServer, events: int, rate: float, reps: int
) -> dict[str, tuple[float, float]]:
    """Receive-to-handler latency at a fixed send rate, stamped by the server."""
    url = server.url("paced", "ga", events, rate)
    results: dict[str, list[int]] = {name: [] for name in LATENCY}
    for _ in range(reps):
        for name, client in LATENCY.items():
            sample = run_client(client, url, stamped=True)
            results[name].extend(sample.latencies)
    rows, summary = [], {}
    for name, lat in results.items():
        lat.sort()
        p50, p99 = lat[len(lat) // 2] / 1e6, lat[int(len(lat) * 0.99)] / 1e6
        summary[name] = (p50, p99)
        rows.append([name, f"{len(lat):,}", f"{p50:.3f}", f"{p99:.3f}", f"{lat[-1] / 1e6:.3f}"])
    print(_table(["client", "events", "p50 ms", "p99 ms", "max ms"], rows))
    return summary


async def _peak_sampler(peak: list[int], stop: anyio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss())
        with anyio.move_on_after(0.02):
            await stop.wait()


def concurrency(server: BenchServer, sessions: int, audio_deltas: int) -> dict[str, float]:
    """N sessions in one process, each receiving one turn; then N idle sessions' memory."""
    plan = Plan("ga", 1, audio_deltas)
    url = server.url("stream", "ga", 1, audio_deltas)
    expected = plan.events()
    delivered = [0] * sessions

    async def one(index: int) -> None:
        session = Session(model=clients.MODEL, url=url, reconnect=False, ping_interval=None)

        def count(event: Any) -> None:
            delivered[index] += 1

        for name in clients.HANDLED_TYPES:
            session.on(name, count)
        await session.run()

    peak = [rss()]
    times: list[float] = []

    async def burst() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as outer:
            outer.start_soon(_peak_sampler, peak, stop)
            times.extend((time.perf_counter(), time.process_time()))
            async with anyio.create_task_group() as tg:
                for i in range(sessions):
                    tg.start_soon(one, i)
            times.extend((time.perf_counter(), time.process_time()))
            stop.set()

    gc.collect()
    base = rss()
    anyio.run(burst)
    wall, cpu = times[2] - times[0], times[3] - times[1]
    complete = sum(1 for n in delivered if n == expected)
    total = sum(delivered)

    idle = _idle_memory(server, sessions)
    print(
        _table(
            [
                "sessions",
                "events",
                "every event delivered",
                "aggregate events/s",
                "CPU s/100k ev",
                "peak RSS MiB (+ over start)",
                "idle KiB/session (traced)",
                "idle KiB/session (RSS)",
            ],
            [
                [
                    f"{sessions:,}",
                    f"{total:,} / {expected * sessions:,}",
                    "yes" if complete == sessions else f"NO ({complete} complete)",
                    f"{total / wall:,.0f}",
                    f"{cpu / max(total, 1) * 100_000:.2f}",
                    f"{peak[0] / MiB:,.1f} (+{(peak[0] - base) / MiB:,.1f})",
                    f"{idle['traced'] / KiB:,.1f}",
                    f"{idle['rss'] / KiB:,.1f}",
                ]
            ],
        )
    )
    return {"complete": float(complete == sessions), "rate": total / wall, **idle}


def _idle_memory(server: BenchServer, sessions: int) -> dict[str, float]:
    """Memory per connected, idle session: N sessions open, measured, then closed."""
    url = server.url("idle", "ga")
    result: dict[str, float] = {}

    async def main() -> None:
        connected = anyio.Event()
        opened = [0]
        held: list[Session] = []

        def on_created(event: Any) -> None:
            opened[0] += 1
            if opened[0] == sessions:
                connected.set()

        gc.collect()
        tracemalloc.start()
        rss0, traced0 = rss(), tracemalloc.get_traced_memory()[0]
        for _ in range(sessions):
            session = Session(model=clients.MODEL, url=url, reconnect=False)
            session.on("session.created", on_created)
            await session.start()
            held.append(session)
        with anyio.fail_after(60):
            await connected.wait()
        gc.collect()
        rss1, traced1 = rss(), tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        result["traced"] = (traced1 - traced0) / sessions
        result["rss"] = (rss1 - rss0) / sessions
        async with anyio.create_task_group() as tg:
            for session in held:
                tg.start_soon(session.close)

    anyio.run(main)
    return result


def soak(
    server: BenchServer,
    turns: int,
    audio_deltas: int,
    points: int = 10,
    history_limit: int | None = None,
) -> list[tuple[int, float, float]]:
    """One session over a time-compressed long call: memory sampled as it goes."""
    url = server.url("stream", "ga", turns, audio_deltas)
    series: list[tuple[int, float, float]] = []
    every = max(1, turns // points)

    async def main() -> None:
        session = Session(
            model=clients.MODEL,
            url=url,
            reconnect=False,
            ping_interval=None,
            history_limit=history_limit,
        )
        seen = [0, 0]

        def count(event: Any) -> None:
            seen[0] += 1

        def on_done(event: Any) -> None:
            seen[1] += 1
            if seen[1] % every == 0 or seen[1] == 1:
                series.append((seen[1], rss() / MiB, tracemalloc.get_traced_memory()[0] / MiB))

        for name in clients.HANDLED_TYPES:
            session.on(name, count)
        session.on("response.done", on_done)
        await session.run()
        if seen[0] != Plan("ga", turns, audio_deltas).events():
            raise SystemExit(f"soak: got {seen[0]} events")

    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    anyio.run(main)
    tracemalloc.stop()
    wall = time.perf_counter() - started
    minutes = turns * audio_deltas / 600
    deltas = turns * audio_deltas
    bound = f"history_limit={history_limit}" if history_limit else "the whole conversation kept"
    print(
        f"{deltas:,} audio deltas = {minutes:.0f} min of audio in {wall:.1f} s "
        f"(tracemalloc on; {bound})"
    )
    print(_table(
        ["turns done", "audio min", "RSS MiB", "traced MiB"],
        [[f"{t}", f"{t * audio_deltas / 600:.1f}", f"{r:.1f}", f"{m:.2f}"] for t, r, m in series],
    ))  # fmt: skip
    return series


def profile(server: BenchServer, name: str, plan: Plan) -> None:
    """cProfile one client over a stream and print the top functions by own time."""
    contenders = {**THROUGHPUT, **FRAMES}
    client = contenders[name]
    url = server.url("stream", plan.dialect, plan.turns, plan.audio_deltas)
    profiler = cProfile.Profile()

    async def main() -> None:
        await client(url, Tally())

    profiler.enable()
    anyio.run(main)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the sections, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, a few seconds (CI)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per measurement")
    parser.add_argument("--turns", type=int, default=100, help="turns per throughput stream")
    parser.add_argument(
        "--audio-deltas", type=int, default=100, help="100 ms audio deltas per turn"
    )
    parser.add_argument("--sessions", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--soak-deltas", type=int, default=36_000, help="audio deltas in the soak")
    parser.add_argument("--latency-events", type=int, default=5000)
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["throughput", "beta", "frames", "latency", "concurrency", "soak"],
        help="run only these sections",
    )
    parser.add_argument("--profile", metavar="CLIENT", help="profile one client (a row name)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.reps, args.turns, args.audio_deltas = 1, 4, 20
        args.sessions, args.soak_deltas, args.latency_events = [10], 400, 200
    sections = set(args.only or ["throughput", "beta", "frames", "latency", "concurrency", "soak"])
    plan = Plan("ga", args.turns, args.audio_deltas)

    with BenchServer() as server:
        if args.profile:
            profile(server, args.profile, plan)
            return 0
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of {args.reps} "
            f"runs; stream: session.created + {plan.turns} turns of {plan.audio_deltas} audio "
            f"deltas (base64 of 4,800 B) with transcript deltas = {plan.events():,} events, "
            f"{plan.payload_bytes() / MiB:.1f} MB"
        )
        if "throughput" in sections:
            print("\n## Throughput, GA stream (typed dispatch vs raw vs the official SDK)")
            throughput(server, THROUGHPUT, plan, args.reps, baseline=RAW, extra={"SDK": SDK})
            print("\n## Same, realtime-events on trio")
            throughput(
                server,
                {
                    RAW: clients.raw_json,
                    "realtime-events on trio: sync handler per type": clients.session_sync,
                },
                plan,
                args.reps,
                baseline=RAW,
                backends={"realtime-events on trio: sync handler per type": "trio"},
            )
        if "beta" in sections:
            print("\n## Throughput, beta stream")
            throughput(
                server, BETA, Plan("beta", plan.turns, plan.audio_deltas), args.reps, baseline=RAW
            )
        if "frames" in sections:
            print("\n## Frames only, no parsing: our connection vs websockets' asyncio client")
            throughput(
                server, {RAW: clients.raw_json, **FRAMES}, plan, args.reps,
                baseline="websockets asyncio client: frames, no parsing",
            )  # fmt: skip
        if "latency" in sections:
            events = args.latency_events
            print(f"\n## Receive-to-handler latency at 1,000 events/s ({events:,} events per run)")
            latency(server, args.latency_events, 1000.0, max(1, args.reps // 2))
        if "concurrency" in sections:
            for n in args.sessions:
                deltas = max(1, args.audio_deltas // 5)
                print(f"\n## {n:,} concurrent sessions, one turn of {deltas} audio deltas each")
                concurrency(server, n, deltas)
        if "soak" in sections:
            print("\n## Soak: a one-hour call, time compressed")
            soak(server, max(1, args.soak_deltas // 100), 100)
            print("\n## Soak again, the conversation mirror bounded")
            soak(server, max(1, args.soak_deltas // 100), 100, history_limit=50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
