"""Running clients and reducing what they measured: samples, paired CPU ratios, tables."""

from __future__ import annotations

import gc
import os
import statistics
import time
from dataclasses import dataclass

import anyio

from .clients import Client, Tally

KiB = 1024
MiB = 1024 * 1024


@dataclass
class Sample:
    """One run of one client over one stream."""

    wall: float
    cpu: float
    events: int
    latencies: list[int]
    #: The type of each event in ``latencies``, in the same order.
    kinds: list[str]


def run_client(
    client: Client, url: str, *, stamped: bool = False, backend: str = "asyncio"
) -> Sample:
    """Run ``client`` on a fresh event loop; time it from connect to the server's close.

    CPU is ``time.process_time``: this process only (the server runs in its
    own), every thread of it, and not the time spent waiting for the other core.
    """
    tally = Tally(stamped=stamped)
    times: list[float] = []

    async def timed() -> None:
        times.extend((time.perf_counter(), time.process_time()))
        await client(url, tally)
        times.extend((time.perf_counter(), time.process_time()))

    gc.collect()
    anyio.run(timed, backend=backend)
    return Sample(
        times[2] - times[0], times[3] - times[1], tally.events, tally.latencies, tally.kinds
    )


def paired_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    """``numerator[i] / denominator[i]`` for each repetition, smallest first.

    Each repetition ran both clients back to back, so a ratio within one
    repetition cancels most of what the machine's load did to both.
    """
    return sorted(n / d for n, d in zip(numerator, denominator, strict=True))


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """The median over repetitions of ``numerator[i] / denominator[i]`` (see paired_ratios)."""
    return statistics.median(paired_ratios(numerator, denominator))


def rss() -> int:
    """This process's resident memory now, in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
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


def load() -> str:
    """The machine's load averages and core count, for the record."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"
