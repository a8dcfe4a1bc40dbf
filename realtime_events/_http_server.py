"""The plain HTTP of the package's small servers: a listener, a request read Sans-I/O, an answer.

The local Realtime server (its SIP call control endpoints) and the playground
(its page's files) both answer plain HTTP on the port where they accept
WebSockets: one request per connection, read with websockets' Sans-I/O
parsing helpers, answered with ``Connection: close``. The bytes read before
the server knew a request was a WebSocket upgrade are put back in front of
the stream (:class:`Replayed`) for the library's handshake to read. This
module is what they share; it knows neither of them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self

import anyio
import anyio.abc
from anyio.streams.stapled import MultiListener
from websockets.datastructures import Headers
from websockets.exceptions import SecurityError
from websockets.http11 import parse_headers, parse_line
from websockets.streams import StreamReader

__all__ = ["HttpRequest", "ListeningServer", "Replayed", "read_request", "response"]


class ListeningServer:
    """A TCP server on ``host:port`` (0: any free port) from ``async with`` to its end.

    Each connection is served by :meth:`_handle` in a task of its own, in a
    child task group, so a server that fails or is cancelled never cancels the
    code inside ``async with server``. A handler's exception is logged on
    ``logger`` (the connection's failure, not the server's), and every
    connection is closed when its handler returns.
    """

    def __init__(self, host: str, port: int, logger: logging.Logger) -> None:
        self.host = host
        self.port = port
        self._logger = logger
        self._task_group: anyio.abc.TaskGroup | None = None
        self._scope: anyio.CancelScope | None = None

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        """Serve one connection (the subclass's protocol)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        self._scope = anyio.CancelScope()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        task_group.start_soon(self._listen, listener, self._scope, name=self._task_name("listen"))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return None
        if self._scope is not None:
            self._scope.cancel()
        return await task_group.__aexit__(exc_type, exc, tb)

    async def serve_forever(self) -> None:
        """Serve until cancelled."""
        async with self:
            await anyio.sleep(math.inf)

    def _task_name(self, what: str) -> str:
        # A task is named after the server that owns it, not after this module,
        # so a listing of running tasks tells each server's tasks apart.
        owner = type(self)
        return f"{owner.__module__}.{owner.__qualname__}.{what}"

    async def _listen(
        self, listener: MultiListener[anyio.abc.SocketStream], scope: anyio.CancelScope
    ) -> None:
        with scope:
            async with listener, anyio.create_task_group() as tasks:
                for one in listener.listeners:
                    # create_tcp_listener makes socket listeners only (one per address).
                    assert isinstance(one, anyio.abc.SocketListener)
                    tasks.start_soon(self._accept, one, tasks, name=self._task_name("accept"))

    async def _accept(self, listener: anyio.abc.SocketListener, tasks: anyio.abc.TaskGroup) -> None:
        name = self._task_name("connection")
        while True:
            stream = await listener.accept()
            tasks.start_soon(self._handle_safely, stream, name=name)

    async def _handle_safely(self, stream: anyio.abc.SocketStream) -> None:
        try:
            await self._handle(stream)
        except Exception:
            self._logger.exception("failed to serve a connection")
        finally:
            await stream.aclose()


@dataclass(frozen=True)
class HttpRequest:
    """A plain HTTP request read from a server's port."""

    method: str
    path: str
    headers: Headers
    body: bytes


async def read_request(
    stream: anyio.abc.ByteReceiveStream,
    data: bytes = b"",
    *,
    max_body: int = 0,
    max_size: int | None = None,
) -> tuple[HttpRequest, bytes]:
    """Read one HTTP/1.x request; return it and every byte read (``data`` first).

    ``data`` is what was already read from ``stream``. A body longer than
    ``max_body`` is refused, and so is a request still incomplete after
    ``max_size`` bytes. Raises ``ValueError`` for a malformed or refused
    request and ``EOFError`` when the peer leaves before it is whole.
    """
    reader = StreamReader()
    parser = _parse(reader, max_body)
    received = bytearray(data)
    reader.feed_data(data)
    while True:
        try:
            next(parser)
        except StopIteration as done:
            request: HttpRequest = done.value
            return request, bytes(received)
        except SecurityError as error:  # a line too long, too many headers
            raise ValueError(str(error)) from None
        if max_size is not None and len(received) > max_size:
            raise ValueError(f"request over {max_size} bytes")
        try:
            chunk = await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            reader.feed_eof()
        else:
            received += chunk
            reader.feed_data(chunk)


def _parse(reader: StreamReader, max_body: int) -> Generator[None, None, HttpRequest]:
    line = yield from parse_line(reader.read_line)
    try:
        method, path, protocol = bytes(line).decode("ascii").split(" ", 2)
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"invalid HTTP request line: {bytes(line)[:100]!r}") from None
    if protocol not in {"HTTP/1.1", "HTTP/1.0"}:
        raise ValueError(f"unsupported protocol: {protocol[:20]!r}")
    headers = yield from parse_headers(reader.read_line)
    if "Transfer-Encoding" in headers:
        raise ValueError("chunked request bodies are not supported")
    try:
        length = int(headers.get("Content-Length", "0"))
    except ValueError:
        raise ValueError("invalid Content-Length") from None
    if not 0 <= length <= max_body:
        raise ValueError(f"request body of {length} bytes")
    body = yield from reader.read_exact(length)
    return HttpRequest(method, path, headers, bytes(body))


def response(status: int, body: bytes = b"", headers: Mapping[str, str] | None = None) -> bytes:
    """The bytes of an HTTP/1.1 answer that closes the connection (``Content-Length`` added)."""
    head = Headers(headers or {})
    head["Content-Length"] = str(len(body))
    head["Connection"] = "close"
    line = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
    return line.encode() + head.serialize() + body


class Replayed(anyio.abc.ByteStream):
    """``stream`` with bytes already read from it put back in front, for the handshake to read."""

    def __init__(self, stream: anyio.abc.ByteStream, data: bytes) -> None:
        self._stream = stream
        self._data = data

    async def receive(self, max_bytes: int = 65536) -> bytes:
        if self._data:
            data, self._data = self._data[:max_bytes], self._data[max_bytes:]
            return data
        return await self._stream.receive(max_bytes)

    async def send(self, item: bytes) -> None:
        await self._stream.send(item)

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()

    @property
    def extra_attributes(self) -> Mapping[Any, Callable[[], Any]]:
        return self._stream.extra_attributes
