"""bench.instructions: the per-event arithmetic, the child run over real sockets, and its refusals.

The count itself needs valgrind, which CI does not install; what runs under it
is tested here as it runs there, without it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.instructions import FLEET_LABELS, LABELS, measure_fleet, per_event, report, report_fleet
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


def test_fleet_counts_each_client_per_session_over_two_bursts() -> None:
    # A stand-in for the count: a fixed cost per process, a client's cost per session.
    per_session = {"raw": 7_900_000, "session": 7_250_000}

    def counter(client: str, url: str, sessions: int) -> tuple[int, int]:
        assert url.startswith("ws://127.0.0.1:")
        return 900_000_000 + per_session[client] * sessions, sessions

    counted = measure_fleet((50, 150), jobs=2, counter=counter)
    assert counted == {"raw": 7_900_000.0, "session": 7_250_000.0}
    text = report_fleet(counted, (50, 150))
    assert "bursts of 50 and 150 short sessions" in text
    raw_row = next(line for line in text.splitlines() if FLEET_LABELS["raw"] in line)
    assert "7,900,000" in raw_row
    assert "1.09x" in raw_row


def test_fleet_refuses_sessions_in_the_wrong_order() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--fleet", "--sessions", "150", "50"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--sessions A B needs 0 < A < B" in done.stderr
    assert "Traceback" not in done.stderr
