"""Parsing of server frames and validation of client events.

:func:`parse_server_event` is on the hot path of every connection: a frame that
matches a known event costs one ``validate_json`` call over a discriminated union,
and everything else (diagnosing bad frames, keeping unknown events) happens only
after that call has failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeAlias, get_args

import pydantic_core
from pydantic import Field, TypeAdapter, ValidationError

from ..errors import InvalidEventError, InvalidFrameError
from ._base import ClientEvent, ServerEvent, UnknownServerEvent
from .client import (
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
    TranscriptionSessionUpdateEvent,
)
from .conversation import (
    ConversationCreatedEvent,
    ConversationItemAddedEvent,
    ConversationItemCreatedEvent,
    ConversationItemDeletedEvent,
    ConversationItemDoneEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemInputAudioTranscriptionSegmentEvent,
    ConversationItemRetrievedEvent,
    ConversationItemTruncatedEvent,
)
from .input_audio_buffer import (
    InputAudioBufferClearedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferDtmfEventReceivedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    InputAudioBufferTimeoutTriggeredEvent,
)
from .mcp import McpListToolsCompletedEvent, McpListToolsFailedEvent, McpListToolsInProgressEvent
from .misc import ErrorEvent, RateLimitsUpdatedEvent
from .output_audio_buffer import (
    OutputAudioBufferClearedEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
)
from .response import (
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseMcpCallArgumentsDeltaEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
)
from .session import SessionCreatedEvent, SessionUpdatedEvent, TranscriptionSessionUpdatedEvent

__all__ = [
    "CLIENT_EVENT_CLASSES",
    "SERVER_EVENT_CLASSES",
    "AnyClientEvent",
    "AnyServerEvent",
    "parse_client_event",
    "parse_server_event",
]

#: Any known server event, discriminated on ``type`` (both spellings of renamed events).
AnyServerEvent: TypeAlias = Annotated[
    # The hottest events come first; the discriminator makes order irrelevant to
    # validation, but it is the order a reader expects.
    ResponseOutputAudioDeltaEvent
    | ResponseOutputAudioTranscriptDeltaEvent
    | ResponseOutputTextDeltaEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ConversationItemInputAudioTranscriptionDeltaEvent
    | ResponseOutputAudioDoneEvent
    | ResponseOutputAudioTranscriptDoneEvent
    | ResponseOutputTextDoneEvent
    | ResponseFunctionCallArgumentsDoneEvent
    | ResponseCreatedEvent
    | ResponseDoneEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseMcpCallArgumentsDeltaEvent
    | ResponseMcpCallArgumentsDoneEvent
    | ResponseMcpCallInProgressEvent
    | ResponseMcpCallCompletedEvent
    | ResponseMcpCallFailedEvent
    | ConversationCreatedEvent
    | ConversationItemCreatedEvent
    | ConversationItemAddedEvent
    | ConversationItemDoneEvent
    | ConversationItemRetrievedEvent
    | ConversationItemDeletedEvent
    | ConversationItemTruncatedEvent
    | ConversationItemInputAudioTranscriptionCompletedEvent
    | ConversationItemInputAudioTranscriptionFailedEvent
    | ConversationItemInputAudioTranscriptionSegmentEvent
    | InputAudioBufferCommittedEvent
    | InputAudioBufferClearedEvent
    | InputAudioBufferSpeechStartedEvent
    | InputAudioBufferSpeechStoppedEvent
    | InputAudioBufferTimeoutTriggeredEvent
    | InputAudioBufferDtmfEventReceivedEvent
    | OutputAudioBufferStartedEvent
    | OutputAudioBufferStoppedEvent
    | OutputAudioBufferClearedEvent
    | McpListToolsInProgressEvent
    | McpListToolsCompletedEvent
    | McpListToolsFailedEvent
    | SessionCreatedEvent
    | SessionUpdatedEvent
    | TranscriptionSessionUpdatedEvent
    | ErrorEvent
    | RateLimitsUpdatedEvent,
    Field(discriminator="type"),
]

#: Any known client event, discriminated on ``type``.
AnyClientEvent: TypeAlias = Annotated[
    SessionUpdateEvent
    | TranscriptionSessionUpdateEvent
    | ResponseCreateEvent
    | ResponseCancelEvent
    | ConversationItemCreateEvent
    | ConversationItemDeleteEvent
    | ConversationItemRetrieveEvent
    | ConversationItemTruncateEvent
    | InputAudioBufferAppendEvent
    | InputAudioBufferCommitEvent
    | InputAudioBufferClearEvent
    | OutputAudioBufferClearEvent,
    Field(discriminator="type"),
]

_SERVER_ADAPTER: TypeAdapter[AnyServerEvent] = TypeAdapter(AnyServerEvent)
_CLIENT_ADAPTER: TypeAdapter[AnyClientEvent] = TypeAdapter(AnyClientEvent)
# The core validator's own method: TypeAdapter.validate_json only forwards its
# default options to it, a Python call per frame that the hot path can skip.
_validate_server_json = _SERVER_ADAPTER.validator.validate_json


def _classes_by_type(union: Any) -> dict[str, Any]:
    # The ``type`` literals are the single source of truth for wire spellings.
    classes: dict[str, Any] = {}
    for cls in get_args(get_args(union)[0]):
        for name in get_args(cls.model_fields["type"].annotation):
            classes[name] = cls
    return classes


#: Every wire spelling of every known server event (GA and beta) -> its class.
SERVER_EVENT_CLASSES: dict[str, type[ServerEvent]] = _classes_by_type(AnyServerEvent)

#: Every client event type (both dialects) -> its class.
CLIENT_EVENT_CLASSES: dict[str, type[ClientEvent]] = _classes_by_type(AnyClientEvent)


def parse_server_event(data: bytes | bytearray | str) -> ServerEvent:
    """Parse one text frame from the server into its event model.

    An event whose ``type`` is unknown, or whose fields do not match its model, comes
    back as :class:`UnknownServerEvent` with every field kept; in the second case its
    ``validation_error`` says what did not match.

    Raises:
        InvalidFrameError: the frame is not JSON, not a JSON object, or has no string
            ``type``.
    """
    try:
        return _validate_server_json(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        return _parse_irregular(data, error)


def _parse_irregular(data: bytes | bytearray | str, error: ValidationError) -> ServerEvent:
    frame = bytes(data) if isinstance(data, bytearray) else data
    try:
        # The same parser as validate_json, so both paths agree on what is JSON.
        obj = pydantic_core.from_json(data)
    except ValueError as exc:
        raise InvalidFrameError(f"server frame is not valid JSON: {exc}", frame) from exc
    if not isinstance(obj, dict):
        raise InvalidFrameError(
            f"server frame is a JSON {_json_kind(obj)}, not an object", frame
        ) from error
    event_type = obj.get("type")
    if not isinstance(event_type, str):
        raise InvalidFrameError("server frame has no string 'type' field", frame) from error
    cls = SERVER_EVENT_CLASSES.get(event_type)
    event = UnknownServerEvent.model_validate(obj)
    if cls is not None:
        try:
            # Validating against the one class gives an error without the union's
            # discriminator noise in every location.
            cls.model_validate(obj)
        except ValidationError as exc:
            event._validation_error = exc
        else:  # pragma: no cover - validate_json and model_validate agree in practice
            event._validation_error = error
    return event


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def parse_client_event(event: ClientEvent | Mapping[str, Any]) -> ClientEvent:
    """Return a client event model: a model as given, or a mapping validated into one.

    Raises:
        InvalidEventError: the mapping has no known ``type`` or its fields do not match
            that event; the message names the event type and the bad fields, and the
            :class:`pydantic.ValidationError` is chained.
    """
    if isinstance(event, ClientEvent):
        return event
    if not isinstance(event, Mapping):
        raise InvalidEventError(
            f"a client event must be a ClientEvent or a mapping, not {type(event).__name__}"
        )
    data = dict(event)
    try:
        return _CLIENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise InvalidEventError(_describe_client_error(data.get("type"), exc)) from exc


_UNION_BRANCHES = frozenset(
    {"dict[str,any]", "ConversationItem", "RealtimeSessionInfo", "ResponseCreateParams"}
)


def _describe_client_error(event_type: Any, error: ValidationError) -> str:
    if event_type is None:
        return "client event has no 'type' field"
    if not isinstance(event_type, str) or event_type not in CLIENT_EVENT_CLASSES:
        known = ", ".join(sorted(CLIENT_EVENT_CLASSES))
        return f"unknown client event type {event_type!r} (known: {known})"
    problems: dict[str, list[str]] = {}
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if loc and loc[0] == event_type:  # the discriminated union's tag
            loc = loc[1:]
        # A dict-or-model field fails once per branch; name the field, not the branches.
        where = ".".join(str(part) for part in loc if part not in _UNION_BRANCHES) or "(event)"
        messages = problems.setdefault(where, [])
        if detail["msg"] not in messages:
            messages.append(detail["msg"])
    described = "; ".join(f"{where}: {' / '.join(msgs)}" for where, msgs in problems.items())
    return f"invalid {event_type!r} client event: {described}"
