"""Server events about the input audio buffer: ``input_audio_buffer.*``."""

from __future__ import annotations

from typing import ClassVar, Literal

from ._base import ServerEvent


class InputAudioBufferCommittedEvent(ServerEvent):
    """``input_audio_buffer.committed``: the buffer became the user item ``item_id``."""

    canonical_type: ClassVar[str] = "input_audio_buffer.committed"

    type: Literal["input_audio_buffer.committed"]
    event_id: str
    item_id: str
    previous_item_id: str | None = None


class InputAudioBufferClearedEvent(ServerEvent):
    """``input_audio_buffer.cleared``: the buffer was emptied by ``input_audio_buffer.clear``."""

    canonical_type: ClassVar[str] = "input_audio_buffer.cleared"

    type: Literal["input_audio_buffer.cleared"]
    event_id: str


class InputAudioBufferSpeechStartedEvent(ServerEvent):
    """``input_audio_buffer.speech_started``: voice activity detection heard speech begin.

    ``item_id`` is the user item that will be created when the speech stops.
    """

    canonical_type: ClassVar[str] = "input_audio_buffer.speech_started"

    type: Literal["input_audio_buffer.speech_started"]
    event_id: str
    item_id: str
    audio_start_ms: int


class InputAudioBufferSpeechStoppedEvent(ServerEvent):
    """``input_audio_buffer.speech_stopped``: voice activity detection heard speech end."""

    canonical_type: ClassVar[str] = "input_audio_buffer.speech_stopped"

    type: Literal["input_audio_buffer.speech_stopped"]
    event_id: str
    item_id: str
    audio_end_ms: int


class InputAudioBufferTimeoutTriggeredEvent(ServerEvent):
    """``input_audio_buffer.timeout_triggered`` (GA): no speech within ``idle_timeout_ms``."""

    canonical_type: ClassVar[str] = "input_audio_buffer.timeout_triggered"

    type: Literal["input_audio_buffer.timeout_triggered"]
    event_id: str
    item_id: str
    audio_start_ms: int
    audio_end_ms: int


class InputAudioBufferDtmfEventReceivedEvent(ServerEvent):
    """``input_audio_buffer.dtmf_event_received`` (GA, SIP): a keypad tone was received.

    Unlike other server events it has no ``event_id``. ``event`` is the key pressed and
    ``received_at`` a Unix timestamp.
    """

    canonical_type: ClassVar[str] = "input_audio_buffer.dtmf_event_received"

    type: Literal["input_audio_buffer.dtmf_event_received"]
    event: str
    received_at: int
