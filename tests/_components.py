"""The session's state components on their own: fed by a dispatcher, sending into a list.

:func:`components` builds a conversation mirror and a response sequencer the
way a session does, from plain callables, so tests can drive them with events
and read what they sent, without a connection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio

from realtime_events import signals
from realtime_events.audio import PCM16
from realtime_events.conversation import Conversation
from realtime_events.dispatch import Dispatcher, current_dispatcher
from realtime_events.errors import ConnectionClosedError
from realtime_events.events import ClientEvent, Event
from realtime_events.events.names import Dialect
from realtime_events.events.parse import parse_server_event
from realtime_events.responses import Responses


def server_event(kind: str, **fields: Any) -> Event:
    return parse_server_event(json.dumps({"type": kind, "event_id": "evt_s", **fields}))


def response_created(response_id: str) -> Event:
    return server_event(
        "response.created", response={"id": response_id, "status": "in_progress", "output": []}
    )


def response_done(response_id: str, status: str = "completed") -> Event:
    return server_event("response.done", response={"id": response_id, "status": status})


def error(code: str, event_id: str | None) -> Event:
    return server_event(
        "error", error={"type": "invalid_request_error", "code": code, "event_id": event_id}
    )


class Owner:
    """Stands for the session: the sender of the signals the components follow."""


@dataclass
class Components:
    """A conversation mirror and a response sequencer fed by a dispatcher, with no I/O."""

    dispatcher: Dispatcher
    owner: Owner
    conversation: Conversation
    responses: Responses
    sent: list[ClientEvent] = field(default_factory=list)

    async def feed(self, *events: Event) -> None:
        await self.dispatcher.dispatch_many(events)

    def disconnect(self) -> None:
        error = ConnectionClosedError(1006, "connection lost")
        signals.send(signals.disconnected, self.owner, error=error, will_reconnect=True)


@asynccontextmanager
async def components(dialect: Dialect = "ga") -> AsyncIterator[Components]:
    owner = Owner()
    sent: list[ClientEvent] = []

    async def send(event: ClientEvent) -> ClientEvent:
        sent.append(event)
        signals.send(signals.event_sent, owner, event=event)  # as the session's writes do
        return event

    def failed(event: Event, handler: Any, exc: Exception) -> None:
        raise AssertionError(f"handler {handler!r} failed on {event.type}") from exc

    async with anyio.create_task_group() as task_group:

        def spawn(call: Callable[[], Coroutine[Any, Any, None]]) -> None:
            task_group.start_soon(call)

        dispatcher = Dispatcher(spawn=spawn, on_error=failed)
        token = current_dispatcher.set(dispatcher)
        try:
            yield Components(
                dispatcher,
                owner,
                Conversation(
                    on=dispatcher.add,
                    send=send,
                    dialect=dialect,
                    output_format=lambda: PCM16,
                    sender=owner,
                ),
                Responses(on=dispatcher.add, send=send, dialect=dialect, sender=owner),
                sent,
            )
        finally:
            current_dispatcher.reset(token)
