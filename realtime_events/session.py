"""The Session: one long-lived Realtime conversation and the tasks that serve it.

A running session owns a task group with three kinds of task:

- the *reader* (one per connection) receives frames, parses each into a typed
  event, and hands batches to the dispatcher through a memory stream whose
  depth is bounded by a semaphore, so a slow dispatcher pushes back onto the
  socket instead of growing memory;
- the *dispatcher* (one per session, surviving reconnects) runs handlers one
  event at a time, in registration order;
- the *supervisor* owns the connection: keepalive, and reconnecting after an
  abnormal close.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import signals
from ._generated_overloads import SessionOverloads
from .audio import MAX_APPEND_BYTES, PCM16, AudioFormat
from .config import from_wire, response_to_wire, to_wire
from .connection import WebSocket, connect
from .conversation import Conversation
from .dispatch import Dispatcher, EventStream, Handler, Overflow, Pattern, current_dispatcher
from .endpoint import Endpoint
from .errors import (
    ConnectionClosedError,
    ConnectionFailedError,
    HandshakeRejectedError,
    InvalidFrameError,
    RealtimeError,
    SessionClosedError,
)
from .events import (
    ClientEvent,
    Event,
    RealtimeSessionInfo,
    ServerEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
    UnknownServerEvent,
    parse_client_event,
    parse_server_event,
)
from .events._base import PluginEvent
from .events.names import Dialect
from .metrics import Metrics
from .plugins import Plugin, load, session_config_of
from .recording import Recorder, read_recording
from .resources import InputAudioBufferResource, OutputAudioBufferResource
from .responses import Responses

__all__ = ["ReconnectPolicy", "Session", "SessionState"]

logger = logging.getLogger("realtime_events.session")


H = TypeVar("H", bound=Handler)
P = TypeVar("P")
SessionState = Literal["idle", "connecting", "open", "reconnecting", "closing", "closed"]

_UNSET: Any = object()


@dataclass(frozen=True)
class ReconnectPolicy:
    """How to reconnect after an unexpected close: exponential backoff with jitter.

    The delay before attempt *n* is ``min(initial_delay * 2**(n-1), max_delay)``
    times a random factor in ``[1 - jitter, 1]``. ``max_attempts=None`` retries
    forever. A handshake refused with 401/403 is never retried.
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_attempts: int | None = 8
    jitter: float = 0.25
    #: Close codes that end the session instead of reconnecting (1000 always does).
    final_codes: frozenset[int] = frozenset({1000, 1008})

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt ``attempt`` (1-based)."""
        base = min(math.ldexp(self.initial_delay, attempt - 1), self.max_delay)
        return base * random.uniform(1 - self.jitter, 1)


class Session(SessionOverloads):
    """A Realtime session: connection, typed events, and ordered handlers.

    The constructor never connects. ``async with session`` connects, sends the
    session configuration, and serves events in the background until the block
    exits; ``await session.run()`` does the same in the foreground until the
    session is closed.

    Args:
        model: The model, sent as ``?model=`` (the deployment name on Azure).
        url: Any ``ws://`` or ``wss://`` endpoint; the OpenAI API by default.
        api_key: Defaults to ``$OPENAI_API_KEY`` (``$AZURE_OPENAI_API_KEY`` on
            Azure). A local server given by ``url`` needs none.
        dialect: ``"ga"`` or ``"beta"`` (sends ``OpenAI-Beta: realtime=v1``).
        instructions, voice, output_modalities, turn_detection,
        input_audio_transcription, input_audio_format, output_audio_format:
            The session configuration, in dialect-neutral names; ``config``
            adds any other field as-is. Sent as ``session.update`` on connect.
        plugins: Plugins to attach, as objects or installed plugin names.
        headers, query: Extra handshake headers and URL query parameters.
        azure_endpoint, azure_deployment, api_version: Connect to Azure OpenAI.
        call_id: Attach to a SIP or WebRTC call as a sideband controller.
        reconnect: ``True`` for the default :class:`ReconnectPolicy`, a policy,
            or ``False`` to end the session on any close.
        renew_after: Reconnect proactively after this many seconds, between
            responses, to stay ahead of the server's cap on a session's length.
        history_limit: Keep only the newest this many items in the conversation
            mirror, so memory stays flat over very long sessions; a reconnect then
            replays only those. None (the default) keeps everything.
        record: Append every frame sent and received to this JSONL file.
        open_timeout, close_timeout: Bounds on connecting and closing.
        ping_interval, ping_timeout: Keepalive; ``None`` turns it off.
        max_pending_batches: How many received batches may wait for the
            dispatcher before the reader stops reading (backpressure).
    """

    def __init__(
        self,
        model: str | None = "gpt-realtime",
        *,
        url: str | None = None,
        api_key: str | None = None,
        dialect: Dialect = "ga",
        instructions: str | None = None,
        voice: str | None = None,
        output_modalities: Iterable[str] | None = None,
        turn_detection: Mapping[str, Any] | None = _UNSET,
        input_audio_transcription: Mapping[str, Any] | None = _UNSET,
        input_audio_format: Any = None,
        output_audio_format: Any = None,
        config: Mapping[str, Any] | None = None,
        plugins: Iterable[Plugin | str] = (),
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        azure_endpoint: str | None = None,
        azure_deployment: str | None = None,
        api_version: str | None = None,
        call_id: str | None = None,
        reconnect: bool | ReconnectPolicy = True,
        renew_after: float | None = None,
        history_limit: int | None = None,
        record: str | os.PathLike[str] | None = None,
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        max_pending_batches: int = 64,
    ) -> None:
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', not {dialect!r}")
        #: Where and how to connect (the key stays out of its repr).
        self.endpoint = Endpoint(
            url=url,
            model=model,
            api_key=api_key,
            dialect=dialect,
            headers=dict(headers or {}),
            query=dict(query or {}),
            azure_endpoint=azure_endpoint,
            azure_deployment=azure_deployment,
            api_version=api_version,
            call_id=call_id,
        )
        self.reconnect_policy: ReconnectPolicy | None = (
            ReconnectPolicy() if reconnect is True else (reconnect or None)
        )
        self.renew_after = renew_after
        self._renewing = False
        self._record_path = record
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self._ping = (ping_interval, ping_timeout)
        self._max_pending_batches = max_pending_batches

        self.config: dict[str, Any] = {}
        for name, value in (
            ("instructions", instructions),
            ("voice", voice),
            ("output_modalities", list(output_modalities) if output_modalities else None),
            ("input_audio_format", input_audio_format),
            ("output_audio_format", output_audio_format),
        ):
            if value is not None:
                self.config[name] = value
        if turn_detection is not _UNSET:
            self.config["turn_detection"] = turn_detection
        if input_audio_transcription is not _UNSET:
            self.config["input_audio_transcription"] = input_audio_transcription
        self.config.update(config or {})

        self.state: SessionState = "idle"
        self.plugins: dict[str, Plugin] = {}
        self._dispatcher = Dispatcher(spawn=self._spawn, on_error=self._handler_failed)
        self._task_group: anyio.abc.TaskGroup | None = None
        self._host_group: anyio.abc.TaskGroup | None = None
        self._dispatch_done: anyio.Event | None = None
        self._ws: WebSocket | None = None
        self._event_send: MemoryObjectSendStream[Event | list[ServerEvent]] | None = None
        self._window: anyio.Semaphore | None = None
        self._finished: anyio.Event | None = None
        self._closing = False
        self._failure: BaseException | None = None
        self._recorder: Recorder | None = None
        self._reconnected = anyio.Event()
        self._connection_lost = anyio.Event()

        #: The server's effective configuration, from the last ``session.created``
        #: or ``session.updated`` (GA nests audio settings, beta keeps them flat).
        self.server_session: RealtimeSessionInfo | None = None

        # Core state first: handlers run in registration order, so the conversation
        # mirror and the response tracker are current before any user handler runs.
        self.on("session.created", self._on_session_info)
        self.on("session.updated", self._on_session_info)
        self.conversation = Conversation(self, history_limit=history_limit)
        self.response = Responses(self)
        self.metrics = Metrics(self)
        self.input_audio_buffer = InputAudioBufferResource(self.send)
        self.output_audio_buffer = OutputAudioBufferResource(self.send)
        self.on("session.created", self._on_session_created)

        for plugin in plugins:
            self.use(plugin)

    def __repr__(self) -> str:
        return f"<Session {self.url!r} model={self.model!r} dialect={self.dialect} {self.state}>"

    # -- where to connect --------------------------------------------------

    @property
    def url(self) -> str:
        """The WebSocket URL this session connects to (without credentials)."""
        return self.endpoint.ws_url

    @property
    def model(self) -> str | None:
        """The model the session asks for."""
        return self.endpoint.model

    @property
    def dialect(self) -> Dialect:
        """The protocol dialect: ``"ga"`` or ``"beta"``."""
        return self.endpoint.dialect

    # -- handlers ----------------------------------------------------------

    def _register(self, name: Pattern, handler: Handler, *, once: bool, concurrent: bool) -> None:
        self._dispatcher.add(name, handler, once=once, concurrent=concurrent)

    def once(self, name: Pattern, handler: H | None = None) -> Any:
        """Register a handler that runs for the first matching event only."""
        return self.on(name, handler, once=True)

    def off(self, handler: Handler, name: Pattern | None = None) -> bool:
        """Remove a handler (from ``name`` only, if given); tell whether it was registered."""
        return self._dispatcher.remove(handler, name)

    async def _wait_for(
        self, name: Pattern, *, where: Callable[[Any], bool] | None, timeout: float | None
    ) -> Any:
        return await self._dispatcher.wait_for(name, where=where, timeout=timeout)

    @asynccontextmanager
    async def stream(
        self,
        name: Pattern = "*",
        *,
        where: Callable[[Any], bool] | None = None,
        buffer: int = 256,
        overflow: Overflow = "block",
    ) -> AsyncIterator[EventStream]:
        """Collect matching events for ``async for`` while the block runs.

        The buffer holds ``buffer`` events; when it is full, ``"block"`` makes the
        dispatcher wait for the reader (nothing is lost) and ``"drop_oldest"``
        discards the oldest event instead.
        """
        events = self._dispatcher.open_stream(name, where=where, buffer=buffer, overflow=overflow)
        try:
            yield events
        finally:
            events.close()

    def emit(self, name: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> Event:
        """Publish a plugin event (``"<plugin>.<event>"``) to this session's handlers.

        Inside a handler the event is dispatched right after the current one;
        elsewhere it joins the queue of incoming events.
        """
        event = PluginEvent.model_construct(type=name, **{**(payload or {}), **fields})
        if current_dispatcher.get() is self._dispatcher:
            self._dispatcher.pending.append(event)
        elif self._event_send is not None:
            self._event_send.send_nowait(event)
        else:
            raise SessionClosedError(f"cannot emit {name!r}: the session is not running")
        return event

    @overload
    def use(self, plugin: str, **options: Any) -> Any: ...

    @overload
    def use(self, plugin: P, **options: Any) -> P: ...

    def use(self, plugin: Any, **options: Any) -> Any:
        """Attach a plugin (an object, or the name of an installed one) and return it."""
        loaded: Any = load(plugin, **options) if isinstance(plugin, str) else plugin
        name = getattr(loaded, "name", None)
        if not isinstance(name, str) or not callable(getattr(loaded, "attach", None)):
            raise TypeError(f"{loaded!r} is not a plugin: it needs a name and attach(session)")
        if name in self.plugins:
            raise ValueError(f"a plugin named {name!r} is already attached")
        self.plugins[name] = loaded
        loaded.attach(self)
        if self._task_group is not None:
            self._start_plugin(loaded)
        return loaded

    def _start_plugin(self, plugin: Any) -> None:
        run = getattr(plugin, "run", None)
        if callable(run) and self._task_group is not None:
            self._task_group.start_soon(self._run_plugin, run)

    async def _run_plugin(self, run: Callable[[Session], Coroutine[Any, Any, None]]) -> None:
        # A plugin may be attached from a handler; its task is not the dispatcher,
        # whatever context it was started from (emit() depends on telling them apart).
        current_dispatcher.set(None)
        await run(self)

    # -- sending -----------------------------------------------------------

    async def send(self, event: ClientEvent | Mapping[str, Any]) -> ClientEvent:
        """Validate a client event (a model or a dict), write it, and return the model.

        Raises :class:`InvalidEventError` for an invalid event (before anything is
        sent) and :class:`SessionClosedError` when the session is not connected.
        """
        model = parse_client_event(event)
        while True:
            if self.state == "reconnecting":
                # Hold the send until the conversation is restored, so it lands after
                # the replayed history; give up with the reconnect policy.
                await self._reconnected.wait()
            if self.state not in ("open", "connecting"):
                raise SessionClosedError(f"cannot send {model.type!r}: the session is {self.state}")
            lost = self._connection_lost
            try:
                await self._write(model)
            except ConnectionClosedError:
                # The connection died under this send. Once the supervisor has seen
                # it too, the loop sends again on the next connection, or fails.
                await lost.wait()
                continue
            return model

    async def _write(self, model: ClientEvent) -> None:
        """Write one event on the current connection (no waiting for a reconnect)."""
        ws = self._ws
        if ws is None:
            raise SessionClosedError(f"cannot send {model.type!r}: not connected")
        data = model.to_json()
        await ws.send(data)
        if self._recorder is not None:
            self._recorder.write("send", data)
        signals.send(signals.event_sent, self, event=model)

    def session_config(self) -> dict[str, Any]:
        """The effective configuration: the session's own fields, then each plugin's."""
        merged = dict(self.config)
        for plugin in self.plugins.values():
            merged.update(session_config_of(plugin))
        return merged

    async def update(self, **fields: Any) -> ClientEvent:
        """Merge ``fields`` into the configuration and send it as ``session.update``.

        With no fields, re-sends the effective configuration (plugins call this
        after changing what they contribute). Field names are dialect-neutral
        (``voice``, ``output_modalities``, ``turn_detection``...); unknown names
        pass through unchanged.
        """
        self.config.update(fields)
        wire = to_wire(self.session_config(), self.dialect)
        return await self.send(SessionUpdateEvent(session=wire))

    async def send_text(self, text: str, *, respond: bool = True) -> ClientEvent:
        """Add a user text message, and ask for a response unless ``respond=False``."""
        sent = await self.conversation.item.create(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        )
        if respond:
            await self.response.create()
        return sent

    async def send_audio(self, pcm: bytes, *, commit: bool = False, respond: bool = False) -> None:
        """Append audio in the session's input format, in chunks under the 15 MiB limit.

        With server VAD off, ``commit=True`` turns it into a user message and
        ``respond=True`` then asks for a response.
        """
        for start in range(0, len(pcm), MAX_APPEND_BYTES):
            await self.input_audio_buffer.append(pcm[start : start + MAX_APPEND_BYTES])
        if commit:
            await self.input_audio_buffer.commit()
        if respond:
            await self.response.create()

    def response_overrides(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Translate per-response overrides to this session's dialect."""
        return response_to_wire(overrides, self.dialect)

    # -- lifecycle ---------------------------------------------------------

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        await self.close()
        host, self._host_group = self._host_group, None
        if host is not None:
            return await host.__aexit__(exc_type, exc, tb)
        return None

    async def start(self) -> None:
        """Connect, send the configuration, and start serving events in the background.

        Prefer ``async with session``, which also stops it. Raises
        :class:`ConnectionFailedError` (or :class:`AuthenticationError`) when the
        first connection can't be made.
        """
        if self.state not in ("idle", "closed"):
            raise RealtimeError(f"the session is already {self.state}")
        self.state = "connecting"
        self._closing = False
        self._failure = None
        self._finished = anyio.Event()
        self._dispatcher.reopen()
        self._event_send, receive = anyio.create_memory_object_stream[Event | list[ServerEvent]](
            math.inf
        )
        self._window = anyio.Semaphore(self._max_pending_batches)
        if self._record_path is not None:
            self._recorder = Recorder(self._record_path)
        host = anyio.create_task_group()
        await host.__aenter__()
        self._host_group = host
        try:
            ws = await self._open()
            self.state = "open"
            await host.start(self._background, ws, receive)
            await self._configure()
        except BaseException as exc:
            self.state = "closed"
            self._shutdown_streams(exc)
            if self._ws is not None:
                await self._ws.abort()
            host.cancel_scope.cancel()
            self._host_group = None
            # Exit the group as if its body succeeded, so the caller gets the error
            # itself (say, AuthenticationError) rather than a group wrapping it.
            await host.__aexit__(None, None, None)
            raise

    async def _background(
        self,
        ws: WebSocket,
        receive: MemoryObjectReceiveStream[Event | list[ServerEvent]],
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Own every task of the session; cancelling this group never touches the caller."""
        async with anyio.create_task_group() as task_group:
            self._task_group = task_group
            self._dispatch_done = anyio.Event()
            task_group.start_soon(self._dispatch_loop, receive)
            task_group.start_soon(self._supervise, ws)
            for plugin in self.plugins.values():
                self._start_plugin(plugin)
            task_status.started()
        self._task_group = None

    async def run(self) -> None:
        """Connect and serve events until the session is closed, then return.

        It ends after :meth:`close` (from any task) or a normal close (1000) by
        the server; an abnormal close reconnects, and raises only when the
        reconnect policy gives up.
        """
        async with self:
            assert self._finished is not None
            await self._finished.wait()
        if self._failure is not None:
            raise self._failure

    async def close(self) -> None:
        """Close the session; returns within a bounded time even if the server never answers."""
        if self.state in ("idle", "closed") or self._finished is None:
            return
        self._closing = True
        if self.state != "closing":
            self.state = "closing"
        ws = self._ws
        if ws is not None:
            await ws.close(1000)
        if current_dispatcher.get() is self._dispatcher:
            return  # called from a handler: the dispatcher finishes after it returns
        with anyio.move_on_after(self.close_timeout * 2) as scope:
            await self._finished.wait()
        if scope.cancelled_caught and self._task_group is not None:
            logger.warning("session tasks did not finish in time; cancelling them")
            self._task_group.cancel_scope.cancel()

    @property
    def closed(self) -> bool:
        """True once the session has ended."""
        return self.state == "closed"

    async def _open(self) -> WebSocket:
        ping_interval, ping_timeout = self._ping
        ws = await connect(
            self.url,
            headers=self.endpoint.handshake_headers(),
            open_timeout=self.open_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=self.close_timeout,
        )
        self._ws = ws
        self._connection_lost = anyio.Event()
        return ws

    async def _configure(self) -> None:
        """Send the session configuration, and the conversation on a reconnect."""
        # Sent even when empty: the server then confirms the effective configuration
        # with session.updated, which plugins and the mirror read.
        config = self.session_config()
        await self._write(SessionUpdateEvent(session=to_wire(config, self.dialect)))

    def _on_session_info(self, event: SessionCreatedEvent | SessionUpdatedEvent) -> None:
        self.server_session = event.session

    @property
    def server_config(self) -> dict[str, Any]:
        """The server's effective configuration in dialect-neutral names (empty before connect).

        ``session.server_config.get("turn_detection")`` reads the same on GA and
        beta servers; compare :meth:`session_config`, what this session asks for.
        """
        if self.server_session is None:
            return {}
        return from_wire(self.server_session.model_dump(exclude_unset=True))

    def _audio_format(self, name: str) -> AudioFormat:
        wire = self.server_config.get(name) or self.session_config().get(name)
        if wire is None:
            return PCM16
        try:
            return AudioFormat.from_wire(wire)
        except (ValueError, TypeError, KeyError):
            return PCM16

    @property
    def input_format(self) -> AudioFormat:
        """The format of input audio: as the server reports it, else as configured, else pcm16."""
        return self._audio_format("input_audio_format")

    @property
    def output_format(self) -> AudioFormat:
        """The format of output audio: as the server reports it, else as configured, else pcm16."""
        return self._audio_format("output_audio_format")

    async def _on_session_created(self, event: ServerEvent) -> None:
        signals.send(signals.connected, self, url=self.url, event=event)

    async def _supervise(self, ws: WebSocket) -> None:
        """Serve connections until the session ends, reconnecting after abnormal closes."""
        error: BaseException | None = None
        try:
            while True:
                closed = await self._serve(ws)
                renewing, self._renewing = self._renewing, False
                policy = self.reconnect_policy
                will_reconnect = not self._closing and (
                    renewing or (policy is not None and closed.code not in policy.final_codes)
                )
                signals.send(
                    signals.disconnected, self, error=closed, will_reconnect=will_reconnect
                )
                if not will_reconnect:
                    if closed.code != 1000 and not self._closing:
                        error = closed
                    break
                ws = await self._reconnect(policy or ReconnectPolicy(), closed, now=renewing)
        except Exception as exc:  # the reconnect policy gave up
            error = exc
        finally:
            await self._finish(error)

    async def _serve(self, ws: WebSocket) -> ConnectionClosedError:
        """Read from one connection until it closes; return why it closed."""
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(ws.keepalive)
            if self.renew_after is not None:
                task_group.start_soon(self._renew_later, ws, self.renew_after)
            try:
                await self._read_loop(ws)
            except ConnectionClosedError as exc:
                closed = exc
            task_group.cancel_scope.cancel()
        await ws.abort()
        self._connection_lost.set()
        return closed

    async def _renew_later(self, ws: WebSocket, after: float) -> None:
        """Renew the connection after ``after`` seconds, at a moment no response runs.

        Servers cap a session's length; renewing before the cap, between turns,
        avoids being cut off mid-answer. The conversation is replayed as on any
        reconnect.
        """
        await anyio.sleep(after)
        while self.response.active:
            await self.wait_for("response.done")
        logger.info("renewing the connection after %.0f s", after)
        self._renewing = True
        await ws.close(1000, "renewing the session")

    async def _reconnect(
        self, policy: ReconnectPolicy, closed: ConnectionClosedError, *, now: bool = False
    ) -> WebSocket:
        """Open a new connection and restore the conversation into it.

        ``now`` skips the first backoff delay: a renewal is planned, not a failure.
        """
        self.state = "reconnecting"
        self._reconnected = anyio.Event()
        attempt = 0
        while True:
            attempt += 1
            if policy.max_attempts is not None and attempt > policy.max_attempts:
                raise ConnectionFailedError(
                    f"gave up reconnecting after {attempt - 1} attempts"
                ) from closed
            delay = 0.0 if now and attempt == 1 else policy.delay(attempt)
            signals.send(signals.reconnecting, self, attempt=attempt, delay=delay, error=closed)
            logger.warning(
                "connection lost (%s); reconnecting in %.2f s (attempt %d)", closed, delay, attempt
            )
            await anyio.sleep(delay)
            if self._closing:
                raise SessionClosedError("closed while reconnecting")
            try:
                ws = await self._open()
                await self._configure()
                await self.conversation.restore(self._write)
            except HandshakeRejectedError as exc:
                if exc.status in (401, 403):
                    raise
                logger.warning("reconnect attempt %d failed: %s", attempt, exc)
                continue
            except (ConnectionFailedError, ConnectionClosedError) as exc:
                # Also a connection that died while being restored: try a fresh one.
                if self._ws is not None:
                    await self._ws.abort()
                logger.warning("reconnect attempt %d failed: %s", attempt, exc)
                continue
            self.state = "open"
            self._reconnected.set()
            await self.response.resume()
            signals.send(signals.reconnected, self, attempt=attempt)
            return ws

    async def _read_loop(self, ws: WebSocket) -> None:
        send = self._event_send
        window = self._window
        assert send is not None
        assert window is not None
        recorder = self._recorder
        parse = self._parse
        while True:
            messages = await ws.recv_batch()
            batch: list[ServerEvent] = []
            for data, text in messages:
                if recorder is not None:
                    recorder.write("recv", data if text else data.hex(), binary=not text)
                event = parse(data, text)
                if event is not None:
                    batch.append(event)
            if batch:
                await window.acquire()
                await send.send(batch)

    def _parse(self, data: bytes, text: bool) -> ServerEvent | None:
        """Parse one frame; report (and drop) what is not an event."""
        if not text:
            self._report_invalid(data, InvalidFrameError("binary frame", data))
            return None
        try:
            event = parse_server_event(data)
        except InvalidFrameError as exc:
            self._report_invalid(data, exc)
            return None
        if type(event) is UnknownServerEvent:
            self._report_unknown(data, event)
        if signals.event_received.receivers:
            signals.send(signals.event_received, self, event=event)
        return event

    async def replay(self, recording: str | os.PathLike[str], *, speed: float = 0.0) -> int:
        """Dispatch the server events of a recording through the handlers, offline.

        ``speed`` 1.0 keeps the recorded timing, 2.0 is twice as fast, and 0 (the
        default) goes as fast as possible. Returns how many events were dispatched.
        Nothing is sent: the session stays unconnected.
        """
        if self.state not in ("idle", "closed"):
            raise RealtimeError(f"cannot replay into a session that is {self.state}")
        frames = [frame for frame in read_recording(recording) if frame.direction == "recv"]
        count = 0
        self._dispatcher.reopen()
        token = current_dispatcher.set(self._dispatcher)
        try:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                previous = frames[0].t if frames else 0.0
                for frame in frames:
                    if speed > 0:
                        await anyio.sleep(max(frame.t - previous, 0.0) / speed)
                    previous = frame.t
                    data = bytes.fromhex(frame.data) if frame.binary else frame.data.encode()
                    event = self._parse(data, not frame.binary)
                    if event is not None:
                        await self._dispatcher.dispatch(event)
                        count += 1
        finally:
            self._task_group = None
            current_dispatcher.reset(token)
            self._dispatcher.close()
        return count

    def _report_invalid(self, frame: bytes, error: Exception, event: Event | None = None) -> None:
        logger.warning("invalid frame from the server (%s): %.200r", error, frame)
        signals.send(signals.event_invalid, self, frame=frame, error=error, event=event)

    def _report_unknown(self, frame: bytes, event: UnknownServerEvent) -> None:
        if event.validation_error is not None:
            self._report_invalid(frame, event.validation_error, event)
        else:
            logger.info(
                "unknown server event type %r (dispatched as UnknownServerEvent)", event.type
            )
            signals.send(signals.event_unknown, self, event=event)

    async def _dispatch_loop(
        self, receive: MemoryObjectReceiveStream[Event | list[ServerEvent]]
    ) -> None:
        current_dispatcher.set(self._dispatcher)
        dispatch = self._dispatcher.dispatch
        dispatch_many = self._dispatcher.dispatch_many
        window = self._window
        assert window is not None
        try:
            async with receive:
                async for item in receive:
                    if type(item) is list:
                        await dispatch_many(item)
                        window.release()
                    else:
                        await dispatch(item)  # type: ignore[arg-type]
        finally:
            if self._dispatch_done is not None:
                self._dispatch_done.set()

    def _spawn(self, call: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._task_group is None:
            raise SessionClosedError("the session is not running")
        self._task_group.start_soon(call)

    def _handler_failed(self, event: Event, handler: Handler, error: Exception) -> None:
        logger.error(
            "handler %s failed on %s",
            getattr(handler, "__qualname__", handler),
            event.type,
            exc_info=error,
        )
        signals.send(signals.handler_failed, self, event=event, handler=handler, error=error)

    async def _finish(self, error: BaseException | None) -> None:
        """End the session: drain queued events, end waiters, stop the tasks."""
        self.state = "closing"
        self._failure = error
        if self._ws is not None:
            await self._ws.abort()
        event_send, self._event_send = self._event_send, None  # emit() now says "closed"
        if event_send is not None:
            event_send.close()
            # Handlers see every event that arrived before the end (bounded: a
            # handler stuck forever must not keep the session open).
            if self._dispatch_done is not None:
                with anyio.move_on_after(self.close_timeout):
                    await self._dispatch_done.wait()
        self._dispatcher.close(error)
        self.state = "closed"
        if self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        self._reconnected.set()  # senders waiting for a reconnect see the session closed
        signals.send(signals.closed, self, error=error)
        if self._finished is not None:
            self._finished.set()
        if self._task_group is not None:
            # Plugins' background tasks and concurrent handlers end with the session.
            self._task_group.cancel_scope.cancel()

    def _shutdown_streams(self, error: BaseException | None) -> None:
        event_send, self._event_send = self._event_send, None
        if event_send is not None:
            event_send.close()
        self._dispatcher.close(error)
