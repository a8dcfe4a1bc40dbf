"""Server events about responses: ``response.*``.

The six events GA renamed (``response.audio.*``, ``response.audio_transcript.*`` and
``response.text.*`` in beta) accept both spellings in ``type``; ``canonical_type`` is
the GA one. The delta events are the hottest on the wire, so they stay flat: plain
fields, no validators.
"""

from __future__ import annotations

import base64
import functools
from typing import ClassVar, Literal

from ._base import ServerEvent
from .payloads import ContentPart, ConversationItem, Response


class _OutputEvent(ServerEvent):
    """Fields shared by events about one output of a response."""

    event_id: str
    response_id: str
    output_index: int


class _ItemOutputEvent(_OutputEvent):
    """Fields shared by events about one output item of a response."""

    item_id: str


class _ContentEvent(_ItemOutputEvent):
    """Fields shared by events about one content part of an output item."""

    content_index: int


class ResponseCreatedEvent(ServerEvent):
    """``response.created``: a response began; ``response.status`` is ``in_progress``."""

    canonical_type: ClassVar[str] = "response.created"

    type: Literal["response.created"]
    event_id: str
    response: Response


class ResponseDoneEvent(ServerEvent):
    """``response.done``: a response ended, completed or not; ``response`` has its final state.

    Always sent, whatever ``response.status`` says, so it is the place to observe
    cancellations and failures.
    """

    canonical_type: ClassVar[str] = "response.done"

    type: Literal["response.done"]
    event_id: str
    response: Response


class ResponseOutputItemAddedEvent(_OutputEvent):
    """``response.output_item.added``: a response started producing a new item."""

    canonical_type: ClassVar[str] = "response.output_item.added"

    type: Literal["response.output_item.added"]
    item: ConversationItem


class ResponseOutputItemDoneEvent(_OutputEvent):
    """``response.output_item.done``: an item of a response is complete."""

    canonical_type: ClassVar[str] = "response.output_item.done"

    type: Literal["response.output_item.done"]
    item: ConversationItem


class ResponseContentPartAddedEvent(_ContentEvent):
    """``response.content_part.added``: an output item started a new content part."""

    canonical_type: ClassVar[str] = "response.content_part.added"

    type: Literal["response.content_part.added"]
    part: ContentPart


class ResponseContentPartDoneEvent(_ContentEvent):
    """``response.content_part.done``: a content part of an output item is complete."""

    canonical_type: ClassVar[str] = "response.content_part.done"

    type: Literal["response.content_part.done"]
    part: ContentPart


class ResponseOutputTextDeltaEvent(_ContentEvent):
    """``response.output_text.delta`` (beta ``response.text.delta``): more output text."""

    canonical_type: ClassVar[str] = "response.output_text.delta"
    beta_type: ClassVar[str | None] = "response.text.delta"

    type: Literal["response.output_text.delta", "response.text.delta"]
    delta: str


class ResponseOutputTextDoneEvent(_ContentEvent):
    """``response.output_text.done`` (beta ``response.text.done``): the full output text."""

    canonical_type: ClassVar[str] = "response.output_text.done"
    beta_type: ClassVar[str | None] = "response.text.done"

    type: Literal["response.output_text.done", "response.text.done"]
    text: str


class ResponseOutputAudioDeltaEvent(_ContentEvent):
    """``response.output_audio.delta`` (beta ``response.audio.delta``): a chunk of output audio.

    ``delta`` is the base64 text from the wire; :attr:`audio` decodes it on first read,
    so handlers that only forward the base64 never pay for decoding.
    """

    canonical_type: ClassVar[str] = "response.output_audio.delta"
    beta_type: ClassVar[str | None] = "response.audio.delta"

    type: Literal["response.output_audio.delta", "response.audio.delta"]
    delta: str

    @functools.cached_property
    def audio(self) -> bytes:
        """The decoded audio bytes of ``delta``, in the session's output format."""
        return base64.b64decode(self.delta)


class ResponseOutputAudioDoneEvent(_ContentEvent):
    """``response.output_audio.done`` (beta ``response.audio.done``): a part's audio is complete."""

    canonical_type: ClassVar[str] = "response.output_audio.done"
    beta_type: ClassVar[str | None] = "response.audio.done"

    type: Literal["response.output_audio.done", "response.audio.done"]


class ResponseOutputAudioTranscriptDeltaEvent(_ContentEvent):
    """``response.output_audio_transcript.delta`` (beta ``response.audio_transcript.delta``).

    More of the transcript of the output audio.
    """

    canonical_type: ClassVar[str] = "response.output_audio_transcript.delta"
    beta_type: ClassVar[str | None] = "response.audio_transcript.delta"

    type: Literal["response.output_audio_transcript.delta", "response.audio_transcript.delta"]
    delta: str


class ResponseOutputAudioTranscriptDoneEvent(_ContentEvent):
    """``response.output_audio_transcript.done`` (beta ``response.audio_transcript.done``).

    The full transcript of a part's output audio.
    """

    canonical_type: ClassVar[str] = "response.output_audio_transcript.done"
    beta_type: ClassVar[str | None] = "response.audio_transcript.done"

    type: Literal["response.output_audio_transcript.done", "response.audio_transcript.done"]
    transcript: str


class ResponseFunctionCallArgumentsDeltaEvent(_ItemOutputEvent):
    """``response.function_call_arguments.delta``: more of a function call's JSON arguments."""

    canonical_type: ClassVar[str] = "response.function_call_arguments.delta"

    type: Literal["response.function_call_arguments.delta"]
    call_id: str
    delta: str


class ResponseFunctionCallArgumentsDoneEvent(_ItemOutputEvent):
    """``response.function_call_arguments.done``: a function call's complete JSON arguments.

    ``name`` is the function's name; GA always sends it, beta never does (read it
    from the ``function_call`` item of ``response.output_item.added`` instead). Also
    sent when the response is interrupted, incomplete or cancelled.
    """

    canonical_type: ClassVar[str] = "response.function_call_arguments.done"

    type: Literal["response.function_call_arguments.done"]
    call_id: str
    arguments: str
    name: str | None = None


class ResponseMcpCallArgumentsDeltaEvent(_ItemOutputEvent):
    """``response.mcp_call_arguments.delta`` (GA): more of an MCP tool call's JSON arguments."""

    canonical_type: ClassVar[str] = "response.mcp_call_arguments.delta"

    type: Literal["response.mcp_call_arguments.delta"]
    delta: str
    obfuscation: str | None = None


class ResponseMcpCallArgumentsDoneEvent(_ItemOutputEvent):
    """``response.mcp_call_arguments.done`` (GA): an MCP tool call's complete JSON arguments."""

    canonical_type: ClassVar[str] = "response.mcp_call_arguments.done"

    type: Literal["response.mcp_call_arguments.done"]
    arguments: str


class ResponseMcpCallInProgressEvent(ServerEvent):
    """``response.mcp_call.in_progress`` (GA): an MCP tool call started."""

    canonical_type: ClassVar[str] = "response.mcp_call.in_progress"

    type: Literal["response.mcp_call.in_progress"]
    event_id: str
    item_id: str
    output_index: int


class ResponseMcpCallCompletedEvent(ServerEvent):
    """``response.mcp_call.completed`` (GA): an MCP tool call succeeded."""

    canonical_type: ClassVar[str] = "response.mcp_call.completed"

    type: Literal["response.mcp_call.completed"]
    event_id: str
    item_id: str
    output_index: int


class ResponseMcpCallFailedEvent(ServerEvent):
    """``response.mcp_call.failed`` (GA): an MCP tool call failed."""

    canonical_type: ClassVar[str] = "response.mcp_call.failed"

    type: Literal["response.mcp_call.failed"]
    event_id: str
    item_id: str
    output_index: int
