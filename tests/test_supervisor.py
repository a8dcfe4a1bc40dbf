"""The run's waits that are made only when someone waits, against independent peers.

A run makes its events lazily (an idle session holds none of them): a send
that failed with its connection waits for the run to give that connection up,
and ``run()`` waits for the opening. These pin that each wait still ends when
it must. Every peer is a server of ``tests/peers.py`` in its own process.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from realtime_events import (
    ClosedBeforeOpenError,
    ReconnectPolicy,
    Session,
    SessionClosedError,
    signals,
)

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


Body = Callable[[], None]


async def _in_a_block(session: Session, body: Body) -> None:
    async with session:
        body()


async def _in_a_task_group(session: Session, body: Body) -> None:
    try:
        async with anyio.create_task_group() as group:
            await group.start(session.run)  # anyio's own status: told by the run's task
            body()
            await session.close()
    except BaseExceptionGroup as failures:  # the caller's group wraps, as any does
        (failure,) = failures.exceptions
        raise failure from None


async def _detached(session: Session, body: Body) -> None:
    await session.start()
    body()
    await session.close()


WAYS = [_in_a_block, _in_a_task_group, _detached]


@pytest.mark.parametrize("way", WAYS)
async def test_a_run_that_ends_before_it_opens_reports_no_start(
    anyio_backend: str, way: Callable[[Session, Body], Awaitable[None]]
) -> None:
    # The server says why and closes before the session could open: each way of
    # starting a run raises instead of waiting, or of reporting a start.
    with running("last-words", "--code", "1008", "--reason", "policy") as peer:
        session = Session(url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT)
        started: list[str] = []
        with anyio.fail_after(20), pytest.raises(ClosedBeforeOpenError) as ended:
            await way(session, lambda: started.append(session.state))
        assert started == []
        # One type whoever read the close first, with the close and the server's last words.
        assert isinstance(ended.value, SessionClosedError)
        assert ended.value.code == 1008
        assert str(ended.value).startswith(
            "the server ended the session before it opened: connection closed with code 1008 "
            "(policy; the server's last error: model_not_found: "
        )
        assert session.state == "closed"


@pytest.mark.parametrize("way", WAYS)
async def test_each_way_of_starting_a_run_returns_once_the_session_is_open(
    anyio_backend: str, way: Callable[[Session, Body], Awaitable[None]]
) -> None:
    # Under async with and start() another task tells the start (the run's own
    # task reads); under task_group.start the run's own task tells it.
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT)
        started: list[str] = []
        with anyio.fail_after(20):
            await way(session, lambda: started.append(session.state))
        assert started == ["open"]
        assert session.state == "closed"
