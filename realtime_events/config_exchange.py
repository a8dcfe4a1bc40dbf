"""A session's configuration exchange: what it asks the server for, and what the server says.

The session asks with its own fields merged with each plugin's (its *effective*
configuration). Every change is checked whole before anything changes, so a
refused update leaves the session as it was. The configuration goes out on
every connection and every update as the dialect's update event
(``session.update``, or beta's ``transcription_session.update``); the server
answers with ``session.created``, ``session.updated`` or beta's
``transcription_session.updated``, whose session object is kept as the
server's side.

A transcription session (``type: "transcription"``) is a different kind of
session, fixed when it connects: the URL asks for it with
``?intent=transcription`` and names no model (the server refuses one; the
transcription model is ``input_audio_transcription``'s), and it transcribes
input audio but never responds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from .audio import PCM16, AudioFormat
from .config import check_config, from_wire, is_transcription, update_event, wire_field
from .errors import InvalidConfigError, RealtimeError
from .events import (
    ClientEvent,
    RealtimeSessionInfo,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    TranscriptionSessionUpdatedEvent,
)
from .events.names import Dialect

__all__ = ["DEFAULT_MODEL", "UNSET", "ConfigExchange", "own_config", "transcription_target"]

#: The model a Session asks for unless told otherwise.
DEFAULT_MODEL = "gpt-realtime"

#: Stands for an argument not given where None is a value (turn detection off).
UNSET: Any = object()

SessionInfoEvent = SessionCreatedEvent | SessionUpdatedEvent | TranscriptionSessionUpdatedEvent


def own_config(**named: Any) -> dict[str, Any]:
    """A session's own fields from its named arguments: those given (not None, not UNSET).

    ``turn_detection`` and ``input_audio_transcription`` keep None, which turns them off.
    """
    return {
        name: value
        for name, value in named.items()
        if value is not UNSET and (value is not None or name in _NULLABLE)
    }


_NULLABLE = frozenset({"turn_detection", "input_audio_transcription"})
# Where a server session object holds its audio formats: GA's audio, beta's flat names.
_AUDIO_FIELDS = {"audio", "input_audio_format", "output_audio_format"}


def transcription_target(
    config: Mapping[str, Any], model: str | None, query: Mapping[str, str], *, azure: bool
) -> tuple[str | None, dict[str, str]]:
    """The model and URL query to connect with for ``config``.

    Unchanged for a realtime session. A transcription session adds
    ``intent=transcription`` and drops the default model, which the server
    would refuse; another model is refused here, naming where it belongs.
    Azure keeps its deployment.
    """
    if not is_transcription(config):
        return model, dict(query)
    target = {"intent": "transcription", **query}
    if azure or model in (None, DEFAULT_MODEL):
        return (model if azure else None), target
    raise InvalidConfigError(
        f"a transcription session takes no model= (the server refuses one, got {model!r}): "
        "name the transcription model in input_audio_transcription, e.g. "
        "{'model': 'gpt-4o-transcribe'}",
        "model",
    )


class ConfigExchange:
    """The configuration a session asks for and the one the server reports.

    ``own`` is the session's own fields (checked here); ``contributions``
    returns the fields each attached plugin contributes to a session with the
    own fields it is given (those of an update being checked, say), in
    attaching order, which override the session's.
    """

    def __init__(
        self,
        own: dict[str, Any],
        dialect: Dialect,
        contributions: Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]],
    ) -> None:
        check_config(own)
        self.own = own
        self.dialect: Dialect = dialect
        self._contributions = contributions
        #: The kind of session, fixed when it connects.
        self.transcription = is_transcription(own)
        #: The server's session object, from its last answer (None before one).
        self.server_session: RealtimeSessionInfo | None = None
        # The audio formats the server reported, per server session object: metrics
        # read the output format at every response.done, and server() dumps the
        # whole session object (about 0.3 ms) to find it.
        self._formats: dict[str, tuple[RealtimeSessionInfo, AudioFormat]] = {}

    def effective(
        self, own: Mapping[str, Any] | None = None, extra: Iterable[Mapping[str, Any]] = ()
    ) -> dict[str, Any]:
        """The session's fields, then each plugin's; ``own`` and ``extra`` say what if."""
        merged = dict(self.own if own is None else own)
        # A copy: a plugin may keep what it is told, and merged changes below.
        for contribution in (*self._contributions(dict(merged)), *extra):
            merged.update(contribution)
        return merged

    def _check(self, effective: Mapping[str, Any]) -> None:
        check_config(effective)
        if is_transcription(effective) != self.transcription:
            kind = "transcription" if self.transcription else "realtime"
            raise InvalidConfigError(
                f"this is a {kind} session, and the kind of a session is fixed when it "
                "connects: make a new Session for the other kind",
                "type",
            )

    def update(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``fields`` into the session's own, once the result is checked; return it whole.

        Raises :class:`InvalidConfigError` (changing nothing) when the fields, or
        the configuration they make with the plugins', would be refused.
        """
        check_config(fields)  # first, so the error names the caller's own value
        effective = self.effective({**self.own, **fields})
        self._check(effective)
        self.own.update(fields)
        return effective

    def replace(self, own: Mapping[str, Any]) -> None:
        """Make ``own`` the session's fields, once the configuration it makes is checked."""
        self._check(self.effective(own))
        self.own = dict(own)

    def admit(self, contribution: Mapping[str, Any]) -> None:
        """Check the configuration a plugin's ``contribution`` would make, before it is attached."""
        check_config(contribution)
        self._check(self.effective(extra=[contribution]))

    def update_event(self, effective: Mapping[str, Any] | None = None) -> ClientEvent:
        """The dialect's update event for the effective configuration (or ``effective``)."""
        return update_event(self.effective() if effective is None else effective, self.dialect)

    async def configure(self, write: Callable[[ClientEvent], Awaitable[None]]) -> None:
        """Send the configuration on a fresh connection."""
        # Sent even when empty: the server then confirms the effective configuration
        # with session.updated, which plugins and the mirror read.
        await write(self.update_event())

    def on_info(self, event: SessionInfoEvent) -> None:
        """Keep the session object of the server's answer."""
        self.server_session = event.session

    def server(self) -> dict[str, Any]:
        """The server's configuration in dialect-neutral names (empty before it answered)."""
        if self.server_session is None:
            return {}
        return from_wire(self.server_session.model_dump(exclude_unset=True))

    def _reported(self, name: str) -> Any:
        """What :meth:`server` says of an audio format, read from the fields that hold it.

        Neither the rest of the session object (instructions, tools) is dumped
        nor every other field translated: a session's first response paid for both.
        """
        if self.server_session is None:
            return None
        dumped = self.server_session.model_dump(exclude_unset=True, include=_AUDIO_FIELDS)
        return wire_field(dumped, name)

    def audio_format(self, name: str) -> AudioFormat:
        """``input_audio_format`` or ``output_audio_format``: the server's, asked for, pcm16."""
        server_session = self.server_session
        known = self._formats.get(name)
        if known is not None and known[0] is server_session:
            return known[1]
        wire = self._reported(name)
        reported = bool(wire)
        if not reported:
            wire = self.effective().get(name)
        if wire is None:
            return PCM16
        try:
            found = AudioFormat.from_wire(wire)
        except (ValueError, TypeError, KeyError):
            return PCM16
        if reported and server_session is not None:
            # Only the server's word is kept: what the session asks for may change.
            self._formats[name] = (server_session, found)
        return found

    def refuse_response(self, what: str) -> None:
        """Raise for ``what`` (a request for a response) in a transcription session."""
        if self.transcription:
            raise RealtimeError(
                f"{what}: a transcription session (type='transcription') never responds; "
                "it transcribes input audio: handle "
                "conversation.item.input_audio_transcription.completed instead"
            )
