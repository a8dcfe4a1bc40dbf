"""How ``WebSocket.close()`` ends, against independent peers in their own processes.

One deadline bounds both the close frame's write and the wait for the peer's
answer: a close frame that cannot be written by then fails the connection with
1006 and says so, one that was written but never answered still closes TCP in
time, and a close called in a cancelled scope runs to its end (it is shielded).
Time bounds are generous ceilings on configured timeouts, not speed measurements.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from realtime_events import ConnectionClosedError
from realtime_events.connection import connect

sys.path.insert(0, str(Path(__file__).parent))  # the peers sit next to the tests
from _connection_peers import running
from _lifecycle import library_frames

pytestmark = pytest.mark.anyio

SLACK = 3.0  # scheduling slack on top of a configured timeout
PAYLOAD = bytes(16 * 1024 * 1024)  # more than both ends' buffers hold


async def test_a_close_frame_that_cannot_be_written_in_time_fails_with_1006() -> None:
    close_timeout = 0.5
    with running("stop-reading") as peer:
        ws = await connect(peer.url, close_timeout=close_timeout, ping_interval=None)
        sent = anyio.Event()
        completed = 0

        async def send_forever() -> None:
            nonlocal completed
            try:
                while True:
                    await ws.send(PAYLOAD, text=False)
                    completed += 1
            except ConnectionClosedError:
                sent.set()

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(send_forever)
            # Not a measurement: time for the send to fill the buffers of a peer that
            # reads nothing, so that it holds the send lock; checked just below.
            await anyio.sleep(0.5)
            assert completed == 0
            assert not sent.is_set()
            started = anyio.current_time()
            await ws.close()
            took = anyio.current_time() - started
            with anyio.fail_after(SLACK):
                await sent.wait()
    assert took < close_timeout + SLACK
    error = ws.close_error
    assert error is not None
    assert error.code == 1006
    assert "the close frame could not be sent within 0.5 s" in error.reason


async def test_a_close_frame_never_answered_still_closes_in_time() -> None:
    close_timeout = 0.5
    with running("deaf") as peer:
        ws = await connect(peer.url, close_timeout=close_timeout, ping_interval=None)
        started = anyio.current_time()
        await ws.close(1000, "done")
        took = anyio.current_time() - started
    assert took < close_timeout + SLACK
    assert ws.closed
    error = ws.close_error
    assert error is not None
    # The frame went out and nothing came back: no close handshake happened.
    assert (error.code, error.reason) == (1006, "connection dropped without a close frame")


async def test_a_close_read_by_close_itself_keeps_no_frame() -> None:
    # Nobody reads, so close() reads for the peer's answer and catches the close
    # its read raises: raised as the connection kept it, the error kept close()'s
    # frames for as long as the connection lived.
    with running("websockets") as peer:
        ws = await connect(peer.url, close_timeout=5, ping_interval=None)
        await ws.close(1000, "bye")
    assert ws.close_error is not None
    assert library_frames(ws) == []


async def test_close_in_a_cancelled_scope_completes_the_handshake() -> None:
    with running("websockets") as peer:
        ws = await connect(peer.url, close_timeout=5, ping_interval=None)
        await ws.send('{"type": "hello"}')
        assert (await ws.recv()).data == b'{"type": "hello"}'
        with anyio.CancelScope() as scope:
            scope.cancel()
            await ws.close(1000, "bye")  # shielded: runs to its end all the same
    assert ws.closed
    error = ws.close_error
    assert error is not None
    # The peer answered the close frame: a clean close, with our code and reason.
    assert (error.code, error.reason) == (1000, "bye")
