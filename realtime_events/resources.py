"""Typed helpers that build and send client events, mirroring the official SDK's names.

``session.input_audio_buffer.append(audio=...)`` reads like the SDK's
``connection.input_audio_buffer.append(audio=...)``; each helper validates its
event and returns it once written.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .events import (
    ClientEvent,
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
)

__all__ = ["ConversationItemResource", "InputAudioBufferResource", "OutputAudioBufferResource"]

Send = Callable[[ClientEvent], Awaitable[ClientEvent]]


def new_item_id() -> str:
    """A fresh item id in the server's style (``item_`` and 20 hex digits)."""
    return f"item_{secrets.token_hex(10)}"


def _set(**fields: Any) -> dict[str, Any]:
    """Keep only the fields the caller gave, so unset ones stay off the wire."""
    return {key: value for key, value in fields.items() if value is not None}


class ConversationItemResource:
    """``session.conversation.item``: create, delete, truncate and retrieve items."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def create(
        self,
        item: Mapping[str, Any] | Any,
        *,
        previous_item_id: str | None = None,
        event_id: str | None = None,
    ) -> ClientEvent:
        """Add an item to the conversation (after ``previous_item_id``, or at the end).

        An item without an ``id`` gets one here (the API accepts ids chosen by the
        client), so the session can tell whether the server has it and replay it
        after a reconnect if the old connection swallowed it.
        """
        if isinstance(item, Mapping) and not item.get("id"):
            item = {"id": new_item_id(), **item}
        return await self._send(
            ConversationItemCreateEvent(
                **_set(item=item, previous_item_id=previous_item_id, event_id=event_id)
            )
        )

    async def delete(self, item_id: str, *, event_id: str | None = None) -> ClientEvent:
        """Remove an item from the conversation."""
        return await self._send(
            ConversationItemDeleteEvent(**_set(item_id=item_id, event_id=event_id))
        )

    async def truncate(
        self,
        item_id: str,
        *,
        audio_end_ms: int,
        content_index: int = 0,
        event_id: str | None = None,
    ) -> ClientEvent:
        """Cut an assistant audio item at ``audio_end_ms`` (what the user actually heard)."""
        return await self._send(
            ConversationItemTruncateEvent(
                **_set(
                    item_id=item_id,
                    audio_end_ms=audio_end_ms,
                    content_index=content_index,
                    event_id=event_id,
                )
            )
        )

    async def retrieve(self, item_id: str, *, event_id: str | None = None) -> ClientEvent:
        """Ask the server for its copy of an item (answered by ``conversation.item.retrieved``)."""
        return await self._send(
            ConversationItemRetrieveEvent(**_set(item_id=item_id, event_id=event_id))
        )


class InputAudioBufferResource:
    """``session.input_audio_buffer``: append, commit and clear input audio."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def append(self, audio: bytes | str, *, event_id: str | None = None) -> ClientEvent:
        """Append audio: raw bytes in the input format, or a base64 string."""
        return await self._send(InputAudioBufferAppendEvent(**_set(audio=audio, event_id=event_id)))

    async def commit(self, *, event_id: str | None = None) -> ClientEvent:
        """Turn the buffered audio into a user message item."""
        return await self._send(InputAudioBufferCommitEvent(**_set(event_id=event_id)))

    async def clear(self, *, event_id: str | None = None) -> ClientEvent:
        """Discard the buffered audio."""
        return await self._send(InputAudioBufferClearEvent(**_set(event_id=event_id)))


class OutputAudioBufferResource:
    """``session.output_audio_buffer``: stop audio the server is still playing out."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def clear(self, *, event_id: str | None = None) -> ClientEvent:
        """Cut off the audio the server is playing (WebRTC and SIP sessions)."""
        return await self._send(OutputAudioBufferClearEvent(**_set(event_id=event_id)))
