"""The conversation: its items in order, and the ``conversation.item.*`` client events.

Create (with the real server's validation of items and content parts; MCP
items are validated in ``_mcp_items``), delete, retrieve, and truncate of
assistant audio; response runs and the input audio buffer add their own items
through :meth:`Conversation.append`.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ...events.names import Dialect
from ..models import Model
from ._constants import JSON
from ._errors import (
    ClientError,
    bad_value,
    get_object,
    get_str,
    key_set,
    missing,
    objects,
    only,
    out_of_range,
    require_int,
    require_list,
    require_str,
    wrong_type,
)
from ._items import Content, Item, hear
from ._mcp_items import MCP_ITEM_TYPES, parse_mcp_item
from ._session import Config

_PART_ALIASES = {"text": "output_text", "audio": "output_audio"}
_CONTENT_TYPES = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio"),
}
_ITEM_TYPES = ("message", "function_call", "function_call_output")
#: The keys of messages and function items; each MCP kind has its own (``_mcp_items``).
_ITEM_KEYS = key_set("id type object status role content call_id name arguments output")


class ConversationHost(Protocol):
    """What the conversation uses of the engine."""

    @property
    def dialect(self) -> Dialect:
        """The dialect items are rendered in."""
        ...

    @property
    def model(self) -> Model:
        """The model that hears input audio sent as an item."""
        ...

    @property
    def config(self) -> Config:
        """The session's configuration, for the formats of item audio."""
        ...

    @property
    def new_id(self) -> Callable[[str], str]:
        """The engine's id factory."""
        ...

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...


class Conversation:
    """The conversation's items, and the client events that edit them."""

    def __init__(self, host: ConversationHost) -> None:
        self._host = host
        self.items: list[Item] = []
        #: The item the last ``conversation.item.create`` added.
        self.last_created: Item | None = None

    def append(self, item: Item) -> str | None:
        """Add ``item`` at the end; return the id of the item before it."""
        previous = self.items[-1].id if self.items else None
        self.items.append(item)
        return previous

    def find(self, item_id: str) -> Item | None:
        """The item with id ``item_id``, if the conversation has it."""
        return next((item for item in self.items if item.id == item_id), None)

    def previous_of(self, item: Item) -> str | None:
        """The id of the item before ``item`` (None for the first)."""
        for index, candidate in enumerate(self.items):
            if candidate is item:
                return self.items[index - 1].id if index > 0 else None
        return None

    def announce(self, item: Item, previous: str | None) -> list[JSON]:
        """The events announcing a new item: GA's ``added`` and ``done``, beta's ``created``."""
        host = self._host
        rendered = item.render(host.dialect)
        if host.dialect == "beta":
            return [
                host.event("conversation.item.created", previous_item_id=previous, item=rendered)
            ]
        return [
            host.event("conversation.item.added", previous_item_id=previous, item=rendered),
            host.event(
                "conversation.item.done", previous_item_id=previous, item=item.render(host.dialect)
            ),
        ]

    def add_output(self, item: Item) -> JSON:
        """Append a response's output item, still in progress; the event announcing it."""
        host = self._host
        previous = self.append(item)
        kind = "conversation.item.added" if host.dialect == "ga" else "conversation.item.created"
        return host.event(kind, previous_item_id=previous, item=item.render(host.dialect))

    def output_done(self, item: Item) -> JSON:
        """GA's ``conversation.item.done`` for a response's output item that just finished."""
        host = self._host
        return host.event(
            "conversation.item.done",
            previous_item_id=self.previous_of(item),
            item=item.render(host.dialect),
        )

    def create(self, event: Mapping[str, Any]) -> list[JSON]:
        """``conversation.item.create``: insert a client's item after ``previous_item_id``."""
        if "item" not in event:
            raise missing("item")
        item = self.parse_item(get_object(event["item"], "item"), "item")
        if self.find(item.id) is not None:
            raise ClientError(
                f"Item with id '{item.id}' already exists.", "item_already_exists", "item.id"
            )
        previous_id = event.get("previous_item_id")
        if previous_id is None:
            position = len(self.items)
        elif previous_id == "root":
            position = 0
        else:
            if not isinstance(previous_id, str):
                raise wrong_type("previous_item_id", "a string", previous_id)
            anchor = self.find(previous_id)
            if anchor is None:
                raise ClientError(
                    f"Error adding item: the previous item with id '{previous_id}' does not exist.",
                    "item_create_invalid_previous_item_id",
                    "previous_item_id",
                )
            position = self.items.index(anchor) + 1
        previous = self.items[position - 1].id if position > 0 else None
        self.items.insert(position, item)
        self.last_created = item
        return self.announce(item, previous)

    def parse_item(self, obj: Mapping[str, Any], p: str) -> Item:
        """A client-described item, validated like the real server does."""
        kinds = _ITEM_TYPES + MCP_ITEM_TYPES if self._host.dialect == "ga" else _ITEM_TYPES
        if obj.get("type") in MCP_ITEM_TYPES:
            if obj["type"] not in kinds:
                raise bad_value(f"{p}.type", obj["type"], kinds)  # beta has no MCP items
            return parse_mcp_item(obj, p, self._host.new_id)
        only(obj, _ITEM_KEYS, p)
        kind = require_str(obj, "type", f"{p}.type")
        item_id = get_str(obj, "id", f"{p}.id") or self._host.new_id("item")
        if kind == "message":
            return self._parse_message(obj, p, item_id)
        if kind == "function_call":
            name = require_str(obj, "name", f"{p}.name")
            arguments = get_str(obj, "arguments", f"{p}.arguments") or ""
            call_id = get_str(obj, "call_id", f"{p}.call_id") or self._host.new_id("call")
            return Item(item_id, "function_call", call_id=call_id, name=name, arguments=arguments)
        if kind == "function_call_output":
            call_id = require_str(obj, "call_id", f"{p}.call_id")
            output = require_str(obj, "output", f"{p}.output")
            return Item(item_id, "function_call_output", call_id=call_id, output=output)
        raise bad_value(f"{p}.type", kind, kinds)

    def _parse_message(self, obj: Mapping[str, Any], p: str, item_id: str) -> Item:
        """A message item: its role, and each content part the role may send."""
        role = require_str(obj, "role", f"{p}.role")
        if role not in _CONTENT_TYPES:
            raise bad_value(f"{p}.role", role, ("user", "assistant", "system"))
        parts = require_list(obj, "content", f"{p}.content")
        item = Item(item_id, "message", role)
        for where, part in objects(parts, f"{p}.content"):
            item.content.append(self._parse_content(part, role, where, item))
        return item

    def _parse_content(self, part: Mapping[str, Any], role: str, p: str, item: Item) -> Content:
        """One content part of a message; audio sent by the user is heard by the model."""
        kind = require_str(part, "type", f"{p}.type")
        kind = _PART_ALIASES.get(kind, kind) if role == "assistant" else kind
        supported = _CONTENT_TYPES[role]
        if self._host.dialect == "beta":
            supported = tuple(t for t in supported if t != "input_image")
        if kind not in supported:
            raise bad_value(f"{p}.type", part.get("type"), supported)
        if kind in ("input_text", "output_text"):
            return Content(kind, text=require_str(part, "text", f"{p}.text"))
        if kind == "input_image":
            url = require_str(part, "image_url", f"{p}.image_url")
            return Content(kind, image_url=url, detail=get_str(part, "detail", f"{p}.detail"))
        transcript = get_str(part, "transcript", f"{p}.transcript")
        encoded = get_str(part, "audio", f"{p}.audio")
        content = Content(kind, transcript=transcript)
        if encoded is not None:
            try:
                content.audio = bytearray(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError):
                raise ClientError(
                    f"Invalid '{p}.audio': the audio must be base64-encoded.",
                    "invalid_value",
                    f"{p}.audio",
                ) from None
            config = self._host.config
            item.audio_format = config.input_format if role == "user" else config.output_format
            if role == "user" and transcript is None:
                item.heard = hear(self._host.model, bytes(content.audio), item.audio_format)
        return content

    def _require_item(self, event: Mapping[str, Any], action: str, code: str) -> Item:
        """The item an event's ``item_id`` names, or the real server's error for ``action``."""
        item_id = require_str(event, "item_id", "item_id")
        item = self.find(item_id)
        if item is None:
            raise ClientError(
                f"Error {action} item: the item with id '{item_id}' does not exist.", code
            )
        return item

    def delete(self, event: Mapping[str, Any]) -> list[JSON]:
        """``conversation.item.delete``."""
        item = self._require_item(event, "deleting", "item_delete_invalid_item_id")
        self.items.remove(item)
        return [self._host.event("conversation.item.deleted", item_id=item.id)]

    def retrieve(self, event: Mapping[str, Any]) -> list[JSON]:
        """``conversation.item.retrieve``: the item with its audio."""
        item = self._require_item(event, "retrieving", "item_retrieve_invalid_item_id")
        return [
            self._host.event(
                "conversation.item.retrieved", item=item.render(self._host.dialect, with_audio=True)
            )
        ]

    def truncate(self, event: Mapping[str, Any]) -> list[JSON]:
        """``conversation.item.truncate``: cut assistant audio to what the user heard."""
        item = self._require_item(event, "truncating", "item_truncate_invalid_item_id")
        content_index = require_int(event, "content_index", "content_index")
        end_ms = require_int(event, "audio_end_ms", "audio_end_ms")
        audio_parts = [c for c in item.content if c.type == "output_audio"]
        if item.type != "message" or item.role != "assistant" or not audio_parts:
            raise ClientError("Only model output audio messages can be truncated")
        if content_index != 0 or content_index >= len(item.content):
            raise bad_value("content_index", content_index, ("0",))
        if end_ms < 0:
            raise out_of_range("audio_end_ms", end_ms, 0, math.inf)
        content = item.content[content_index]
        sent_ms = content.audio_ms(item.audio_format)
        if end_ms > sent_ms:
            raise ClientError(
                f"Audio content of {math.floor(sent_ms)}ms is already shorter than {end_ms}ms",
                "invalid_value",
                "audio_end_ms",
            )
        assert content.audio is not None
        assert item.audio_format is not None
        del content.audio[item.audio_format.bytes_for_ms(end_ms) :]
        # The real server drops the transcript so no unheard words stay in the context.
        content.transcript = ""
        return [
            self._host.event(
                "conversation.item.truncated",
                item_id=item.id,
                content_index=content_index,
                audio_end_ms=end_ms,
            )
        ]
