"""Handler registry and invocation: which handlers an event reaches, and in what order.

A :class:`Dispatcher` runs the handlers of one event at a time, in registration
order: every handler of event N has finished before any handler of event N+1
starts. Sync handlers run inline, async ones are awaited, and ``concurrent=True``
handlers are started as tasks and don't hold the order. A handler that raises is
reported and the rest still run.

Matching is computed once per process, not once per session (see
:mod:`.routing`), and so are the session's own registrations: every session
built the same way shares them. A dispatcher then keeps its own handlers per
event class, a dict lookup per event; ``on``/``off`` clear that cache.

Names are checked when they are registered (see :mod:`.event_names`): a name no
server, plugin or application sends is refused with a suggestion, instead of a
handler that never runs. Registering the same handler again for the same
events (either spelling of a renamed event, say) returns the first
registration, so it still runs once per event. Waiters and streams refuse to
start while the session is not running, and say what they waited for when
they time out.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from contextvars import ContextVar
from dataclasses import dataclass, field
from inspect import isawaitable
from types import MethodType
from typing import Any, Literal, TypeAlias

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .errors import SessionClosedError
from .event_names import EventNames, Protocol
from .events._base import Event, PluginEvent
from .events.names import canonical
from .routing import MAX_MATCHERS, MAX_ROUTES, Matcher, Pattern, route, shared

__all__ = ["Dispatcher", "EventStream", "Handler", "Matcher", "Pattern", "Registration"]

logger = logging.getLogger("realtime_events.dispatch")

Handler: TypeAlias = Callable[[Any], Awaitable[Any] | Any]
Overflow: TypeAlias = Literal["block", "drop_oldest"]

# The dispatcher whose task is running, so emit() from inside a handler can queue
# its event right behind the current one instead of behind the whole backlog.
current_dispatcher: ContextVar[Dispatcher | None] = ContextVar("current_dispatcher", default=None)

#: Why a dispatcher refuses waiters before its session's first run.
NOT_RUNNING = (
    "the session is not running: use `async with session:` (or `await session.start()`) first"
)


@dataclass(eq=False, slots=True)
class Registration:
    """One handler registered for one pattern.

    A core registration of a bound method holds the function in ``handler`` and
    the position of the part it is bound to among its dispatcher's parts in
    ``owner``, called as ``handler(parts[owner], event)``. Such a registration
    holds nothing of one session, so every session built alike shares it (see
    :meth:`Dispatcher.add_core`): a session's ~33 core handlers then cost it no
    object the garbage collector walks for as long as the session lives.
    :meth:`callback` gives the handler as it was registered.
    """

    matcher: Matcher
    handler: Callable[..., Awaitable[Any] | Any]  # a Handler, or a core one's function
    once: bool = False
    concurrent: bool = False
    active: bool = True
    #: One of the session's own (:meth:`Dispatcher.add_core`): out of the duplicate check.
    core: bool = False
    #: For a core registration of a bound method: where its part is among the dispatcher's.
    owner: int | None = None
    # Active, neither once nor concurrent: the dispatch loop's one test per handler.
    plain: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.plain = self.active and not (self.once or self.concurrent)

    def deactivate(self) -> None:
        """Take this registration out of dispatch (an event in progress skips it too)."""
        self.active = self.plain = False

    def callback(self, parts: Sequence[Any] = ()) -> Handler:
        """The handler as it was registered: a core one's bound method again, on ``parts``."""
        if self.owner is None:
            return self.handler
        return MethodType(self.handler, parts[self.owner])


# (matcher, function, position of its part) -> the core registration every
# dispatcher with that part at that position shares. Only the session's own
# parts register core handlers, so the table stays small; bounded all the same.
_CORE: dict[tuple[Matcher, Callable[..., Any], int], Registration] = {}


def _shared_core(matcher: Matcher, function: Callable[..., Any], owner: int) -> Registration:
    """The core registration of ``function`` on the part at ``owner``, shared process-wide."""
    key = (matcher, function, owner)
    registration = _CORE.get(key)
    if registration is None:
        if len(_CORE) >= MAX_MATCHERS:
            _CORE.clear()
        registration = _CORE[key] = Registration(matcher, function, core=True, owner=owner)
    return registration


@dataclass(eq=False, slots=True)
class Tap:
    """A waiter or a stream: receives matching events after their handlers ran."""

    matcher: Matcher
    where: Callable[[Any], bool] | None
    send: MemoryObjectSendStream[Any]
    once: bool
    overflow: Overflow = "block"
    receive: MemoryObjectReceiveStream[Any] | None = field(default=None)


class Dispatcher:
    """Registry of handlers and taps, and the loop body that runs them for one event."""

    def __init__(
        self,
        *,
        spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
        on_error: Callable[[Event, Handler, Exception], None],
        protocol: Protocol = "realtime",
    ) -> None:
        self._registrations: list[Registration] = []
        # The session parts whose bound methods are core handlers, in the order they
        # came: a shared core registration names its part by its position here.
        self._parts: list[Any] = []
        # The same registrations by their matcher's key, for add's duplicate check;
        # None until the first add needs it (the core's registrations skip it).
        # A key's one registration is held as itself, not in a list of one: a list per
        # pattern a session handles is objects the garbage collector walks, for nothing.
        self._by_key: dict[Any, Registration | list[Registration]] | None = None
        # Waiters and streams, and events emitted by handlers: made at the first, as
        # most sessions have neither, and an empty list is an object all the same.
        self._taps: list[Tap] | None = None
        self._cache: dict[Any, tuple[Registration, ...]] = {}
        # The matchers of the registrations in order, the key of the shared routes;
        # built on the first cache miss after a change.
        self._matchers: tuple[Matcher, ...] | None = None
        self._spawn = spawn
        self._on_error = on_error
        #: Events emitted by handlers, dispatched right after the current one (see emit).
        self.pending: deque[Event] | None = None
        #: The names ``add``, ``wait_for``, ``open_stream`` and ``check_emit`` accept.
        self.names = EventNames(protocol)
        self.closed_reason: BaseException | None = None
        # Closed until the first run opens it: a waiter then would wait for nothing.
        self.closed = True
        self._closed_message = NOT_RUNNING

    # -- registry ----------------------------------------------------------

    def declare(self, *names: str) -> None:
        """Accept these custom event names (or ``prefix.*`` patterns) from now on."""
        self.names.declare(*names)

    def undeclare(self, *names: str) -> None:
        """Stop accepting these declared names (see :meth:`EventNames.undeclare`)."""
        self.names.undeclare(*names)
        self._changed()  # a cached route stands for a name that may be emitted

    def check_emit(self, name: str) -> None:
        """Raise unless ``name`` may be emitted: declared, and not a server event."""
        self.names.check_emit(name)

    def add(
        self, pattern: Pattern, handler: Handler, *, once: bool = False, concurrent: bool = False
    ) -> Registration:
        """Register ``handler`` for ``pattern``; it runs after the ones registered before it.

        The same handler registered again for an equivalent pattern (the same
        names in any spelling, the same prefix, the same class) is not added
        twice: the existing registration is returned. With a different ``once``
        or ``concurrent`` that would be ambiguous, so it raises ValueError.
        """
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {handler!r}")
        matcher = Matcher.parse(pattern)
        self.names.check(pattern)
        key = matcher.key
        # Only registrations of an equivalent pattern can be the same one: the
        # index keeps a session's ~50 core registrations from costing 50 x 50 compares.
        by_key = self._by_key
        if by_key is None:
            by_key = self._by_key = self._index()
        same_key = by_key.get(key)
        for existing in _registrations_in(same_key):
            if existing.handler == handler:
                if (existing.once, existing.concurrent) != (once, concurrent):
                    raise ValueError(
                        f"{_name(handler)} is already registered for "
                        f"{existing.matcher.pattern!r} with once={existing.once}, "
                        f"concurrent={existing.concurrent}; remove it first (off) to "
                        "register it differently"
                    )
                return existing
        registration = Registration(matcher, handler, once, concurrent)
        self._registrations.append(registration)
        _index_add(by_key, key, registration)
        self._changed()
        return registration

    def add_core(self, pattern: str, handler: Handler) -> None:
        """Register one of the session's own handlers: a trusted, known name, a fresh handler.

        What :meth:`add` checks is known to hold for the core's registrations (a
        name of the protocol, a bound method of a session part registered once),
        so this only appends: it is most of what building a session costs
        otherwise. They stay out of :meth:`add`'s duplicate check, whose index
        would otherwise cost every session a list per pattern of the core. Like
        :meth:`add`, it runs after the handlers registered before it.
        """
        matcher = Matcher.parse(pattern)
        if type(handler) is MethodType:
            # The function and where its part is, not the bound method: shared by
            # every session built alike (see Registration).
            function, part = handler.__func__, handler.__self__
            registration = _shared_core(matcher, function, self._position(part))
        else:
            registration = Registration(matcher, handler, core=True)
        self._registrations.append(registration)
        self._cache.clear()
        self._matchers = None

    def _position(self, part: object) -> int:
        """Where ``part`` is among the parts of the core's bound methods (added if new)."""
        parts = self._parts
        for position, known in enumerate(parts):
            if known is part:
                return position
        parts.append(part)
        return len(parts) - 1

    def _index(self) -> dict[Any, Registration | list[Registration]]:
        """The registrations by their matcher's key, for :meth:`add`'s duplicate check."""
        by_key: dict[Any, Registration | list[Registration]] = {}
        for registration in self._registrations:
            if not registration.core:
                _index_add(by_key, registration.matcher.key, registration)
        return by_key

    def remove(self, handler: Handler, pattern: Pattern | None = None) -> bool:
        """Unregister ``handler`` (for ``pattern`` only, if given); tell whether it was found.

        ``pattern`` may be any equivalent spelling of the registered one. A core
        part's bound method, whose registration other sessions share, is only
        dropped from this dispatcher: an event already under way still reaches it.
        """
        key = Matcher.parse(pattern).key if pattern is not None else None
        parts = self._parts
        found = [
            registration
            for registration in self._registrations
            if registration.callback(parts) == handler
            and (key is None or registration.matcher.key == key)
        ]
        for registration in found:
            if registration.owner is None:
                registration.deactivate()
        if found:
            self._prune(found)
        return bool(found)

    def discard(self, registration: Registration) -> None:
        """Unregister this one registration, leaving others of the same handler in place."""
        registration.deactivate()
        self._prune()

    def _prune(self, dropped: list[Registration] | None = None) -> None:
        self._registrations = [
            r for r in self._registrations if r.active and (dropped is None or r not in dropped)
        ]
        self._by_key = None
        self._changed()

    def _changed(self) -> None:
        self._cache.clear()
        self._matchers = None

    def handlers_for(self, event: Event) -> tuple[Registration, ...]:
        """Return the registrations ``event`` reaches, in order.

        They are cached by the event's class, and by class and GA name for a class
        of many names (a plugin event's).
        """
        cls = type(event)
        name = cls.canonical_type
        if name:
            return self._lookup(cls, cls, name)
        name = canonical(event.type)
        return self._lookup((cls, name), cls, name)

    def _lookup(self, key: Any, cls: type[Event], name: str) -> tuple[Registration, ...]:
        cached = self._cache.get(key)
        if cached is None:
            registrations = self._registrations
            if self._matchers is None:
                self._matchers = shared(tuple(r.matcher for r in registrations))
            cached = tuple(registrations[i] for i in route(self._matchers, key, cls, name))
            if len(self._cache) >= MAX_ROUTES:
                self._cache.clear()  # fresh custom names, one after the other
            self._cache[key] = cached
        return cached

    def listens_for(self, name: str) -> bool:
        """Tell whether a plugin event named ``name`` would reach a handler or tap now.

        Raises as :meth:`check_emit` does for a name that could not be emitted.
        """
        ga = canonical(name)
        route = self._cache.get((PluginEvent, ga))
        if route is None:
            # Checked once, not at every ask: a plugin asks before each emit, and
            # emit checks too. A cached route is a name found acceptable already
            # (undeclaring one clears the routes).
            self.names.check_emit(name)
            route = self._lookup((PluginEvent, ga), PluginEvent, ga)
        taps = self._taps or ()
        return bool(route) or any(tap.matcher.matches(PluginEvent, ga) for tap in taps)

    # -- dispatch ----------------------------------------------------------

    async def dispatch(self, event: Event) -> None:
        """Run every handler of ``event`` in order, then the events they emitted."""
        await self.dispatch_many((event,))

    async def dispatch_many(
        self, events: Iterable[Event], *, release: bool = False, _emitted: bool = False
    ) -> None:
        """Dispatch ``events`` in order, exactly as :meth:`dispatch` one after the other.

        The reader hands over what one socket read produced; running the batch in
        one coroutine saves two coroutine objects and two awaits per event, which
        is most of the dispatcher's own cost. ``release=True`` takes each event
        out of ``events`` (a list, emptied) as it is dispatched, so that the batch
        does not keep the events its handlers are done with alive.
        """
        if release and isinstance(events, list):
            events = _taking(events)
        cache = self._cache
        on_error = self._on_error
        parts = self._parts
        for event in events:
            # A typed event's cache key is its class (see handlers_for).
            registrations = cache.get(type(event))
            if registrations is None:
                registrations = self.handlers_for(event)
            for registration in registrations:
                if not registration.plain:
                    if registration.active:
                        await self._call_special(registration, event)
                    continue
                # The body of _invoke, inline: this is the per-event cost.
                handler = registration.handler
                owner = registration.owner
                try:
                    result = handler(event) if owner is None else handler(parts[owner], event)
                    if result is not None and isawaitable(result):
                        await result
                except Exception as exc:
                    on_error(event, registration.callback(parts), exc)
            if self._taps:
                await self._feed_taps(event)
            pending = self.pending  # made by the first emit, maybe by this event's handlers
            if pending and not _emitted:
                # Events emitted by handlers go next, before the rest of the batch;
                # the drain also takes what their own handlers emit, in order.
                await self.dispatch_many(_drain(pending), _emitted=True)

    async def _call_special(self, registration: Registration, event: Event) -> None:
        """Run a ``once`` or ``concurrent`` registration's handler for ``event``."""
        if registration.once:
            # By identity: a permanent registration of the same handler and pattern stays.
            self.discard(registration)
        handler = registration.callback(self._parts)
        if registration.concurrent:
            self._spawn(self._concurrent_call(handler, event))
        else:
            await self._invoke(handler, event)

    def _concurrent_call(
        self, handler: Handler, event: Event
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def call() -> None:
            # This task is not the dispatcher, whatever context it was copied from.
            current_dispatcher.set(None)
            await self._invoke(handler, event)

        return call

    async def _invoke(self, handler: Handler, event: Event) -> None:
        """Run ``handler`` for ``event``, awaiting what it returns; report what it raises."""
        try:
            result = handler(event)
            if result is not None and isawaitable(result):
                await result
        except Exception as exc:
            self._on_error(event, handler, exc)

    # -- taps: wait_for and streams ----------------------------------------

    async def _feed_taps(self, event: Event) -> None:
        cls = type(event)
        name = cls.canonical_type or canonical(event.type)
        taps = self._taps
        assert taps is not None
        for tap in list(taps):
            if tap not in taps or not tap.matcher.matches(cls, name):
                continue  # closed by an earlier delivery, or not interested
            if tap.where is not None:
                try:
                    if not tap.where(event):
                        continue
                except Exception as exc:
                    self._on_error(event, tap.where, exc)
                    continue
            if tap.once:
                taps.remove(tap)
                tap.send.send_nowait(event)
                tap.send.close()
            elif tap.overflow == "block":
                try:
                    await tap.send.send(event)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    # The stream's reader left while we waited to hand this over.
                    self._discard_tap(tap)
            else:
                self._offer_dropping_oldest(tap, event)

    def _add_tap(self, tap: Tap) -> None:
        if self._taps is None:
            self._taps = []
        self._taps.append(tap)

    def emitted(self, event: Event) -> None:
        """Queue an event a handler emitted, to dispatch right after the current one."""
        if self.pending is None:
            self.pending = deque()
        self.pending.append(event)

    def _offer_dropping_oldest(self, tap: Tap, event: Event) -> None:
        try:
            tap.send.send_nowait(event)
        except anyio.WouldBlock:
            assert tap.receive is not None
            tap.receive.receive_nowait()
            tap.send.send_nowait(event)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._discard_tap(tap)

    def _discard_tap(self, tap: Tap) -> None:
        if self._taps is not None and tap in self._taps:
            self._taps.remove(tap)
        tap.send.close()
        if tap.receive is not None:  # a dropping stream's own end, to drop the oldest
            tap.receive.close()

    async def wait_for(
        self,
        pattern: Pattern,
        *,
        where: Callable[[Any], bool] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Return the next event matching ``pattern`` (and ``where``).

        Raises :class:`SessionClosedError` at once when the session is not
        running, and a :class:`TimeoutError` naming what it waited for.
        """
        matcher = Matcher.parse(pattern)
        self.names.check(pattern)
        self._check_open()
        send, receive = anyio.create_memory_object_stream[Any](1)
        tap = Tap(matcher, where, send, once=True)
        self._add_tap(tap)
        try:
            with receive:
                with anyio.move_on_after(timeout):
                    try:
                        return await receive.receive()
                    except anyio.EndOfStream:
                        raise self._closed_error() from self.closed_reason
                raise TimeoutError(_timed_out(tap, timeout))
        finally:
            self._discard_tap(tap)

    def open_stream(
        self,
        pattern: Pattern,
        *,
        where: Callable[[Any], bool] | None = None,
        buffer: int = 256,
        overflow: Overflow = "block",
    ) -> EventStream:
        """Start collecting events matching ``pattern`` into a bounded buffer."""
        matcher = Matcher.parse(pattern)
        self.names.check(pattern)
        self._check_open()
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        send, receive = anyio.create_memory_object_stream[Any](buffer)
        tap = Tap(matcher, where, send, once=False, overflow=overflow)
        if overflow == "drop_oldest":
            tap.receive = receive.clone()
        self._add_tap(tap)
        return EventStream(self, tap, receive)

    def close(self, reason: BaseException | None = None) -> None:
        """End every waiter and stream: the session is over (``reason`` is why, if it failed)."""
        self.closed = True
        self.closed_reason = reason
        self._closed_message = (
            f"the session ended: {reason}" if reason is not None else "the session is closed"
        )
        taps, self._taps = self._taps, None
        for tap in taps or ():
            tap.send.close()
            if tap.receive is not None:
                tap.receive.close()
        if taps:
            taps.clear()  # a delivery under way (see _feed_taps) skips the rest

    def reopen(self) -> None:
        """Accept waiters again: the session is starting (again)."""
        self.closed = False
        self.closed_reason = None
        # Handlers are mostly registered before a run: the duplicate check's index is
        # built again by the next add, rather than held by every running session.
        self._by_key = None

    def _check_open(self) -> None:
        if self.closed:
            raise self._closed_error()

    def _closed_error(self) -> SessionClosedError:
        return SessionClosedError(self._closed_message)


def _registrations_in(entry: Registration | list[Registration] | None) -> Iterable[Registration]:
    """The registrations an index entry holds: none, one, or a list of several."""
    if entry is None:
        return ()
    return entry if isinstance(entry, list) else (entry,)


def _index_add(
    by_key: dict[Any, Registration | list[Registration]], key: Any, registration: Registration
) -> None:
    """Add ``registration`` to the index under ``key`` (a list only once there are two)."""
    entry = by_key.get(key)
    if entry is None:
        by_key[key] = registration
    elif isinstance(entry, list):
        entry.append(registration)
    else:
        by_key[key] = [entry, registration]


def _name(handler: Any) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


def _timed_out(tap: Tap, timeout: float | None, place: str = "") -> str:
    return f"no {tap.matcher.describe(tap.where)}{place} within {timeout:g} s"


def _taking(events: list[Event]) -> Iterator[Event]:
    """Take the events of ``events`` in order, each out of the list as it is taken."""
    events.reverse()
    while events:
        yield events.pop()


def _drain(queue: deque[Event]) -> Iterator[Event]:
    """Take events off the front of ``queue`` until it is empty, even as it grows."""
    while queue:
        yield queue.popleft()


class EventStream:
    """An async iterator over the events of a :meth:`Session.stream`.

    Iteration ends when the session closes normally and raises
    :class:`SessionClosedError` when it fails.
    """

    def __init__(self, dispatcher: Dispatcher, tap: Tap, receive: MemoryObjectReceiveStream[Any]):
        self._dispatcher = dispatcher
        self._tap = tap
        self._receive = receive

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            # Ended: let go of the stream here, so a loop that runs to the end
            # leaves nothing to close (an unclosed stream warns when collected).
            self._receive.close()
            if self._dispatcher.closed_reason is not None:
                raise self._dispatcher._closed_error() from self._dispatcher.closed_reason
            raise StopAsyncIteration from None

    async def receive(self, timeout: float | None = None) -> Any:
        """Return the next event, waiting at most ``timeout`` seconds.

        Raises a :class:`TimeoutError` naming what the stream collects.
        """
        with anyio.move_on_after(timeout):
            return await self.__anext__()
        raise TimeoutError(_timed_out(self._tap, timeout, " on the stream"))

    def close(self) -> None:
        """Stop collecting events."""
        self._dispatcher._discard_tap(self._tap)
        self._receive.close()
