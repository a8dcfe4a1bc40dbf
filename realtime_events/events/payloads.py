"""Payload models carried inside events: items, responses, usage, errors and sessions.

Every model allows extra fields and makes every field optional unless both dialects
always send it, because one model serves both the beta and the GA dialect and a newer
server must never lose data on an older client. Enumerated values (statuses, roles,
content types) are plain ``str`` for the same reason: a new value must not turn a
whole event into a validation failure.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContentPart(_Payload):
    """One part of an item's content, or the ``part`` of a ``response.content_part.*`` event.

    ``type`` is ``input_text``, ``input_audio``, ``input_image``, ``output_text`` or
    ``output_audio`` in GA, and ``input_text``, ``input_audio``, ``item_reference``,
    ``text`` or ``audio`` in beta.
    """

    type: str | None = None
    text: str | None = None
    #: Base64-encoded audio.
    audio: str | None = None
    transcript: str | None = None
    #: The referenced item's id, for a beta ``item_reference`` part.
    id: str | None = None
    image_url: str | None = None
    detail: str | None = None


class ConversationItem(_Payload):
    """An item of the conversation: a message, a function call or output, or an MCP item.

    One flat model serves both dialects. GA discriminates items on ``type``
    (``message``, ``function_call``, ``function_call_output``, ``mcp_call``,
    ``mcp_list_tools``, ``mcp_approval_request``, ``mcp_approval_response``) while beta
    uses one flat shape; the fields of every kind are optional here.
    """

    id: str | None = None
    object: str | None = None
    type: str | None = None
    #: ``system``, ``user`` or ``assistant``, for messages.
    role: str | None = None
    #: ``completed``, ``incomplete`` or ``in_progress``.
    status: str | None = None
    content: list[ContentPart] | None = None
    call_id: str | None = None
    name: str | None = None
    #: The call's arguments, a JSON document in a string.
    arguments: str | None = None
    output: str | None = None
    # MCP items (GA only).
    server_label: str | None = None
    tools: list[dict[str, Any]] | None = None
    approval_request_id: str | None = None
    approve: bool | None = None
    reason: str | None = None
    error: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The text of the content parts, joined; a part's transcript stands in for its text.

        Empty when the item has no textual content (a function call, say).
        """
        if not self.content:
            return ""
        return "".join(
            part.text if part.text is not None else part.transcript or "" for part in self.content
        )


class Conversation(_Payload):
    """The conversation of ``conversation.created``."""

    id: str | None = None
    object: str | None = None


class ErrorDetail(_Payload):
    """The ``error`` of an ``error`` event, a failed transcription or a failed response.

    ``event_id`` names the *client* event that caused the error, when there is one.
    Every field is optional: an error must reach the caller even when its shape is
    incomplete.
    """

    message: str | None = None
    type: str | None = None
    code: str | None = None
    param: str | None = None
    event_id: str | None = None


class StatusDetails(_Payload):
    """Why a response ended in its status (``status_details`` of a response).

    ``reason`` is ``turn_detected``, ``client_cancelled``, ``max_output_tokens`` or
    ``content_filter``.
    """

    type: str | None = None
    reason: str | None = None
    error: ErrorDetail | None = None


class InputTokenDetails(_Payload):
    """The input tokens of a response or transcription, by modality."""

    text_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    cached_tokens: int | None = None
    cached_tokens_details: dict[str, Any] | None = None


class OutputTokenDetails(_Payload):
    """The output tokens of a response, by modality."""

    text_tokens: int | None = None
    audio_tokens: int | None = None


class Usage(_Payload):
    """The token usage of a response."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_token_details: InputTokenDetails | None = None
    output_token_details: OutputTokenDetails | None = None


class TranscriptionUsage(_Payload):
    """The usage of an input audio transcription: tokens or seconds of audio.

    ``type`` is ``tokens`` (the token fields are set) or ``duration`` (``seconds`` is).
    """

    type: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_token_details: InputTokenDetails | None = None
    seconds: float | None = None


class LogProb(_Payload):
    """The log probability of one token of a transcription."""

    token: str | None = None
    logprob: float | None = None
    #: The token's UTF-8 bytes.
    bytes: list[int] | None = None


class RateLimit(_Payload):
    """One rate limit of ``rate_limits.updated``; ``name`` is ``requests`` or ``tokens``."""

    name: str | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None


class Response(_Payload):
    """A response of the model, as in ``response.created`` and ``response.done``.

    ``status`` is ``in_progress``, ``completed``, ``cancelled``, ``failed`` or
    ``incomplete``. GA sends ``output_modalities`` and ``audio``; beta sends
    ``modalities``, ``output_audio_format``, ``temperature`` and ``voice``.
    """

    id: str | None = None
    object: str | None = None
    status: str | None = None
    status_details: StatusDetails | None = None
    output: list[ConversationItem] | None = None
    usage: Usage | None = None
    conversation_id: str | None = None
    metadata: dict[str, Any] | None = None
    #: An integer, or ``"inf"``.
    max_output_tokens: int | str | None = None
    # GA only.
    output_modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    # Beta only.
    modalities: list[str] | None = None
    output_audio_format: str | None = None
    temperature: float | None = None
    voice: Any = None

    @property
    def text(self) -> str:
        """The text (or audio transcript) of the response's output items, joined."""
        if not self.output:
            return ""
        return "".join(item.text for item in self.output)


class ResponseCreateParams(_Payload):
    """Per-response overrides for the ``response`` of a ``response.create`` client event.

    Only the fields that are set are sent. GA fields: ``output_modalities``, ``audio``,
    ``max_output_tokens``; beta fields: ``modalities``, ``voice``,
    ``output_audio_format``, ``temperature``, ``max_response_output_tokens``; the rest
    are common to both.
    """

    instructions: str | None = None
    conversation: str | None = None
    # Left to right, so that a dict stays the caller's dict instead of becoming a model.
    input: (
        list[Annotated[dict[str, Any] | ConversationItem, Field(union_mode="left_to_right")]] | None
    ) = None
    metadata: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    # GA.
    output_modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    max_output_tokens: int | str | None = None
    # Beta.
    modalities: list[str] | None = None
    voice: Any = None
    output_audio_format: str | None = None
    temperature: float | None = None
    max_response_output_tokens: int | str | None = None


class RealtimeSessionInfo(_Payload):
    """A session configuration: the ``session`` of ``session.created``, ``.updated`` or ``.update``.

    GA nests audio settings under ``audio`` (``audio.input.format``,
    ``audio.output.voice``...) and sets ``type`` to ``realtime`` or ``transcription``;
    beta is flat (``voice``, ``input_audio_format``, ``turn_detection``...). Fields that
    one dialect sends as a string and the other as an object are typed ``Any``.
    """

    id: str | None = None
    object: str | None = None
    type: str | None = None
    model: str | None = None
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    tracing: Any = None
    include: list[str] | None = None
    expires_at: int | None = None
    client_secret: dict[str, Any] | None = None
    # GA.
    output_modalities: list[str] | None = None
    audio: dict[str, Any] | None = None
    max_output_tokens: int | str | None = None
    truncation: Any = None
    prompt: Any = None
    parallel_tool_calls: bool | None = None
    reasoning: dict[str, Any] | None = None
    # Beta.
    modalities: list[str] | None = None
    voice: Any = None
    speed: float | None = None
    temperature: float | None = None
    input_audio_format: Any = None
    output_audio_format: Any = None
    input_audio_transcription: dict[str, Any] | None = None
    input_audio_noise_reduction: dict[str, Any] | None = None
    turn_detection: dict[str, Any] | None = None
    max_response_output_tokens: int | str | None = None
