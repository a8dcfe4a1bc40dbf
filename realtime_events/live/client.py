"""The client events of the Live protocol: what the client sends to the server.

Every event has an optional ``event_id`` (from
:class:`~realtime_events.events.ClientEvent`), echoed as ``client_event_id`` by
the server event that answers it, and as ``error.client_event_id`` when it
fails; ``decision.create`` requires one, new for the session's lifetime.
``type`` has a default, so ``LiveSessionCloseEvent()`` is a complete event.

A ``session`` (of ``session.start`` or ``session.update``) is a plain mapping,
sent as given, or a model of :mod:`realtime_events.live.config`, of which only
the fields that were set are sent; either way it is judged by
:func:`~realtime_events.live.checks.check_live_config` before it is sent.
Audio given as ``bytes`` is encoded to base64 here.

The ``delegation_id`` of the three append events is required by the API but
may be null (context for the whole session): it is always sent, ``null`` when
not given.
"""

from __future__ import annotations

import base64
import functools
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import AfterValidator, Field, field_validator

from .._config_checks import plain
from ..events._base import ClientEvent
from .checks import LiveConfigKind, check_live_config
from .config import LiveForkConfig, LiveSessionConfig, LiveSessionUpdate
from .payloads import LiveDecisionItem

#: The keys a DTMF event may carry.
DTMF_KEYS = "0123456789ABCD*#"


def _checked(what: LiveConfigKind) -> AfterValidator:
    """Judge a configuration (mapping or model) with check_live_config; keep it as given."""

    def check(value: Any) -> Any:
        check_live_config(plain(value), what)
        return value

    return AfterValidator(check)


# Left to right, so that a mapping stays the caller's mapping instead of becoming a model.
_StartConfig: TypeAlias = Annotated[
    dict[str, Any] | LiveSessionConfig, Field(union_mode="left_to_right"), _checked("start")
]
_ForkConfig: TypeAlias = Annotated[
    dict[str, Any] | LiveForkConfig, Field(union_mode="left_to_right"), _checked("fork")
]
_UpdateConfig: TypeAlias = Annotated[
    dict[str, Any] | LiveSessionUpdate, Field(union_mode="left_to_right"), _checked("update")
]
_DecisionItem: TypeAlias = Annotated[
    dict[str, Any] | LiveDecisionItem, Field(union_mode="left_to_right")
]


def _base64(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    return value


class LiveSessionStartEvent(ClientEvent):
    """``session.start``: the first message of a primary WebSocket, with the model and config.

    Wait for ``session.started`` before anything else. WebRTC sessions are
    started by their creation, and a sideband attaches to a started session:
    neither sends this.
    """

    canonical_type: ClassVar[str] = "session.start"

    type: Literal["session.start"] = "session.start"
    session: _StartConfig


class LiveForkSessionStartEvent(ClientEvent):
    """``session.start`` on a fork's WebSocket (``/live/sessions/{id}/fork``): overrides only.

    ``session={}`` inherits the stored session's configuration; no new model.
    Not one of the primary connection's events (the primary ``session.start``
    needs a model), so it is not in :data:`~realtime_events.live.LIVE_CLIENT_EVENTS`.
    """

    canonical_type: ClassVar[str] = "session.start"

    type: Literal["session.start"] = "session.start"
    session: _ForkConfig = Field(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self.__pydantic_fields_set__.add("session")  # the API wants the object, even empty


class LiveSessionUpdateEvent(ClientEvent):
    """``session.update``: change the delegation settings or the triggers (``session.updated``).

    Everything else is fixed at startup; the delegation's kind cannot change.
    """

    canonical_type: ClassVar[str] = "session.update"

    type: Literal["session.update"] = "session.update"
    session: _UpdateConfig


class LiveSessionCloseEvent(ClientEvent):
    """``session.close``: end the session; ``session.closed`` reports the reason and usage."""

    canonical_type: ClassVar[str] = "session.close"

    type: Literal["session.close"] = "session.close"


class LiveInputAudioAppendEvent(ClientEvent):
    """``session.input_audio.append``: send audio in the startup format (no acknowledgement).

    ``audio`` is base64 text on the wire, without a WAV header; raw ``bytes``
    given here are encoded. Primary WebSocket only: WebRTC and SIP send audio
    over their media.
    """

    canonical_type: ClassVar[str] = "session.input_audio.append"

    type: Literal["session.input_audio.append"] = "session.input_audio.append"
    audio: str

    _encode = field_validator("audio", mode="before")(_base64)

    @functools.cached_property
    def audio_bytes(self) -> bytes:
        """The decoded audio bytes of ``audio``."""
        return base64.b64decode(self.audio)


class LiveInputAudioMuteEvent(ClientEvent):
    """``session.input_audio.mute``: the model hears silence until unmuted (``...muted``)."""

    canonical_type: ClassVar[str] = "session.input_audio.mute"

    type: Literal["session.input_audio.mute"] = "session.input_audio.mute"


class LiveInputAudioUnmuteEvent(ClientEvent):
    """``session.input_audio.unmute``: the model hears the input again (``...unmuted``)."""

    canonical_type: ClassVar[str] = "session.input_audio.unmute"

    type: Literal["session.input_audio.unmute"] = "session.input_audio.unmute"


class LiveOutputAudioFixturePlayEvent(ClientEvent):
    """``session.output_audio.fixture.play``: play a recorded clip through the session's output.

    Raw mono PCM16LE at 24 kHz whatever the session's format, at most 30
    seconds; ``bytes`` are encoded here. It interrupts the model and mutes
    input while it plays (input then is dropped); one fixture at a time.
    """

    canonical_type: ClassVar[str] = "session.output_audio.fixture.play"

    type: Literal["session.output_audio.fixture.play"] = "session.output_audio.fixture.play"
    audio: str

    _encode = field_validator("audio", mode="before")(_base64)

    @functools.cached_property
    def audio_bytes(self) -> bytes:
        """The decoded audio bytes of ``audio``."""
        return base64.b64decode(self.audio)


class _Append(ClientEvent):
    """Context appended to the session, for a client delegation or (None) the whole session."""

    #: At most 500 tokens, plain text.
    content: str
    #: The ``delegation.id`` of a ``session.delegation.created`` (client delegations only).
    delegation_id: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        # Required by the API even when null: always on the wire.
        self.__pydantic_fields_set__.add("delegation_id")


class LiveInstructionsAppendEvent(_Append):
    """``session.instructions.append``: add developer instructions while the session runs.

    They stay through compaction and reach future backend delegations.
    Refused while an audio fixture plays.
    """

    canonical_type: ClassVar[str] = "session.instructions.append"

    type: Literal["session.instructions.append"] = "session.instructions.append"


class LiveThinkingAppendEvent(_Append):
    """``session.thinking.append``: silent reasoning or progress for the model (not spoken)."""

    canonical_type: ClassVar[str] = "session.thinking.append"

    type: Literal["session.thinking.append"] = "session.thinking.append"


class LiveCommentaryAppendEvent(_Append):
    """``session.commentary.append``: context for the model to tell the user (a tool's result)."""

    canonical_type: ClassVar[str] = "session.commentary.append"

    type: Literal["session.commentary.append"] = "session.commentary.append"


class LiveDecisionCreateEvent(ClientEvent):
    """``decision.create``: evaluate the configured questions now.

    ``event_id`` is required, and a reused one is refused for the session's lifetime.
    """

    canonical_type: ClassVar[str] = "decision.create"

    type: Literal["decision.create"] = "decision.create"
    event_id: str  # required here, unlike other events


class LiveDecisionItemCreateEvent(ClientEvent):
    """``decision.item.create``: add an input item for future decisions (no evaluation)."""

    canonical_type: ClassVar[str] = "decision.item.create"

    type: Literal["decision.item.create"] = "decision.item.create"
    item: _DecisionItem


class LiveDecisionItemDeleteEvent(ClientEvent):
    """``decision.item.delete``: remove an input item from future decisions."""

    canonical_type: ClassVar[str] = "decision.item.delete"

    type: Literal["decision.item.delete"] = "decision.item.delete"
    item_id: str


class LiveResponseItemCreateEvent(ClientEvent):
    """``response.item.create``: add an input item to the Responses backend's conversation.

    A user message, or the ``function_call_output`` of a function the backend
    called. Then ``response.create`` asks the backend to go on. Responses
    delegation only.
    """

    canonical_type: ClassVar[str] = "response.item.create"

    type: Literal["response.item.create"] = "response.item.create"
    item: dict[str, Any]


class LiveResponseCreateEvent(ClientEvent):
    """``response.create``: ask the Responses backend to respond, or go on after tool outputs."""

    canonical_type: ClassVar[str] = "response.create"

    type: Literal["response.create"] = "response.create"


class LiveTransportDtmfSendEvent(ClientEvent):
    """``transport.dtmf.send`` (sideband of a SIP call): press one key on the line.

    ``event`` is one of ``0``-``9``, ``A``-``D``, ``*``, ``#``; success is
    ``transport.dtmf.sent``. One event per key.
    """

    canonical_type: ClassVar[str] = "transport.dtmf.send"

    type: Literal["transport.dtmf.send"] = "transport.dtmf.send"
    event: str

    @field_validator("event")
    @classmethod
    def _one_key(cls, value: str) -> str:
        if len(value) != 1 or value not in DTMF_KEYS:
            raise ValueError(f"a DTMF key is one of 0-9, A-D, * or #, not {value!r}")
        return value
