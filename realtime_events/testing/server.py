"""LocalRealtimeServer: a Realtime and Live server on 127.0.0.1, for tests, demos and offline work.

This module is the I/O layer's front door: it accepts WebSocket connections
and routes each by its path to its protocol's engine, written Sans-I/O. The
Live path (:data:`~realtime_events.testing.live.LIVE_PATH`, where the
official SDK's ``client.live.connect()`` goes) gets a
:class:`~realtime_events.testing.live.LiveEngine`; any other path a
:class:`~realtime_events.testing.engine.RealtimeEngine`, handed the URL's
query (``?model=``, ``?intent=transcription``). Each connection (see
:mod:`realtime_events.testing.connection`) feeds its engine the client's
frames, writes what it answers, streams its runs with optional real-time
pacing, tells it the wall time passing, and injects faults on demand. On the
same port it serves the SIP call control endpoints over plain HTTP (``POST``;
see :mod:`realtime_events.testing.calls`), and a Realtime session attaches to
an accepted call with ``?call_id=``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import anyio
import anyio.abc
from websockets.http11 import Request

from .._http_server import ListeningServer, Replayed, read_request, response
from ..connection import WebSocket, accept
from ..events.names import Dialect
from ..recording import RecordedFrame, read_recording
from .calls import MAX_BODY, LocalCall, LocalCalls
from .connection import REFUSED_CLOSE_CODE, TICK_SECONDS, EngineConnection, Faults
from .engine import RealtimeEngine
from .live import LIVE_PATH, LiveEngine
from .live_connection import LiveServerConnection
from .models import DemoModel, McpTool, Model
from .realtime_connection import ServerConnection

__all__ = [
    "REFUSED_CLOSE_CODE",
    "TICK_SECONDS",
    "Faults",
    "LiveServerConnection",
    "LocalRealtimeServer",
    "ServerConnection",
]

logger = logging.getLogger("realtime_events.testing.server")


class LocalRealtimeServer(ListeningServer):
    """A protocol-faithful server on 127.0.0.1: Realtime (GA and beta) and Live.

    ``async with LocalRealtimeServer() as server: Session(url=server.url)``. The
    Realtime dialect is chosen per connection by the ``OpenAI-Beta`` header. ``pace`` is
    seconds of wall time per second of audio streamed (0: as fast as possible,
    1: real time). ``api_key``, when set, is required as a Bearer token (or
    Azure ``api-key``), so tests can see a 401. ``replay`` serves a recording
    to every client instead of a model; it is read when the server starts, so
    a missing or malformed file fails there (``OSError``, ``RecordingError``).

    Each connection's URL query reaches its engine as the real server reads
    it: ``?model=gpt-realtime-2`` makes the session's model one that answers
    in several messages (a spoken preamble first), ``?intent=transcription``
    opens a transcription session (transcripts, never a response), and a
    transcription session given a ``model`` is refused with the real error,
    then closed (code 4000). ``mcp_servers`` are the tools of the fake MCP
    servers, by server label, for every connection (by default the model's
    own, from :meth:`ScriptedModel.mcp_tool
    <realtime_events.testing.models.ScriptedModel.mcp_tool>`). Every
    :data:`TICK_SECONDS` a connection tells its engine the wall time that
    passed, so server VAD's ``idle_timeout_ms`` fires on a silent client; a
    Realtime connection does so only while an idle timeout is configured.

    ``calls`` holds the SIP calls: ``await server.calls.ring(url, secret=...)``
    makes one and POSTs its signed webhook; the control endpoints are served at
    :attr:`http_url` (give it to ``Calls(base_url=...)``), and
    ``Session(url=server.url, call_id=...)`` attaches to an accepted call, whose
    session starts with the accepted configuration.

    The Live protocol is served at :attr:`live_url`, the path the official
    SDK's ``client.live.connect()`` opens from ``websocket_base_url=``
    :attr:`base_url`: each connection is a new Live session on a
    :class:`~realtime_events.testing.live.LiveEngine` with its own instance of
    the model, started by the client's ``session.start`` (so
    ``session_defaults``, ``mcp_servers`` and the URL's query are Realtime's
    only). Pacing, the wall time ticks, ``faults`` and ``replay`` apply to
    both protocols; Live connections are kept in :attr:`live_connections`.
    A running Live session's sideband is served at
    ``/v1/live/sessions/{id}/attach`` (where ``client.live.sideband.connect()``
    and ``Session(protocol="live", attach=id)`` go; see
    :class:`~realtime_events.testing.live_connection.LiveSideband`); an id
    that names no running session gets 404, as do other paths under
    ``/v1/live/`` (forks): the local server does not serve them.
    """

    def __init__(
        self,
        *,
        model: Model | None = None,
        model_factory: Callable[[], Model] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        pace: float = 0.0,
        api_key: str | None = None,
        faults: Faults | None = None,
        session_defaults: Mapping[str, Any] | None = None,
        replay: str | os.PathLike[str] | None = None,
        mcp_servers: Mapping[str, Sequence[McpTool]] | None = None,
    ) -> None:
        super().__init__(host, port, logger)
        self._model_factory = model_factory or (lambda: model if model is not None else DemoModel())
        self.pace = pace
        self.api_key = api_key
        self.faults = faults or Faults()
        self.session_defaults = dict(session_defaults or {})
        self.replay = replay
        self.mcp_servers = (
            {label: list(tools) for label, tools in mcp_servers.items()}
            if mcp_servers is not None
            else None
        )
        self._replay_frames: list[RecordedFrame] = []
        #: The Realtime connections, oldest first.
        self.connections: list[ServerConnection] = []
        #: The Live connections, oldest first.
        self.live_connections: list[LiveServerConnection] = []
        self.calls = LocalCalls()
        # anyio primitives belong to an event loop: they are made in __aenter__, so a
        # server can be built anywhere (a threaded bot's test builds it before any loop runs).
        self._new_connection: anyio.Event | None = None

    @property
    def url(self) -> str:
        """The ``ws://`` URL to give ``Session(url=...)``."""
        return f"ws://{self.host}:{self.port}/v1/realtime"

    @property
    def live_url(self) -> str:
        """The ``ws://`` URL of the Live protocol (``Session(protocol="live", url=...)``)."""
        return f"ws://{self.host}:{self.port}{LIVE_PATH}"

    @property
    def http_url(self) -> str:
        """The ``http://`` base URL of the REST endpoints (``Calls(base_url=...)``, the SDK's)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def base_url(self) -> str:
        """The official SDK's ``websocket_base_url`` (it adds ``/realtime``, ``/live/sessions``)."""
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def connection(self) -> ServerConnection:
        """The most recent Realtime connection."""
        if not self.connections:
            raise LookupError("no client has connected")
        return self.connections[-1]

    @property
    def live_connection(self) -> LiveServerConnection:
        """The most recent Live connection."""
        if not self.live_connections:
            raise LookupError("no Live client has connected")
        return self.live_connections[-1]

    async def __aenter__(self) -> Self:
        if self.replay is not None:
            self._replay_frames = list(read_recording(self.replay))
        self._new_connection = anyio.Event()
        return await super().__aenter__()

    def _check(self, request: Request) -> tuple[int, str] | None:
        refusal = self._check_key(request)
        path = urlsplit(request.path).path
        if refusal is None and path.startswith("/v1/live/") and path != LIVE_PATH:
            attach = _attach_id(path)
            if attach is None:
                refusal = _not_found(path)
            elif self._running_live(attach) is None:
                refusal = _no_session(path, attach)
        call_id = _call_id(request)
        if refusal is None and call_id is not None and request.method == "GET":
            refusal = self.calls.refusal(call_id, _dialect(request))
        return refusal

    def _check_key(self, request: Request) -> tuple[int, str] | None:
        if self.api_key is None:
            return None
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        given = given or request.headers.get("api-key", "")
        if given != self.api_key:
            body = {
                "error": {
                    "message": "Incorrect API key provided.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                    "param": None,
                }
            }
            return 401, json.dumps(body)
        return None

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        first = await _first_bytes(stream)
        if first is None:
            return
        if first.startswith(b"POST "):
            await self._serve_http(stream, first)
            return
        accepted = await accept(Replayed(stream, first), check=self._check)
        if accepted is None:
            return
        websocket, request = accepted
        attach = _attach_id(urlsplit(request.path).path)
        if attach is not None:
            primary = self._running_live(attach)
            if primary is None:  # the session ended since the handshake was checked
                await websocket.close(1000, "session ended")
                return
            await primary.attach(websocket).serve()
            return
        connection: EngineConnection[Any]
        if urlsplit(request.path).path == LIVE_PATH:
            connection = self._live(websocket, request)
        else:
            connection = await self._realtime(websocket, request)
        if self._new_connection is not None:
            self._new_connection.set()
            self._new_connection = anyio.Event()
        if self.replay is not None:
            await connection.serve_recording(self._replay_frames)
        else:
            await connection.serve()

    def _live(self, websocket: WebSocket, request: Request) -> LiveServerConnection:
        """A Live connection: a new session, whose model and configuration come in its start."""
        engine = LiveEngine(model=self._model_factory())
        faults = Faults(**vars(self.faults))
        connection = LiveServerConnection(websocket, engine, request, faults, self.pace)
        self.live_connections.append(connection)
        return connection

    def _running_live(self, session_id: str) -> LiveServerConnection | None:
        """The Live connection whose server session ``session_id`` is running, if any."""
        for connection in self.live_connections:
            if connection.session_id == session_id:
                return connection
        return None

    async def _realtime(self, websocket: WebSocket, request: Request) -> ServerConnection:
        """A Realtime connection, configured by its URL (and the call it attaches to)."""
        call_id = _call_id(request)
        call = self.calls.calls.get(call_id) if call_id is not None else None
        defaults = dict(self.session_defaults)
        if call is not None:
            # The session answering a call starts as the accept configured it.
            defaults.update(call.config or {})
        engine = RealtimeEngine(
            dialect=_dialect(request),
            model=self._model_factory(),
            session_defaults=defaults or None,
            query=dict(parse_qsl(urlsplit(request.path).query)),
            mcp_servers=self.mcp_servers,
        )
        faults = Faults(**vars(self.faults))
        connection = ServerConnection(websocket, engine, request, faults, self.pace)
        if call is not None:
            await _attach(connection, call)
        self.connections.append(connection)
        return connection

    async def _serve_http(self, stream: anyio.abc.ByteStream, first: bytes) -> None:
        """Answer one plain HTTP request (a call control endpoint), then close."""
        status: int
        body: dict[str, Any] | None
        try:
            with anyio.fail_after(10):
                request, _read = await read_request(stream, first, max_body=MAX_BODY)
        except (ValueError, EOFError, TimeoutError) as exc:
            error = {"message": f"Bad request: {exc}", "type": "invalid_request_error"}
            status, body = 400, {"error": {**error, "param": None, "code": None}}
        else:
            refusal = self._check_key(Request(request.path, request.headers, request.method))
            if refusal is not None:
                status, body = refusal[0], json.loads(refusal[1])
            else:
                status, body = await self.calls.answer(request)
        # The client may have left without waiting for the answer.
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await stream.send(_json_response(status, body))

    async def wait_for_connection(self, count: int = 1, timeout: float = 5.0) -> ServerConnection:
        """Wait until ``count`` Realtime clients have connected in all; return the latest."""
        await self._wait(self.connections, count, timeout, "client")
        return self.connections[-1]

    async def wait_for_live_connection(
        self, count: int = 1, timeout: float = 5.0
    ) -> LiveServerConnection:
        """Wait until ``count`` Live clients have connected in all; return the latest."""
        await self._wait(self.live_connections, count, timeout, "Live client")
        return self.live_connections[-1]

    async def _wait(
        self, connections: Sequence[object], count: int, timeout: float, what: str
    ) -> None:
        with anyio.move_on_after(timeout):
            while len(connections) < count:
                assert self._new_connection is not None, "the server is not running"
                await self._new_connection.wait()
        if len(connections) < count:
            raise TimeoutError(
                f"no {what} connection #{count} within {timeout:g} s ({len(connections)} so far)"
            )

    async def broadcast_raw(self, data: str | bytes, *, binary: bool = False) -> None:
        """Write a raw frame to every open connection, Realtime and Live."""
        everyone: list[EngineConnection[Any]] = [*self.connections, *self.live_connections]
        for connection in everyone:
            if not connection.websocket.closed:
                await connection.send_raw(data, binary=binary)


def _dialect(request: Request) -> Dialect:
    """``"beta"`` for a client sending ``OpenAI-Beta: realtime=v1``, else ``"ga"``."""
    beta = request.headers.get("OpenAI-Beta", "").replace(" ", "") == "realtime=v1"
    return "beta" if beta else "ga"


def _json_response(status: int, body: dict[str, Any] | None) -> bytes:
    """An HTTP answer with a JSON body (or none), as the REST endpoints answer."""
    if body is None:
        return response(status)
    return response(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


def _not_found(path: str) -> tuple[int, str]:
    """The 404 of a Live path the local server does not serve, in the API's error envelope."""
    error = {
        "message": f"The local server does not serve {path} (only {LIVE_PATH} of the Live API).",
        "type": "invalid_request_error",
        "param": None,
        "code": "not_found",
    }
    return 404, json.dumps({"error": error})


def _attach_id(path: str) -> str | None:
    """The session id of a sideband's path (``/v1/live/sessions/{id}/attach``), if it is one."""
    prefix, suffix = f"{LIVE_PATH}/", "/attach"
    if not (path.startswith(prefix) and path.endswith(suffix)):
        return None
    session_id = unquote(path[len(prefix) : -len(suffix)])
    return session_id if session_id and "/" not in session_id else None


def _no_session(path: str, session_id: str) -> tuple[int, str]:
    """The 404 of a sideband to a session that is not running, in the API's error envelope."""
    error = {
        "message": f"No running Live session {session_id!r} to attach to at {path}.",
        "type": "invalid_request_error",
        "param": "session_id",
        "code": "not_found",
    }
    return 404, json.dumps({"error": error})


def _call_id(request: Request) -> str | None:
    """The ``call_id`` of a sideband connection's URL, if any."""
    values = parse_qs(urlsplit(request.path).query).get("call_id")
    return values[0] if values else None


async def _attach(connection: ServerConnection, call: LocalCall) -> None:
    """Close ``connection`` when ``call`` ends, as the real server ends a call's sessions."""

    async def close() -> None:
        if not connection.websocket.closed:
            await connection.close(1000, f"call {call.state}")

    call.closers.append(close)
    if call.ended:  # hung up between the handshake's check and now
        await close()


async def _first_bytes(stream: anyio.abc.ByteStream) -> bytes | None:
    """The first bytes of a request, enough to read its method; None if the peer left."""
    data = b""
    while b" " not in data and len(data) < 16:
        try:
            data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
    return data
