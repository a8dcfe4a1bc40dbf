"""The run's waits that are made only when someone waits, against independent peers.

A run makes its events lazily (an idle session holds none of them): a send
that failed with its connection waits for the run to give that connection up,
and ``run()`` waits for the opening. These pin that each wait still ends when
it must. Every peer is a server of ``tests/peers.py`` in its own process.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import anyio
import pytest

from realtime_events import ReconnectPolicy, Session, SessionClosedError, signals

sys.path.insert(0, str(Path(__file__).parent))  # the peers sit next to the tests
from _lifecycle import CLOSE_TIMEOUT, flag
from peers import running

pytestmark = pytest.mark.anyio

CHUNK = bytes(1 << 20)  # 1 MiB of silence per append: the peer's window fills in a few


async def test_a_send_blocked_when_keepalive_fails_its_connection_goes_on_on_the_next(
    anyio_backend: str,
) -> None:
    # Every connection of this peer stops reading after session.created: the
    # appends block, keepalive fails the connection, and the session reconnects.
    with running("stop-reading") as peer:
        session = Session(
            url=peer.url,
            api_key="test",
            close_timeout=CLOSE_TIMEOUT,
            ping_interval=1.0,
            ping_timeout=1.0,
            reconnect=ReconnectPolicy(initial_delay=0.05, max_delay=0.05, jitter=0.0),
        )
        reconnected = flag(signals.reconnected, session)
        progress = [0]
        blocked_at: list[int] = []
        settled: list[int] = []  # the appends that went out before the reconnect
        went_on = anyio.Event()

        async def flood() -> None:
            with contextlib.suppress(SessionClosedError):
                while True:
                    await session.input_audio_buffer.append(CHUNK)
                    progress[0] += 1
                    if settled and progress[0] > settled[0]:
                        went_on.set()

        with anyio.fail_after(30):
            async with session, anyio.create_task_group() as group:
                group.start_soon(flood)
                while not reconnected.is_set():
                    blocked_at.append(progress[0])
                    await anyio.sleep(0.2)
                # The send that was blocked when its connection failed waited for
                # the run to give that connection up, then went out on the next:
                # the appends go on where they stopped.
                settled.append(progress[0])
                await went_on.wait()
                group.cancel_scope.cancel()
        assert peer.connections >= 2
        assert len(set(blocked_at[-3:])) == 1, "the appends never blocked"


async def test_a_run_that_ends_before_it_opens_reports_no_start(anyio_backend: str) -> None:
    # The server says why and closes before the session could open: the run's
    # start (task_group.start under ``async with``) raises instead of waiting.
    with running("last-words", "--code", "1008", "--reason", "policy") as peer:
        session = Session(url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT)
        entered = False
        with anyio.fail_after(20), pytest.raises(SessionClosedError, match="before it opened"):
            async with session:
                entered = True
        assert not entered
        assert session.state == "closed"
