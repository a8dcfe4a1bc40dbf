"""The connection against peers that misbehave, each in its own process.

A peer that stopped reading (TCP window full), one that is SIGSTOPped, one that
never answers a close frame, one that says its last words and hangs up at
once, one that announces a frame of 2^62 bytes: every wait stays bounded,
every frame sent before a close is delivered, and errors carry the peer's
close code. Time bounds are generous ceilings on configured timeouts, not
speed measurements.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import anyio
import pytest

from realtime_events import ConnectionClosedError
from realtime_events.connection import DEFAULT_MAX_SIZE, Message, WebSocket, connect

sys.path.insert(0, str(Path(__file__).parent))  # the peers sit next to the tests
from _connection_peers import running
from _lifecycle import library_frames

pytestmark = pytest.mark.anyio

# Scheduling slack on top of a configured timeout: generous, since CI machines stall.
SLACK = 3.0
# One message larger than the send and receive buffers of both ends together
# (16 KiB to 4 MiB for sending, a few KiB to receive at a peer that stopped reading).
PAYLOAD = bytes(16 * 1024 * 1024)


class Sender:
    """Sends ``PAYLOAD`` until the connection fails; records how far it got."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.completed = 0
        self.error: ConnectionClosedError | None = None
        self.done = anyio.Event()

    async def run(self) -> None:
        try:
            while True:
                await self.ws.send(PAYLOAD, text=False)
                self.completed += 1
        except ConnectionClosedError as exc:
            self.error = exc
        finally:
            self.done.set()

    async def blocked(self) -> None:
        """Wait until the sender is stuck in a send the peer will never take."""
        # Not a measurement: the peer reads nothing, so this only gives the send
        # time to fill the buffers; the assertion checks it did not complete.
        await anyio.sleep(1.0)
        assert self.completed == 0
        assert not self.done.is_set()


class Reader:
    """Receives until the connection closes; keeps what came and how it ended."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.messages: list[Message] = []
        self.error: ConnectionClosedError | None = None
        self.done = anyio.Event()

    async def run(self) -> None:
        try:
            while True:
                self.messages.append(await self.ws.recv())
        except ConnectionClosedError as exc:
            self.error = exc
        finally:
            self.done.set()


# ----------------------------------------------------------- a peer that stopped reading


async def test_close_is_bounded_while_a_send_is_blocked() -> None:
    close_timeout = 1.0
    with running("stop-reading") as peer:
        ws = await connect(peer.url, close_timeout=close_timeout, ping_interval=None)
        sender = Sender(ws)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(sender.run)
            await sender.blocked()
            started = anyio.current_time()
            await ws.close()
            took = anyio.current_time() - started
            with anyio.fail_after(SLACK):  # closing TCP woke the blocked send
                await sender.done.wait()
    assert took < close_timeout + SLACK
    assert ws.closed
    assert isinstance(sender.error, ConnectionClosedError)
    assert sender.error.code != 1000  # the close handshake never happened


async def test_close_from_several_tasks_while_a_send_is_blocked() -> None:
    close_timeout = 1.0
    with running("stop-reading") as peer:
        ws = await connect(peer.url, close_timeout=close_timeout, ping_interval=None)
        sender = Sender(ws)
        took: list[float] = []

        async def close() -> None:
            started = anyio.current_time()
            await ws.close()
            took.append(anyio.current_time() - started)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(sender.run)
            await sender.blocked()
            for _ in range(3):
                task_group.start_soon(close)
    assert len(took) == 3
    assert max(took) < close_timeout + SLACK
    assert sender.error is not None


@pytest.mark.parametrize("talk", [False, True], ids=["silent", "talking"])
async def test_keepalive_fails_a_peer_that_stopped_reading(talk: bool) -> None:
    """A send blocked past ``ping_timeout`` means the peer is dead, even if it still talks."""
    interval, timeout = 0.5, 1.0
    with running("stop-reading", *(["--talk"] if talk else [])) as peer:
        ws = await connect(peer.url, ping_interval=interval, ping_timeout=timeout, close_timeout=1)
        sender, reader = Sender(ws), Reader(ws)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(ws.keepalive)
            task_group.start_soon(reader.run)
            started = anyio.current_time()
            task_group.start_soon(sender.run)
            with anyio.fail_after(interval + timeout + SLACK):
                await sender.done.wait()
            took = anyio.current_time() - started
            with anyio.fail_after(SLACK):
                await reader.done.wait()
            task_group.cancel_scope.cancel()
        await ws.close()
    assert took < interval + timeout + SLACK
    assert sender.completed == 0
    assert sender.error is not None
    assert sender.error.code == 1011
    assert reader.error is not None
    assert reader.error.code == 1011
    if talk:  # the peer's frames kept arriving until the end
        assert reader.messages
        assert "blocked" in reader.error.reason


async def test_keepalive_fails_a_stopped_peer() -> None:
    interval, timeout, close_timeout = 0.3, 1.0, 1.0
    with running("websockets") as peer:
        ws = await connect(
            peer.url, ping_interval=interval, ping_timeout=timeout, close_timeout=close_timeout
        )
        await ws.send('{"type": "hello"}')  # the peer is alive and reading
        peer.pause()
        sender, reader = Sender(ws), Reader(ws)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(ws.keepalive)
            task_group.start_soon(reader.run)
            task_group.start_soon(sender.run)
            with anyio.fail_after(interval + timeout + SLACK):
                await reader.done.wait()
                await sender.done.wait()
            task_group.cancel_scope.cancel()
        started = anyio.current_time()
        await ws.close()
        took = anyio.current_time() - started
    assert reader.error is not None
    assert reader.error.code == 1011
    assert sender.error is not None
    assert sender.error.code == 1011
    assert took < close_timeout + SLACK


async def test_the_reader_never_waits_behind_a_blocked_send() -> None:
    # The peer's pings need pongs, which the reader must not queue behind a
    # send that cannot complete: messages keep arriving while it is blocked.
    with running("stop-reading", "--talk", "--ping") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        sender = Sender(ws)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(sender.run)
            await sender.blocked()
            with anyio.fail_after(10 * 0.1 + SLACK):  # the peer talks every 0.1 s
                received = [await ws.recv() for _ in range(10)]
            assert not sender.done.is_set()
            await ws.close()
    assert len(received) == 10
    assert sender.error is not None


async def test_a_send_cancelled_while_blocked_aborts_the_connection() -> None:
    # Part of the frame may be on the wire: nothing can follow it, so TCP closes.
    with running("stop-reading") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        with anyio.move_on_after(1) as scope:
            await ws.send(PAYLOAD, text=False)
        assert scope.cancelled_caught
        with anyio.fail_after(SLACK), pytest.raises(ConnectionClosedError) as caught:
            await ws.recv()
        with pytest.raises(ConnectionClosedError):
            await ws.send("{}")
    assert caught.value.code == 1006
    assert "cancelled" in caught.value.reason


async def test_a_send_cancelled_before_writing_leaves_the_connection_usable() -> None:
    with running("websockets") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await ws.send('{"n": 0}')
        await ws.send('{"n": 1}')
        with anyio.fail_after(SLACK):
            echoed = await ws.recv()
        await ws.close()
    assert numbers([echoed]) == [1]


# ----------------------------------------------------------- a peer that never answers


async def test_close_is_bounded_when_the_peer_never_answers_the_close_frame() -> None:
    close_timeout = 0.5
    with running("deaf") as peer:
        ws = await connect(peer.url, close_timeout=close_timeout, ping_interval=None)
        took: list[float] = []

        async def close() -> None:
            started = anyio.current_time()
            await ws.close()
            took.append(anyio.current_time() - started)

        # Several tasks at once, and none of them a reader: one reads, the others wait.
        async with anyio.create_task_group() as task_group:
            for _ in range(3):
                task_group.start_soon(close)
    assert len(took) == 3
    assert max(took) < close_timeout + SLACK
    assert ws.closed
    with pytest.raises(ConnectionClosedError):
        await ws.send("{}")


# ----------------------------------------------------------- last words


def numbers(messages: list[Message]) -> list[int]:
    return [json.loads(message.data)["n"] for message in messages]


@pytest.mark.parametrize("with_handshake", [False, True], ids=["after", "with-handshake"])
@pytest.mark.parametrize("end", ["close", "fin", "rst"])
async def test_every_frame_before_a_close_is_delivered(end: str, with_handshake: bool) -> None:
    frames = 50
    args = ["--frames", str(frames), "--end", end]
    if with_handshake:
        args.append("--with-handshake")
    with running("last-words", *args) as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        reader = Reader(ws)
        with anyio.fail_after(1 + SLACK):
            await reader.run()
    assert numbers(reader.messages) == list(range(frames))
    assert reader.error is not None
    if end == "fin":  # no close frame: the drop is abnormal, but the frames still came
        assert reader.error.code == 1006
    else:
        assert (reader.error.code, reader.error.reason) == (1000, "bye")


@pytest.mark.parametrize("end", ["fin", "rst"])
async def test_a_dropped_connection_keeps_no_frame_of_its_reader(end: str) -> None:
    # websockets' protocol keeps the parser's EOFError; told the end of the stream
    # inside the handler of the read's error, it had that error, and the reader's
    # frame with its last read, as its context.
    with running("last-words", "--frames", "2", "--end", end) as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        with anyio.fail_after(1 + SLACK):
            await Reader(ws).run()
    assert library_frames(ws.protocol) == []


async def test_recv_batch_delivers_the_last_words_then_the_close() -> None:
    with running("last-words", "--frames", "20", "--end", "close") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        received: list[Message] = []

        async def receive_batches() -> None:
            while True:
                received.extend(await ws.recv_batch())

        with anyio.fail_after(1 + SLACK), pytest.raises(ConnectionClosedError) as caught:
            await receive_batches()
    assert numbers(received) == list(range(20))
    assert (caught.value.code, caught.value.reason) == (1000, "bye")


async def test_send_after_the_peer_closed_raises_its_close() -> None:
    # Everything comes with the handshake, so the close frame is known before the send.
    with running("last-words", "--frames", "2", "--end", "close", "--with-handshake") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        with pytest.raises(ConnectionClosedError) as caught:
            await ws.send('{"type": "session.update"}')
        assert (caught.value.code, caught.value.reason) == (1000, "bye")
        reader = Reader(ws)
        with anyio.fail_after(1 + SLACK):
            await reader.run()
    assert numbers(reader.messages) == [0, 1]
    assert reader.error is not None
    assert (reader.error.code, reader.error.reason) == (1000, "bye")


async def test_a_close_raised_again_carries_only_its_own_frames() -> None:
    # The connection keeps its close and raises it from every later call: raised
    # as it was, each raise added its frames to the traceback of all the earlier.
    with running("last-words", "--frames", "2", "--end", "close", "--with-handshake") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        with anyio.fail_after(1 + SLACK):
            await Reader(ws).run()
        depths = []
        for call in (ws.recv, ws.recv_batch, lambda: ws.send("{}")) * 2:
            with pytest.raises(ConnectionClosedError) as caught:
                await call()
            depths.append(len(traceback.extract_tb(caught.value.__traceback__)))
    assert depths[:3] == depths[3:]


async def test_a_send_racing_the_peers_close_raises_its_close() -> None:
    # As in a session: a reader waits while the application sends, and the peer
    # says its last words and hangs up.
    with running("last-words", "--frames", "5", "--end", "close") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        reader = Reader(ws)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(reader.run)
            with anyio.fail_after(SLACK), pytest.raises(ConnectionClosedError) as caught:
                await send_until_closed(ws)
            with anyio.fail_after(1 + SLACK):
                await reader.done.wait()
    assert numbers(reader.messages) == list(range(5))
    assert reader.error is not None
    assert (reader.error.code, reader.error.reason) == (1000, "bye")
    assert (caught.value.code, caught.value.reason) == (1000, "bye")


async def test_a_failed_send_does_not_lose_what_the_peer_said(anyio_backend: str) -> None:
    if anyio_backend == "asyncio":
        pytest.skip(
            "asyncio's transport closes the socket when a write fails, dropping what "
            "nobody read yet; a waiting reader (as a session has) reads it before"
        )
    # No reader this time: writing fails (a reset) before anyone read the peer's
    # last words, which stay in the socket; they are still delivered, then its close.
    with running("last-words", "--frames", "5", "--end", "close") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None)
        with anyio.fail_after(SLACK), pytest.raises(ConnectionClosedError):
            await send_until_closed(ws)
        reader = Reader(ws)
        with anyio.fail_after(1 + SLACK):
            await reader.run()
    assert numbers(reader.messages) == list(range(5))
    assert reader.error is not None
    assert (reader.error.code, reader.error.reason) == (1000, "bye")


async def send_until_closed(ws: WebSocket) -> None:
    """Send a small message every 50 ms until that raises."""
    while True:
        await ws.send('{"type": "session.update"}')
        await anyio.sleep(0.05)


# ----------------------------------------------------------- maximum message size


@pytest.mark.parametrize("max_size", [None, 1024 * 1024], ids=["default", "1MiB"])
async def test_a_frame_announcing_too_much_is_refused_at_its_header(max_size: int | None) -> None:
    close_timeout = 1.0
    with running("announce", "--size", str(2**62), "--stream") as peer:
        if max_size is None:
            ws = await connect(peer.url, close_timeout=close_timeout, ping_interval=None)
        else:
            ws = await connect(
                peer.url, close_timeout=close_timeout, ping_interval=None, max_size=max_size
            )
        assert numbers([await ws.recv()]) == [0]
        # Without a limit, this buffered the payload for as long as the peer sent it.
        with (
            anyio.fail_after(close_timeout + SLACK),
            pytest.raises(ConnectionClosedError) as caught,
        ):
            await ws.recv()
        await ws.close()
    assert caught.value.code == 1009
    assert str(2**62) in caught.value.reason
    assert str(max_size or DEFAULT_MAX_SIZE) in caught.value.reason


async def test_max_size_is_inclusive() -> None:
    limit = 65536
    with running("frames", "--sizes", f"{limit},{limit + 1}") as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None, max_size=limit)
        reader = Reader(ws)
        with anyio.fail_after(1 + SLACK):
            await reader.run()
    assert [len(message.data) for message in reader.messages] == [limit]
    assert reader.error is not None
    assert reader.error.code == 1009


@pytest.mark.parametrize(("count", "fits"), [(2, True), (3, False)])
async def test_max_size_bounds_a_fragmented_message(count: int, fits: bool) -> None:
    size, limit = 40_000, 100_000
    with running("fragments", "--size", str(size), "--count", str(count)) as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None, max_size=limit)
        assert numbers([await ws.recv()]) == [0]
        with anyio.fail_after(1 + SLACK):
            if fits:
                assert (await ws.recv()).data == b"x" * size * count
            else:
                with pytest.raises(ConnectionClosedError) as caught:
                    await ws.recv()
                assert caught.value.code == 1009
        await ws.close()


async def test_max_size_none_lifts_the_limit() -> None:
    size = 2 * 1024 * 1024
    with running("frames", "--sizes", str(size)) as peer:
        ws = await connect(peer.url, close_timeout=1, ping_interval=None, max_size=None)
        with anyio.fail_after(SLACK):
            assert len((await ws.recv()).data) == size
        await ws.close()


async def test_max_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_size"):
        await connect("ws://127.0.0.1:9/", max_size=0)
