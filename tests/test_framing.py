"""The client's receive path against raw frames split at arbitrary byte boundaries.

The connection splits plain data frames out of each read itself and hands
everything else (control frames, fragments, anything odd) to websockets'
protocol. These tests write frames byte-exact, cut at random places, and check
that what arrives is the same as what a frame-by-frame parser would give.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import anyio.lowlevel
import pytest
from websockets.frames import Close, Frame, Opcode

from realtime_events import ConnectionClosedError
from realtime_events.connection import Message, WebSocket, accept, connect

pytestmark = pytest.mark.anyio


def frame(opcode: Opcode, data: bytes, *, fin: bool = True, mask: bool = False) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=mask, extensions=[])


def conversation() -> tuple[bytes, list[Message]]:
    """A server's stream of frames, and the messages a client must get from it."""
    big = b'{"type":"big","data":"' + b"x" * 300_000 + b'"}'
    frames = [
        frame(Opcode.TEXT, b'{"type":"a"}'),
        frame(Opcode.TEXT, big),
        frame(Opcode.TEXT, b'{"type":', fin=False),
        frame(Opcode.PING, b"keepalive"),  # control frames may come between fragments
        frame(Opcode.CONT, b'"frag', fin=False),
        frame(Opcode.CONT, b'mented"}'),
        frame(Opcode.BINARY, bytes(range(256))),
        frame(Opcode.TEXT, b""),
        frame(Opcode.PONG, b""),
        frame(Opcode.TEXT, '{"type":"ünïcode"}'.encode()),
        frame(Opcode.CLOSE, Close(4001, "done").serialize()),
    ]
    expected = [
        Message(b'{"type":"a"}', True),
        Message(big, True),
        Message(b'{"type":"fragmented"}', True),
        Message(bytes(range(256)), False),
        Message(b"", True),
        Message('{"type":"ünïcode"}'.encode(), True),
    ]
    return b"".join(frames), expected


def cuts(data: bytes, rng: random.Random) -> list[bytes]:
    """``data`` cut into pieces of random sizes, some of a single byte."""
    pieces = []
    start = 0
    while start < len(data):
        size = rng.choice([1, 2, 3, 7, 64, 1000, 70_000])
        pieces.append(data[start : start + size])
        start += size
    return pieces


@asynccontextmanager
async def raw_writer(
    write: Callable[[anyio.abc.ByteStream, WebSocket], object],
) -> AsyncIterator[str]:
    """A server that completes the handshake, then writes raw bytes as ``write`` says."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            accepted = await accept(stream)
            assert accepted is not None
            websocket, _request = accepted
            await write(stream, websocket)  # type: ignore[misc]
            await anyio.sleep_forever()

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, handle)
        yield f"ws://127.0.0.1:{port}/"
        task_group.cancel_scope.cancel()


async def receive_all(url: str) -> tuple[list[Message], ConnectionClosedError]:
    ws = await connect(url, close_timeout=0.5)
    messages: list[Message] = []
    with anyio.fail_after(10):
        while True:
            try:
                messages.append(await ws.recv())
            except ConnectionClosedError as closed:
                return messages, closed


@pytest.mark.parametrize("seed", range(8))
async def test_frames_cut_anywhere_arrive_whole_and_in_order(seed: int) -> None:
    data, expected = conversation()
    pieces = cuts(data, random.Random(seed))

    async def write(stream: anyio.abc.ByteStream, websocket: WebSocket) -> None:
        for piece in pieces:
            await stream.send(piece)
            await anyio.lowlevel.checkpoint()  # let reads end anywhere

    async with raw_writer(write) as url:
        messages, closed = await receive_all(url)
    assert messages == expected
    assert (closed.code, closed.reason) == (4001, "done")


async def test_a_ping_between_fragments_is_answered(anyio_backend: str) -> None:
    pong = anyio.Event()

    async def write(stream: anyio.abc.ByteStream, websocket: WebSocket) -> None:
        await stream.send(frame(Opcode.TEXT, b'{"type":', fin=False) + frame(Opcode.PING, b"hi"))
        reply = await stream.receive()
        # The client's pong is masked, as client frames must be.
        assert reply[0] == 0x80 | Opcode.PONG
        assert reply[1] & 0x80
        pong.set()
        await stream.send(frame(Opcode.CONT, b'"x"}'))

    async with raw_writer(write) as url:
        ws = await connect(url, close_timeout=0.2)
        with anyio.fail_after(5):
            message = await ws.recv()
            await pong.wait()
        await ws.abort()
    assert message == Message(b'{"type":"x"}', True)


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (frame(Opcode.TEXT, b'{"type":"masked"}', mask=True), 1002),  # servers never mask
        (bytes([0x80 | 0x40 | Opcode.TEXT, 2]) + b"{}", 1002),  # a reserved bit set
        (frame(Opcode.CONT, b"stray"), 1002),  # a continuation of nothing
        (bytes([0x80 | 0x3, 0]), 1002),  # a reserved opcode
    ],
)
async def test_protocol_violations_still_fail_the_connection(bad: bytes, code: int) -> None:
    async def write(stream: anyio.abc.ByteStream, websocket: WebSocket) -> None:
        await stream.send(frame(Opcode.TEXT, b'{"type":"ok"}') + bad)

    async with raw_writer(write) as url:
        messages, closed = await receive_all(url)
    assert messages == [Message(b'{"type":"ok"}', True)]
    assert closed.code in (code, 1006)  # failed by the client; TCP then closes


@pytest.mark.parametrize("fits", [True, False], ids=["at-the-limit", "one-byte-over"])
@pytest.mark.parametrize("seed", range(4))
async def test_max_size_holds_wherever_frames_are_cut(seed: int, fits: bool) -> None:
    data, expected = conversation()
    biggest = max(len(message.data) for message in expected)
    pieces = cuts(data, random.Random(seed))

    async def write(stream: anyio.abc.ByteStream, websocket: WebSocket) -> None:
        for piece in pieces:
            await stream.send(piece)
            await anyio.lowlevel.checkpoint()

    async with raw_writer(write) as url:
        ws = await connect(url, close_timeout=0.5, max_size=biggest if fits else biggest - 1)
        messages: list[Message] = []
        with anyio.fail_after(10), pytest.raises(ConnectionClosedError) as caught:
            await receive_into(ws, messages)
    if fits:
        assert messages == expected
        assert caught.value.code == 4001
    else:  # the big frame is refused at its header, whatever read it came in
        assert messages == expected[:1]
        assert caught.value.code == 1009


async def receive_into(ws: WebSocket, messages: list[Message]) -> None:
    while True:
        messages.append(await ws.recv())
