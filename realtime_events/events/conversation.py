"""Server events about the conversation: ``conversation.created`` and ``conversation.item.*``."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ._base import Omittable, ServerEvent
from .payloads import Conversation, ConversationItem, ErrorDetail, LogProb, TranscriptionUsage


class ConversationCreatedEvent(ServerEvent):
    """``conversation.created``: the session's conversation was created."""

    canonical_type: ClassVar[str] = "conversation.created"

    type: Literal["conversation.created"]
    event_id: str
    conversation: Conversation


class ConversationItemCreatedEvent(ServerEvent):
    """``conversation.item.created``: an item was added to the conversation.

    ``previous_item_id`` is the item it follows, or ``None`` at the start.
    """

    canonical_type: ClassVar[str] = "conversation.item.created"

    type: Literal["conversation.item.created"]
    event_id: str
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemAddedEvent(ServerEvent):
    """``conversation.item.added`` (GA): an item was added; its content may still be streaming."""

    canonical_type: ClassVar[str] = "conversation.item.added"

    type: Literal["conversation.item.added"]
    event_id: str
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemDoneEvent(ServerEvent):
    """``conversation.item.done`` (GA): an item is complete and will not change."""

    canonical_type: ClassVar[str] = "conversation.item.done"

    type: Literal["conversation.item.done"]
    event_id: str
    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemRetrievedEvent(ServerEvent):
    """``conversation.item.retrieved``: the answer to ``conversation.item.retrieve``."""

    canonical_type: ClassVar[str] = "conversation.item.retrieved"

    type: Literal["conversation.item.retrieved"]
    event_id: str
    item: ConversationItem


class ConversationItemDeletedEvent(ServerEvent):
    """``conversation.item.deleted``: an item was removed from the conversation."""

    canonical_type: ClassVar[str] = "conversation.item.deleted"

    type: Literal["conversation.item.deleted"]
    event_id: str
    item_id: str


class ConversationItemTruncatedEvent(ServerEvent):
    """``conversation.item.truncated``: an assistant audio item was cut at ``audio_end_ms``."""

    canonical_type: ClassVar[str] = "conversation.item.truncated"

    type: Literal["conversation.item.truncated"]
    event_id: str
    item_id: str
    content_index: int
    audio_end_ms: int


class ConversationItemInputAudioTranscriptionDeltaEvent(ServerEvent):
    """``conversation.item.input_audio_transcription.delta``: more of the user's transcript."""

    canonical_type: ClassVar[str] = "conversation.item.input_audio_transcription.delta"

    type: Literal["conversation.item.input_audio_transcription.delta"]
    event_id: str
    item_id: str
    content_index: int | None = None
    delta: str | None = None
    logprobs: list[LogProb] | None = None


class ConversationItemInputAudioTranscriptionCompletedEvent(ServerEvent):
    """``conversation.item.input_audio_transcription.completed``: the user's full transcript.

    Transcription runs alongside response generation, so this may arrive before or
    after the response events of the same turn. ``usage`` is missing from whisper-1
    transcripts of 2024 servers (see ``tests/corpus``): then it is ``None`` and
    ``missing_fields`` names it.
    """

    canonical_type: ClassVar[str] = "conversation.item.input_audio_transcription.completed"

    type: Literal["conversation.item.input_audio_transcription.completed"]
    event_id: str
    item_id: str
    content_index: int
    transcript: str
    usage: Omittable[TranscriptionUsage] = None
    logprobs: list[LogProb] | None = None
    #: The detected languages (GA only), as ``{"code": ...}`` objects.
    languages: list[dict[str, Any]] | None = None


class ConversationItemInputAudioTranscriptionFailedEvent(ServerEvent):
    """``conversation.item.input_audio_transcription.failed``: transcribing user audio failed."""

    canonical_type: ClassVar[str] = "conversation.item.input_audio_transcription.failed"

    type: Literal["conversation.item.input_audio_transcription.failed"]
    event_id: str
    item_id: str
    content_index: int
    error: ErrorDetail


class ConversationItemInputAudioTranscriptionSegmentEvent(ServerEvent):
    """``conversation.item.input_audio_transcription.segment`` (GA): a diarized transcript segment.

    ``start`` and ``end`` are in seconds; ``id`` identifies the segment.
    """

    canonical_type: ClassVar[str] = "conversation.item.input_audio_transcription.segment"

    type: Literal["conversation.item.input_audio_transcription.segment"]
    event_id: str
    item_id: str
    content_index: int
    id: str
    text: str
    speaker: str
    start: float
    end: float
