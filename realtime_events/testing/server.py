"""LocalRealtimeServer: a Realtime server on 127.0.0.1, for tests, demos and offline work.

This module is the I/O layer: it accepts WebSocket connections, feeds each
client frame to a :class:`~realtime_events.testing.engine.RealtimeEngine` (the
protocol, written Sans-I/O), writes what the engine answers, streams responses
with optional real-time pacing, and injects faults on demand. Besides frames it
hands the engine the connection URL's query (``?model=``,
``?intent=transcription``) and, every :data:`TICK_SECONDS`, the wall time that
passed (server VAD's idle timeout counts it). On the same port
it serves the SIP call control endpoints over plain HTTP (``POST``; see
:mod:`realtime_events.testing.calls`), and a session attaches to an accepted
call with ``?call_id=``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import anyio
import anyio.abc
from websockets.http11 import Request

from ..connection import WebSocket, accept
from ..errors import ConnectionClosedError
from ..events.names import Dialect
from ..recording import RecordedFrame, read_recording
from .calls import LocalCall, LocalCalls, http_response, read_http_request
from .engine import RealtimeEngine, ResponseRun, audio_ms
from .models import DemoModel, McpTool, Model

__all__ = ["TICK_SECONDS", "Faults", "LocalRealtimeServer", "ServerConnection"]

logger = logging.getLogger("realtime_events.testing.server")

#: How often a connection tells its engine how much wall time passed, in seconds.
TICK_SECONDS = 0.1
#: The close code of a connection the server refuses after the handshake (the real one's).
REFUSED_CLOSE_CODE = 4000


@dataclass
class Faults:
    """Faults to inject into every connection (each can also be triggered on demand).

    ``drop_after``: drop TCP without a close frame after this many server events.
    ``stall_after`` / ``stall_for``: stop sending for ``stall_for`` seconds after
    that many events. ``session_cap``: like the real server's cap on a session's
    length, close with ``cap_close_code`` after that many seconds.
    """

    drop_after: int | None = None
    stall_after: int | None = None
    stall_for: float = 0.0
    session_cap: float | None = None
    cap_close_code: int = 1001
    malformed_after: int | None = None


@dataclass
class ServerConnection:
    """One client connected to the server."""

    websocket: WebSocket
    engine: RealtimeEngine
    request: Request
    faults: Faults
    pace: float
    received: list[dict[str, Any]] = field(default_factory=list)
    sent_events: deque[Mapping[str, Any]] = field(default_factory=lambda: deque(maxlen=10_000))
    sent: int = 0
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _cancel: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    # Held from asking the engine for events to sending them, so that what the reader,
    # the ticker and the streamer get from it goes out in the order the engine made it.
    _order: anyio.Lock = field(default_factory=anyio.Lock)

    @property
    def dialect(self) -> str:
        """The dialect the client asked for: ``"beta"`` with the beta header, else ``"ga"``."""
        return self.engine.dialect

    async def send_events(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Write server events, applying the connection's faults."""
        for event in events:
            await self._fault_point()
            await self.websocket.send(json.dumps(event, separators=(",", ":")))
            self.sent_events.append(event)
            self.sent += 1

    async def send_dtmf(self, digits: str) -> None:
        """Press keys on the caller's phone: ``input_audio_buffer.dtmf_event_received`` for each.

        ``digits`` are keypad keys (``0``-``9``, ``*``, ``#``, ``A``-``D``), sent
        in order; an unknown key raises ``ValueError`` before anything is sent.
        """
        events = [event for digit in digits for event in self.engine.dtmf_event(digit)]
        async with self._order:
            await self.send_events(events)

    async def send_raw(self, data: str | bytes, *, binary: bool = False) -> None:
        """Write a frame as it is, valid or not."""
        await self.websocket.send(data, text=not binary)

    async def drop(self) -> None:
        """Drop the TCP connection without a close frame."""
        await self.websocket.abort(1006)
        self._cancel.cancel()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with a close frame."""
        await self.websocket.close(code, reason)
        self._cancel.cancel()

    async def _fault_point(self) -> None:
        faults = self.faults
        if faults.drop_after is not None and self.sent >= faults.drop_after:
            await self.drop()
            raise ConnectionClosedError(1006, "dropped by fault injection")
        if faults.stall_after is not None and self.sent == faults.stall_after:
            faults.stall_after = None
            await anyio.sleep(faults.stall_for)
        if faults.malformed_after is not None and self.sent == faults.malformed_after:
            faults.malformed_after = None
            await self.websocket.send('{"type": "response.output_text.delta", "oops": ')

    async def serve(self) -> None:
        """Run the connection until the client or a fault closes it.

        A connection the engine refuses (its first event is an ``error``, not
        ``session.created``) gets that error, then a close with code 4000, as
        the real server does.
        """
        try:
            with self._cancel:
                opening = self.engine.start()
                async with self._order:
                    await self.send_events(opening)
                refusal = _refusal(opening)
                if refusal is not None:
                    await self.close(REFUSED_CLOSE_CODE, refusal)
                    return
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(self._stream_responses)
                    task_group.start_soon(self._tick)
                    if self.faults.session_cap is not None:
                        task_group.start_soon(self._cap, self.faults.session_cap)
                    while True:
                        data, _text = await self.websocket.recv()
                        self._remember(data)
                        async with self._order:
                            await self.send_events(self.engine.receive(data))
                        self._wake.set()
        except* ConnectionClosedError:
            pass  # the client left, or a fault dropped it: either way this connection is over
        finally:
            # Also when the server shuts down: the client must see the socket close.
            await self.websocket.abort()

    async def serve_recording(
        self, recording: str | os.PathLike[str] | Sequence[RecordedFrame]
    ) -> None:
        """Send a recording's server frames with their timing (scaled by ``pace``), then close.

        ``recording`` is a file or the frames read from one. Client frames are
        read and kept in ``received`` but not answered: the recording already
        holds the answers.
        """
        if isinstance(recording, str | os.PathLike):
            recording = list(read_recording(recording))
        frames = [frame for frame in recording if frame.direction == "recv"]
        try:
            with self._cancel:
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(self._read_and_ignore)
                    previous = frames[0].t if frames else 0.0
                    for frame in frames:
                        await anyio.sleep(max(frame.t - previous, 0.0) * self.pace)
                        previous = frame.t
                        if frame.binary:
                            await self.send_raw(bytes.fromhex(frame.data), binary=True)
                        else:
                            await self.send_raw(frame.data)
                    await self.close(1000, "end of recording")
        except* ConnectionClosedError:
            pass  # the client left, or a fault dropped it: either way this connection is over
        finally:
            await self.websocket.abort()

    async def _read_and_ignore(self) -> None:
        while True:
            data, _text = await self.websocket.recv()
            self._remember(data)

    def _remember(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if isinstance(event, dict):
            self.received.append(event)

    async def _stream_responses(self) -> None:
        while True:
            run = self.engine.next_response()
            if run is None:
                await self._wake.wait()
                self._wake = anyio.Event()
                continue
            await self._stream(run)

    async def _stream(self, run: ResponseRun) -> None:
        events = iter(run)
        while True:
            async with self._order:
                # The run makes each event when asked: asked and sent under one hold.
                event = next(events, None)
                if event is None:
                    return
                await self.send_events([event])
            delay = audio_ms(event) / 1000 * self.pace
            # Yield even when not pacing, so client frames (a cancel) are read between events.
            await anyio.sleep(delay)

    async def _tick(self) -> None:
        """Tell the engine the wall time passing; send what it causes, wake the streamer.

        The time is measured, not assumed, so a late wake-up under load still
        counts all of it. Server VAD's idle timeout is what listens: it may
        trigger, and queue a response.
        """
        last = anyio.current_time()
        while True:
            await anyio.sleep(TICK_SECONDS)
            now = anyio.current_time()
            async with self._order:
                events = self.engine.advance((now - last) * 1000)
                last = now
                await self.send_events(events)
            if events:
                self._wake.set()

    async def _cap(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        error = {
            "type": "error",
            "event_id": "event_cap",
            "error": {
                "type": "invalid_request_error",
                "code": "session_expired",
                "message": f"Your session hit the maximum duration of {seconds:g} seconds.",
                "param": None,
                "event_id": None,
            },
        }
        async with self._order:
            await self.send_events([error])
        await self.close(self.faults.cap_close_code, "session expired")


class LocalRealtimeServer:
    """A protocol-faithful Realtime server on 127.0.0.1, speaking GA and beta.

    ``async with LocalRealtimeServer() as server: Session(url=server.url)``. The
    dialect is chosen per connection by the ``OpenAI-Beta`` header. ``pace`` is
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
    :data:`TICK_SECONDS` each connection tells its engine the wall time that
    passed, so server VAD's ``idle_timeout_ms`` fires on a silent client.

    ``calls`` holds the SIP calls: ``await server.calls.ring(url, secret=...)``
    makes one and POSTs its signed webhook; the control endpoints are served at
    :attr:`http_url` (give it to ``Calls(base_url=...)``), and
    ``Session(url=server.url, call_id=...)`` attaches to an accepted call, whose
    session starts with the accepted configuration.
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
        self._model_factory = model_factory or (lambda: model if model is not None else DemoModel())
        self.host = host
        self.port = port
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
        self.connections: list[ServerConnection] = []
        self.calls = LocalCalls()
        # anyio primitives belong to an event loop: they are made in __aenter__, so a
        # server can be built anywhere (a threaded bot's test builds it before any loop runs).
        self._task_group: anyio.abc.TaskGroup | None = None
        self._new_connection: anyio.Event | None = None
        self._listen_scope: anyio.CancelScope | None = None

    @property
    def url(self) -> str:
        """The ``ws://`` URL to give ``Session(url=...)``."""
        return f"ws://{self.host}:{self.port}/v1/realtime"

    @property
    def http_url(self) -> str:
        """The ``http://`` base URL of the REST endpoints (``Calls(base_url=...)``, the SDK's)."""
        return f"http://{self.host}:{self.port}/v1"

    @property
    def base_url(self) -> str:
        """The URL to give the official SDK as ``websocket_base_url`` (it adds ``/realtime``)."""
        return f"ws://{self.host}:{self.port}/v1"

    @property
    def connection(self) -> ServerConnection:
        """The most recent connection."""
        if not self.connections:
            raise LookupError("no client has connected")
        return self.connections[-1]

    async def __aenter__(self) -> LocalRealtimeServer:
        if self.replay is not None:
            self._replay_frames = list(read_recording(self.replay))
        listener = await anyio.create_tcp_listener(local_host=self.host, local_port=self.port)
        self._new_connection = anyio.Event()
        self._listen_scope = anyio.CancelScope()
        self.port = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        # The listener runs in a child task: a cancelled or failed server never
        # cancels the code inside ``async with server``.
        task_group.start_soon(self._listen, listener, self._listen_scope)
        return self

    async def _listen(
        self, listener: anyio.abc.Listener[anyio.abc.SocketStream], scope: anyio.CancelScope
    ) -> None:
        with scope:
            async with listener, anyio.create_task_group() as connections:
                await listener.serve(self._handle_safely, task_group=connections)

    async def _handle_safely(self, stream: anyio.abc.SocketStream) -> None:
        try:
            await self._handle(stream)
        except Exception:
            logger.exception("connection handler failed")
            await stream.aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return None
        if self._listen_scope is not None:
            self._listen_scope.cancel()
        return await task_group.__aexit__(exc_type, exc, tb)

    async def serve_forever(self) -> None:
        """Serve until cancelled (for ``python -m realtime_events serve``)."""
        async with self:
            await anyio.sleep(math.inf)

    def _check(self, request: Request) -> tuple[int, str] | None:
        refusal = self._check_key(request)
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
            await stream.aclose()
            return
        if first.startswith(b"POST "):
            await self._serve_http(stream, first)
            return
        accepted = await accept(_Replayed(stream, first), check=self._check)
        if accepted is None:
            await stream.aclose()
            return
        websocket, request = accepted
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
        if self._new_connection is not None:
            self._new_connection.set()
            self._new_connection = anyio.Event()
        if self.replay is not None:
            await connection.serve_recording(self._replay_frames)
        else:
            await connection.serve()

    async def _serve_http(self, stream: anyio.abc.ByteStream, first: bytes) -> None:
        """Answer one plain HTTP request (a call control endpoint), then close."""
        status: int
        body: dict[str, Any] | None
        try:
            with anyio.fail_after(10):
                request = await read_http_request(stream, first)
        except (ValueError, EOFError, TimeoutError) as exc:
            error = {"message": f"Bad request: {exc}", "type": "invalid_request_error"}
            status, body = 400, {"error": {**error, "param": None, "code": None}}
        else:
            refusal = self._check_key(Request(request.path, request.headers, request.method))
            if refusal is not None:
                status, body = refusal[0], json.loads(refusal[1])
            else:
                status, body = await self.calls.answer(request)
        try:
            await stream.send(http_response(status, body))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # the client left without waiting for the answer
        finally:
            await stream.aclose()

    async def wait_for_connection(self, count: int = 1, timeout: float = 5.0) -> ServerConnection:
        """Wait until ``count`` clients have connected in all; return the latest."""
        with anyio.move_on_after(timeout):
            while len(self.connections) < count:
                assert self._new_connection is not None, "the server is not running"
                await self._new_connection.wait()
        if len(self.connections) < count:
            raise TimeoutError(
                f"no client connection #{count} within {timeout:g} s "
                f"({len(self.connections)} so far)"
            )
        return self.connections[-1]

    async def broadcast_raw(self, data: str | bytes, *, binary: bool = False) -> None:
        """Write a raw frame to every open connection."""
        for connection in list(self.connections):
            if not connection.websocket.closed:
                await connection.send_raw(data, binary=binary)


def _dialect(request: Request) -> Dialect:
    """``"beta"`` for a client sending ``OpenAI-Beta: realtime=v1``, else ``"ga"``."""
    beta = request.headers.get("OpenAI-Beta", "").replace(" ", "") == "realtime=v1"
    return "beta" if beta else "ga"


def _refusal(opening: Sequence[Mapping[str, Any]]) -> str | None:
    """The close reason when the engine refused the connection, as the real server words it."""
    if not opening or opening[0].get("type") != "error":
        return None
    error = opening[0].get("error") or {}
    code = error.get("code")
    kind = str(error.get("type") or "invalid_request_error")
    return f"{kind}.{code}" if code else kind


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


class _Replayed(anyio.abc.ByteStream):
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
