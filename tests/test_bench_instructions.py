"""bench.instructions: the per-event arithmetic, the child run over real sockets, and its refusals.

The count itself needs valgrind, which CI does not install; what runs under it
is tested here as it runs there, without it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.instructions import LABELS, per_event, report
from bench.server import BenchServer
from bench.stream import Plan


def test_per_event_is_the_difference_over_the_events_between() -> None:
    # Startup, imports and the warm-up are in both counts and cancel out.
    assert per_event((5_000_000, 101), (20_000_000, 401)) == 50_000.0


def test_per_event_refuses_a_second_stream_no_longer_than_the_first() -> None:
    with pytest.raises(ValueError, match="more events"):
        per_event((5_000_000, 401), (20_000_000, 401))


def test_report_gives_each_client_over_the_session() -> None:
    text = report({"small": {"session": 30_000.0, "aiohttp": 36_000.0}})
    assert "## Instructions per event, small mix (GA)" in text
    aiohttp_row = next(line for line in text.splitlines() if LABELS["aiohttp"] in line)
    assert "36,000" in aiohttp_row
    assert "1.20x" in aiohttp_row


@pytest.mark.parametrize("client", ["session", "json"])
def test_the_child_runs_a_client_over_the_whole_stream(client: str) -> None:
    # What valgrind runs: a warm-up, then the counted run, over real loopback sockets.
    plan = Plan("ga", 2, 5, "small")
    with BenchServer() as server:
        warm = server.url(*Plan("ga", 1, 5, "small").segments())
        url = server.url(*plan.segments())
        done = subprocess.run(
            [sys.executable, "-m", "bench.instructions", "--child", client, warm, url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["events", str(plan.events())]


def test_without_valgrind_it_says_so_and_exits_2() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--mix", "small"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": ""},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "valgrind is not installed" in done.stderr
    assert "Traceback" not in done.stderr
