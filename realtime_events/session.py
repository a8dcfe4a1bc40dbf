"""The Session: one long-lived Realtime (or Live) conversation, its handlers and its state.

The session is the public face: configuration, handlers (``on``, ``wait_for``,
``stream``, ``emit``: :mod:`~realtime_events.handlers`), sending, plugins, and the
conversation mirror, response sequencer and metrics that stay current across
connections. Each run of it (``async with session``, ``session.run()``, held by
:mod:`~realtime_events.runs`) is served by a :class:`~realtime_events.supervisor.Supervisor`,
which owns the connection and its tasks; the session hands it what it needs.

``Session(protocol="live")`` speaks OpenAI's Live protocol instead (see
docs/live.md): the same handlers, dispatch, recording and reconnection, its
start and history in :class:`~realtime_events.live.control.LiveControl`
(``session.live``), and the Realtime-only parts (``response``,
``conversation``, the audio buffers, turns) refusing use with what to do instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar, overload

import anyio
import anyio.abc

from . import signals
from ._secrets import redact_url
from .audio import MAX_APPEND_BYTES, AudioFormat
from .config_exchange import DEFAULT_MODEL, UNSET, ConfigExchange, own_config, transcription_target
from .connection import DEFAULT_MAX_SIZE, WebSocket, connect
from .conversation import Conversation
from .dispatch import current_dispatcher
from .endpoint import Endpoint, Protocol
from .errors import (
    HandshakeRejectedError,
    InvalidConfigError,
    RealtimeError,
    SessionClosedError,
)
from .events import (
    ClientEvent,
    RealtimeSessionInfo,
    ServerEvent,
    parse_client_event,
)
from .events.names import Dialect
from .events.parse import REALTIME_EVENTS
from .frames import FrameParser
from .handlers import SessionHandlers
from .live import parse_live_client_event
from .live.control import LiveControl
from .live.exchange import (
    LiveExchange,
    LiveSessionGoneError,
    attach_url,
    check_attach,
    live_model,
    live_own_config,
)
from .live.parse import LIVE_EVENTS
from .live.standins import nothing, realtime_only_parts, write_nothing
from .metrics import Metrics
from .plugin_host import PluginHost
from .plugins import Plugin
from .reconnect import ReconnectPolicy
from .recording import Recorder, RecordMode
from .resources import (
    ImageDetail,
    InputAudioBufferResource,
    OutputAudioBufferResource,
    image_message,
)
from .responses import Responses
from .run_hooks import RunHooks, RunSettings, SessionState
from .runs import Runs
from .supervisor import Supervisor
from .turns import Reply, Turn, Turns

__all__ = ["ReconnectPolicy", "Session", "SessionState"]  # the last two for older imports

logger = logging.getLogger("realtime_events.session")


P = TypeVar("P")


class Session(SessionHandlers):
    """A Realtime session: connection, typed events, and ordered handlers.

    The constructor never connects. ``async with session`` connects, sends the
    session configuration, and serves events in the background until the block
    exits; ``await session.run()`` does the same in the foreground until the
    session is closed.

    Args:
        model: The model, sent as ``?model=`` (the deployment name on Azure); for
            Live, sent in ``session.start`` (``gpt-live-1`` unless another is named).
        protocol: ``"realtime"`` (the default) or ``"live"``: OpenAI's Live API
            (``/v1/live/sessions``), opened by ``session.start`` and open on
            ``session.started``. ``instructions``, ``voice`` and one audio format
            are mapped to its configuration; ``config`` takes its own fields
            (``delegation``, ``input``, ``triggers``, ``store``...). See docs/live.md.
        url: Any ``ws://`` or ``wss://`` endpoint; the OpenAI API by default.
        api_key: Defaults to ``$OPENAI_API_KEY`` for the OpenAI API only
            (``$AZURE_OPENAI_API_KEY`` with ``azure_endpoint``); another ``url``
            gets a key only when ``api_key`` is passed.
        allow_insecure_key: Send credentials over plaintext ``ws://`` to a host
            that is not this machine (refused by default).
        dialect: ``"ga"`` or ``"beta"`` (sends ``OpenAI-Beta: realtime=v1``).
        instructions, voice, output_modalities, turn_detection,
        input_audio_transcription, input_audio_format, output_audio_format:
            The session configuration, in dialect-neutral names; ``config``
            adds any other field as-is. Sent as ``session.update`` on connect.
            ``config={"type": "transcription", ...}`` makes a transcription
            session (``?intent=transcription``, no model): it never responds.
        plugins: Plugins to attach, as objects or installed plugin names.
        headers, query: Extra handshake headers and URL query parameters.
        azure_endpoint, azure_deployment, api_version: Connect to Azure OpenAI.
        call_id: Attach to a SIP or WebRTC call as a sideband controller.
        attach: Live only: the id of a running Live session to attach to as a
            sideband (``{base}/live/sessions/{id}/attach``, under ``url`` when
            given): no ``session.start``, open once connected, every reconnect
            attaches to the same id, and a session gone (HTTP 404) ends the run
            with ``LiveSessionGoneError``. See docs/live.md, "Sideband".
        reconnect: ``True`` for the default :class:`ReconnectPolicy`, a policy,
            or ``False`` to end the session on any close.
        renew_after: Reconnect proactively after this many seconds, between
            responses, to stay ahead of the server's cap on a session's length.
        history_limit: Keep only the newest this many items in the conversation
            mirror, so memory stays flat over very long sessions; a reconnect then
            replays only those. None (the default) keeps everything.
        record: Write every frame sent and received to this JSONL file; it is
            started anew at each run and keeps the run's reconnects;
            ``record_mode="a"`` appends runs instead.
        open_timeout, close_timeout: Bounds on connecting and closing.
        ping_interval, ping_timeout: Keepalive; ``None`` turns it off. A server
            that answers no ping, or stops reading so that a send stays blocked,
            for ``ping_timeout`` seconds is taken as dead.
        max_size: The largest message accepted from the server, in bytes (32 MiB:
            minutes of base64 audio in one retrieved item); a bigger one fails
            the connection with 1009. None lifts the limit.
        max_pending_bytes: How many bytes of received frames may wait for the
            handlers before the reader stops reading (backpressure): a slow
            handler holds the server back instead of growing memory.
    """

    def __init__(
        self,
        model: str | None = DEFAULT_MODEL,
        *,
        protocol: Protocol = "realtime",
        url: str | None = None,
        api_key: str | None = None,
        dialect: Dialect = "ga",
        instructions: str | None = None,
        voice: str | None = None,
        output_modalities: Iterable[str] | None = None,
        turn_detection: Mapping[str, Any] | None = UNSET,
        input_audio_transcription: Mapping[str, Any] | None = UNSET,
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
        attach: str | None = None,
        allow_insecure_key: bool = False,
        reconnect: bool | ReconnectPolicy = True,
        renew_after: float | None = None,
        history_limit: int | None = None,
        record: str | os.PathLike[str] | None = None,
        record_mode: RecordMode = "w",
        open_timeout: float = 10.0,
        close_timeout: float = 5.0,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        max_size: int | None = DEFAULT_MAX_SIZE,
        max_pending_bytes: int = 1024 * 1024,
    ) -> None:
        if protocol not in ("realtime", "live"):
            raise ValueError(f"protocol must be 'realtime' or 'live', not {protocol!r}")
        if dialect not in ("ga", "beta"):
            raise ValueError(f"dialect must be 'ga' or 'beta', not {dialect!r}")
        #: The protocol this session speaks: ``"realtime"`` or ``"live"``.
        self.protocol: Protocol = protocol
        self._exchange: ConfigExchange | LiveExchange
        self._live: LiveControl | None = None
        self._ws: WebSocket | None = None  # the current connection (a Live start may close it)
        fields: dict[str, Any] = {
            "instructions": instructions,
            "voice": voice,
            "output_modalities": list(output_modalities) if output_modalities else None,
            "turn_detection": turn_detection,
            "input_audio_transcription": input_audio_transcription,
            "input_audio_format": input_audio_format,
            "output_audio_format": output_audio_format,
        }
        if attach is not None and protocol != "live":
            raise InvalidConfigError(
                "attach= is a Live sideband: use Session(protocol='live', attach=...) "
                "(a Realtime call is joined with call_id=)",
                "attach",
            )
        if protocol == "live":
            if attach is not None:
                check_attach(fields, config)
                url = attach_url(attach, url)
            model = live_model(model)
            own = live_own_config(config=config, **fields)
            query = dict(query or {})
        else:
            own = {**own_config(**fields), **(config or {})}
            self._exchange = ConfigExchange(own, dialect, self._contributions)
            model, query = transcription_target(own, model, query or {}, azure=bool(azure_endpoint))
        #: Where and how to connect (the key stays out of its repr).
        self.endpoint = Endpoint(
            url=url,
            model=model,
            api_key=api_key,
            dialect=dialect,
            headers=dict(headers or {}),
            query=query,
            azure_endpoint=azure_endpoint,
            azure_deployment=azure_deployment,
            api_version=api_version,
            call_id=call_id,
            allow_insecure_key=allow_insecure_key,
            protocol=protocol,
        )
        self.reconnect_policy: ReconnectPolicy | None = (
            ReconnectPolicy() if reconnect is True else (reconnect or None)
        )
        self.renew_after = renew_after
        self._record_path = record
        self._record_mode: RecordMode = record_mode
        self.max_size = max_size
        self.open_timeout = open_timeout
        self.close_timeout = close_timeout
        self._ping = (ping_interval, ping_timeout)
        if max_pending_bytes < 1:
            raise ValueError("max_pending_bytes must be at least 1")
        self.max_pending_bytes = max_pending_bytes

        live = protocol == "live"
        # Bound methods, not closures: a closure is three objects per session that
        # the garbage collector walks (docs/performance.md, a thousand sessions).
        send = self.send
        # The session's own parts follow its signals through the relay, not blinker.
        self._relay = signals.Relay()
        self._frames = FrameParser(self, LIVE_EVENTS if live else REALTIME_EVENTS)
        # The run in progress, if any, and how the last one ended.
        self._runs = Runs(self._new_run, self.close)
        super().__init__(protocol, self._runs.spawn, self._runs.running)
        if live:
            assert model is not None
            self._live = LiveControl(
                own,
                model,
                on=self.on,
                wait_for=self.wait_for,
                stream=self.stream,
                send=send,
                contributions=self._contributions,
                close_current=self._close_current,
                end_run=self._runs.end,
                start_timeout=open_timeout,
                sender=self,
                attach=attach,
                attached=lambda: self._relay.send(signals.connected, self, url=self.url),
            )
            self._exchange = self._live.exchange
        #: The attached plugins by name, in attaching order.
        self.plugins: dict[str, Plugin] = {}
        self._plugins: PluginHost | None = None  # made by the first use()

        if live:
            # The Realtime-only parts stand in by objects that say so when used.
            for name, part in realtime_only_parts().items():
                setattr(self, name, part)
        else:
            self._realtime_parts(history_limit)
        self._dispatcher.add_core(
            "session.started" if live else "session.created", self._on_session_created
        )
        for plugin in plugins:
            self.use(plugin)

    def _realtime_parts(self, history_limit: int | None) -> None:
        """Build the parts of a Realtime session: mirror, responses, turns, metrics, buffers."""
        assert isinstance(self._exchange, ConfigExchange)
        # Core state first: handlers run in registration order, so the conversation
        # mirror and the response tracker are current before any user handler runs.
        # The core's handlers are trusted: registered without the checks a user's get.
        core, relay, send = self._dispatcher.add_core, self._relay, self.send
        for answer in ("session.created", "session.updated", "transcription_session.updated"):
            core(answer, self._exchange.on_info)
        self.conversation = Conversation(
            on=core,
            send=send,
            dialect=self.dialect,
            output_format=self._output_format,
            sender=self,
            history_limit=history_limit,
            relay=relay,
        )
        self.response = Responses(
            on=core, send=send, dialect=self.dialect, sender=self, relay=relay
        )
        self.turns = Turns(
            on=core,
            responses=self.response,
            conversation=self.conversation,
            sender=self,
            relay=relay,
        )
        self.metrics = Metrics(self, on=core, relay=relay, mirror=self.conversation)
        self.input_audio_buffer = InputAudioBufferResource(send)
        self.output_audio_buffer = OutputAudioBufferResource(send)

    def _contributions(self, given: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
        return self._plugins.contributions(given) if self._plugins is not None else []

    def _output_format(self) -> AudioFormat:
        return self.output_format

    def _signal(self, signal: Any, **kwargs: Any) -> None:
        self._relay.send(signal, self, **kwargs)

    def __repr__(self) -> str:
        url = redact_url(self.url)
        speaks = "protocol=live" if self._live is not None else f"dialect={self.dialect}"
        return f"<Session {url!r} model={self.model!r} {speaks} {self.state}>"

    @property
    def live(self) -> LiveControl:
        """The Live side of a ``protocol="live"`` session (raises on a Realtime one).

        Helpers named as the SDK's (``session.live.session.input_audio.append(...)``),
        handlers typed by the Live names (``session.live.on("error")``), the
        server session, ``history`` and ``metrics``: see :class:`LiveControl`.
        """
        if self._live is None:
            raise RealtimeError(
                "session.live is the Live protocol's side: this session speaks Realtime "
                "(Session(protocol='live') speaks Live)"
            )
        return self._live

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

    # -- plugins -----------------------------------------------------------

    @overload
    def use(self, plugin: str, **options: Any) -> Any: ...

    @overload
    def use(self, plugin: P, **options: Any) -> P: ...

    def use(self, plugin: Any, **options: Any) -> Any:
        """Attach a plugin (an object, or the name of an installed one) and return it.

        Refused before anything changes when its name is taken or the session
        would refuse the configuration it contributes.
        """
        host = self._plugins
        if host is None:
            # Most sessions attach no plugin: the host and its four callables wait for one.
            host = self._plugins = PluginHost(
                self,
                admit=self._exchange.admit,
                declare=self._dispatcher.declare,
                declared=lambda: self._dispatcher.names.declared,
                undeclare=self._dispatcher.undeclare,
                plugins=self.plugins,
            )
        loaded = host.attach(plugin, options)
        task, run = host.task(loaded), self._runs.running()
        if task is not None and run is not None:
            run.spawn(task)
        return loaded

    # -- sending -----------------------------------------------------------

    async def send(self, event: ClientEvent | Mapping[str, Any]) -> ClientEvent:
        """Validate a client event (a model or a dict), write it, and return the model.

        Raises :class:`InvalidEventError` for an invalid event (before anything is
        sent) and :class:`SessionClosedError` when the session is not connected.
        """
        live = self._live
        model = parse_client_event(event) if live is None else parse_live_client_event(event)
        run = self._runs.running()
        if run is None:
            raise SessionClosedError(f"cannot send {model.type!r}: the session is {self.state}")
        if live is None:
            await run.send(model)
            return model
        return await live.write(model, run.send, starting=run.state == "connecting")

    @property
    def config(self) -> dict[str, Any]:
        """The session's own configuration fields (dialect-neutral); see :meth:`session_config`."""
        return self._exchange.own

    @config.setter
    def config(self, fields: Mapping[str, Any]) -> None:
        self._exchange.replace(fields)

    def session_config(self) -> dict[str, Any]:
        """The effective configuration: the session's own fields, then each plugin's."""
        return self._exchange.effective()

    async def update(self, **fields: Any) -> ClientEvent:
        """Merge ``fields`` into the configuration and send it as ``session.update``.

        With no fields, re-sends the effective configuration (plugins call this
        after changing what they contribute). Field names are dialect-neutral
        (``voice``, ``output_modalities``, ``turn_detection``...); unknown names
        pass through unchanged. The configuration the fields make with the
        plugins' is checked first: :class:`InvalidConfigError` leaves the session
        as it was. A beta transcription session sends ``transcription_session.update``.
        A Live session changes only ``delegation`` and ``triggers`` (the rest is
        fixed at its start) and sends them as Live's ``session.update``.
        """
        effective = self._exchange.update(fields)
        return await self.send(self._exchange.update_event(effective))

    async def send_text(self, text: str, *, respond: bool = True) -> ClientEvent:
        """Add a user text message, and ask for a response unless ``respond=False``.

        Not on Live, which has no user text message (see docs/live.md).
        """
        self._refuse_on_live("send_text()")
        if respond:
            self._exchange.refuse_response("send_text(respond=True)")
        sent = await self.conversation.item.create(
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        )
        if respond:
            await self.response.create()
        return sent

    async def send_image(
        self,
        image: bytes | str | os.PathLike[str],
        *,
        mime_type: str | None = None,
        detail: ImageDetail | None = None,
        text: str | None = None,
        respond: bool = False,
    ) -> ClientEvent:
        """Add a user message with an image (bytes or a path), and ``text`` after it if given.

        The type comes from ``mime_type``, the bytes' signature or the file name
        (PNG, JPEG, WebP, GIF); an image over 11.25 MiB (15 MiB of base64) is
        refused before anything is sent. ``respond=True`` asks for a response.
        See :func:`~realtime_events.resources.image_message`.
        """
        self._refuse_on_live("send_image()")
        if respond:
            self._exchange.refuse_response("send_image(respond=True)")
        item = image_message(image, mime_type=mime_type, detail=detail, text=text)
        sent = await self.conversation.item.create(item)
        if respond:
            await self.response.create()
        return sent

    async def ask(self, text: str, *, timeout: float | None = None) -> Reply:
        """Send a user message and return the assistant's complete reply.

        The reply is the whole turn: when the model calls a tool, it waits for
        the tool's output and the answer that follows. ``reply.text`` is what
        the assistant said (text, or the transcript of its audio); ``items``,
        ``responses`` and ``usage`` tell the rest. Raises TimeoutError after
        ``timeout`` seconds, saying what was still missing; :class:`RealtimeError`
        at once in a transcription session, which never responds, and on Live,
        whose turns have no end event.
        """
        self._exchange.refuse_response("ask()")  # on Live too, saying why
        turn = self.turns.begin()
        try:
            await self.send_text(text)
            return await turn.wait(timeout)
        finally:
            turn.close()

    def expect_reply(self) -> Turn:
        """Open a turn now, for a request you send next (audio, say); await it for the reply.

        ``turn = session.expect_reply()``, then send the audio (or let server VAD
        answer it), then ``reply = await turn.wait(timeout=30)``. Opening the turn
        first means no event can be missed between the send and the wait.
        """
        self._exchange.refuse_response("expect_reply()")
        return self.turns.begin()

    async def send_audio(self, pcm: bytes, *, commit: bool = False, respond: bool = False) -> None:
        """Append audio in the session's input format, in chunks under the 15 MiB limit.

        With server VAD off, ``commit=True`` turns it into a user message and
        ``respond=True`` then asks for a response. On Live, in the session's one
        audio format, as ``session.input_audio.append``: the server detects the
        end of the user's turn, so there is nothing to commit.
        """
        if self._live is not None:
            await self._live.send_audio(pcm, commit=commit, respond=respond)
            return
        if respond:
            self._exchange.refuse_response("send_audio(respond=True)")
        for start in range(0, len(pcm), MAX_APPEND_BYTES):
            await self.input_audio_buffer.append(pcm[start : start + MAX_APPEND_BYTES])
        if commit:
            await self.input_audio_buffer.commit()
        if respond:
            await self.response.create()

    # -- lifecycle ---------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """Where the session is: idle, connecting, open, reconnecting, closing or closed."""
        return self._runs.state

    @property
    def pending_bytes(self) -> int:
        """Bytes of received events waiting for the handlers (see ``max_pending_bytes``)."""
        return self._runs.pending_bytes

    @property
    def closed(self) -> bool:
        """True once the session has ended."""
        return self.state == "closed"

    async def __aenter__(self) -> Session:
        await self._runs.enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        return await self._runs.exit(exc)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect and serve events until the session is closed, then return.

        ``await task_group.start(session.run)`` returns once the session is open.
        It ends after :meth:`close` (from any task) or a normal close (1000) by
        the server; an abnormal close reconnects, and the failure that ends the
        session (the reconnect policy gave up, a refused key) is raised as itself.
        """
        await self._runs.serve(task_status=task_status)

    async def start(self) -> None:
        """Connect, configure, and serve in the background until :meth:`close`.

        For code that cannot hold an ``async with`` block open (a bot's startup
        and shutdown callbacks): ``start()`` and ``close()`` may be called from
        different tasks. The run belongs to no caller's task group: close it, or
        it ends with the event loop. Raises what the first connection raises.
        """
        await self._runs.start()

    async def restart(self) -> None:
        """Open a new server session and carry the context over, as a reconnect does.

        For a server session that is stuck (every response failing with
        ``server_error``, say). Signals ``disconnected``, ``reconnecting`` and
        ``reconnected`` with ``attempt=0``, counts against no reconnect policy,
        and loses a response in flight; returns once the new session is restored
        (from a handler: at once). Raises :class:`SessionClosedError` when the
        session is not running. See docs/reconnection.md, "Restart on demand".
        """
        await self._runs.restart()

    async def close(self) -> None:
        """Close the session; returns within ``close_timeout`` even if the server never answers.

        A Live session first sends ``session.close`` and waits for ``session.closed``.
        """
        run = self._runs.current
        if run is None:
            return
        if self._live is not None and run.state == "open":
            # From a handler, no waiting: the answer would wait for the handler.
            in_handler = current_dispatcher.get() is self._dispatcher
            await self._live.close_session(self.close_timeout, wait=not in_handler)
        await run.close()

    def _new_run(self) -> Supervisor:
        """A new run of the session, with a new recording if it records."""
        if self._live is not None:
            self._live.new_run()  # no server session, history or delegation yet
        recorder = None
        if self._record_path is not None:
            recorder = Recorder(self._record_path, mode=self._record_mode)
        settings = RunSettings(
            reconnect=self.reconnect_policy,
            renew_after=self.renew_after,
            close_timeout=self.close_timeout,
            max_pending_bytes=self.max_pending_bytes,
        )
        live = self._live
        hooks = RunHooks(
            dispatcher=self._dispatcher,
            open=self._open,
            configure=self._exchange.configure,
            # Live carries the conversation in session.start's input instead.
            restore=self.conversation.restore if live is None else write_nothing,
            absorb=self.conversation.absorb if live is None else live.exchange.absorb,
            absorbs=self.conversation.absorbs if live is None else live.exchange.absorbs,
            resume=self.response.resume if live is None else nothing,
            idle=self._idle if live is None else nothing,  # Live: no responses to wait for
            parse=self._frames,
            signal=self._signal,
            tasks=self._plugins.tasks() if self._plugins is not None else (),
            recorder=recorder,
        )
        return Supervisor(hooks, settings)

    async def _idle(self) -> None:
        while self.response.active:
            await self.wait_for("response.done")

    async def _open(self) -> WebSocket:
        ping_interval, ping_timeout = self._ping
        try:
            self._ws = await connect(
                self.url,
                headers=self.endpoint.handshake_headers(),
                open_timeout=self.open_timeout,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                close_timeout=self.close_timeout,
                max_size=self.max_size,
            )
        except HandshakeRejectedError as exc:
            attach = self._live.attach if self._live is not None else None
            if attach is not None and exc.status == 404:
                raise LiveSessionGoneError(attach, exc.status, exc.body, exc.headers) from exc
            raise
        return self._ws

    async def _close_current(self, code: int, reason: str) -> None:
        """Close the current connection (a Live start that was refused)."""
        if self._ws is not None:
            await self._ws.close(code, reason)

    @property
    def server_session(self) -> RealtimeSessionInfo | None:
        """The server's session object, from its last ``session.created`` or ``*.updated``.

        GA nests audio settings, beta keeps them flat; :attr:`server_config`
        reads either in dialect-neutral names. None on Live: see
        ``session.live.server_session``.
        """
        exchange = self._exchange
        return exchange.server_session if isinstance(exchange, ConfigExchange) else None

    @property
    def server_config(self) -> dict[str, Any]:
        """The server's effective configuration in dialect-neutral names (empty before connect).

        ``session.server_config.get("turn_detection")`` reads the same on GA and
        beta servers; compare :meth:`session_config`, what this session asks for.
        A Live session's is in Live's shape (``audio``, ``delegation``...).
        """
        return self._exchange.server()

    @property
    def input_format(self) -> AudioFormat:
        """The format of input audio: as the server reports it, else as configured, else pcm16."""
        return self._exchange.audio_format("input_audio_format")

    @property
    def output_format(self) -> AudioFormat:
        """The format of output audio: as the server reports it, else as configured, else pcm16."""
        return self._exchange.audio_format("output_audio_format")

    async def _on_session_created(self, event: ServerEvent) -> None:
        self._relay.send(signals.connected, self, url=self.url, event=event)

    def _refuse_on_live(self, what: str) -> None:
        if self._live is not None:
            self._live.exchange.refuse_response(what)

    async def replay(self, recording: str | os.PathLike[str], *, speed: float = 0.0) -> int:
        """Dispatch the server events of a recording through the handlers, offline.

        ``speed`` 1.0 keeps the recorded timing, 2.0 is twice as fast, and 0 (the
        default) goes as fast as possible. Returns how many events were dispatched.
        Nothing is sent: the session stays unconnected.
        """
        return await self._runs.replay(recording, self._frames, self._dispatcher, speed)
