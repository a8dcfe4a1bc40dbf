"""A mirror of the server's conversation: its items in order, kept current from events.

The server holds the conversation; the client only sees events about it. The
mirror rebuilds it from those events (``previous_item_id`` decides position), so
plugins can ask what an item says, how much of its audio arrived, and whether it
was truncated, and so a reconnect can replay it into a new server session.

One response may add several items: newer models (``gpt-realtime-2``) speak a
preamble message, then the answer message, or a preamble then a function call.
Each is an item of its own, with its own audio and transcript; the mirror
remembers which response added which item (:meth:`Conversation.response_items`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from . import signals
from .audio import AudioFormat
from .events import (
    ClientEvent,
    ContentPart,
    ConversationItem,
    ConversationItemAddedEvent,
    ConversationItemCreatedEvent,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDoneEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
    Event,
    ResponseContentPartAddedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputTextDeltaEvent,
    ServerEvent,
)
from .events.names import Dialect
from .resources import ConversationItemResource, Send

__all__ = ["Conversation", "heard_text"]

logger = logging.getLogger("realtime_events.conversation")


#: How many items sent with ``conversation.item.create`` may await the server's
#: confirmation at once. One round trip normally confirms each; beyond this many
#: the oldest is no longer replayed after a reconnect.
MAX_UNCONFIRMED = 256

On = Callable[[str, Callable[[Any], Any]], object]

# The server's announcements of an item: a restored item comes back as one of these.
_ECHOES = (ConversationItemCreatedEvent, ConversationItemAddedEvent, ConversationItemDoneEvent)
# The part field each kind of text delta extends.
_DELTA_FIELDS: dict[type[ServerEvent], str] = {
    ResponseOutputTextDeltaEvent: "text",
    ResponseOutputAudioTranscriptDeltaEvent: "transcript",
}


class Conversation:
    """``session.conversation``: the mirrored items, and ``.item`` to change them.

    Read-only for users: it changes only when the server reports a change.

    It is built from what it needs of a session: ``on`` registers its handlers
    (they must run before any user handler), ``send`` writes client events,
    ``dialect`` shapes replayed items, ``output_format`` says how long received
    audio lasts, and ``sender`` is the object whose ``signals.event_sent`` it
    follows (the session) to see the items this client creates; a session
    hands its :class:`~realtime_events.signals.Relay` as ``relay``, through
    which that signal then comes.
    """

    def __init__(
        self,
        *,
        on: On,
        send: Send,
        dialect: Dialect,
        output_format: Callable[[], AudioFormat],
        sender: object,
        history_limit: int | None = None,
        relay: signals.Relay | None = None,
    ) -> None:
        if history_limit is not None and history_limit < 1:
            raise ValueError("history_limit must be at least 1 (or None for no limit)")
        #: How many items the mirror keeps (the newest); None keeps them all.
        self.history_limit = history_limit
        self._dialect = dialect
        self._output_format = output_format
        self._items: dict[str, ConversationItem] = {}
        self._order: list[str] = []
        # Bytes of audio received per item, by content index, counted from the base64
        # text: cheaper than decoding it, and exact. Only for items in the mirror.
        self._audio_bytes: dict[str, list[int]] = {}
        self._truncated: dict[str, int] = {}
        # Which response added each item (response.output_item.*), for the items in
        # the mirror: a response may add several, and barge-in needs all of them.
        self._responses: dict[str, str] = {}
        # Items this client created that the server has not confirmed yet: if the
        # connection dies first, they may be lost, so the next restore sends them
        # once more (oldest first, at most MAX_UNCONFIRMED of them).
        self._unconfirmed: dict[str, dict[str, Any]] = {}
        # Ids of the items the last restore replayed, until the server's echo of each.
        self._restored: set[str] = set()
        # The echo that ends an item's announcement: beta sends only "created", GA
        # "added" then "done".
        self._last_echo: type[Event] = (
            ConversationItemDoneEvent if dialect == "ga" else ConversationItemCreatedEvent
        )
        # Through the relay, or a weak receiver: blinker must not keep the mirror alive.
        signals.follow(signals.event_sent, self._on_sent, sender=sender, relay=relay)
        self.item = ConversationItemResource(send)
        #: Called with each delta that may be its response's first: an item's first
        #: text, transcript or audio delta, and every delta of an item the mirror
        #: does not hold. The session's metrics time a response's first audio and
        #: text from it, which spares them a handler call at every delta.
        self.first_delta: Callable[[Any], None] | None = None
        # The part the last text delta went to: (item id, content index, event class,
        # part, field, the part's dict), until an item is placed or forgotten.
        self._text_part: tuple[str, int, type, ContentPart, str, dict[str, Any]] | None = None
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
        on("response.output_audio_transcript.delta", self._on_text_delta)
        on("response.output_audio.delta", self._on_audio_delta)
        on("response.function_call_arguments.delta", self._on_arguments_delta)
        on("response.function_call_arguments.done", self._on_arguments_done)
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
        counts = self._audio_bytes.get(item_id, ())
        received = counts[content_index] if content_index < len(counts) else 0
        return self._output_format().duration_ms(received)

    def audio_received_bytes(self, item_id: str) -> int:
        """Bytes of audio received so far for an item, every content part together."""
        return sum(self._audio_bytes.get(item_id, ()))

    def response_of(self, item_id: str) -> str | None:
        """The id of the response that added this item (None for items sent or replayed)."""
        return self._responses.get(item_id)

    def response_items(self, response_id: str) -> list[ConversationItem]:
        """Every item ``response_id`` added that the mirror holds, in conversation order.

        A response may add several: a spoken preamble, the answer, function calls.
        """
        responses = self._responses
        return [self._items[i] for i in self._order if responses.get(i) == response_id]

    def truncated_at(self, item_id: str) -> int | None:
        """Where an item's audio was truncated (``audio_end_ms``), or None."""
        return self._truncated.get(item_id)

    # -- keeping current ---------------------------------------------------

    def _on_sent(self, sender: Any, *, event: ClientEvent, **_: Any) -> None:
        if not isinstance(event, ConversationItemCreateEvent):
            return
        item = event.item
        payload = dict(item) if isinstance(item, Mapping) else item.model_dump(exclude_none=True)
        item_id = payload.get("id")
        if not item_id or item_id in self._items:
            return
        unconfirmed = self._unconfirmed
        unconfirmed.pop(item_id, None)  # sent again: it moves to the end
        unconfirmed[item_id] = payload
        while len(unconfirmed) > MAX_UNCONFIRMED:
            dropped = next(iter(unconfirmed))
            del unconfirmed[dropped]
            logger.warning(
                "more than %d items await the server's confirmation; %s will not be "
                "replayed after a reconnect",
                MAX_UNCONFIRMED,
                dropped,
            )

    def _place(self, item: ConversationItem, previous_item_id: str | None) -> None:
        self._text_part = None
        item_id = item.id
        if item_id is None:
            return
        sent = self._unconfirmed.pop(item_id, None)
        if sent is not None:
            _keep_images(item, sent)
        known = self._items.get(item_id)
        if known is not None:
            # Later events (added -> done) carry fuller copies: keep the newest, but
            # never lose what earlier events or deltas gathered and it omits.
            self._items[item_id] = _merged(known, item)
            return
        self._items[item_id] = item
        order = self._order
        if (
            previous_item_id is None
            or previous_item_id not in self._items
            # The usual place, after the newest: no search through a long session's items.
            or (order and previous_item_id == order[-1])
        ):
            order.append(item_id)
        else:
            order.insert(order.index(previous_item_id) + 1, item_id)
        limit = self.history_limit
        while limit is not None and len(self._order) > limit:
            self._forget(self._order.pop(0))

    def _forget(self, item_id: str) -> None:
        """Drop an item from the mirror only (the server keeps it)."""
        self._text_part = None
        self._items.pop(item_id, None)
        self._truncated.pop(item_id, None)
        self._responses.pop(item_id, None)
        self._audio_bytes.pop(item_id, None)

    def _on_item(self, event: Any) -> None:
        self._place(_copy(event.item), getattr(event, "previous_item_id", None))

    def _on_output_item(self, event: Any) -> None:
        item: ConversationItem = event.item
        if item.id in self._items:
            self._place(_copy(item), None)
        else:
            # A response's items come in output order, each after the one before.
            self._place(_copy(item), self._order[-1] if self._order else None)
        if item.id in self._items and event.response_id:
            self._responses[item.id] = event.response_id

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

    def _on_text_delta(
        self, event: ResponseOutputTextDeltaEvent | ResponseOutputAudioTranscriptDeltaEvent
    ) -> None:
        """Add a text or transcript delta to its part, without pydantic's ``__setattr__``.

        This runs for every text and transcript delta, the one handler of both,
        and reads as few attributes as it can: pydantic's ``__getattr__`` makes
        each attribute of a model cost several dict lookups, so the event's
        fields are read from its dict, and the part the last delta went to is
        kept (a response streams its deltas to one part after the other). The
        field is set once through pydantic (which records it as set), then
        extended in the part's dict, in place where CPython can (50,000 deltas:
        13 ms instead of 2.4 s).
        """
        fields = event.__dict__
        item_id, index = fields["item_id"], fields["content_index"]
        last = self._text_part
        if last is not None and last[0] == item_id and last[1] == index and last[2] is type(event):
            part, name, part_fields = last[3], last[4], last[5]
        else:
            found = self._part(item_id, index)  # makes the part (and the list) if need be
            if found is None:  # not in the conversation (or forgotten)
                if self.first_delta is not None:
                    self.first_delta(event)
                return
            part = found
            name, part_fields = _DELTA_FIELDS[type(event)], part.__dict__
            # Until an item is placed again (a newer copy may bring its own parts).
            self._text_part = (item_id, index, type(event), part, name, part_fields)
        text = part_fields.pop(name, None)
        if text is None:
            setattr(part, name, fields["delta"])  # once through pydantic, which records it as set
            self._text_part = None  # pydantic may have given the part another dict
            if self.first_delta is not None:
                self.first_delta(event)
        else:
            # Out of the dict, the string has no other reference (unless a reader
            # kept one): CPython then extends it in place instead of copying the
            # whole text for every delta, which made long answers quadratic.
            text += fields["delta"]
            part_fields[name] = text

    def _on_audio_delta(self, event: ResponseOutputAudioDeltaEvent) -> None:
        # This runs for every audio delta, and was a tenth of a session's CPU on an
        # audio stream: one lookup by item, no key to build, the padding tested
        # only where base64 has it, the fields read from the event's dict
        # (docs/performance.md, rounds 6 and 7).
        fields = event.__dict__
        item_id = fields["item_id"]
        counts = self._audio_bytes.get(item_id)
        if counts is None:
            if self.first_delta is not None:
                self.first_delta(event)
            if item_id not in self._items:
                return  # not in the conversation (or forgotten): nothing to count for
            counts = self._audio_bytes[item_id] = []
        delta = fields["delta"]
        size = len(delta) * 3 // 4  # base64_decoded_size, inline
        if delta[-1:] == "=":
            size -= 2 if delta[-2:] == "==" else 1
        index = fields["content_index"]
        if index < len(counts):
            counts[index] += size
        else:
            counts.extend([0] * (index - len(counts)))
            counts.append(size)

    def _on_arguments_delta(self, event: ResponseFunctionCallArgumentsDeltaEvent) -> None:
        # The arguments are gathered as they stream, so a connection lost before
        # the call's done events still leaves the mirror (and a replay) with them.
        item = self._items.get(event.item_id)
        if item is not None:
            fields = item.__dict__
            arguments = fields.pop("arguments", None)
            if arguments is None:
                item.arguments = event.delta  # through pydantic once: recorded as set
            else:
                arguments += event.delta  # in place, as in _on_text_delta
                fields["arguments"] = arguments
            item.call_id = item.call_id or event.call_id

    def _on_arguments_done(self, event: ResponseFunctionCallArgumentsDoneEvent) -> None:
        item = self._items.get(event.item_id)
        if item is not None:
            item.arguments = event.arguments
            item.call_id = item.call_id or event.call_id
            item.name = item.name or event.name

    def _on_deleted(self, event: ConversationItemDeletedEvent) -> None:
        if event.item_id in self._items:
            self._order.remove(event.item_id)
        self._forget(event.item_id)

    def _on_truncated(self, event: ConversationItemTruncatedEvent) -> None:
        if event.item_id in self._items:
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
        the real server drops unheard text from the model's context. Images
        (``input_image`` parts) are replayed where they stood in their message,
        and the MCP items the API takes in ``conversation.item.create`` (GA):
        approval requests and responses, and finished calls with their output or
        error. Not replayed: images on beta, which has no image input;
        ``mcp_list_tools``, since the new server session lists the tools itself
        from the configuration sent before the replay; an MCP call that had not
        finished, which died with the old server session.
        """
        replay: list[dict[str, Any]] = []
        for item in self.items:
            payload = _replay_item(item, self._dialect, self._heard(item))
            if payload is not None:
                replay.append(payload)
        return replay

    async def restore(self, write: Callable[[ClientEvent], Awaitable[None]]) -> None:
        """Replay the mirrored items into a fresh server session, keeping their ids.

        Items sent but never confirmed by the old server follow, as they were
        sent; each is sent again once only (a restore that fails part way, with
        the connection, does not count). ``write`` sends without waiting for the
        reconnect to finish: this *is* the reconnect.

        The server announces each replayed item again; :meth:`absorb` recognises
        those echoes so that handlers are not told twice about one item.
        """
        replay = self.replayable()
        self._restored = {payload["id"] for payload in replay}
        for payload in [*replay, *self._unconfirmed.values()]:
            await write(ConversationItemCreateEvent(item=payload))
        # Their confirmations, if the server takes them, are announced as new: the
        # old server never confirmed them, so no handler has seen them yet.
        self._unconfirmed.clear()

    #: The classes of the events :meth:`absorb` may take (a reader shows it no others).
    absorbs: tuple[type[ServerEvent], ...] = _ECHOES

    def absorb(self, event: Event) -> bool:
        """Take in the server's echo of a restored item; tell whether ``event`` was one.

        After :meth:`restore`, the new server announces every replayed item with
        ``conversation.item.created`` (beta) or ``conversation.item.added`` and
        ``conversation.item.done`` (GA). Those are echoes of items handlers
        already saw, so the session's reader calls this for each event it
        receives, in order, and drops the event instead of dispatching it when
        this returns True: a handler of ``conversation.item.created`` runs once
        per item, however many reconnects happen.

        An echo is applied to the mirror: the mirror's own copy of the item is
        kept, since it holds more than the replayed form (audio and its
        transcript, where it was truncated), and the item is placed again only
        if the mirror no longer has it. Only the items replayed by the latest
        restore count (the set is replaced at each restore, and an item leaves
        it with its last echo); any other event returns False and changes
        nothing. Items resent because the old server never confirmed them are
        not echoes: their confirmation is announced as usual.
        """
        restored = self._restored
        if not restored or not isinstance(event, _ECHOES):
            return False
        item_id = event.item.id
        if item_id not in restored:
            return False
        if item_id not in self._items:
            self._place(_copy(event.item), event.previous_item_id)
        if isinstance(event, self._last_echo):
            restored.discard(item_id)
        return True


def _copy(item: ConversationItem) -> ConversationItem:
    """The mirror's own copy of an event's item: what it changes, handlers never see.

    The mirror changes the item's fields and its content parts (deltas, images),
    nothing deeper, so those are all it copies: a fifth of a deep copy's cost.
    """
    content = item.content
    if content is None:
        return item.model_copy()
    # An empty list too: the mirror appends parts to it, which the event must not see.
    return item.model_copy(update={"content": [part.model_copy() for part in content]})


_KEPT_FIELDS = (
    "content",
    "arguments",
    "name",
    "call_id",
    "output",
    "role",
    "status",
    "server_label",
    "tools",
    "approval_request_id",
    "approve",
    "reason",
    "error",
)


def _merged(known: ConversationItem, newer: ConversationItem) -> ConversationItem:
    """``newer``, with what it omits (content, a call's arguments...) taken from ``known``."""
    # Read from the instances' dicts, the test for "empty" inline: this runs for every
    # item event of a response, and thirteen fields made it fifty calls.
    fresh, kept = newer.__dict__, known.__dict__
    for name in _KEPT_FIELDS:
        value = fresh.get(name)
        if value is None or value == "" or value == []:
            old = kept.get(name)
            if not (old is None or old == "" or old == []):  # False (a denial) is a value
                setattr(newer, name, old)
    return newer


def _field(part: Any, name: str) -> Any:
    return part.get(name) if isinstance(part, Mapping) else getattr(part, name, None)


def _keep_images(item: ConversationItem, sent: Mapping[str, Any]) -> None:
    """Give the server's copy of an item this client sent the image data it may omit.

    The mirror replays images from its own copy, so an echo that leaves an
    ``input_image`` part without its ``image_url`` must not lose the image.
    """
    parts = sent.get("content")
    if not item.content or not isinstance(parts, list):
        return
    for part, original in zip(item.content, parts, strict=False):
        if part.type == "input_image" and not part.image_url:
            part.image_url = _field(original, "image_url")
            part.detail = part.detail or _field(original, "detail")


def _replay_item(item: ConversationItem, dialect: str, text: str) -> dict[str, Any] | None:
    """The ``conversation.item.create`` payload of one item, or None to leave it out.

    ``text`` is the item's text as heard (cut where its audio was truncated).
    """
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
    if kind == "message":
        return _replay_message(item, dialect, text)
    if dialect == "ga" and kind is not None and kind.startswith("mcp_"):
        return _replay_mcp(item)
    return None


def _replay_message(item: ConversationItem, dialect: str, text: str) -> dict[str, Any] | None:
    role = item.role or "user"
    content: list[dict[str, Any]]
    if role == "assistant":
        # One part: the words as heard, which a cut may end mid-part.
        part_type = "output_text" if dialect == "ga" else "text"
        content = [{"type": part_type, "text": text}] if text else []
    else:
        content = []
        for part in item.content or ():
            if part.type == "input_image":
                # A system message takes text only, and beta no images at all.
                if role == "user" and dialect == "ga" and part.image_url:
                    image = {"type": "input_image", "image_url": part.image_url}
                    content.append({**image, "detail": part.detail} if part.detail else image)
                continue
            words = part.text if part.text is not None else part.transcript
            if words:
                content.append({"type": "input_text", "text": words})
    if not content:
        return None
    return {"id": item.id, "type": "message", "role": role, "content": content}


def _replay_mcp(item: ConversationItem) -> dict[str, Any] | None:
    """An MCP item as the API takes it in ``conversation.item.create``, or None."""
    kind = item.type
    if kind == "mcp_approval_response":
        if item.approval_request_id is None or item.approve is None:
            return None
        payload = {
            "id": item.id,
            "type": kind,
            "approval_request_id": item.approval_request_id,
            "approve": item.approve,
        }
        return {**payload, "reason": item.reason} if item.reason else payload
    if kind not in ("mcp_approval_request", "mcp_call") or not (item.name and item.server_label):
        return None  # mcp_list_tools: the new server session lists the tools itself
    payload = {
        "id": item.id,
        "type": kind,
        "server_label": item.server_label,
        "name": item.name,
        "arguments": item.arguments or "{}",
    }
    if kind == "mcp_approval_request":
        return payload
    if item.output is None and item.error is None:
        return None  # the call had not finished: it died with the old server session
    finished = {"output": item.output, "error": item.error}
    if item.approval_request_id:
        finished["approval_request_id"] = item.approval_request_id
    return {**payload, **{key: value for key, value in finished.items() if value is not None}}


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
