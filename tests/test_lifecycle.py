"""A Session's lifecycle under cancellation, errors and stuck peers, against independent peers.

Issue 12, points 1 (a cancel leaves the caller's scopes intact), 5 (exceptions
come out as themselves; ``tg.start(session.run)``), 2 (``close()`` and keepalive
with a send blocked on a peer that stopped reading) and 14 (a server's last
words reach the handlers). Every peer is a server of ``tests/peers.py`` in its
own process.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from realtime_events import (
    ConnectionFailedError,
    RealtimeError,
    ReconnectPolicy,
    Session,
    signals,
)
from realtime_events.events import ErrorEvent, ResponseDoneEvent, SessionCreatedEvent

sys.path.insert(0, str(Path(__file__).parent))  # the peers sit next to the tests
from _lifecycle import CLOSE_TIMEOUT, SLACK, flag, record
from peers import running

pytestmark = pytest.mark.anyio

CHUNK = bytes(1 << 20)  # 1 MiB of silence per append: the peer's window fills in a few


async def turn(session: Session, text: str) -> ResponseDoneEvent:
    """One user message and the response to it."""
    await session.send_text(text, respond=False)
    request = await session.response.create()
    with anyio.fail_after(5):
        return await request.done()


# -- 1. a cancel leaves the caller's scopes intact ------------------------------


async def test_move_on_after_while_connected(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        after = False
        async with anyio.create_task_group():
            with anyio.fail_after(10):
                with anyio.move_on_after(0.5) as scope:
                    async with session:
                        await anyio.sleep(5)
                after = True
                await anyio.lowlevel.checkpoint()  # the task can still checkpoint
        assert scope.cancelled_caught
        assert after
        assert session.state == "closed"


async def test_move_on_after_while_connecting(anyio_backend: str) -> None:
    with running("silent") as peer:  # accepts TCP, never answers the handshake
        session = Session(url=peer.url, api_key="test", open_timeout=30)
        entered = False
        async with anyio.create_task_group():
            with anyio.fail_after(10):
                with anyio.move_on_after(0.5) as scope:
                    async with session:
                        entered = True
                await anyio.lowlevel.checkpoint()
        assert scope.cancelled_caught
        assert not entered
        assert peer.connections == 1  # the cancel landed during the handshake
        assert session.state in ("idle", "closed")


async def test_move_on_after_around_run_while_connected(anyio_backend: str) -> None:
    # run() reads in the caller's own task: the cancel lands in its read.
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        created = anyio.Event()
        session.on("session.created", lambda event: created.set())
        after = False
        with anyio.fail_after(10):
            with anyio.move_on_after(1) as scope:
                await session.run()
            after = True
            await anyio.lowlevel.checkpoint()  # the task can still checkpoint
        assert created.is_set()  # the cancel landed once connected
        assert scope.cancelled_caught
        assert after
        assert session.state == "closed"


async def test_task_group_cancel_of_a_running_run(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        created = anyio.Event()
        session.on("session.created", lambda event: created.set())
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(session.run)
                await created.wait()
                group.cancel_scope.cancel()
            await anyio.lowlevel.checkpoint()
        assert session.closed
        # The session runs again afterwards.
        async with session:
            assert session.state == "open"


async def test_cancel_while_closing(anyio_backend: str) -> None:
    # The peer never reads, so it never answers the close frame: closing lasts
    # close_timeout, and the cancel lands in the middle of it.
    with running("stop-reading") as peer:
        session = Session(
            url=peer.url, api_key="test", close_timeout=2.0, ping_interval=None, reconnect=False
        )
        after = False
        async with anyio.create_task_group():
            with anyio.fail_after(10):
                with anyio.move_on_after(30) as scope:
                    async with session:
                        scope.deadline = anyio.current_time() + 0.3
                        started = anyio.current_time()
                after = True
                elapsed = anyio.current_time() - started
                await anyio.lowlevel.checkpoint()
        assert after
        assert session.state == "closed"
        assert elapsed <= 2.0 + SLACK


async def test_fail_after_comes_out_as_timeout_error(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        with anyio.fail_after(10):
            with pytest.raises(TimeoutError), anyio.fail_after(0.5):
                async with session:
                    await anyio.sleep(5)
            await anyio.lowlevel.checkpoint()
        assert session.state == "closed"


async def test_task_group_cancel_from_a_sibling(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        opened = anyio.Event()

        async def converse() -> None:
            async with session:
                opened.set()
                await anyio.sleep(10)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(converse)
                await opened.wait()
                group.cancel_scope.cancel()
            await anyio.lowlevel.checkpoint()
        assert session.state == "closed"


async def test_start_and_close_from_different_tasks(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        with anyio.fail_after(10):
            await session.start()
            async with anyio.create_task_group() as group:
                group.start_soon(session.close)
            await anyio.lowlevel.checkpoint()
            assert session.state == "closed"

            # And the other way round: started by a task that has ended since.
            other = Session(url=peer.url, api_key="test")
            async with anyio.create_task_group() as group:
                group.start_soon(other.start)
            assert other.state == "open"
            done = await turn(other, "hello")
            await other.close()
            await anyio.lowlevel.checkpoint()
        assert done.response.status == "completed"
        assert other.closed, other.state


async def test_keyboard_interrupt_comes_out_as_itself(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        with pytest.raises(KeyboardInterrupt):
            async with session:
                raise KeyboardInterrupt
        assert session.state == "closed"


# -- 5. exceptions as themselves; tg.start(session.run) --------------------------


async def test_wait_for_timeout_comes_out_as_timeout_error(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        with anyio.fail_after(10), pytest.raises(TimeoutError):
            async with session:
                await session.wait_for("response.done", timeout=0.2)
        assert session.state == "closed"


async def test_value_error_comes_out_as_itself(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        with anyio.fail_after(10), pytest.raises(ValueError, match="from the body"):
            async with session:
                raise ValueError("from the body")
        assert session.state == "closed"


async def test_a_final_failure_of_the_run_ends_the_body_as_itself(anyio_backend: str) -> None:
    # The peer drops every connection once configured; one reconnect attempt is allowed.
    with running("drop", "--after", "1") as peer:
        policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, max_attempts=1)
        session = Session(url=peer.url, api_key="test", reconnect=policy)
        with anyio.fail_after(10), pytest.raises(ConnectionFailedError):
            async with session:
                await anyio.sleep(30)
        assert session.state == "closed"


async def test_task_group_start_of_run(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test")
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                await group.start(session.run)
                assert session.state == "open"
                done = await turn(session, "hello")
                await session.close()
            # The group exited: run() returned after close().
        assert done.response.status == "completed"
        assert session.state == "closed"


# -- 2. close() and keepalive with a send blocked on a peer that stopped reading --


async def flood(session: Session, progress: list[int]) -> None:
    """Append audio until the session ends; count the appends that went out."""
    with contextlib.suppress(RealtimeError):
        while True:
            await session.input_audio_buffer.append(CHUNK)
            progress[0] += 1


async def stalled(progress: list[int]) -> None:
    """Return once the appends stopped going out: a send is blocked."""
    with anyio.fail_after(8):
        while True:
            before = progress[0]
            await anyio.sleep(0.5)
            if progress[0] == before:
                return


async def test_close_with_a_send_blocked(anyio_backend: str) -> None:
    with running("stop-reading") as peer:
        session = Session(
            url=peer.url,
            api_key="test",
            close_timeout=CLOSE_TIMEOUT,
            ping_interval=None,
            reconnect=False,
        )
        progress = [0]
        with anyio.fail_after(CLOSE_TIMEOUT + 12):
            async with anyio.create_task_group() as group, session:
                group.start_soon(flood, session, progress)
                await stalled(progress)
                started = anyio.current_time()
                with anyio.move_on_after(CLOSE_TIMEOUT + 6):
                    await session.close()
                elapsed = anyio.current_time() - started
                # The blocked send ends with the session, and so does the group.
        assert elapsed <= CLOSE_TIMEOUT + SLACK
        assert session.state == "closed"


async def test_keepalive_notices_a_peer_that_stopped_reading(anyio_backend: str) -> None:
    with running("stop-reading") as peer:
        session = Session(
            url=peer.url,
            api_key="test",
            close_timeout=CLOSE_TIMEOUT,
            ping_interval=1.0,
            ping_timeout=1.0,
            reconnect=False,
        )
        lost = flag(signals.disconnected, session)
        progress = [0]
        # Without reconnection the session ends when keepalive gives up; that
        # failure ends the block.
        with anyio.fail_after(20), contextlib.suppress(RealtimeError):
            async with session, anyio.create_task_group() as group:
                group.start_soon(flood, session, progress)
                await stalled(progress)
                # A ping interval, a ping timeout, closing, and slack.
                with anyio.move_on_after(1.0 + 1.0 + CLOSE_TIMEOUT + SLACK + 2):
                    await lost.wait()
                group.cancel_scope.cancel()
        assert lost.is_set(), "keepalive never noticed the peer"
        assert session.state == "closed"


# -- 14. a server's last words --------------------------------------------------


@pytest.mark.parametrize("delay", [0.0, 0.3])
async def test_last_words_of_the_server_are_handled(anyio_backend: str, delay: float) -> None:
    # session.created, an error, then a normal close: at once, or after a pause.
    with running("last-words", "--delay", str(delay)) as peer:
        session = Session(url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT)
        created: list[SessionCreatedEvent] = []
        errors: list[ErrorEvent] = []

        @session.on("session.created")
        def on_created(event: SessionCreatedEvent) -> None:
            created.append(event)

        @session.on("error")
        def on_error(event: ErrorEvent) -> None:
            errors.append(event)

        disconnected = record(signals.disconnected, session)
        closed = record(signals.closed, session)
        failure: RealtimeError | None = None
        with anyio.fail_after(10):
            try:
                await session.run()  # a close with 1000 ends it
            except RealtimeError as exc:
                failure = exc

    assert len(created) == 1
    assert [event.error.code for event in errors] == ["model_not_found"]
    # The close reported is the server's 1000, not a 1006 of the client's making.
    assert [signal["error"].code for signal in disconnected] == [1000]
    if failure is not None:
        assert "model_not_found" in str(failure) or getattr(failure, "code", None) == 1000, failure
    assert len(closed) == 1
    reported = closed[0]["error"]
    assert (
        reported is None
        or "model_not_found" in str(reported)
        or getattr(reported, "code", None) == 1000
    ), reported


async def test_a_failing_close_names_the_servers_last_error_not_yet_dispatched(
    anyio_backend: str,
) -> None:
    # The error and a 1011 come in one write, while a slow handler of
    # session.created still holds the dispatcher: the error has not been parsed
    # when the close is reported, and the close's reason still names it.
    with running("last-words", "--code", "1011") as peer:
        session = Session(
            url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT, reconnect=False
        )
        errors: list[ErrorEvent] = []

        @session.on("session.created")
        async def slow(event: SessionCreatedEvent) -> None:
            await anyio.sleep(0.3)

        session.on("error", errors.append)
        with anyio.fail_after(10), pytest.raises(RealtimeError) as failed:
            await session.run()
    assert "1011" in str(failed.value)
    assert "the server's last error: model_not_found: The model" in str(failed.value)
    assert [event.error.code for event in errors] == ["model_not_found"]  # still delivered
