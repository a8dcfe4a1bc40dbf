"""A mirror of the server's conversation: its items in order, kept current from events.

The server holds the conversation; the client only sees events about it. The
mirror rebuilds it from those events (``previous_item_id`` decides position), so
plugins can ask what an item says, how much of its audio arrived, and whether it
was truncated, and so a reconnect can replay it into a new server session.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import signals
from .events import (
    ClientEvent,
    ContentPart,
    ConversationItem,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
    ResponseContentPartAddedEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputTextDeltaEvent,
)
from .resources import ConversationItemResource

if TYPE_CHECKING:
    from .session import Session

__all__ = ["Conversation", "heard_text"]

logger = logging.getLogger("realtime_events.conversation")


class Conversation:
    """``session.conversation``: the mirrored items, and ``.item`` to change them.

    Read-only for users: it changes only when the server reports a change.
    """

    def __init__(self, session: Session, *, history_limit: int | None = None) -> None:
        if history_limit is not None and history_limit < 1:
            raise ValueError("history_limit must be at least 1 (or None for no limit)")
        self._session = session
        #: How many items the mirror keeps (the newest); None keeps them all.
        self.history_limit = history_limit
        self._items: dict[str, ConversationItem] = {}
        self._order: list[str] = []
        # Bytes of audio received per (item, content index), counted from the base64
        # text: cheaper than decoding it, and exact.
        self._audio_bytes: dict[tuple[str, int], int] = {}
        self._truncated: dict[str, int] = {}
        # Items this client created that the server has not confirmed yet: if the
        # connection dies first, they may be lost, so a reconnect sends them again.
        self._unconfirmed: dict[str, dict[str, Any]] = {}
        signals.event_sent.connect(self._on_sent, sender=session, weak=False)
        self.item = ConversationItemResource(session.send)
        on = session.on
        for name in (
            "conversation.item.created",
            "conversation.item.added",
            "conversation.item.done",
            "conversation.item.retrieved",
        ):
            on(name, self._on_item)
        on("response.output_item.added", self._on_output_item)
        on("response.output_item.done", self._on_output_item)
        on("response.content_part.added", self._on_part_added)
        on("response.output_text.delta", self._on_text_delta)
        on("response.output_audio_transcript.delta", self._on_transcript_delta)
        on("response.output_audio.delta", self._on_audio_delta)
        on("conversation.item.deleted", self._on_deleted)
        on("conversation.item.truncated", self._on_truncated)
        on("conversation.item.input_audio_transcription.completed", self._on_transcription)

    # -- reading -----------------------------------------------------------

    @property
    def items(self) -> list[ConversationItem]:
        """The items in conversation order (copies are not made: don't modify them)."""
        return [self._items[item_id] for item_id in self._order]

    def __iter__(self) -> Iterator[ConversationItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def get(self, item_id: str) -> ConversationItem | None:
        """Return the item with this id, if the conversation has it."""
        return self._items.get(item_id)

    def previous_id(self, item_id: str) -> str | None:
        """Return the id of the item before ``item_id`` (None for the first)."""
        index = self._order.index(item_id)
        return self._order[index - 1] if index else None

    def audio_received_ms(self, item_id: str, content_index: int = 0) -> float:
        """Milliseconds of audio received so far for an assistant item's content part."""
        received = self._audio_bytes.get((item_id, content_index), 0)
        return self._session.output_format.duration_ms(received)

    def truncated_at(self, item_id: str) -> int | None:
        """Where an item's audio was truncated (``audio_end_ms``), or None."""
        return self._truncated.get(item_id)

    # -- keeping current ---------------------------------------------------

    def _on_sent(self, session: Any, *, event: ClientEvent, **_: Any) -> None:
        if not isinstance(event, ConversationItemCreateEvent):
            return
        item = event.item
        payload = dict(item) if isinstance(item, Mapping) else item.model_dump(exclude_none=True)
        item_id = payload.get("id")
        if item_id and item_id not in self._items:
            self._unconfirmed[item_id] = payload

    def _place(self, item: ConversationItem, previous_item_id: str | None) -> None:
        item_id = item.id
        if item_id is None:
            return
        self._unconfirmed.pop(item_id, None)
        known = self._items.get(item_id)
        if known is not None:
            # Later events (added -> done) carry fuller content: keep the newest,
            # but never lose text gathered from deltas that the newer copy omits.
            if not item.content and known.content:
                item.content = known.content
            self._items[item_id] = item
            return
        self._items[item_id] = item
        if previous_item_id is None or previous_item_id not in self._items:
            self._order.append(item_id)
        else:
            self._order.insert(self._order.index(previous_item_id) + 1, item_id)
        limit = self.history_limit
        while limit is not None and len(self._order) > limit:
            self._forget(self._order.pop(0))

    def _forget(self, item_id: str) -> None:
        """Drop an item from the mirror only (the server keeps it)."""
        self._items.pop(item_id, None)
        self._truncated.pop(item_id, None)
        for key in [key for key in self._audio_bytes if key[0] == item_id]:
            del self._audio_bytes[key]

    def _on_item(self, event: Any) -> None:
        self._place(event.item.model_copy(deep=True), getattr(event, "previous_item_id", None))

    def _on_output_item(self, event: Any) -> None:
        item: ConversationItem = event.item
        known = self._items.get(item.id or "")
        if known is None:
            self._place(item.model_copy(deep=True), self._order[-1] if self._order else None)
        else:
            known.status = item.status or known.status
            if item.content:
                # The done copy is complete; merge it over what deltas built.
                self._place(item.model_copy(deep=True), None)

    def _part(self, item_id: str, index: int) -> ContentPart | None:
        item = self._items.get(item_id)
        if item is None:
            return None
        content = item.content
        if content is None:
            content = item.content = []
        while len(content) <= index:
            content.append(ContentPart())
        return content[index]

    def _on_part_added(self, event: ResponseContentPartAddedEvent) -> None:
        part = self._part(event.item_id, event.content_index)
        if part is not None and event.part is not None:
            part.type = part.type or event.part.type

    def _on_text_delta(self, event: ResponseOutputTextDeltaEvent) -> None:
        part = self._part(event.item_id, event.content_index)
        if part is not None:
            part.text = (part.text or "") + event.delta

    def _on_transcript_delta(self, event: ResponseOutputAudioTranscriptDeltaEvent) -> None:
        part = self._part(event.item_id, event.content_index)
        if part is not None:
            part.transcript = (part.transcript or "") + event.delta

    def _on_audio_delta(self, event: ResponseOutputAudioDeltaEvent) -> None:
        key = (event.item_id, event.content_index)
        delta = event.delta
        # Each "=" of padding stands for a byte that isn't there.
        size = len(delta) * 3 // 4 - (delta[-2:].count("=") if delta else 0)
        received = self._audio_bytes
        received[key] = received.get(key, 0) + size

    def _on_deleted(self, event: ConversationItemDeletedEvent) -> None:
        if event.item_id in self._items:
            self._order.remove(event.item_id)
        self._forget(event.item_id)

    def _on_truncated(self, event: ConversationItemTruncatedEvent) -> None:
        self._truncated[event.item_id] = event.audio_end_ms

    def _on_transcription(
        self, event: ConversationItemInputAudioTranscriptionCompletedEvent
    ) -> None:
        part = self._part(event.item_id, event.content_index)
        if part is not None:
            part.transcript = event.transcript

    # -- reconnecting ------------------------------------------------------

    def _heard(self, item: ConversationItem) -> str:
        """The item's text as the model should remember it: cut where its audio was."""
        text = item.text
        cut = self._truncated.get(item.id or "")
        if cut is None:
            return text
        return heard_text(text, cut, self.audio_received_ms(item.id or ""))

    def replayable(self) -> list[dict[str, Any]]:
        """The items as ``conversation.item.create`` payloads for a new server session.

        Audio can't be re-sent as the model heard it, so audio content becomes
        its transcript; a truncated item keeps only the words before the cut, as
        the real server drops unheard text from the model's context.
        """
        replay: list[dict[str, Any]] = []
        for item in self.items:
            payload = _replay_item(item, self._session.dialect, self._heard(item))
            if payload is not None:
                replay.append(payload)
        return replay

    async def restore(self, write: Callable[[ClientEvent], Awaitable[None]]) -> None:
        """Replay the mirrored items into a fresh server session, keeping their ids.

        Items sent but never confirmed by the old server follow, as they were
        sent. ``write`` sends without waiting for the reconnect to finish: this
        *is* the reconnect.
        """
        for payload in [*self.replayable(), *self._unconfirmed.values()]:
            await write(ConversationItemCreateEvent(item=payload))


def _replay_item(item: ConversationItem, dialect: str, text: str) -> dict[str, Any] | None:
    kind = item.type
    if kind == "function_call":
        return {
            "id": item.id,
            "type": kind,
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments or "{}",
        }
    if kind == "function_call_output":
        return {"id": item.id, "type": kind, "call_id": item.call_id, "output": item.output or ""}
    if kind != "message":
        return None
    role = item.role or "user"
    if not text:
        return None
    if role == "assistant":
        part_type = "output_text" if dialect == "ga" else "text"
    else:
        part_type = "input_text"
    return {
        "id": item.id,
        "type": "message",
        "role": role,
        "content": [{"type": part_type, "text": text}],
    }


def heard_text(text: str, audio_end_ms: float, audio_ms: float) -> str:
    """Return the words of ``text`` spoken in its first ``audio_end_ms`` of ``audio_ms`` audio.

    Speech runs at a roughly even rate of characters, so the heard share of the
    audio is taken as the heard share of the text, rounded up to the end of the
    word being spoken: a word that was started counts as heard. Nothing was
    heard at 0 ms; everything was when the cut is at or past the end, or when
    there is no audio length to compare with.
    """
    words = text.strip()
    if audio_end_ms <= 0 or not words:
        return ""
    if audio_ms <= 0 or audio_end_ms >= audio_ms:
        return words
    cut = math.ceil(len(words) * audio_end_ms / audio_ms)
    while cut < len(words) and not words[cut].isspace():
        cut += 1
    return words[:cut].rstrip()
