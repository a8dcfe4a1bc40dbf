"""Typed helpers that build and send client events, mirroring the official SDK's names.

``session.input_audio_buffer.append(audio=...)`` reads like the SDK's
``connection.input_audio_buffer.append(audio=...)``; each helper validates its
event and returns it once written. The items the API defines without an SDK
helper are built here too: a user message carrying an image
(:func:`image_message`) and the answer to an MCP approval request
(``conversation.item.approve_mcp`` / ``deny_mcp``).
"""

from __future__ import annotations

import base64
import mimetypes
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from .errors import InvalidEventError
from .events import (
    ClientEvent,
    ConversationItem,
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
)

__all__ = [
    "MAX_IMAGE_BYTES",
    "ConversationItemResource",
    "ImageDetail",
    "InputAudioBufferResource",
    "OutputAudioBufferResource",
    "image_message",
]

Send = Callable[[ClientEvent], Awaitable[ClientEvent]]
ImageDetail = Literal["auto", "low", "high"]

#: The largest image, in bytes, that :func:`image_message` sends: its base64 is
#: then at most 15 MiB. The API documents no limit for images (openai-agents-js
#: issue 501: "no clear guidance on the upper limit", large images close the
#: connection silently); 15 MiB of base64 is the one size it documents for a
#: client event's payload (``input_audio_buffer.append``), and what the
#: session's own audio chunks keep under.
MAX_IMAGE_BYTES = 15 * 1024 * 1024 * 3 // 4

#: The image types sent: PNG and JPEG, which the API reference names for
#: ``input_image``, and WebP and GIF, which OpenAI's image inputs take elsewhere.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
_DETAILS = ("auto", "low", "high")


def new_item_id() -> str:
    """A fresh item id in the server's style (``item_`` and 20 hex digits)."""
    return f"item_{secrets.token_hex(10)}"


def _set(**fields: Any) -> dict[str, Any]:
    """Keep only the fields the caller gave, so unset ones stay off the wire."""
    return {key: value for key, value in fields.items() if value is not None}


def _sniff(data: bytes) -> str | None:
    """The image type its first bytes announce (PNG, JPEG, WebP or GIF), if any."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def image_message(
    image: bytes | str | os.PathLike[str],
    *,
    mime_type: str | None = None,
    detail: ImageDetail | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """A user message carrying an image as an ``input_image`` part (a base64 data URL).

    ``image`` is the image's bytes or a path to it. The type is ``mime_type``
    when given, else read from the bytes' signature (PNG, JPEG, WebP, GIF),
    else guessed from the path's name with :mod:`mimetypes`; bytes of another
    kind need ``mime_type``.
    ``detail`` is ``"auto"`` (the server takes it as ``"high"``), ``"low"`` or
    ``"high"``; ``text`` adds an ``input_text`` part after the image.

    Raises :class:`InvalidEventError`, before anything is sent (and a file
    over the bound before it is read): an unknown or unsupported type, an
    unknown ``detail``, an empty image, or one over :data:`MAX_IMAGE_BYTES`.
    """
    if detail is not None and detail not in _DETAILS:
        raise InvalidEventError(f"detail must be one of {', '.join(_DETAILS)}, not {detail!r}")
    if isinstance(image, bytes | bytearray | memoryview):
        data, name = bytes(image), None
    else:
        path = Path(image)
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise InvalidEventError(_too_big(size, str(path)))
        data, name = path.read_bytes(), str(path)
    what = name or "the image"
    if not data:
        raise InvalidEventError(f"{what} is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidEventError(_too_big(len(data), what))
    # The bytes' own signature beats a file name, which may lie.
    kind = mime_type or _sniff(data) or (name and mimetypes.guess_type(name)[0])
    if kind is None:
        raise InvalidEventError(
            f"cannot tell the type of {what}: pass mime_type= (one of {', '.join(IMAGE_TYPES)})"
        )
    kind = kind.lower()
    if kind == "image/jpg":
        kind = "image/jpeg"
    if kind not in IMAGE_TYPES:
        raise InvalidEventError(
            f"{what} is {kind}, which the Realtime API does not take as an image: "
            f"send one of {', '.join(IMAGE_TYPES)}"
        )
    part: dict[str, Any] = {
        "type": "input_image",
        "image_url": f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}",
    }
    if detail is not None:
        part["detail"] = detail
    content = [part]
    if text is not None:
        content.append({"type": "input_text", "text": text})
    return {"type": "message", "role": "user", "content": content}


def _too_big(size: int, what: str) -> str:
    return (
        f"{what} is {size} bytes, over the {MAX_IMAGE_BYTES} bytes (15 MiB of base64) "
        "an image may have here: scale it down or compress it (a few hundred KiB is plenty "
        "for the model, which resizes images anyway)"
    )


def _request_id(request: str | ConversationItem) -> str:
    """The id of an MCP approval request given as its id or its item."""
    if isinstance(request, str):
        if not request:
            raise InvalidEventError("the approval request id is empty")
        return request
    if request.type != "mcp_approval_request" or not request.id:
        raise InvalidEventError(
            f"{request.type or 'an item'!r} with id {request.id!r} is not an "
            "mcp_approval_request to answer"
        )
    return request.id


class ConversationItemResource:
    """``session.conversation.item``: create, delete, truncate and retrieve items.

    It also answers MCP approval requests: ``approve_mcp`` and ``deny_mcp`` add
    the ``mcp_approval_response`` item the server waits for before it calls a
    tool of an MCP server configured with ``require_approval``.
    """

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

    async def approve_mcp(
        self,
        request: str | ConversationItem,
        *,
        reason: str | None = None,
        event_id: str | None = None,
    ) -> ClientEvent:
        """Let the model run the MCP tool call of ``request`` (its id, or the request item)."""
        return await self._answer_mcp(request, True, reason, event_id)

    async def deny_mcp(
        self,
        request: str | ConversationItem,
        *,
        reason: str | None = None,
        event_id: str | None = None,
    ) -> ClientEvent:
        """Refuse the MCP tool call of ``request``; ``reason`` tells the model why."""
        return await self._answer_mcp(request, False, reason, event_id)

    async def _answer_mcp(
        self,
        request: str | ConversationItem,
        approve: bool,
        reason: str | None,
        event_id: str | None,
    ) -> ClientEvent:
        item = {
            "type": "mcp_approval_response",
            "approval_request_id": _request_id(request),
            "approve": approve,
            **_set(reason=reason),
        }
        return await self.create(item, event_id=event_id)


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
