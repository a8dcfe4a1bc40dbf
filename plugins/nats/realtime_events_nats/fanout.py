"""Event fan-out: a session's selected events, published on subjects followers subscribe to.

A worker registers a :class:`Publisher` as a ``"*"`` handler of each session;
it publishes the events its :class:`Selection` picks on
``<prefix>.events.<session>.<type>``, in the order the session dispatched
them, into a stream that keeps them for followers who join late.

Each publish carries a message id. An item's events are identified by the
item (``<session>.<type>.<item id>``), so when a session moves to another
worker and its restored items are announced again, the stream drops the
repeats: a follower sees each transcript turn once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from nats.aio.client import Client as NATS

from realtime_events.events import Event, PluginEvent, parse_server_event

from .layout import Layout

__all__ = ["DEFAULT_EVENTS", "LIFECYCLE", "Publisher", "Selection", "decode", "encode"]

logger = logging.getLogger("realtime_events_nats.fanout")

#: The events a worker publishes unless told otherwise: lifecycle, transcript
#: turns, tool calls and metrics. Audio deltas only on request: they are most
#: of the bytes and few followers need them.
DEFAULT_EVENTS: tuple[str, ...] = (
    "session.created",
    "session.updated",
    "error",
    "conversation.item.done",
    "conversation.item.deleted",
    "conversation.item.truncated",
    "conversation.item.input_audio_transcription.completed",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "response.created",
    "response.done",
    "response.function_call_arguments.done",
    "transcript.turn_completed",
    "transcript.turn_interrupted",
    "tools.*",
    "metrics.*",
)

#: The worker's own lifecycle events, always published.
LIFECYCLE = ("nats.session_started", "nats.session_ended", "nats.session_failed")

_KIND = "Rtev-Kind"
_MSG_ID = "Nats-Msg-Id"


class Selection:
    """Which event types to publish: names and ``prefix.*`` patterns, or ``"*"``."""

    def __init__(self, patterns: Iterable[str] = DEFAULT_EVENTS, *, extra: Iterable[str] = ()):
        self.patterns = tuple(dict.fromkeys([*patterns, *extra]))
        self._everything = "*" in self.patterns
        self._names = frozenset(p for p in self.patterns if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in self.patterns if p.endswith(".*"))
        self._cache: dict[str, bool] = {}

    def __contains__(self, event_type: object) -> bool:
        if not isinstance(event_type, str):
            return False
        hit = self._cache.get(event_type)
        if hit is None:
            hit = (
                self._everything
                or event_type in self._names
                or event_type.startswith(self._prefixes)
            )
            self._cache[event_type] = hit
        return hit


def encode(event: Event) -> tuple[bytes, str]:
    """An event as JSON, and its kind: ``server`` (parsed back typed) or ``plugin``."""
    if isinstance(event, PluginEvent):
        # Plugin fields may be any object (a transcript's Turn): what JSON can't
        # say is sent as its repr rather than failing the publish.
        return event.model_dump_json(fallback=repr).encode(), "plugin"
    return event.model_dump_json(exclude_unset=True, by_alias=True).encode(), "server"


def decode(data: bytes, headers: Mapping[str, str] | None) -> Event:
    """A published event back as the session's typed event (plugin events as PluginEvent)."""
    if (headers or {}).get(_KIND) == "server":
        return parse_server_event(data)
    return PluginEvent.model_validate_json(data)


def _item_id(event: Any) -> str | None:
    """The conversation item an event is about, if any (server or transcript event)."""
    item = getattr(event, "item", None)
    if item is not None and getattr(item, "id", None):
        return str(item.id)
    item_id = getattr(event, "item_id", None)
    if isinstance(item_id, str):
        return item_id
    turn = getattr(event, "turn", None)
    turn_item = getattr(turn, "item_id", None)
    if turn_item is None and isinstance(turn, Mapping):
        turn_item = turn.get("item_id")
    return turn_item if isinstance(turn_item, str) else None


# Events that happen once per item: their message id names the item, so a repeat
# (the item restored on another worker) is dropped by the stream.
_ONCE_PER_ITEM = frozenset(
    {
        "conversation.item.done",
        "conversation.item.input_audio_transcription.completed",
        "response.function_call_arguments.done",
        "transcript.turn_completed",
        "transcript.turn_interrupted",
    }
)


class Publisher:
    """Publishes one session's selected events; a session handler (``session.on("*", ...)``).

    ``restored`` holds the ids of items this worker recreated from a
    checkpoint: their announcements were published by the worker before, so
    they are not published again.
    """

    def __init__(
        self,
        nc: NATS,
        layout: Layout,
        session_id: str,
        *,
        selection: Selection,
        run_id: str,
        restored: Iterable[str] = (),
    ) -> None:
        self._nc = nc
        self._layout = layout
        self.session_id = session_id
        self.selection = selection
        self._run_id = run_id
        self.restored = set(restored)
        self.published = 0
        self._seq = 0

    async def __call__(self, event: Event) -> None:
        event_type = event.type
        if event_type not in self.selection:
            return
        item_id = _item_id(event)
        if item_id is not None and item_id in self.restored:
            return
        data, kind = encode(event)
        if item_id is not None and event_type in _ONCE_PER_ITEM:
            msg_id = f"{self.session_id}.{event_type}.{item_id}"
        else:
            self._seq += 1
            msg_id = f"{self.session_id}.{self._run_id}.{self._seq}"
        await self._publish(event_type, data, kind, msg_id)

    async def lifecycle(self, event_type: str, **fields: Any) -> None:
        """Publish one of the worker's lifecycle events (``nats.session_started``...)."""
        event = PluginEvent.model_construct(type=event_type, session_id=self.session_id, **fields)
        data, kind = encode(event)
        self._seq += 1
        await self._publish(event_type, data, kind, f"{self.session_id}.{self._run_id}.{self._seq}")

    async def _publish(self, event_type: str, data: bytes, kind: str, msg_id: str) -> None:
        subject = self._layout.events_subject(self.session_id, event_type)
        try:
            # Core publish into the stream's subject: ordered on this connection, no
            # round trip per event; nats-py buffers it while reconnecting.
            await self._nc.publish(subject, data, headers={_KIND: kind, _MSG_ID: msg_id})
        except Exception as exc:  # a follower missing an event must not stop the session
            logger.warning("could not publish %s of %s: %s", event_type, self.session_id, exc)
            return
        self.published += 1

    async def flush(self, timeout: int = 5) -> None:
        """Wait until what was published reached the server."""
        await self._nc.flush(timeout=timeout)
