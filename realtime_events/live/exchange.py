"""A Live session's start: what it asks the server for, and what the server says.

The counterpart, for the Live protocol, of the Realtime configuration exchange.
A Live session is started, not configured: the first message of every
connection is ``session.start`` with the model and the whole configuration,
and nothing else may be sent until ``session.started`` answers it (an
``error`` instead means the start was refused). Most settings are fixed at
startup; ``session.update`` changes only ``delegation`` and ``triggers``.

A primary Live session cannot be resumed: each connection starts a new one,
with the conversation so far as text messages in ``input`` (see
:class:`~realtime_events.live.history.LiveHistory`).

A *sideband* (``attach=`` a session id) is the other way in: a second
WebSocket to a running session, ``{base}/live/sessions/{id}/attach``. It
sends no ``session.start`` (the session is started already) and is open once
connected; each connection after a loss attaches to the same id again, and a
session that is gone answers the handshake with 404, which ends the run with
:class:`LiveSessionGoneError`. It may send what the SDK's sideband connection
offers, everything but ``session.start`` and ``session.input_audio.append``
(:data:`SIDEBAND_REFUSED`).

The session's keyword arguments are mapped to the Live shape here
(:func:`live_own_config`): ``voice`` to ``audio.output.voice``, an audio
format to ``audio.format`` (one format for both directions); a Realtime
setting Live has no place for is refused by
:func:`~realtime_events.live.checks.check_live_config`, saying where it goes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import anyio

from ..audio import G711_ALAW, G711_ULAW, PCM16, AudioFormat
from ..config_exchange import DEFAULT_MODEL, UNSET, own_config
from ..errors import (
    ConnectionClosedError,
    InvalidConfigError,
    LiveSessionGoneError,
    RealtimeError,
)
from ..events._base import ClientEvent, ServerEvent
from .calls import sideband_url
from .checks import check_live_config
from .client import LiveSessionStartEvent, LiveSessionUpdateEvent
from .config import LIVE_MODELS, LiveSessionInfo
from .events import LiveErrorEvent, LiveSessionStartedEvent, LiveSessionUpdatedEvent

__all__ = [
    "REFUSED_CLOSE_CODE",
    "SIDEBAND_REFUSED",
    "LiveExchange",
    "LiveSessionGoneError",
    "attach_url",
    "check_attach",
    "live_audio_format",
    "live_model",
    "live_own_config",
    "one_format",
]

logger = logging.getLogger("realtime_events.session")

#: The close a refused or unanswered ``session.start`` ends its connection with:
#: final (a policy violation), so the run ends instead of starting again and again.
REFUSED_CLOSE_CODE = 1008

#: The fields ``session.update`` may change; the rest is fixed at startup.
UPDATABLE = ("delegation", "triggers")

Write = Callable[[ClientEvent], Awaitable[None]]

#: The client events a sideband may not send, and why: the SDK's sideband
#: connection offers every other one.
SIDEBAND_REFUSED = {
    "session.start": "a sideband attaches to a session already started; it sends no "
    "session.start (use Session(protocol='live') without attach= to start one)",
    "session.input_audio.append": "a sideband hears the primary's input audio (reflected as "
    "session.input_audio.append events) but cannot add to it: send audio on the primary "
    "connection, or play a fixture with session.live.session.output_audio.fixture.play",
}


def attach_url(session_id: str, url: str | None) -> str:
    """The sideband URL of ``session_id``: on the OpenAI API, or under a Live ``url``.

    ``url`` is the Live sessions URL (``.../live/sessions``) of another server;
    its query is kept.
    """
    if not session_id:
        raise InvalidConfigError("attach= needs the id of a running Live session", "attach")
    if url is None:
        return sideband_url(session_id)
    parts = urlsplit(url)
    path = f"{parts.path.rstrip('/')}/{quote(session_id, safe='')}/attach"
    return urlunsplit(parts._replace(path=path))


def check_attach(fields: Mapping[str, Any], config: Mapping[str, Any] | None) -> None:
    """Refuse a start configuration on a sideband, naming the first field given."""
    given = [name for name, value in fields.items() if value is not None and value is not UNSET]
    given += list(config or {})
    if given:
        raise InvalidConfigError(
            f"{given[0]}= is not for a sideband (attach=): the session it attaches to was "
            "configured by its own session.start; change delegation or triggers with "
            "session.update()",
            given[0],
        )


def live_own_config(
    *,
    instructions: str | None,
    voice: str | None,
    input_audio_format: Any,
    output_audio_format: Any,
    config: Mapping[str, Any] | None,
    **realtime_only: Any,
) -> dict[str, Any]:
    """A Live session's own fields, from the Session's keyword arguments and ``config``.

    The two audio formats make Live's one; ``realtime_only`` holds the Realtime
    settings (turn detection, modalities...): those given are kept, so that the
    check refuses each by its name and says what Live does instead.
    """
    audio_format = one_format(input_audio_format, output_audio_format)
    own: dict[str, Any] = own_config(**realtime_only)
    if instructions is not None:
        own["instructions"] = instructions
    audio: dict[str, Any] = {}
    if audio_format is not None:
        audio["format"] = _format_wire(audio_format)
    if voice is not None:
        audio["output"] = {"voice": voice}
    if audio:
        own["audio"] = audio
    for key, value in (config or {}).items():
        if key == "audio" and isinstance(value, Mapping) and "audio" in own:
            own["audio"] = {**own["audio"], **value}
        else:
            own[key] = value
    if "model" in own:
        raise InvalidConfigError(
            "the model of a Live session is Session(model=...), not a configuration field",
            "model",
        )
    return own


def live_model(model: str | None) -> str:
    """The Live model a session starts with: the one named, else the first Live model."""
    if model is None or model == DEFAULT_MODEL:
        return LIVE_MODELS[0]
    return model


def one_format(input_format: Any, output_format: Any) -> Any:
    """Live's one audio format, from the Realtime pair of arguments."""
    if input_format is not None and output_format is not None and input_format != output_format:
        raise InvalidConfigError(
            "a Live session has one audio format for both directions: give "
            "input_audio_format or output_audio_format, or equal ones",
            "audio.format",
        )
    return input_format if input_format is not None else output_format


def _format_wire(value: Any) -> Any:
    """An audio format as Live's ``audio.format``: ``{"type": ..., "rate": ...}``."""
    if isinstance(value, AudioFormat):
        return {"type": value.ga_type, "rate": value.sample_rate}
    if isinstance(value, str):
        try:
            fmt = AudioFormat.from_wire(value)
        except ValueError:
            return value  # the check names it
        return {"type": fmt.ga_type, "rate": fmt.sample_rate}
    return value


def live_audio_format(wire: Any) -> AudioFormat:
    """The :class:`AudioFormat` of a Live ``audio.format`` (PCM at 24 or 16 kHz, or G.711)."""
    if not isinstance(wire, Mapping):
        return PCM16
    kind, rate = wire.get("type"), wire.get("rate")
    if kind == "audio/pcmu":
        return G711_ULAW
    if kind == "audio/pcma":
        return G711_ALAW
    if kind == "audio/pcm" and isinstance(rate, int) and rate != PCM16.sample_rate:
        return AudioFormat(PCM16.name, rate, PCM16.bytes_per_sample, PCM16.ga_type)
    return PCM16


class LiveExchange:
    """The start a Live session asks for, and the session the server reports.

    ``own`` is the session's own fields (checked here, in Live's shape, without
    the model); ``contributions`` returns each attached plugin's fields for the
    given own fields, which override the session's; ``history`` returns the conversation so far as
    ``input`` messages, for a connection after the first; ``close`` closes the
    current connection (code, reason) when its start is refused.
    """

    def __init__(
        self,
        own: dict[str, Any],
        model: str,
        *,
        contributions: Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]],
        history: Callable[[int], list[dict[str, Any]]],
        close: Callable[[int, str], Awaitable[None]],
        start_timeout: float,
        attach: str | None = None,
        attached: Callable[[], None] = lambda: None,
    ) -> None:
        self.model = model
        #: The id of the running session this sideband attaches to (None: a primary).
        self.attach = attach
        self._attached = attached
        self._contributions = contributions
        self._history = history
        self._close = close
        self._start_timeout = start_timeout
        check_live_config({"model": model, **own}, "start")
        self.own = own
        #: The server's session, from its last ``session.started`` or ``session.updated``.
        self.server_session: LiveSessionInfo | None = None
        #: The id of the server session of the current connection (None before one started).
        self.session_id: str | None = None
        #: Every server session this run started, oldest first.
        self.session_ids: list[str] = []
        self._started = anyio.Event()
        self._refusal: LiveErrorEvent | None = None
        self._starting = False

    # -- the configuration ----------------------------------------------------

    def effective(
        self, own: Mapping[str, Any] | None = None, extra: Iterable[Mapping[str, Any]] = ()
    ) -> dict[str, Any]:
        """The session's fields, then each plugin's; ``own`` and ``extra`` say what if."""
        merged = dict(self.own if own is None else own)
        # A plugin's fields follow the own ones they are merged with (the tools'
        # delegation is built from the session's); a copy, as merged changes below.
        for contribution in (*self._contributions(dict(merged)), *extra):
            merged.update(contribution)
        return merged

    def _check(self, effective: Mapping[str, Any]) -> None:
        check_live_config({"model": self.model, **effective}, "start")

    def update(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``fields`` (``delegation``, ``triggers``) into the session's own; return all.

        Raises :class:`InvalidConfigError` (changing nothing) for a field fixed at
        startup, or a configuration the server would refuse.
        """
        check_live_config(fields, "update")  # names a field fixed at startup
        effective = self.effective({**self.own, **fields})
        self._check(effective)
        self.own.update(fields)
        return effective

    def replace(self, own: Mapping[str, Any]) -> None:
        """Make ``own`` the session's fields, once the configuration it makes is checked."""
        self._check(self.effective(own))
        self.own = dict(own)

    def admit(self, contribution: Mapping[str, Any]) -> None:
        """Check the configuration a plugin's ``contribution`` would make, before it attaches."""
        self._check(self.effective(extra=[contribution]))

    def update_event(self, effective: Mapping[str, Any] | None = None) -> ClientEvent:
        """``session.update`` with the effective delegation and triggers."""
        fields = self.effective() if effective is None else effective
        return LiveSessionUpdateEvent(
            session={key: fields[key] for key in UPDATABLE if key in fields}
        )

    def start_event(self, *, resumed: bool) -> LiveSessionStartEvent:
        """``session.start`` with the model, the configuration and (``resumed``) the history.

        The history follows the configured ``input``, newest kept, within the
        API's 128 messages.
        """
        session: dict[str, Any] = {"model": self.model, **self.effective()}
        if resumed:
            given = list(session.get("input") or ())
            room = max(0, 128 - len(given))
            carried = self._history(room) if room else []
            if carried:
                session["input"] = [*given, *carried]
        return LiveSessionStartEvent(session=session)

    # -- the start of each connection -----------------------------------------

    async def configure(self, write: Write) -> None:
        """Start a server session on a fresh connection; return once it has started.

        A refused start (an ``error`` before ``session.started``), or none within
        the start timeout, closes the connection with :data:`REFUSED_CLOSE_CODE`,
        which ends the run with the server's error, and raises
        :class:`ConnectionClosedError` so that the connection is never taken as open.
        """
        if self.attach is not None:
            # A sideband: the session runs already, so the connection is open as it is.
            self.session_id = self.attach
            if not self.session_ids:
                self.session_ids.append(self.attach)
            self._refusal = None
            self._started.set()
            self._attached()
            return
        resumed = bool(self.session_ids)
        self._started = anyio.Event()
        self._refusal = None
        self._starting = True
        await write(self.start_event(resumed=resumed))
        with anyio.move_on_after(self._start_timeout):
            await self._started.wait()
        self._starting = False
        if self._refusal is not None:
            error = self._refusal.error
            reason = f"session.start refused: {error.code}: {error.message}"[:120]
        elif not self._started.is_set():
            reason = "no session.started in time"
        else:
            return
        await self._close(REFUSED_CLOSE_CODE, reason)
        raise ConnectionClosedError(REFUSED_CLOSE_CODE, reason)

    #: The classes of the events :meth:`absorb` looks at (a reader shows it no others).
    absorbs: tuple[type[ServerEvent], ...] = (LiveSessionStartedEvent, LiveErrorEvent)

    def absorb(self, event: ServerEvent) -> bool:
        """See the events that end a start (read before dispatch); never swallow one."""
        if isinstance(event, LiveSessionStartedEvent) and self.attach is not None:
            self.server_session = event.session  # the attached session's, if it tells
        elif isinstance(event, LiveSessionStartedEvent):
            self.server_session = event.session
            self.session_id = event.session.id
            self.session_ids.append(event.session.id)
            self._started.set()
        elif self._starting and isinstance(event, LiveErrorEvent):
            logger.warning("the server refused session.start: %s", event.error.message)
            self._refusal = event
            self._started.set()
        return False

    @property
    def started(self) -> bool:
        """True once the current connection's server session has started."""
        return self._started.is_set() and self._refusal is None

    async def wait_started(self) -> None:
        """Return once the current connection's session has started (or its start failed)."""
        await self._started.wait()

    def on_updated(self, event: LiveSessionUpdatedEvent) -> None:
        """Keep the session object of ``session.updated``."""
        self.server_session = event.session

    def refuse_on_sideband(self, event: ClientEvent) -> None:
        """Raise for a client event a sideband may not send (nothing on a primary)."""
        why = SIDEBAND_REFUSED.get(event.type) if self.attach is not None else None
        if why is not None:
            raise RealtimeError(f"{event.type} is not for a sideband: {why}")

    # -- what the server says -------------------------------------------------

    def server(self) -> dict[str, Any]:
        """The server's session in Live's shape (empty before it started)."""
        if self.server_session is None:
            return {}
        return self.server_session.model_dump(exclude_unset=True)

    def audio_format(self, name: str = "") -> AudioFormat:
        """The session's one audio format (both directions): the server's, asked for, PCM16."""
        wire = (self.server().get("audio") or {}).get("format") or (
            self.effective().get("audio") or {}
        ).get("format")
        return live_audio_format(wire)

    def refuse_response(self, what: str) -> None:
        """Raise for ``what``: the Live protocol has no response to ask for."""
        raise RealtimeError(
            f"{what} is not for a Live session: the Live model answers when it hears the "
            "user (server-side turn detection), and its turns have no end event. Send "
            "audio with send_audio(); give it text with session.live.session.commentary"
            ".append (for the model to tell the user), instructions.append or "
            "thinking.append; handle session.output_transcript.delta for what it says"
        )
