"""Conversation items and their content parts, as the server keeps them and renders them.

An :class:`Item` holds more than the wire shows: its audio bytes, their
format, and what the model heard of input audio, which is what a model
replies to.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

from ...audio import AudioFormat, alaw_decode, ulaw_decode
from ...events.names import Dialect
from ..models import Model
from ._constants import JSON

_BETA_PART_TYPES = {"output_text": "text", "output_audio": "audio"}


@dataclass(slots=True)
class Content:
    """One content part; ``type`` is the GA name (``output_audio``, not beta ``audio``)."""

    type: str
    text: str | None = None
    transcript: str | None = None
    audio: bytearray | None = None
    image_url: str | None = None
    detail: str | None = None

    def render(self, dialect: Dialect, *, with_audio: bool) -> JSON:
        """The part as the wire shows it; audio bytes only when asked (retrieve)."""
        kind = _BETA_PART_TYPES.get(self.type, self.type) if dialect == "beta" else self.type
        part: JSON = {"type": kind}
        if self.type in ("input_text", "output_text"):
            part["text"] = self.text or ""
        elif self.type == "input_image":
            part["image_url"] = self.image_url
            part["detail"] = self.detail or "auto"
        else:
            part["transcript"] = self.transcript
            if with_audio and self.audio is not None:
                part["audio"] = base64.b64encode(self.audio).decode("ascii")
        return part

    def audio_ms(self, fmt: AudioFormat | None) -> float:
        """Duration of the part's audio (0 without audio)."""
        if self.audio is None or fmt is None:
            return 0.0
        return fmt.duration_ms(len(self.audio))


@dataclass(slots=True)
class Item:
    """A conversation item as the server keeps it, with its audio and what was heard of it."""

    id: str
    type: str
    role: str | None = None
    status: str = "completed"
    content: list[Content] = field(default_factory=list)
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    audio_format: AudioFormat | None = None
    heard: str | None = None  # what the model understood of input audio
    # MCP items: the server, its tools, a call's error, and approvals.
    server_label: str | None = None
    tools: list[JSON] | None = None
    error: JSON | None = None
    approval_request_id: str | None = None
    approve: bool | None = None
    reason: str | None = None

    def render(self, dialect: Dialect, *, with_audio: bool = False) -> JSON:
        """The item as the wire shows it in ``dialect``."""
        if self.type.startswith("mcp_"):
            return self._render_mcp()
        item: JSON = {"id": self.id, "object": "realtime.item", "type": self.type}
        item["status"] = self.status
        if self.type == "message":
            item["role"] = self.role
            item["content"] = [c.render(dialect, with_audio=with_audio) for c in self.content]
        elif self.type == "function_call":
            item.update(name=self.name, call_id=self.call_id, arguments=self.arguments or "")
        else:
            item.update(call_id=self.call_id, output=self.output or "")
        return item

    def _render_mcp(self) -> JSON:
        """An MCP item: the fields of its GA shape, which has no ``object`` or ``status``."""
        item: JSON = {"id": self.id, "type": self.type}
        if self.type == "mcp_list_tools":
            item.update(server_label=self.server_label, tools=list(self.tools or []))
        elif self.type == "mcp_approval_response":
            item.update(
                approval_request_id=self.approval_request_id,
                approve=self.approve,
                reason=self.reason,
            )
        else:
            item.update(server_label=self.server_label, name=self.name, arguments=self.arguments)
            if self.type == "mcp_call":
                item.update(
                    output=self.output,
                    error=self.error,
                    approval_request_id=self.approval_request_id,
                )
        return item

    def for_model(self) -> JSON:
        """The GA shape without audio; input audio carries what was heard as its transcript."""
        item = self.render("ga")
        for part, content in zip(item.get("content", []), self.content, strict=False):
            if content.type == "input_audio":
                part["transcript"] = self.heard if self.heard is not None else content.transcript
        return item

    def text(self) -> str:
        """The item's words: texts, transcripts, and what was heard of input audio."""
        words = []
        for content in self.content:
            if content.type == "input_audio":
                words.append(self.heard or content.transcript or "")
            else:
                words.append(content.text or content.transcript or "")
        return " ".join(w for w in words if w)


def tokens(text: str | None) -> int:
    """A plausible token count for text: about four characters a token."""
    return math.ceil(len(text) / 4) if text else 0


def to_pcm16(data: bytes, fmt: AudioFormat) -> bytes:
    """Input audio in ``fmt`` as pcm16, the form VAD and transcription take."""
    if fmt.name == "g711_ulaw":
        return ulaw_decode(data)
    if fmt.name == "g711_alaw":
        return alaw_decode(data)
    return data


def hear(model: Model, data: bytes, fmt: AudioFormat) -> str | None:
    """What ``model`` hears of input audio in ``fmt`` (None if nothing)."""
    return model.transcribe(to_pcm16(data, fmt), fmt.sample_rate)
