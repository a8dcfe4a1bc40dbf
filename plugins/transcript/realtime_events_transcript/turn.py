"""One entry of a transcript: a message, a tool call or a tool output, keyed by item id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

__all__ = ["Modality", "Role", "Status", "Turn"]

#: Who or what the entry is. Messages have the speaker's role; function calls
#: and their outputs are entries of their own; any other item type (MCP items,
#: types newer than this library) is ``"other"``, with its type in ``item_type``.
Role: TypeAlias = Literal["user", "assistant", "system", "tool_call", "tool_output", "other"]

#: ``in_progress`` while text streams (or a user transcript is awaited);
#: ``completed`` when it is final; ``failed`` when the user's audio could not be
#: transcribed (or the response failed); ``interrupted`` when the assistant was
#: cut off: its text is then what the user actually heard.
Status: TypeAlias = Literal["in_progress", "completed", "failed", "interrupted"]

#: How a message was carried: typed text or speech.
Modality: TypeAlias = Literal["text", "audio"]


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


@dataclass
class Turn:
    """One entry of the conversation, in the words the user saw or heard.

    Entries are live while they stream: ``text`` grows and ``status`` changes
    until ``completed_at`` is set. An interrupted assistant turn keeps only the
    words that were played before ``audio_end_ms``. Tool entries carry
    ``name``, ``call_id`` and ``arguments`` (a call) or ``output`` (its result),
    and a readable ``text`` too.
    """

    item_id: str
    role: Role
    text: str = ""
    status: Status = "in_progress"
    started_at: datetime = field(default_factory=now)
    completed_at: datetime | None = None
    modality: Modality | None = None
    #: Where the assistant's audio was cut (``conversation.item.truncated``).
    audio_end_ms: int | None = None
    #: The response that produced the entry (assistant turns and tool calls).
    response_id: str | None = None
    #: The conversation item's type: ``message``, ``function_call``, ...
    item_type: str = "message"
    name: str | None = None
    call_id: str | None = None
    #: A tool call's arguments: a JSON document in a string.
    arguments: str | None = None
    output: str | None = None
    #: Why a user transcript or a response failed.
    error: str | None = None

    def __copy__(self) -> Turn:
        """A shallow copy, as every event about a turn carries (one per delta).

        The copy module's generic path for a dataclass (``__reduce_ex__``) costs
        about four times this.
        """
        snapshot = object.__new__(type(self))
        snapshot.__dict__.update(self.__dict__)
        return snapshot

    @property
    def interrupted(self) -> bool:
        """True when the assistant was cut off (the text is what was heard)."""
        return self.status == "interrupted"

    @property
    def done(self) -> bool:
        """True once the entry is final (``turn_completed`` was emitted for it)."""
        return self.completed_at is not None

    @property
    def is_message(self) -> bool:
        """True for user, assistant and system messages."""
        return self.role in ("user", "assistant", "system")

    @property
    def is_tool(self) -> bool:
        """True for tool calls and tool outputs."""
        return self.role in ("tool_call", "tool_output")

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data; times are ISO 8601 strings."""
        return {
            "item_id": self.item_id,
            "role": self.role,
            "item_type": self.item_type,
            "text": self.text,
            "status": self.status,
            "interrupted": self.interrupted,
            "modality": self.modality,
            "started_at": self.started_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "audio_end_ms": self.audio_end_ms,
            "response_id": self.response_id,
            "name": self.name,
            "call_id": self.call_id,
            "arguments": self.arguments,
            "output": self.output,
            "error": self.error,
        }
