"""WebSocket connections: websockets' Sans-I/O protocol driven by anyio byte streams.

websockets implements the protocol (handshake, framing, control frames, the close
handshake) without doing any I/O. This module adds the I/O with anyio, so the same
code runs on asyncio and trio. :class:`WebSocket` serves both sides: :func:`connect`
opens a client connection, and :mod:`realtime_events.testing` accepts server ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import anyio
import anyio.abc
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus, InvalidURI
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from .errors import (
    AuthenticationError,
    ConnectionClosedError,
    ConnectionFailedError,
    HandshakeRejectedError,
)

__all__ = ["Message", "WebSocket", "accept", "connect"]

logger = logging.getLogger("realtime_events.connection")

# Large reads amortise the per-call cost of the stream and of the parser: an audio
# delta is ~6 KB and a busy session delivers several per read.
READ_SIZE = 256 * 1024

SECRET_HEADERS = frozenset({"authorization", "api-key", "openai-organization"})


class Message(NamedTuple):
    """One complete WebSocket message (fragments already joined)."""

    data: bytes
    text: bool


class _RedactSecrets(logging.Filter):
    """Hide credentials from websockets' debug log of handshake headers."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in SECRET_HEADERS:
            record.args = (args[0], "<redacted>")
        return True


wire_logger = logging.getLogger("realtime_events.wire")
wire_logger.addFilter(_RedactSecrets())


class WebSocket:
    """A WebSocket connection over an anyio byte stream.

    ``recv``/``recv_batch`` must be called from one task at a time; ``send`` and
    ``close`` may be called from any task. Keepalive runs only while
    :meth:`keepalive` is running, usually in the owner's task group.
    """

    def __init__(
        self,
        protocol: Protocol,
        stream: anyio.abc.ByteStream,
        *,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float = 5.0,
        fast_receive: bool = False,
    ) -> None:
        self.protocol = protocol
        self.stream = stream
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self._send_lock = anyio.Lock()
        self._messages: deque[Message] = deque()
        self._fragments: list[bytes] = []
        self._fragment_text = False
        self._closed_error: ConnectionClosedError | None = None
        self._fail_reason: tuple[int, str] | None = None
        self._receiving = False
        self._has_reader = False
        self._closed_event = anyio.Event()
        self._last_received = anyio.current_time()
        self._stream_closed = False
        # The fast receive path (see _receive_fast): allowed by whoever built the
        # protocol, active once the protocol's parser sits at a frame boundary.
        self._fast_allowed = fast_receive
        self._fast = False
        self._pending = bytearray()
        self._pending_need = 0
        self._fragmented = False

    # -- receiving ---------------------------------------------------------

    async def recv(self) -> Message:
        """Return the next message; raise :class:`ConnectionClosedError` once closed."""
        self._has_reader = True
        while not self._messages:
            await self._read()
        return self._messages.popleft()

    async def recv_batch(self) -> list[Message]:
        """Return every message already received, waiting for at least one.

        Taking what one read produced in a single call saves a task switch per
        message when the peer sends faster than the application reads.
        """
        self._has_reader = True
        while not self._messages:
            await self._read()
        batch = list(self._messages)
        self._messages.clear()
        return batch

    async def _read(self) -> None:
        if self._closed_error is None and self.protocol.state is not State.OPEN:
            # Closing already (the peer's close frame, a frame that broke the rules,
            # or our own close()): what is left is the bounded TCP close.
            await self._finish_closing()
        if self._closed_error is not None:
            raise self._closed_error
        protocol = self.protocol
        if protocol.writes:
            # Answers to frames that came with the handshake (a ping's pong) go out
            # before we wait on the peer, which may be waiting for them.
            await self._flush()
        self._receiving = True
        try:
            data = await self.stream.receive(READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            self._receive_eof()
        else:
            if self._fast:
                self._receive_fast(data)
            else:
                protocol.receive_data(data)
        finally:
            self._receiving = False
        self._last_received = anyio.current_time()
        for event in protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
        if protocol.writes:
            await self._flush()
        if protocol.state is not State.OPEN:
            # A close frame came, or the protocol failed the connection (a frame
            # broke the rules): either way, only the bounded TCP close is left.
            await self._finish_closing()
            if not self._messages:
                assert self._closed_error is not None
                raise self._closed_error

    def _begin_receiving(self, data: bytes) -> None:
        """Start reading frames right after the handshake; ``data`` is what came with it.

        This is the one moment the protocol's parser is known to sit on a frame
        boundary, so the fast path starts here or never.
        """
        protocol = self.protocol
        self._fast = bool(
            self._fast_allowed
            and protocol.state is State.OPEN
            and not protocol.extensions
            and not protocol.debug
        )
        if not data:
            return
        if self._fast:
            self._receive_fast(data)
        else:
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame):
                    self._on_frame(event)

    def _receive_fast(self, data: bytes) -> None:
        """Split complete, unfragmented data frames off ``data`` without the protocol's parser.

        websockets' generator-based parser costs several microseconds per frame, and
        a busy Realtime session delivers thousands of small frames per second. Only
        the common case is handled here: a whole, unmasked, unfragmented text or
        binary frame with no reserved bits. Every other frame (control frames,
        fragments, anything malformed) goes to the protocol whole, in order, so its
        parser always starts at a frame boundary and keeps doing the checks, the
        pong and close replies, and the closing handshake.
        """
        protocol = self.protocol
        pending = self._pending
        if protocol.state is not State.OPEN:
            self._stop_fast_receive(data)
            return
        pos = 0
        if pending:
            need = self._pending_need - len(pending)
            if self._pending_need and need <= len(data):
                # Complete the frame split by the previous read, then go on in
                # ``data`` itself: joining whole reads would copy every byte twice.
                pending += data[:need]
                head = bytes(pending)
                pending.clear()
                self._pending_need = 0
                if not self._split_frames(head, 0):
                    self._stop_fast_receive(data[need:])
                    return
                pos = need
            else:
                pending += data
                if len(pending) < self._pending_need:
                    return
                # Only a header was split (the frame's size was unknown): rare and short.
                data = bytes(pending)
                pending.clear()
        self._pending_need = 0
        if not self._split_frames(data, pos):
            self._stop_fast_receive(b"")

    def _split_frames(self, data: bytes, pos: int) -> bool:
        """Take the frames of ``data`` from ``pos``; keep a partial one for the next read.

        Return False, having handed the protocol the frames that were taken from it,
        once the connection is no longer open: the caller gives it the rest.
        """
        protocol = self.protocol
        append = self._messages.append
        size = len(data)
        while size - pos >= 2:
            first = data[pos]
            second = data[pos + 1]
            length = second & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            if second & 0x80:
                start += 4  # masked: a protocol error from a server; the protocol says so
            end = start + length
            if end > size:
                self._pending_need = end - pos
                break
            if (first == 0x81 or first == 0x82) and not second & 0x80 and not self._fragmented:
                append(Message(data[start:end], first == 0x81))
            else:
                self._forward_frame(first, data[pos:end])
                if protocol.state is not State.OPEN:
                    if end < size:
                        self._pending += data[end:]
                    return False
            pos = end
        if pos < size:
            self._pending += data[pos:]
        return True

    def _forward_frame(self, first: int, frame: bytes) -> None:
        """Hand one whole frame to the protocol and take its events now, keeping the order."""
        opcode = first & 0x0F
        if opcode in (1, 2) and not first & 0x80:
            self._fragmented = True
        elif opcode == 0 and first & 0x80:
            self._fragmented = False
        protocol = self.protocol
        protocol.receive_data(frame)
        for event in protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)

    def _stop_fast_receive(self, data: bytes) -> None:
        """Give the protocol back the whole byte stream: what is pending, then ``data``."""
        self._fast = False
        if self._pending:
            self.protocol.receive_data(bytes(self._pending))
            self._pending.clear()
        if data:
            self.protocol.receive_data(data)

    def _receive_eof(self) -> None:
        if self._fast:
            self._stop_fast_receive(b"")
        self.protocol.receive_eof()

    def _on_frame(self, frame: Frame) -> None:
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if frame.fin:
                self._messages.append(Message(bytes(frame.data), opcode is Opcode.TEXT))
            else:
                self._fragments = [bytes(frame.data)]
                self._fragment_text = opcode is Opcode.TEXT
        elif opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
            if frame.fin:
                self._messages.append(Message(b"".join(self._fragments), self._fragment_text))
                self._fragments = []

    async def _finish_closing(self) -> None:
        """Wait (bounded) for the peer to close TCP, then close our end."""
        if self._closed_error is not None:
            return
        protocol = self.protocol
        if not _is_closed(protocol):
            with anyio.move_on_after(self.close_timeout):
                while not _is_closed(protocol):
                    try:
                        data = await self.stream.receive(READ_SIZE)
                    except (
                        anyio.EndOfStream,
                        anyio.BrokenResourceError,
                        anyio.ClosedResourceError,
                    ):
                        protocol.receive_eof()
                    else:
                        protocol.receive_data(data)
                    protocol.events_received()
                    await self._flush()
        self._set_closed()
        await self._close_stream()

    def _set_closed(self) -> None:
        if self._closed_error is not None:
            return
        protocol = self.protocol
        if self._fail_reason is not None:
            code, reason = self._fail_reason
        elif protocol.close_rcvd is not None:
            code, reason = protocol.close_rcvd.code, protocol.close_rcvd.reason
        elif protocol.close_sent is not None and protocol.close_sent.code != 1000:
            code, reason = protocol.close_sent.code, protocol.close_sent.reason
        else:
            code, reason = 1006, "connection dropped without a close frame"
        self._closed_error = ConnectionClosedError(code, reason)
        self._closed_event.set()

    # -- sending -----------------------------------------------------------

    async def send(self, data: bytes | str, *, text: bool = True) -> None:
        """Send one message; raise :class:`ConnectionClosedError` if the connection is closed."""
        payload = data.encode() if isinstance(data, str) else data
        async with self._send_lock:
            if self.protocol.state is not State.OPEN:
                raise self._closed_error or ConnectionClosedError(1006, "connection is closing")
            if text:
                self.protocol.send_text(payload)
            else:
                self.protocol.send_binary(payload)
            await self._flush_locked()

    async def _flush(self) -> None:
        async with self._send_lock:
            await self._flush_locked()

    async def _flush_locked(self) -> None:
        # Called with the lock held: data_to_send() drains the protocol's buffer, so
        # whoever holds the lock writes everything queued so far, in order.
        for chunk in self.protocol.data_to_send():
            try:
                if chunk:
                    await self.stream.send(chunk)
                else:
                    await self._send_eof()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                # The peer is gone; the reader will notice and report the close.
                self.protocol.receive_eof()
                return

    async def _send_eof(self) -> None:
        send_eof = getattr(self.stream, "send_eof", None)
        if send_eof is None:
            return
        # TLS streams can't half-close; the full close follows shortly.
        with contextlib.suppress(NotImplementedError):
            await send_eof()

    # -- closing -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection is fully closed."""
        return self._closed_error is not None

    @property
    def close_error(self) -> ConnectionClosedError | None:
        """Why the connection closed, once it has."""
        return self._closed_error

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection, waiting at most ``close_timeout`` for the peer.

        A peer that never answers the close frame (the real Realtime server is
        known not to) only delays this by the timeout; then TCP is closed anyway.
        """
        with anyio.CancelScope(shield=True):
            async with self._send_lock:
                if self.protocol.state is State.OPEN:
                    self.protocol.send_close(code, reason)
                    await self._flush_locked()
            if self._closed_error is None:
                if self.protocol.state is State.CLOSED:
                    self._set_closed()
                else:
                    with anyio.move_on_after(self.close_timeout):
                        if self._has_reader:
                            # Whoever reads this connection will see the close;
                            # reading here too would race it.
                            await self._closed_event.wait()
                        while self._closed_error is None:
                            try:
                                await self._read()
                            except ConnectionClosedError:
                                break
                            self._messages.clear()
                    self._set_closed()
            await self._close_stream()

    async def abort(self, code: int = 1006, reason: str = "connection aborted") -> None:
        """Close TCP at once, without a close handshake."""
        self._fail_reason = self._fail_reason or (code, reason)
        await self._close_stream()

    async def _close_stream(self) -> None:
        if not self._stream_closed:
            self._stream_closed = True
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.close_timeout):
                await self.stream.aclose()

    # -- keepalive ---------------------------------------------------------

    async def keepalive(self) -> None:
        """Ping the peer every ``ping_interval`` seconds; fail the connection if it goes silent.

        Silence counts only while a reader is waiting on the socket: when the
        application is slow and applies backpressure, unread pongs are not the
        peer's fault.
        """
        interval, timeout = self.ping_interval, self.ping_timeout
        if interval is None:
            return
        while self._closed_error is None:
            await anyio.sleep(interval)
            async with self._send_lock:
                if self.protocol.state is not State.OPEN:
                    return
                self.protocol.send_ping(os.urandom(4))
                await self._flush_locked()
            if timeout is None:
                continue
            sent_at = anyio.current_time()
            await anyio.sleep(timeout)
            silent = self._last_received < sent_at
            if silent and self._receiving and self._closed_error is None:
                logger.warning("no answer to keepalive ping within %.1f s; closing", timeout)
                self._fail_reason = (1011, "keepalive ping timeout")
                self.protocol.fail(1011, "keepalive ping timeout")
                await self._flush()
                await self._close_stream()
                return


def _is_closed(protocol: Protocol) -> bool:
    # A function, so type checkers don't narrow ``state`` across the awaits that change it.
    return protocol.state is State.CLOSED


def _ssl_context(ssl_context: ssl.SSLContext | None) -> ssl.SSLContext:
    return ssl_context or ssl.create_default_context()


async def connect(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    open_timeout: float = 10.0,
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    close_timeout: float = 5.0,
) -> WebSocket:
    """Open a WebSocket client connection to ``url`` (``ws://`` or ``wss://``).

    Incoming messages have no size limit (a retrieved item can carry minutes of
    base64 audio) and compression is off, as in the official SDK. A refused
    handshake raises :class:`HandshakeRejectedError` with the server's status and
    body (:class:`AuthenticationError` for 401/403).
    """
    try:
        uri = parse_uri(url)
    except InvalidURI as exc:
        raise ConnectionFailedError(f"not a WebSocket URL: {url!r}") from exc
    stream: anyio.abc.ByteStream | None = None
    try:
        with anyio.fail_after(open_timeout):
            if uri.secure:
                stream = await anyio.connect_tcp(
                    uri.host,
                    uri.port,
                    tls=True,
                    ssl_context=_ssl_context(ssl_context),
                    tls_hostname=uri.host,
                )
            else:
                stream = await anyio.connect_tcp(uri.host, uri.port)
            protocol = ClientProtocol(uri, max_size=None, logger=wire_logger)
            websocket = WebSocket(
                protocol,
                stream,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                close_timeout=close_timeout,
                fast_receive=True,
            )
            await _handshake(websocket, protocol, headers or {})
            return websocket
    except TimeoutError as exc:
        await _aclose_quietly(stream)
        raise ConnectionFailedError(
            f"timed out after {open_timeout} s connecting to {uri.host}"
        ) from exc
    except (OSError, ssl.SSLError) as exc:
        await _aclose_quietly(stream)
        raise ConnectionFailedError(f"could not connect to {uri.host}:{uri.port}: {exc}") from exc
    except BaseException:
        await _aclose_quietly(stream)
        raise


async def _aclose_quietly(stream: anyio.abc.ByteStream | None) -> None:
    if stream is not None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(1):
            await stream.aclose()


async def _handshake(
    websocket: WebSocket, protocol: ClientProtocol, headers: Mapping[str, str]
) -> None:
    request = protocol.connect()
    request.headers["User-Agent"] = "realtime-events (Python)"
    for name, value in headers.items():
        request.headers[name] = value
    protocol.send_request(request)
    await websocket._flush()
    tail = b""  # the last bytes seen, to find a header terminator split across reads
    while True:
        try:
            data = await websocket.stream.receive(READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError) as exc:
            raise ConnectionFailedError(
                "server closed the connection during the handshake"
            ) from exc
        # The protocol gets the response up to the end of its headers only: what
        # follows may be frames, and the fast receive path must start exactly on a
        # frame boundary (a 101 response has no body).
        found = (tail + data).find(b"\r\n\r\n")
        cut = len(data) if found == -1 else found + 4 - len(tail)
        head, rest = data[:cut], data[cut:]
        tail = (tail + head)[-3:]
        protocol.receive_data(head)
        response = next(
            (event for event in protocol.events_received() if isinstance(event, Response)), None
        )
        if response is not None:
            _check_response(protocol, response)
            websocket._begin_receiving(rest)
            return
        if rest:
            protocol.receive_data(rest)  # a refusal's body: the protocol reads it
            for event in protocol.events_received():
                if isinstance(event, Response):
                    _check_response(protocol, event)
        if protocol.handshake_exc is not None:
            raise ConnectionFailedError(f"WebSocket handshake failed: {protocol.handshake_exc}")


def _check_response(protocol: ClientProtocol, response: Response) -> None:
    exc = protocol.handshake_exc
    if exc is None:
        return
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        body = exc.response.body.decode("utf-8", "replace") if exc.response.body else ""
        resp_headers = _headers_dict(exc.response.headers)
        cls = AuthenticationError if status in (401, 403) else HandshakeRejectedError
        raise cls(status, body, resp_headers) from exc
    raise ConnectionFailedError(f"WebSocket handshake failed: {exc}") from exc


def _headers_dict(headers: Headers) -> dict[str, Any]:
    return dict(headers.raw_items())


async def accept(
    stream: anyio.abc.ByteStream,
    *,
    check: Callable[[Request], tuple[int, str] | None] | None = None,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    close_timeout: float = 5.0,
) -> tuple[WebSocket, Request] | None:
    """Accept a WebSocket server connection on ``stream``; return it with the request.

    ``check`` may refuse the handshake by returning ``(status, body)``; then the
    refusal is sent and None returned. Returns None as well when the peer goes
    away or sends something that isn't a WebSocket handshake.
    """
    protocol = ServerProtocol(max_size=None, logger=wire_logger)
    websocket = WebSocket(
        protocol,
        stream,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
    )
    request: Request | None = None
    while request is None:
        try:
            data = await stream.receive(READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                request = event
            elif isinstance(event, Frame):
                websocket._on_frame(event)
        if request is None and protocol.handshake_exc is not None:
            await websocket._flush()
            return None
    refusal = check(request) if check is not None else None
    if refusal is not None:
        status, body = refusal
        response = protocol.reject(status, body)
    else:
        response = protocol.accept(request)
    protocol.send_response(response)
    await websocket._flush()
    if protocol.state is not State.OPEN:
        await websocket._close_stream()
        return None
    return websocket, request
