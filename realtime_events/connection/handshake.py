"""The opening handshakes: :func:`connect` for a client, :func:`accept` for the local server.

Each builds websockets' Sans-I/O protocol for its side, runs the HTTP upgrade over
an anyio byte stream and hands back an open :class:`~.websocket.WebSocket`. The
handshake drives the connection before it is open, through its package-internal
methods: its writer (``_flush``), and its reader, which starts on the bytes that
came after the response headers.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import anyio.abc
from anyio.streams.tls import TLSStream
from websockets.client import ClientProtocol
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus, InvalidURI
from websockets.frames import Frame
from websockets.http11 import Request, Response
from websockets.protocol import Protocol, State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from .._secrets import install_log_redaction
from ..errors import (
    AuthenticationError,
    ConnectionClosedError,
    ConnectionFailedError,
    HandshakeRejectedError,
)
from .websocket import DEFAULT_MAX_SIZE, READ_SIZE, WebSocket, _check_max_size

__all__ = ["accept", "connect"]

# websockets logs every handshake header here; secret ones are redacted (see _secrets).
wire_logger = logging.getLogger("realtime_events.wire")
install_log_redaction(wire_logger)


def _ssl_context(ssl_context: ssl.SSLContext | None) -> ssl.SSLContext:
    return ssl_context or _default_ssl_context()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """The default TLS context, made once: loading the system's trust store costs tens of ms."""
    # An SSLContext is meant to be shared by many connections (and threads).
    return ssl.create_default_context()


async def connect(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    open_timeout: float = 10.0,
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    close_timeout: float = 5.0,
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> WebSocket:
    """Open a WebSocket client connection to ``url`` (``ws://`` or ``wss://``).

    An incoming message larger than ``max_size`` bytes fails the connection with
    1009; the default, :data:`DEFAULT_MAX_SIZE` (32 MiB), holds minutes of base64
    audio in one item, and None lifts the limit. Compression is off, as in the
    official SDK. A refused handshake raises :class:`HandshakeRejectedError` with
    the server's status and body (:class:`AuthenticationError` for 401/403).
    """
    _check_max_size(max_size)
    try:
        uri = parse_uri(url)
    except InvalidURI as exc:
        raise ConnectionFailedError(f"not a WebSocket URL: {url!r}") from exc
    stream: anyio.abc.ByteStream | None = None
    try:
        with anyio.fail_after(open_timeout):
            stream = await _open_stream(uri.host, uri.port, uri.secure, ssl_context)
            protocol = ClientProtocol(uri, max_size=max_size, logger=wire_logger)
            websocket = WebSocket(
                protocol,
                stream,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                close_timeout=close_timeout,
                max_size=max_size,
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
    except anyio.BrokenResourceError as exc:  # only TLS raises it: the handshake's reads catch it
        await _aclose_quietly(stream)
        raise ConnectionFailedError(
            f"connection to {uri.host}:{uri.port} lost during the TLS handshake"
        ) from exc
    except ConnectionClosedError as exc:  # writing the request failed
        await _aclose_quietly(stream)
        raise ConnectionFailedError(
            f"connection to {uri.host}:{uri.port} lost during the handshake"
        ) from exc
    except BaseException:
        await _aclose_quietly(stream)
        raise


async def _open_stream(
    host: str, port: int, secure: bool, ssl_context: ssl.SSLContext | None
) -> anyio.abc.ByteStream:
    """Open TCP to ``host``, and TLS on top when ``secure``."""
    family = _ip_family(host)
    if family is None:
        # A name: anyio resolves it and races its addresses (happy eyeballs).
        if secure:
            return await anyio.connect_tcp(
                host, port, tls=True, ssl_context=_ssl_context(ssl_context), tls_hostname=host
            )
        return await anyio.connect_tcp(host, port)
    # An address: one attempt, nothing to resolve or race, so no task group and
    # no task per address (a thousand sessions connecting at once pay for each).
    tcp = await _connect_address(family, host, port)
    if not secure:
        return tcp
    try:
        return await TLSStream.wrap(
            tcp, server_side=False, hostname=host, ssl_context=_ssl_context(ssl_context)
        )
    except BaseException:
        await anyio.aclose_forcefully(tcp)
        raise


def _ip_family(host: str) -> socket.AddressFamily | None:
    """The address family of an IP address literal; None for a name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


async def _connect_address(
    family: socket.AddressFamily, host: str, port: int
) -> anyio.abc.SocketStream:
    """Connect TCP to an IP address with a non-blocking connect; raise OSError on failure."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.connect((host, port))
        except BlockingIOError:
            await anyio.wait_writable(sock)
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, os.strerror(error)) from None
        return await anyio.abc.SocketStream.from_socket(sock)
    except BaseException:
        sock.close()
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
            del response
            _forget_the_response(protocol)
            websocket._begin_receiving(rest)
            return
        if rest:
            protocol.receive_data(rest)  # a refusal's body: the protocol reads it
            for event in protocol.events_received():
                if isinstance(event, Response):
                    _check_response(protocol, event)
        if protocol.handshake_exc is not None:
            raise ConnectionFailedError(f"WebSocket handshake failed: {protocol.handshake_exc}")


def _forget_the_response(protocol: ClientProtocol) -> None:
    """Let go of the handshake's response, which websockets' client parser keeps.

    The client's parser is one generator that reads the response, then frames for
    as long as the connection lives, and its frame holds the response (its
    headers: eight objects the garbage collector walks for as long as the
    session lives). The protocol was given the response headers only, so its
    parser waits at a frame boundary with nothing buffered: the frame parser
    the client's one went on into takes over there, started as websockets starts
    its own parsers when it swaps them.
    """
    # websockets' own attributes, not its API: a version without them keeps the
    # response, which costs memory and nothing else (a test pins the swap).
    reader = getattr(protocol, "reader", None)
    if protocol.state is State.OPEN and reader is not None and not getattr(reader, "buffer", b"x"):
        protocol.parser = Protocol.parse(protocol)
        next(protocol.parser)


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
    max_size: int | None = DEFAULT_MAX_SIZE,
) -> tuple[WebSocket, Request] | None:
    """Accept a WebSocket server connection on ``stream``; return it with the request.

    ``check`` may refuse the handshake by returning ``(status, body)``; then the
    refusal is sent and None returned. Returns None as well when the peer goes
    away or sends something that isn't a WebSocket handshake. ``max_size``
    bounds incoming messages as in :func:`connect`.
    """
    protocol = ServerProtocol(max_size=max_size, logger=wire_logger)
    websocket = WebSocket(
        protocol,
        stream,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
        max_size=max_size,
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
            with contextlib.suppress(ConnectionClosedError):
                await websocket._flush()
            return None
    refusal = check(request) if check is not None else None
    if refusal is not None:
        status, body = refusal
        response = protocol.reject(status, body)
    else:
        response = protocol.accept(request)
    protocol.send_response(response)
    try:
        await websocket._flush()
    except ConnectionClosedError:
        await websocket._close_stream()
        return None
    if protocol.state is not State.OPEN:
        await websocket._close_stream()
        return None
    return websocket, request
