"""The issue's targets, each with its measured value and whether it holds."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .measure import table


@dataclass
class Target:
    """One target: what it asks, the measured figure, and whether it holds."""

    goal: str
    measured: str = "not run"
    holds: bool | None = None
    #: The repetitions fell on both sides of the goal: the median's verdict is a coin's.
    edge: bool = False


@dataclass
class Targets:
    """Every target of the run, in the issue's order; sections fill in what they measured."""

    items: dict[str, Target] = field(default_factory=dict)

    def want(self, key: str, goal: str) -> None:
        """Declare a target before anything is measured."""
        self.items[key] = Target(goal)

    def record(self, key: str, measured: str, holds: bool) -> None:
        """Fill in a target's measured figure and verdict."""
        self.items[key].measured = measured
        self.items[key].holds = holds

    def record_ratios(
        self,
        key: str,
        ratios: list[float],
        *,
        at_least: float | None = None,
        at_most: float | None = None,
        note: str = "",
    ) -> None:
        """Fill in a ratio target from its paired repetitions: the median, and their range.

        The verdict is the median's; when the repetitions fall on both sides of
        the bound it is marked at the edge, since another run may well turn it.
        """
        median, low, high = statistics.median(ratios), min(ratios), max(ratios)
        if at_least is not None:
            holds, edge = median >= at_least, low < at_least <= high
        else:
            assert at_most is not None
            holds, edge = median <= at_most, low <= at_most < high
        self.record(key, f"{median:.2f}x ({low:.2f}-{high:.2f}){note}", holds)
        self.items[key].edge = edge

    def print(self) -> None:
        """Print the targets table: HOLDS, MISSES (either at the edge), or not run."""
        rows = [
            [
                t.goal,
                t.measured,
                "not run"
                if t.holds is None
                else ("HOLDS" if t.holds else "MISSES") + (", at the edge" if t.edge else ""),
            ]
            for t in self.items.values()
        ]
        print(table(["target", "measured", "verdict"], rows))


def declare(targets: Targets) -> None:
    """The targets of issue 16, as keys the sections record into."""
    want = targets.want
    want("floor", "one Session, core on: CPU/event <= fair raw floor (our conn + json.loads)")
    want("websockets", "one Session: >= 1.5x websockets + json.loads (CPU)")
    want("aiohttp audio", "ahead of aiohttp + json.loads, audio mix (CPU)")
    want("aiohttp small", "ahead of aiohttp + json.loads, small-event mix (CPU)")
    want("websockets small", "ahead of websockets + json.loads, small-event mix (CPU)")
    want("sdk audio", "ahead of the openai SDK async for, audio mix (CPU)")
    want("sdk small", "ahead of the openai SDK async for, small-event mix (CPU)")
    want("fleet cpu", "1,000 concurrent sessions: CPU/event <= 1.5x raw websockets")
    want("fleet 2000", "2,000 concurrent sessions: every event delivered")
    want("fleet rss", "peak RSS per active streaming session <= 2x raw websockets")
    want("idle", "idle connected session < 64 KiB (fresh process, tracemalloc)")
    want("backpressure", "slow handler: memory flat, bounded by the byte budget")
    want("latency", "p99 send-to-handler < 0.5 ms at 1k events/s (p99.9 reported)")
    want("telephony", "8k <-> 24k resampling <= 0.2 % of a core per call direction")
