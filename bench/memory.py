"""Memory of one session over time: the soak (a long call) and backpressure (a slow handler)."""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import anyio

from realtime_events import Session

from .clients import HANDLED_TYPES, MODEL
from .measure import MiB, rss, table
from .server import BenchServer
from .stream import Plan


def soak(
    server: BenchServer,
    turns: int,
    audio_deltas: int,
    points: int = 10,
    history_limit: int | None = None,
) -> list[tuple[int, float, float]]:
    """One session over a time-compressed long call: memory sampled as it goes."""
    plan = Plan("ga", turns, audio_deltas)
    url = server.url(*plan.segments())
    series: list[tuple[int, float, float]] = []
    every = max(1, turns // points)

    async def main() -> None:
        session = Session(
            model=MODEL,
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

        for name in HANDLED_TYPES:
            session.on(name, count)
        session.on("response.done", on_done)
        await session.run()
        if seen[0] != plan.events():
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
    print(table(
        ["turns done", "audio min", "RSS MiB", "traced MiB"],
        [[f"{t}", f"{t * audio_deltas / 600:.1f}", f"{r:.1f}", f"{m:.2f}"] for t, r, m in series],
    ))  # fmt: skip
    return series


def backpressure(
    server: BenchServer, turns: int, budget: int, delay: float = 0.0005
) -> dict[str, float]:
    """A handler slower than the stream: memory must stay flat, bounded by the byte budget.

    The session (``max_pending_bytes=budget``, ``history_limit=4``) receives
    ``turns`` audio turns as fast as TCP takes them while an async handler
    sleeps ``delay`` per audio delta. Traced memory and the session's
    ``pending_bytes`` are sampled every 50 deltas.
    """
    plan = Plan("ga", turns, 100)
    url = server.url(*plan.segments())
    samples: list[tuple[float, int]] = []

    async def main() -> None:
        session = Session(
            model=MODEL,
            url=url,
            reconnect=False,
            ping_interval=None,
            max_pending_bytes=budget,
            history_limit=4,
        )
        seen = [0]

        async def slow(event: Any) -> None:
            seen[0] += 1
            if seen[0] % 50 == 0:
                samples.append((tracemalloc.get_traced_memory()[0], session.pending_bytes))
            await anyio.sleep(delay)

        session.on("response.output_audio.delta", slow)
        await session.run()

    gc.collect()
    tracemalloc.start()
    anyio.run(main)
    tracemalloc.stop()
    start = samples[0][0]
    half = len(samples) // 2
    first = max(m for m, _ in samples[:half]) - start
    second = max(m for m, _ in samples[half:]) - start
    pending = max(p for _, p in samples)
    points = [samples[int(i * (len(samples) - 1) / 5)] for i in range(6)]
    print(
        f"{turns * 100:,} audio deltas ({plan.payload_bytes() / MiB:.0f} MB), a handler sleeping "
        f"{delay * 1000:g} ms per delta, max_pending_bytes={budget / MiB:g} MiB"
    )
    print(table(
        ["point of the stream", *[f"{i * 20}%" for i in range(6)]],
        [
            ["traced MiB over the start", *[f"{(m - start) / MiB:.2f}" for m, _ in points]],
            ["pending_bytes MiB", *[f"{p / MiB:.2f}" for _, p in points]],
        ],
    ))  # fmt: skip
    return {"first": first, "second": second, "pending": pending, "budget": budget}
