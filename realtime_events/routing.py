"""Which handlers an event reaches: patterns, and routes computed once per process.

A pattern (an event name in either spelling, a ``prefix.*``, ``"*"`` or an
event class) is parsed once into a :class:`Matcher`; whether a matcher matches
an event class is decided once; and the routing of an event class through a
list of matchers (every session built the same way has the same list) is
computed once and shared by every dispatcher with that list. Every table is
bounded, since names come from the application and the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from .events._base import Event, UnknownServerEvent
from .events.names import spellings
from .events.parse import SERVER_EVENT_CLASSES
from .live.parse import LIVE_SERVER_EVENT_CLASSES

__all__ = ["MAX_MATCHERS", "MAX_ROUTES", "Matcher", "Pattern", "route", "shared"]

Pattern: TypeAlias = str | type[Event]

# Bounds on the process-wide routing tables below: names and classes come from
# the application and the server, so a pathological stream of fresh names must
# not grow them for ever. A full table is emptied and refilled as events come.
MAX_MATCHERS = 4096
MAX_ROUTES = 16384


# eq=False: matchers are compared and hashed by identity, which is what the
# routing tables key on (parse hands out one matcher per pattern), and cheap.
@dataclass(frozen=True, slots=True, eq=False)
class Matcher:
    """Decides whether an event matches a pattern, in any spelling of its name."""

    pattern: Pattern
    names: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    everything: bool = False
    cls: type[Event] | None = None

    @classmethod
    def parse(cls, pattern: Pattern) -> Matcher:
        """Return the matcher of an event name, a ``prefix.*`` pattern, ``"*"`` or a class.

        One matcher per pattern for the whole process, so that every session
        registering the same pattern shares its routing.
        """
        try:
            return _MATCHERS[pattern]
        except KeyError:
            pass
        except TypeError:  # unhashable: _build raises the right error
            return cls._build(pattern)
        matcher = cls._build(pattern)
        if len(_MATCHERS) >= MAX_MATCHERS:
            _MATCHERS.clear()
        _MATCHERS[pattern] = matcher
        return matcher

    @classmethod
    def _build(cls, pattern: Pattern) -> Matcher:
        if isinstance(pattern, type):
            if not issubclass(pattern, Event):
                raise TypeError(f"{pattern!r} is not an event class")
            return cls(pattern, cls=pattern)
        if not isinstance(pattern, str) or not pattern:
            raise TypeError(f"expected an event name, a pattern or an event class, not {pattern!r}")
        if pattern == "*":
            return cls(pattern, everything=True)
        if pattern.endswith(".*"):
            # matches() tries every spelling of the event's name, so a beta prefix
            # ("response.audio.*") matches GA events too, and the other way round.
            return cls(pattern, prefixes=(pattern[:-1],))
        if "*" in pattern:
            raise ValueError(f"only a trailing '.*' or '*' alone is supported, not {pattern!r}")
        return cls(pattern, names=spellings(pattern))

    def matches(self, cls: type[Event], name: str) -> bool:
        """Tell whether an event of class ``cls`` named ``name`` (GA spelling) matches."""
        key = (self, cls, name)
        hit = _MATCHES.get(key)
        if hit is None:
            hit = self._matches(cls, name)
            if len(_MATCHES) >= MAX_ROUTES:
                _MATCHES.clear()
            _MATCHES[key] = hit
        return hit

    def _matches(self, cls: type[Event], name: str) -> bool:
        if self.everything:
            return True
        if self.cls is not None:
            return issubclass(cls, self.cls)
        names = spellings(name)
        if self.names:
            # A known event that failed validation arrives as UnknownServerEvent;
            # handlers of that name were promised the typed model, so they skip it.
            # Known to either protocol: a session refuses handlers for the other's names.
            if issubclass(cls, UnknownServerEvent) and (
                name in SERVER_EVENT_CLASSES or name in LIVE_SERVER_EVENT_CLASSES
            ):
                return False
            return names[0] in self.names
        return any(n.startswith(p) for n in names for p in self.prefixes)

    @property
    def key(self) -> Any:
        """What two equivalent patterns share: the same names, prefix or class."""
        if self.everything:
            return "*"
        return self.cls or self.names or self.prefixes

    def describe(self, where: Callable[[Any], bool] | None = None) -> str:
        """Name what this matcher waits for, for a message: ``'response.done' event``."""
        if self.everything:
            what = "event"
        elif self.cls is not None:
            what = self.cls.__name__
        else:
            what = f"{self.pattern!r} event"
        if where is not None:
            what += f" matching where={getattr(where, '__name__', None) or repr(where)}"
        return what


_MATCHERS: dict[Pattern, Matcher] = {}
# (matcher, event class, GA name) -> whether it matches.
_MATCHES: dict[tuple[Matcher, type[Event], str], bool] = {}
# (the matchers of a dispatcher's registrations, in order; event key) -> the
# positions of those that match. Shared: 1,000 sessions built alike compute the
# routing of each event class once instead of 1,000 times.
_ROUTES: dict[tuple[tuple[Matcher, ...], Any], tuple[int, ...]] = {}


def route(matchers: tuple[Matcher, ...], key: Any, cls: type[Event], name: str) -> tuple[int, ...]:
    """The positions in ``matchers`` of those an event of class ``cls`` named ``name`` hits.

    ``key`` is the event's cache key (see :meth:`Dispatcher.handlers_for`); ``name`` its GA
    spelling.
    """
    route_key = (matchers, key)
    positions = _ROUTES.get(route_key)
    if positions is None:
        positions = tuple(i for i, matcher in enumerate(matchers) if matcher.matches(cls, name))
        if len(_ROUTES) >= MAX_ROUTES:
            _ROUTES.clear()
        _ROUTES[route_key] = positions
    return positions


# Each distinct list of matchers, once: a dispatcher's is the key of its routes, and
# every session built alike has an equal one, so they share the one tuple.
_LISTS: dict[tuple[Matcher, ...], tuple[Matcher, ...]] = {}


def shared(matchers: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
    """The one tuple of these matchers in this order, shared by the dispatchers that have it."""
    found = _LISTS.get(matchers)
    if found is None:
        if len(_LISTS) >= MAX_MATCHERS:
            _LISTS.clear()
        found = _LISTS[matchers] = matchers
    return found
