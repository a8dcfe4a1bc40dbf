"""A session's handler API over its one dispatcher: on, once, off, wait_for, stream, emit, declare.

:class:`~realtime_events.Session` is a :class:`SessionHandlers`: the typed
``on``, ``once`` and ``wait_for`` come from the generated overloads, and the rest of
the handler API is here, each call handed to the session's one
:class:`~realtime_events.dispatch.Dispatcher`, made here too. A handler that
fails is logged and signalled (``handler_failed``); emitting outside a handler
queues the event in the run in progress, which ``running`` returns (None when
the session is not running).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

from . import signals
from ._generated_overloads import SessionOverloads
from .dispatch import Dispatcher, EventStream, Handler, Overflow, Pattern, current_dispatcher
from .endpoint import Protocol
from .errors import SessionClosedError
from .events import Event
from .events._base import PluginEvent
from .supervisor import Supervisor

__all__ = ["SessionHandlers"]

# The session's logger: handler failures have always been logged there.
logger = logging.getLogger("realtime_events.session")


class SessionHandlers(SessionOverloads):
    """The handler API of a session, over a dispatcher of its ``protocol``'s event names.

    ``spawn`` starts a concurrent handler in the run (or replay) in progress;
    ``running`` returns the run in progress, if any. The failure signal's
    sender is ``self``: the session.
    """

    def __init__(
        self,
        protocol: Protocol,
        spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
        running: Callable[[], Supervisor | None],
    ) -> None:
        self._dispatcher = Dispatcher(spawn=spawn, on_error=self._handler_failed, protocol=protocol)
        self._running = running

    def _handler_failed(self, event: Event, handler: Handler, error: Exception) -> None:
        logger.error(
            "handler %s failed on %s",
            getattr(handler, "__qualname__", handler),
            event.type,
            exc_info=error,
        )
        signals.send(signals.handler_failed, self, event=event, handler=handler, error=error)

    def _register(self, name: Pattern, handler: Handler, *, once: bool, concurrent: bool) -> None:
        self._dispatcher.add(name, handler, once=once, concurrent=concurrent)

    def declare(self, *names: str) -> None:
        """Declare custom event names (or ``prefix.*`` patterns) that handlers may use.

        Names that are no event of the protocol are refused at registration, so
        a typo speaks instead of never firing; declare your own names first.
        Plugins declare theirs with an ``events`` class attribute.
        """
        self._dispatcher.declare(*names)

    def off(self, handler: Handler, name: Pattern | None = None) -> bool:
        """Remove a handler (from ``name`` only, if given); tell whether it was registered."""
        return self._dispatcher.remove(handler, name)

    async def _wait_for(
        self, name: Pattern, *, where: Callable[[Any], bool] | None, timeout: float | None
    ) -> Any:
        return await self._dispatcher.wait_for(name, where=where, timeout=timeout)

    @asynccontextmanager
    async def stream(
        self,
        name: Pattern = "*",
        *,
        where: Callable[[Any], bool] | None = None,
        buffer: int = 256,
        overflow: Overflow = "block",
    ) -> AsyncIterator[EventStream]:
        """Collect matching events for ``async for`` while the block runs.

        The buffer holds ``buffer`` events; when it is full, ``"block"`` makes the
        dispatcher wait for the reader (nothing is lost) and ``"drop_oldest"``
        discards the oldest event instead.
        """
        events = self._dispatcher.open_stream(name, where=where, buffer=buffer, overflow=overflow)
        try:
            yield events
        finally:
            events.close()

    def listens_for(self, name: str) -> bool:
        """Tell whether an event emitted as ``name`` now would reach a handler, waiter or stream.

        A plugin that builds an event only to publish it can skip the building
        when nothing would receive it; the answer holds until handlers are
        registered or removed, or a waiter or stream starts. A name ``emit``
        would refuse (undeclared, or a server event's) is refused here too.
        """
        return self._dispatcher.listens_for(name)

    def emit(self, name: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> Event:
        """Publish a plugin event (``"<plugin>.<event>"``) to this session's handlers.

        Inside a handler the event is dispatched right after the current one;
        elsewhere it joins the queue of incoming events, which holds at most
        1024 emitted events: past that, :class:`RealtimeError` says the handlers
        are not keeping up, instead of memory growing without bound.
        """
        self._dispatcher.check_emit(name)
        event = PluginEvent.model_construct(type=name, **{**(payload or {}), **fields})
        run = self._running()
        if current_dispatcher.get() is self._dispatcher:
            self._dispatcher.emitted(event)
        elif run is not None:
            run.enqueue(event)
        else:
            raise SessionClosedError(f"cannot emit {name!r}: the session is not running")
        return event
