"""Server events about the output audio buffer (WebRTC and SIP): ``output_audio_buffer.*``."""

from __future__ import annotations

from typing import ClassVar, Literal

from ._base import ServerEvent


class OutputAudioBufferStartedEvent(ServerEvent):
    """``output_audio_buffer.started``: the server began playing a response's audio."""

    canonical_type: ClassVar[str] = "output_audio_buffer.started"

    type: Literal["output_audio_buffer.started"]
    event_id: str
    response_id: str


class OutputAudioBufferStoppedEvent(ServerEvent):
    """``output_audio_buffer.stopped``: the server finished playing all of a response's audio."""

    canonical_type: ClassVar[str] = "output_audio_buffer.stopped"

    type: Literal["output_audio_buffer.stopped"]
    event_id: str
    response_id: str


class OutputAudioBufferClearedEvent(ServerEvent):
    """``output_audio_buffer.cleared``: the audio was cut off, by the user speaking or a clear."""

    canonical_type: ClassVar[str] = "output_audio_buffer.cleared"

    type: Literal["output_audio_buffer.cleared"]
    event_id: str
    response_id: str
