"""What the page and the playground say to each other over the page's WebSocket.

The page sends JSON text messages, validated here into :data:`PageMessage`
(a pydantic union on ``type``) before anything reaches the session, and its
microphone as binary frames of pcm16 mono at the session's input rate. The
playground sends JSON text: ``hello``, ``entry`` (one event of the log),
``filter``, ``recording``, ``error`` and ``state``.

An entry is an event as the page shows it: its kind (``server``, ``client``,
``plugin``, ``signal``), name, time, whether it matches the page's filter, and
its JSON with audio payloads abbreviated. The audio itself travels apart, in
``audio`` (base64 pcm16), only on the events whose audio the page plays.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..dispatch import Matcher
from ..events import Event, PluginEvent
from ..events.names import canonical

__all__ = [
    "MAX_AUDIO_FRAME",
    "MAX_RECORDING_BYTES",
    "MAX_TEXT",
    "Entry",
    "Filter",
    "PageMessage",
    "ProtocolError",
    "abbreviate",
    "parse_page_message",
]

#: The largest microphone frame accepted, in bytes: one second of pcm16 at 48 kHz.
MAX_AUDIO_FRAME = 96_000
#: The largest recording the page may upload, in bytes of JSONL.
MAX_RECORDING_BYTES = 32 * 1024 * 1024
#: The longest text turn, in characters.
MAX_TEXT = 20_000
#: Strings longer than this under an audio key are shown as their size only.
_AUDIO_KEYS = frozenset({"audio", "delta"})
_SHORT = 48

Kind = Literal["server", "client", "plugin", "signal"]


class ProtocolError(ValueError):
    """A message from the page that the playground refuses, with the words the page shows."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendText(_Message):
    """A text turn typed in the page."""

    type: Literal["text"]
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class SendEvent(_Message):
    """A raw client event typed in the page's console; validated again by ``session.send``."""

    type: Literal["send"]
    event: dict[str, Any]


class Played(_Message):
    """The page's speaker played ``ms`` more of an assistant audio item."""

    type: Literal["played"]
    item_id: Annotated[str, Field(min_length=1, max_length=200)]
    content_index: Annotated[int, Field(ge=0, le=1000)] = 0
    ms: Annotated[float, Field(ge=0, le=600_000, allow_inf_nan=False)]


class Cleared(_Message):
    """The page dropped every audio chunk it had queued (after a barge-in)."""

    type: Literal["cleared"]


class SetFilter(_Message):
    """Show only the events matching ``pattern`` (``session.on`` syntax)."""

    type: Literal["filter"]
    pattern: Annotated[str, Field(max_length=200)]


class OpenRecording(_Message):
    """A JSONL recording the page read from a file, to scrub through."""

    type: Literal["recording"]
    name: Annotated[str, Field(max_length=500)] = "recording.jsonl"
    text: Annotated[str, Field(max_length=MAX_RECORDING_BYTES)]


PageMessage = Annotated[
    SendText | SendEvent | Played | Cleared | SetFilter | OpenRecording,
    Field(discriminator="type"),
]
_PAGE_MESSAGE: TypeAdapter[PageMessage] = TypeAdapter(PageMessage)


def parse_page_message(data: bytes | str) -> PageMessage:
    """Validate one text message of the page; :class:`ProtocolError` says what is wrong."""
    try:
        return _PAGE_MESSAGE.validate_json(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}"
            for e in error.errors(include_url=False)[:3]
        )
        raise ProtocolError(f"malformed message from the page ({problems})") from None


class Filter:
    """The page's filter: a ``session.on`` pattern, matched by the session's own matcher."""

    def __init__(self, pattern: str = "*") -> None:
        pattern = pattern.strip() or "*"
        try:
            self._matcher = Matcher.parse(pattern)
        except (TypeError, ValueError) as error:
            raise ProtocolError(f"not a pattern: {error}") from None
        self.pattern = pattern

    def matches(self, cls: type[Event], name: str) -> bool:
        """Tell whether an event of class ``cls`` named ``name`` passes the filter."""
        return self._matcher.matches(cls, canonical(name))


def abbreviate(value: Any) -> Any:
    """The JSON ``value`` with long strings under audio keys replaced by their size."""
    if isinstance(value, dict):
        return {
            key: (
                f"<audio: {len(item) * 3 // 4} bytes>"
                if key in _AUDIO_KEYS and isinstance(item, str) and len(item) > _SHORT
                else abbreviate(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [abbreviate(item) for item in value]
    return value


def event_json(event: Event) -> dict[str, Any]:
    """An event as JSON: wire fields for protocol events, every field for plugin events."""
    if isinstance(event, PluginEvent):
        # Plugin fields may be any object (a transcript's Turn): what JSON can't say is its repr.
        data: dict[str, Any] = json.loads(event.model_dump_json(fallback=repr))
        return data
    return event.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Entry:
    """One event of the log, as the playground keeps it: enough to filter it again."""

    __slots__ = ("cls", "kind", "name", "seq")

    def __init__(self, seq: int, kind: Kind, name: str, cls: type[Event]) -> None:
        self.seq = seq
        self.kind: Kind = kind
        self.name = name
        self.cls = cls
