"""The msgspec floor: the bench streams' GA events as a msgspec tagged union of Structs.

What typed decoding costs at the least in Python: msgspec decodes bytes straight
into typed Structs (validated: a wrong type or a missing field raises). The
Structs carry the fields the bench streams send, typed as this library's
models type them, so the row compares like with like; they are a floor to
measure against, not a model of the protocol.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = ["decode"]


class _Event(msgspec.Struct, tag_field="type", kw_only=True):
    event_id: str


class ContentPart(msgspec.Struct, kw_only=True):
    type: str
    transcript: str | None = None
    text: str | None = None
    audio: str | None = None


class Item(msgspec.Struct, kw_only=True):
    id: str
    type: str
    object: str | None = None
    status: str | None = None
    role: str | None = None
    content: list[ContentPart] = []


class TokenDetails(msgspec.Struct, kw_only=True):
    cached_tokens: int = 0
    text_tokens: int = 0
    audio_tokens: int = 0


class Usage(msgspec.Struct, kw_only=True):
    total_tokens: int
    input_tokens: int
    output_tokens: int
    input_token_details: TokenDetails | None = None
    output_token_details: TokenDetails | None = None


class Response(msgspec.Struct, kw_only=True):
    id: str
    object: str | None = None
    status: str | None = None
    status_details: dict[str, Any] | None = None
    output: list[Item] = []
    usage: Usage | None = None
    output_modalities: list[str] | None = None


class SessionCreated(_Event, tag="session.created"):
    session: dict[str, Any]


class ResponseCreated(_Event, tag="response.created"):
    response: Response


class ResponseDone(_Event, tag="response.done"):
    response: Response


class OutputItemAdded(_Event, tag="response.output_item.added"):
    response_id: str
    output_index: int
    item: Item


class OutputItemDone(_Event, tag="response.output_item.done"):
    response_id: str
    output_index: int
    item: Item


class ItemAdded(_Event, tag="conversation.item.added"):
    item: Item
    previous_item_id: str | None = None


class ItemDone(_Event, tag="conversation.item.done"):
    item: Item
    previous_item_id: str | None = None


class _Content(_Event):
    response_id: str
    item_id: str
    output_index: int
    content_index: int


class PartAdded(_Content, tag="response.content_part.added"):
    part: ContentPart


class PartDone(_Content, tag="response.content_part.done"):
    part: ContentPart


class AudioDelta(_Content, tag="response.output_audio.delta"):
    delta: str


class AudioDone(_Content, tag="response.output_audio.done"):
    pass


class TranscriptDelta(_Content, tag="response.output_audio_transcript.delta"):
    delta: str


class TranscriptDone(_Content, tag="response.output_audio_transcript.done"):
    transcript: str


class TextDelta(_Content, tag="response.output_text.delta"):
    delta: str


class TextDone(_Content, tag="response.output_text.done"):
    text: str


class SpeechStarted(_Event, tag="input_audio_buffer.speech_started"):
    audio_start_ms: int
    item_id: str


class SpeechStopped(_Event, tag="input_audio_buffer.speech_stopped"):
    audio_end_ms: int
    item_id: str


class Committed(_Event, tag="input_audio_buffer.committed"):
    item_id: str
    previous_item_id: str | None = None


class TranscriptionDelta(_Event, tag="conversation.item.input_audio_transcription.delta"):
    item_id: str
    content_index: int | None = None
    delta: str | None = None


class TranscriptionUsage(msgspec.Struct, kw_only=True):
    type: Literal["duration", "tokens"]
    seconds: float | None = None


class TranscriptionCompleted(_Event, tag="conversation.item.input_audio_transcription.completed"):
    item_id: str
    content_index: int
    transcript: str
    usage: TranscriptionUsage


class RateLimit(msgspec.Struct, kw_only=True):
    name: str | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


class RateLimitsUpdated(_Event, tag="rate_limits.updated"):
    rate_limits: list[RateLimit]


ServerEvent = (
    SessionCreated
    | ResponseCreated
    | ResponseDone
    | OutputItemAdded
    | OutputItemDone
    | ItemAdded
    | ItemDone
    | PartAdded
    | PartDone
    | AudioDelta
    | AudioDone
    | TranscriptDelta
    | TranscriptDone
    | TextDelta
    | TextDone
    | SpeechStarted
    | SpeechStopped
    | Committed
    | TranscriptionDelta
    | TranscriptionCompleted
    | RateLimitsUpdated
)

#: ``decode(data)`` returns the typed Struct of one GA frame of the bench streams.
decode = msgspec.json.Decoder(ServerEvent).decode
