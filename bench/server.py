"""The benchmark's WebSocket server: pre-serialized frames written as fast as TCP takes them.

It runs in its own process (``python -m bench.server``, started by
:class:`BenchServer`) so it has the second core to itself and never competes
with the client being measured. The handshake and the client frames it reads
are handled by a few lines of code; what it sends is bytes prepared before the
connection opened: one ``bytes.replace`` per turn (fresh ids) and one
``transport.write`` per turn.

The path of the URL chooses the stream; anything after it (the SDK appends
``/realtime?model=...``) is ignored:

- ``/stream/<dialect>/<turns>/<deltas>[/<mix>]``: session.created, then (once the client
  sent its first message, as a real client's session.update) the turns of the mix
  (``audio``, the default, or ``small``), then close 1000;
- ``/paced/<dialect>/<events>/<rate>``: likewise, that many turn events at ``rate`` per second, each
  stamped with its send time (``time.monotonic_ns``) in ``event_id``, then close 1000;
- ``/idle/<dialect>``: session.created, then nothing until the client closes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import struct
import subprocess
import sys
import time
from types import TracebackType

from .stream import (
    CLOSE_FRAME,
    STAMP_DIGITS,
    TURN_TOKEN,
    Dialect,
    Frame,
    Mix,
    mix_turn,
    session_created,
    stamp_split,
    turn_blob,
)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_turn_cache: dict[tuple[Mix, Dialect, int], list[Frame]] = {}


def _turn(dialect: Dialect, deltas: int, mix: Mix = "audio") -> list[Frame]:
    key = (mix, dialect, deltas)
    if key not in _turn_cache:
        _turn_cache[key] = mix_turn(mix, dialect, deltas)
    return _turn_cache[key]


class _Connection(asyncio.Protocol):
    """One client: handshake, then the chosen stream; replies to the client's close."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.closed = asyncio.Event()
        self.sent_close = False
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.configured = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        # Deep enough that the kernel, not the event loop, paces the stream.
        transport.set_write_buffer_limits(high=4 * 1024 * 1024)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        self.can_write.set()

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            request = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            self.upgraded = True
            self._handshake(request)
        self._read_frames()

    def _handshake(self, request: str) -> None:
        lines = request.split("\r\n")
        path = lines[0].split(" ")[1]
        key = ""
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        assert self.transport is not None
        self.transport.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode()
        )
        asyncio.get_running_loop().create_task(self._serve(path))

    def _read_frames(self) -> None:
        # Client frames are masked; only the close frame matters, the rest is dropped.
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
            at = 2
            if length == 126:
                if len(buf) < 4:
                    return
                (length,) = struct.unpack_from("!H", buf, 2)
                at = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                (length,) = struct.unpack_from("!Q", buf, 2)
                at = 10
            at += 4  # the mask
            if len(buf) < at + length:
                return
            del buf[: at + length]
            if opcode in (0x1, 0x2):
                self.configured.set()
            elif opcode == 0x8:
                self._close()
                return

    def _close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if not self.sent_close:
            self.sent_close = True
            self.transport.write(CLOSE_FRAME)
        self.transport.close()

    async def _write(self, data: bytes) -> bool:
        await self.can_write.wait()
        if self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True

    async def _serve(self, path: str) -> None:
        parts = [p for p in path.split("?")[0].split("/") if p]
        kind = parts[0] if parts else "idle"
        dialect: Dialect = "beta" if len(parts) > 1 and parts[1] == "beta" else "ga"
        if not await self._write(session_created(dialect).wire):
            return
        if kind != "idle":
            # Like the real server, stream once the client configured the session
            # (every bench client sends a session.update first).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await self.configured.wait()
        if kind == "stream":
            turns, deltas = int(parts[2]), int(parts[3])
            mix: Mix = "small" if len(parts) > 4 and parts[4] == "small" else "audio"
            blob = turn_blob(_turn(dialect, deltas, mix))
            for index in range(turns):
                tag = b"t_%04d" % (index % 10000)
                if not await self._write(blob.replace(TURN_TOKEN, tag)):
                    return
        elif kind == "paced":
            await self._paced(dialect, int(parts[2]), float(parts[3]))
        if kind in ("stream", "paced"):
            await self.can_write.wait()
            if self.transport is not None and not self.transport.is_closing():
                self.sent_close = True
                self.transport.write(CLOSE_FRAME)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(None if kind == "idle" else 10):
                await self.closed.wait()
        if self.transport is not None:
            self.transport.close()

    async def _paced(self, dialect: Dialect, events: int, rate: float) -> None:
        frames = _turn(dialect, 100)
        pieces = [stamp_split(frame) for frame in frames]
        interval = 1_000_000_000 / rate
        start = time.monotonic_ns()
        for index in range(events):
            due = start + int(index * interval)
            # The event loop's timers are only as fine as the millisecond: sleep the
            # thread (this connection is the only one) and spin the last 100 us,
            # leaving the client's core alone.
            while (ahead := due - time.monotonic_ns()) > 200_000:
                time.sleep((ahead - 100_000) / 1e9)  # noqa: ASYNC251
            while time.monotonic_ns() < due:
                pass
            head, tail = pieces[index % len(pieces)]
            stamp = b"%0*d" % (STAMP_DIGITS, time.monotonic_ns())
            if not await self._write(head + stamp + tail):
                return


async def serve(port: int = 0) -> None:
    """Serve until killed; print the port on the first line of stdout."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", port, backlog=4096)
    sock_port = server.sockets[0].getsockname()[1]
    print(f"PORT {sock_port}", flush=True)
    async with server:
        await server.serve_forever()


class BenchServer:
    """The bench server in a child process: ``with BenchServer() as server: server.url(...)``."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    def __enter__(self) -> BenchServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.server"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"bench server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            assert self.process.stdout is not None
            self.process.stdout.close()

    def url(self, *segments: object) -> str:
        """``ws://127.0.0.1:<port>/<segments...>``."""
        return f"ws://127.0.0.1:{self.port}/" + "/".join(str(s) for s in segments)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
