"""The server events of the Live protocol, as typed models on the shared event bases.

Every event derives from :class:`~realtime_events.events.ServerEvent`, with
``canonical_type`` its one wire name, so dispatch, waiters and streams treat
them as they treat Realtime events. Unknown fields are kept. Live has no
second spelling of any name.

The fields the SDK documents as always sent are required, as for Realtime
events, except the timeline positions (``start_ms``, ``end_ms``,
``offset_ms``) and the final ``usage`` of ``session.closed``: they are
:data:`~realtime_events.events.Omittable`, so a server that leaves them out
still delivers the typed event, with the field named in ``missing_fields``.

Audio stays the base64 text of the wire: :attr:`LiveOutputAudioDeltaEvent.audio`
and :attr:`LiveInputAudioReflectedEvent.audio_bytes` decode it on first read,
so a handler that forwards base64 never pays for decoding.

Events marked *sideband* reach only a sideband connection
(``/live/sessions/{id}/attach``); ``session.paused`` and ``session.resumed``
belong to WebRTC sessions.
"""

from __future__ import annotations

import base64
import functools
from typing import Any, ClassVar, Literal

from ..events._base import Omittable, ServerEvent
from .config import LiveSessionInfo
from .payloads import (
    LiveContextWindow,
    LiveDecisionItem,
    LiveDecisionResult,
    LiveDelegationInfo,
    LiveErrorDetail,
    LiveTransportError,
    LiveUsage,
)


class _Acknowledging(ServerEvent):
    """An event with its own id that may answer a client event (``client_event_id``)."""

    event_id: str
    #: The ``event_id`` of the client event this answers, when it had one.
    client_event_id: str | None = None


class _Timed(_Acknowledging):
    """An event with a place on the session's timeline, in ms from the session's start."""

    start_ms: Omittable[int] = None
    end_ms: Omittable[int] = None


# -- the session ------------------------------------------------------------------


class LiveSessionStartedEvent(_Acknowledging):
    """``session.started``: the answer to ``session.start``; the session is open.

    ``session`` is the configuration as the server resolved it (defaults
    filled in), with the session's ``id`` for the sideband, fork and recording
    endpoints.
    """

    canonical_type: ClassVar[str] = "session.started"

    type: Literal["session.started"]
    session: LiveSessionInfo


class LiveSessionUpdatedEvent(_Acknowledging):
    """``session.updated``: a ``session.update`` was applied; ``session`` is the new config."""

    canonical_type: ClassVar[str] = "session.updated"

    type: Literal["session.updated"]
    session: LiveSessionInfo


class LiveSessionPausedEvent(_Acknowledging):
    """``session.paused`` (WebRTC): the idle timeout paused inference; the session stays."""

    canonical_type: ClassVar[str] = "session.paused"

    type: Literal["session.paused"]


class LiveSessionResumedEvent(_Acknowledging):
    """``session.resumed`` (WebRTC): speech resumed paused inference; audio is welcome again."""

    canonical_type: ClassVar[str] = "session.resumed"

    type: Literal["session.resumed"]


class LiveSessionUsageUpdatedEvent(_Acknowledging):
    """``session.usage.updated``: cumulative audio usage, and how full the context is.

    A Responses backend's token usage comes in its own ``response.event``s.
    """

    canonical_type: ClassVar[str] = "session.usage.updated"

    type: Literal["session.usage.updated"]
    usage: LiveUsage
    context_window: LiveContextWindow | None = None


class LiveSessionClosedEvent(_Acknowledging):
    """``session.closed``: the session finished; the last event of a session.

    ``reason`` is ``close_requested`` (``session.close`` or a hangup),
    ``expired``, ``content`` (a safety filter), ``remote_hangup`` or
    ``connection_lost``. A connection that closes without this event did not
    confirm that the session was finalized.
    """

    canonical_type: ClassVar[str] = "session.closed"

    type: Literal["session.closed"]
    reason: str
    session: LiveSessionInfo
    usage: Omittable[LiveUsage] = None


# -- audio and transcripts ----------------------------------------------------------


class LiveInputAudioMutedEvent(_Acknowledging):
    """``session.input_audio.muted``: input is muted (the model hears silence)."""

    canonical_type: ClassVar[str] = "session.input_audio.muted"

    type: Literal["session.input_audio.muted"]


class LiveInputAudioUnmutedEvent(_Acknowledging):
    """``session.input_audio.unmuted``: input is heard again (after any fixture playing)."""

    canonical_type: ClassVar[str] = "session.input_audio.unmuted"

    type: Literal["session.input_audio.unmuted"]


class LiveInputAudioReflectedEvent(ServerEvent):
    """``session.input_audio.append`` (sideband): input audio the session received.

    The audio of the primary transport, mono PCM16LE at 24 kHz, before input
    muting; not an acknowledgement of a client's append (it has no id).
    """

    canonical_type: ClassVar[str] = "session.input_audio.append"

    type: Literal["session.input_audio.append"]
    audio: str

    @functools.cached_property
    def audio_bytes(self) -> bytes:
        """The decoded audio bytes of ``audio``."""
        return base64.b64decode(self.audio)


class LiveOutputAudioDeltaEvent(ServerEvent):
    """``session.output_audio.delta``: a chunk of the model's speech; play chunks in order.

    ``delta`` is base64 in the session's audio format (PCM16LE at 24 kHz on a
    sideband, with ``start_ms`` and ``end_ms`` there only); :attr:`audio`
    decodes it on first read.
    """

    canonical_type: ClassVar[str] = "session.output_audio.delta"

    type: Literal["session.output_audio.delta"]
    delta: str
    start_ms: int | None = None
    end_ms: int | None = None

    @functools.cached_property
    def audio(self) -> bytes:
        """The decoded audio bytes of ``delta``, in the session's audio format."""
        return base64.b64decode(self.delta)


class LiveOutputAudioFixturePlayingEvent(_Acknowledging):
    """``session.output_audio.fixture.playing``: the fixture was accepted for playback."""

    canonical_type: ClassVar[str] = "session.output_audio.fixture.playing"

    type: Literal["session.output_audio.fixture.playing"]


class LiveOutputAudioFixturePlayedEvent(_Acknowledging):
    """``session.output_audio.fixture.played``: the whole fixture left the server's mixer.

    Normal inference resumed. Not sent for a fixture cancelled or failed.
    """

    canonical_type: ClassVar[str] = "session.output_audio.fixture.played"

    type: Literal["session.output_audio.fixture.played"]


class LiveInputTranscriptDeltaEvent(_Timed):
    """``session.input_transcript.delta``: more of the transcript of the user's audio.

    Fragments add up in delivery order; no event marks a turn's end.
    """

    canonical_type: ClassVar[str] = "session.input_transcript.delta"

    type: Literal["session.input_transcript.delta"]
    delta: str


class LiveOutputTranscriptDeltaEvent(_Timed):
    """``session.output_transcript.delta``: more of the transcript of the model's speech.

    Fragments add up in delivery order; no event marks a turn's end.
    """

    canonical_type: ClassVar[str] = "session.output_transcript.delta"

    type: Literal["session.output_transcript.delta"]
    delta: str


# -- appended context ---------------------------------------------------------------


class LiveInstructionsAppendedEvent(_Timed):
    """``session.instructions.appended``: appended instructions joined the timeline."""

    canonical_type: ClassVar[str] = "session.instructions.appended"

    type: Literal["session.instructions.appended"]


class LiveThinkingAppendedEvent(_Timed):
    """``session.thinking.appended``: silent context joined the timeline."""

    canonical_type: ClassVar[str] = "session.thinking.appended"

    type: Literal["session.thinking.appended"]


class LiveCommentaryAppendedEvent(_Timed):
    """``session.commentary.appended``: speakable context joined the timeline."""

    canonical_type: ClassVar[str] = "session.commentary.appended"

    type: Literal["session.commentary.appended"]


# -- delegated work ------------------------------------------------------------------


class LiveDelegationCreatedEvent(_Acknowledging):
    """``session.delegation.created``: the model delegated work, to you or to a backend.

    With ``delegation.target == "client"`` your application does the work and
    answers with ``session.commentary.append`` (or thinking, instructions)
    carrying ``delegation_id=delegation.id``. ``offset_ms`` is where on the
    session's timeline the work was delegated.
    """

    canonical_type: ClassVar[str] = "session.delegation.created"

    type: Literal["session.delegation.created"]
    delegation: LiveDelegationInfo
    offset_ms: Omittable[int] = None


class LiveResponseEvent(_Acknowledging):
    """``response.event``: one event of a Responses backend's stream, nested in ``event``.

    Dispatch on ``event["type"]`` (``response.output_text.delta``,
    ``response.function_call_arguments.done``, ``response.completed``...);
    ``delegation_id`` ties it to its delegation when it can be.
    """

    canonical_type: ClassVar[str] = "response.event"

    type: Literal["response.event"]
    event: dict[str, Any]
    delegation_id: str | None = None


class LiveDecisionEvent(ServerEvent):
    """``decision.event``: the Decision API answered, for a delegation or a transcript trigger.

    For a trigger, ``trigger_id`` names this firing and ``source_event_id`` the
    transcript delta that fired it; for a delegation, ``delegation_id`` is set.
    """

    canonical_type: ClassVar[str] = "decision.event"

    type: Literal["decision.event"]
    event_id: str
    event: LiveDecisionResult
    delegation_id: str | None = None
    source_event_id: str | None = None
    source_event_type: str | None = None
    trigger_id: str | None = None


class LiveDecisionItemCreatedEvent(_Acknowledging):
    """``decision.item.created``: an input item was added for future decisions."""

    canonical_type: ClassVar[str] = "decision.item.created"

    type: Literal["decision.item.created"]
    item: LiveDecisionItem


class LiveDecisionItemDeletedEvent(_Acknowledging):
    """``decision.item.deleted``: an input item was removed from future decisions."""

    canonical_type: ClassVar[str] = "decision.item.deleted"

    type: Literal["decision.item.deleted"]
    item_id: str


# -- notices ---------------------------------------------------------------------------


class LiveErrorEvent(_Acknowledging):
    """``error``: the server refused something, such as an invalid client event.

    ``error.client_event_id`` names the client event that caused it, when it had an id.
    """

    canonical_type: ClassVar[str] = "error"

    type: Literal["error"]
    error: LiveErrorDetail


class LiveInfoEvent(_Acknowledging):
    """``info``: a notice about the session (``code`` such as ``data_channel_permissions``)."""

    canonical_type: ClassVar[str] = "info"

    type: Literal["info"]
    code: str
    message: str


# -- the SIP transport (sideband) --------------------------------------------------------


class LiveTransportDtmfReceivedEvent(ServerEvent):
    """``transport.dtmf.received`` (sideband): the caller pressed a key (``event``)."""

    canonical_type: ClassVar[str] = "transport.dtmf.received"

    type: Literal["transport.dtmf.received"]
    event_id: str
    event: str


class LiveTransportDtmfSentEvent(_Acknowledging):
    """``transport.dtmf.sent`` (sideband): a key of ``transport.dtmf.send`` reached the trunk."""

    canonical_type: ClassVar[str] = "transport.dtmf.sent"

    type: Literal["transport.dtmf.sent"]
    event: str


class LiveTransportDtmfSendNoticeEvent(_Acknowledging):
    """``transport.dtmf.send`` as a server event: the former name of ``transport.dtmf.sent``.

    Kept for recordings and older servers; current servers send
    ``transport.dtmf.sent``, and ``transport.dtmf.send`` is the client's command.
    """

    canonical_type: ClassVar[str] = "transport.dtmf.send"

    type: Literal["transport.dtmf.send"]
    event: str


class LiveTransportRingingEvent(ServerEvent):
    """``transport.ringing`` (sideband): an outbound SIP call is ringing (or early media)."""

    canonical_type: ClassVar[str] = "transport.ringing"

    type: Literal["transport.ringing"]
    event_id: str
    session_id: str


class LiveTransportAnsweredEvent(ServerEvent):
    """``transport.answered`` (sideband): an outbound SIP call was answered; media flows."""

    canonical_type: ClassVar[str] = "transport.answered"

    type: Literal["transport.answered"]
    event_id: str
    session_id: str


class LiveTransportFailedEvent(ServerEvent):
    """``transport.failed`` (sideband): an outbound SIP call could not be set up."""

    canonical_type: ClassVar[str] = "transport.failed"

    type: Literal["transport.failed"]
    event_id: str
    session_id: str
    error: LiveTransportError
