"""Client events: what the client sends to the server.

Every client event has an optional ``event_id`` (from :class:`ClientEvent`), which the
server echoes in ``error.event_id`` when the event causes an error. ``type`` has a
default, so ``ResponseCancelEvent()`` is a complete event. Nested configuration
(``session``, ``response``, ``item``) accepts either a plain dict, sent as given, or
a payload model, of which only the fields that were set are sent. A ``session`` or
``response`` dict is checked against its model all the same (a misplaced or
mistyped setting is refused before it is sent) and stays the caller's dict.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, Literal, TypeAlias

from pydantic import AfterValidator, BaseModel, Field, ValidationError, field_validator

from ._base import ClientEvent
from .payloads import (
    ConversationItem,
    RealtimeSessionInfo,
    ResponseCreateParams,
    TranscriptionSessionConfig,
)
from .settings import KIND_TAGS


def _session_model(config: dict[str, Any]) -> type[BaseModel]:
    is_transcription = config.get("type") == "transcription"
    return TranscriptionSessionConfig if is_transcription else RealtimeSessionInfo


def _checked(model: Callable[[dict[str, Any]], type[BaseModel]]) -> AfterValidator:
    """Validate a dict against its model, for the errors only: the dict is sent as given."""

    def check(value: Any) -> Any:
        if isinstance(value, dict):
            try:
                model(value).model_validate(value)
            except ValidationError as error:
                raise _without_kind_tags(error) from None
        return value

    return AfterValidator(check)


def _without_kind_tags(error: ValidationError) -> ValidationError:
    """The same errors, located by field names only (``turn_detection.threshold``)."""
    details: list[Any] = [
        {**detail, "loc": tuple(part for part in detail["loc"] if part not in KIND_TAGS)}
        for detail in error.errors(include_url=False)
    ]
    try:
        return ValidationError.from_exception_data(error.title, details)
    except (TypeError, ValueError, KeyError):  # pragma: no cover - an error type it cannot rebuild
        return error


# Left to right, so that a dict stays the caller's dict instead of becoming a model.
_SessionConfig: TypeAlias = Annotated[
    dict[str, Any] | RealtimeSessionInfo | TranscriptionSessionConfig,
    Field(union_mode="left_to_right"),
    _checked(_session_model),
]
_TranscriptionSessionConfig: TypeAlias = Annotated[
    dict[str, Any] | TranscriptionSessionConfig,
    Field(union_mode="left_to_right"),
    _checked(lambda _: TranscriptionSessionConfig),
]
_ResponseConfig: TypeAlias = Annotated[
    dict[str, Any] | ResponseCreateParams,
    Field(union_mode="left_to_right"),
    _checked(lambda _: ResponseCreateParams),
]
_Item: TypeAlias = Annotated[dict[str, Any] | ConversationItem, Field(union_mode="left_to_right")]


class SessionUpdateEvent(ClientEvent):
    """``session.update``: change the session's configuration.

    ``session`` is nested in GA (``{"type": "realtime", "audio": {...}}``) and flat in
    beta (``{"voice": ..., "turn_detection": ...}``); it is sent as given. A GA
    transcription session is configured here too, with ``{"type": "transcription",
    "audio": {"input": {...}}}`` (a :class:`TranscriptionSessionConfig`).
    """

    canonical_type: ClassVar[str] = "session.update"

    type: Literal["session.update"] = "session.update"
    session: _SessionConfig


class TranscriptionSessionUpdateEvent(ClientEvent):
    """``transcription_session.update`` (beta only): configure a transcription session.

    ``session`` is flat (``input_audio_transcription``, ``turn_detection``...). GA
    uses ``session.update`` with ``session.type == "transcription"`` instead.
    """

    canonical_type: ClassVar[str] = "transcription_session.update"

    type: Literal["transcription_session.update"] = "transcription_session.update"
    session: _TranscriptionSessionConfig


class ResponseCreateEvent(ClientEvent):
    """``response.create``: ask the model for a response, optionally with per-response overrides."""

    canonical_type: ClassVar[str] = "response.create"

    type: Literal["response.create"] = "response.create"
    response: _ResponseConfig | None = None


class ResponseCancelEvent(ClientEvent):
    """``response.cancel``: cancel the response in progress, or the one named ``response_id``."""

    canonical_type: ClassVar[str] = "response.cancel"

    type: Literal["response.cancel"] = "response.cancel"
    response_id: str | None = None


class ConversationItemCreateEvent(ClientEvent):
    """``conversation.item.create``: add an item (a message, a function call output...).

    The item goes after ``previous_item_id``, or at the end when it is not given.
    """

    canonical_type: ClassVar[str] = "conversation.item.create"

    type: Literal["conversation.item.create"] = "conversation.item.create"
    item: _Item
    previous_item_id: str | None = None


class ConversationItemDeleteEvent(ClientEvent):
    """``conversation.item.delete``: remove an item from the conversation."""

    canonical_type: ClassVar[str] = "conversation.item.delete"

    type: Literal["conversation.item.delete"] = "conversation.item.delete"
    item_id: str


class ConversationItemRetrieveEvent(ClientEvent):
    """``conversation.item.retrieve``: ask for the server's copy of an item."""

    canonical_type: ClassVar[str] = "conversation.item.retrieve"

    type: Literal["conversation.item.retrieve"] = "conversation.item.retrieve"
    item_id: str


class ConversationItemTruncateEvent(ClientEvent):
    """``conversation.item.truncate``: cut an assistant audio item at ``audio_end_ms``.

    Sent when the user interrupts playback, so the conversation holds only what was
    heard. ``content_index`` is 0 in practice; an ``audio_end_ms`` past the end of
    the audio is an error.
    """

    canonical_type: ClassVar[str] = "conversation.item.truncate"

    type: Literal["conversation.item.truncate"] = "conversation.item.truncate"
    item_id: str
    content_index: int
    audio_end_ms: int


class InputAudioBufferAppendEvent(ClientEvent):
    """``input_audio_buffer.append``: add audio to the input buffer.

    ``audio`` is base64 text on the wire; raw ``bytes`` given here are encoded.
    """

    canonical_type: ClassVar[str] = "input_audio_buffer.append"

    type: Literal["input_audio_buffer.append"] = "input_audio_buffer.append"
    audio: str

    @field_validator("audio", mode="before")
    @classmethod
    def _encode_bytes(cls, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return base64.b64encode(value).decode("ascii")
        return value

    @functools.cached_property
    def audio_bytes(self) -> bytes:
        """The decoded audio bytes of ``audio``."""
        return base64.b64decode(self.audio)


class InputAudioBufferCommitEvent(ClientEvent):
    """``input_audio_buffer.commit``: turn the buffered audio into a user item (without VAD)."""

    canonical_type: ClassVar[str] = "input_audio_buffer.commit"

    type: Literal["input_audio_buffer.commit"] = "input_audio_buffer.commit"


class InputAudioBufferClearEvent(ClientEvent):
    """``input_audio_buffer.clear``: discard the buffered input audio."""

    canonical_type: ClassVar[str] = "input_audio_buffer.clear"

    type: Literal["input_audio_buffer.clear"] = "input_audio_buffer.clear"


class OutputAudioBufferClearEvent(ClientEvent):
    """``output_audio_buffer.clear`` (WebRTC and SIP): stop the audio being played out."""

    canonical_type: ClassVar[str] = "output_audio_buffer.clear"

    type: Literal["output_audio_buffer.clear"] = "output_audio_buffer.clear"
