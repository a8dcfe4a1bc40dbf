"""Payload models carried inside events: items, responses, usage, errors and sessions.

The objects inside a session's or a response's settings (turn detection, tools,
reasoning...) are in :mod:`.settings`.

Every model allows extra fields and makes every field optional unless both dialects
always send it, because one model serves both the beta and the GA dialect and a newer
server must never lose data on an older client. Enumerated values (statuses, roles,
content types) are plain ``str`` for the same reason: a new value must not turn a
whole event into a validation failure.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .settings import (
    AudioConfig,
    AudioTranscription,
    NoiseReduction,
    Prompt,
    Reasoning,
    ToolChoiceSetting,
    ToolSetting,
    TracingSetting,
    TruncationSetting,
    TurnDetectionSetting,
    VoiceSetting,
)


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
    audio: AudioConfig | None = None
    # Beta only.
    modalities: list[str] | None = None
    output_audio_format: str | None = None
    temperature: float | None = None
    voice: VoiceSetting | None = None

    @property
    def text(self) -> str:
        """The text (or audio transcript) of the response's assistant messages, one line each.

        A response may say several things (a preamble, then the answer): each
        message is a line, as in :attr:`realtime_events.turns.Reply.text`, so
        they never run together. Function calls and other items have no text.
        """
        if not self.output:
            return ""
        return "\n".join(
            item.text
            for item in self.output
            if item.type in (None, "message") and item.role in (None, "assistant") and item.text
        )


class ResponseCreateParams(_Payload):
    """Per-response overrides for the ``response`` of a ``response.create`` client event.

    Only the fields that are set are sent. GA fields: ``output_modalities``, ``audio``,
    ``max_output_tokens``, ``reasoning``, ``prompt``, ``parallel_tool_calls``; beta
    fields: ``modalities``, ``voice``, ``output_audio_format``, ``temperature``,
    ``max_response_output_tokens``; the rest are common to both.
    """

    instructions: str | None = None
    #: ``auto`` (the default conversation), ``none`` (out of band) or a conversation id.
    conversation: str | None = None
    # Left to right, so that a dict stays the caller's dict instead of becoming a model.
    input: (
        list[Annotated[dict[str, Any] | ConversationItem, Field(union_mode="left_to_right")]] | None
    ) = None
    metadata: dict[str, Any] | None = None
    tools: list[ToolSetting] | None = None
    tool_choice: ToolChoiceSetting | None = None
    # GA.
    output_modalities: list[str] | None = None
    #: ``audio.output``: the ``format`` and ``voice`` of this response.
    audio: AudioConfig | None = None
    max_output_tokens: int | str | None = None
    reasoning: Reasoning | None = None
    prompt: Prompt | None = None
    #: Whether the model may call several tools at once (reasoning models).
    parallel_tool_calls: bool | None = None
    # Beta.
    modalities: list[str] | None = None
    voice: VoiceSetting | None = None
    output_audio_format: str | None = None
    temperature: float | None = None
    max_response_output_tokens: int | str | None = None


class RealtimeSessionInfo(_Payload):
    """A session configuration: the ``session`` of ``session.created``, ``.updated`` or ``.update``.

    GA nests audio settings under ``audio`` (``audio.input.format``,
    ``audio.output.voice``...) and sets ``type`` to ``realtime`` or ``transcription``;
    beta is flat (``voice``, ``input_audio_format``, ``turn_detection``...). The
    audio formats, which beta names with a string and GA with an object, are typed
    ``Any``; the GA objects are :class:`.settings.AudioFormatConfig` under ``audio``.
    A transcription session's configuration is read with this model too (its fields
    are a subset); :class:`TranscriptionSessionConfig` is the one that refuses
    realtime-only fields in an update.
    """

    id: str | None = None
    object: str | None = None
    type: str | None = None
    model: str | None = None
    instructions: str | None = None
    tools: list[ToolSetting] | None = None
    tool_choice: ToolChoiceSetting | None = None
    tracing: TracingSetting | None = None
    include: list[str] | None = None
    expires_at: int | None = None
    client_secret: dict[str, Any] | None = None
    # GA.
    output_modalities: list[str] | None = None
    audio: AudioConfig | None = None
    max_output_tokens: int | str | None = None
    truncation: TruncationSetting | None = None
    prompt: Prompt | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    # Beta.
    modalities: list[str] | None = None
    voice: VoiceSetting | None = None
    speed: float | None = None
    temperature: float | None = None
    input_audio_format: Any = None
    output_audio_format: Any = None
    input_audio_transcription: AudioTranscription | None = None
    input_audio_noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetectionSetting | None = None
    max_response_output_tokens: int | str | None = None


#: The fields of a realtime session that a transcription session does not have.
REALTIME_ONLY_FIELDS = frozenset(
    {
        "model",
        "instructions",
        "tools",
        "tool_choice",
        "tracing",
        "output_modalities",
        "max_output_tokens",
        "truncation",
        "prompt",
        "parallel_tool_calls",
        "reasoning",
        "voice",
        "speed",
        "temperature",
        "output_audio_format",
        "max_response_output_tokens",
    }
)


class TranscriptionSessionConfig(_Payload):
    """The configuration of a transcription session: no model responses, transcripts only.

    GA sends it in ``session.update`` with ``type: "transcription"`` and the input
    settings nested under ``audio.input`` (``format``, ``transcription``,
    ``noise_reduction``, ``turn_detection``); beta sends it flat in
    ``transcription_session.update`` (``input_audio_format``,
    ``input_audio_transcription``...). ``include`` may ask for
    ``item.input_audio_transcription.logprobs``. A field of a realtime session
    (``voice``, ``instructions``, ``tools``, ``audio.output``...) is refused: the
    server would refuse it too.
    """

    type: str | None = None
    audio: AudioConfig | None = None
    include: list[str] | None = None
    # Beta.
    input_audio_format: Any = None
    input_audio_transcription: AudioTranscription | None = None
    input_audio_noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetectionSetting | None = None
    modalities: list[str] | None = None
    client_secret: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_realtime_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            misplaced = sorted(REALTIME_ONLY_FIELDS.intersection(data))
            audio = data.get("audio")
            if isinstance(audio, dict) and "output" in audio:
                misplaced.append("audio.output")
            if misplaced:
                raise ValueError(
                    f"{', '.join(misplaced)}: not a setting of a transcription session"
                    " (it takes audio.input, include; beta: input_audio_format,"
                    " input_audio_transcription, input_audio_noise_reduction, turn_detection)"
                )
        return data
