"""Which event names a session knows, so that a name nobody sends is refused with a suggestion.

A handler registered for a misspelled name (``"respons.done"``) would never run
and a waiter for it would time out, both in silence. A session therefore
accepts only:

- the server events of the protocol the session speaks: Realtime's, in either
  dialect's spelling, or Live's (:mod:`realtime_events.live`), whose ``error``
  and ``session.updated`` are other classes under the same names;
- names declared by plugins (their ``events`` attribute: the attached ones, and
  the installed ones, read from their entry points) and by the application
  (``session.declare``), as exact names or ``prefix.*`` patterns;
- ``prefix.*`` patterns that can match one of those, ``"*"``, and event classes.

Anything else raises :class:`UnknownEventError`, naming the closest known name.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping

from .endpoint import Protocol
from .errors import UnknownEventError
from .events.names import spellings
from .events.parse import CLIENT_EVENT_CLASSES, SERVER_EVENT_CLASSES
from .live.parse import LIVE_CLIENT_EVENT_CLASSES, LIVE_SERVER_EVENT_CLASSES
from .plugins import installed_events

__all__ = [
    "LIVE_PROTOCOL_EVENTS",
    "PROTOCOL_EVENTS",
    "PROTOCOL_NAMES",
    "EventNames",
    "Protocol",
    "protocol_events",
]

#: The protocols by their display name, for messages.
PROTOCOL_NAMES: Mapping[Protocol, str] = {"realtime": "Realtime", "live": "Live"}

#: Every wire spelling of every server event: what a Realtime server sends.
PROTOCOL_EVENTS: frozenset[str] = frozenset(SERVER_EVENT_CLASSES)
#: Every server event a Live server sends.
LIVE_PROTOCOL_EVENTS: frozenset[str] = frozenset(LIVE_SERVER_EVENT_CLASSES)

_SERVER_EVENTS: Mapping[Protocol, frozenset[str]] = {
    "realtime": PROTOCOL_EVENTS,
    "live": LIVE_PROTOCOL_EVENTS,
}
_CLIENT_EVENTS: Mapping[Protocol, frozenset[str]] = {
    "realtime": frozenset(CLIENT_EVENT_CLASSES),
    "live": frozenset(LIVE_CLIENT_EVENT_CLASSES),
}


def protocol_events(protocol: Protocol) -> frozenset[str]:
    """The server event names of ``protocol`` (``"realtime"`` or ``"live"``)."""
    try:
        return _SERVER_EVENTS[protocol]
    except KeyError:
        raise ValueError(f"protocol must be 'realtime' or 'live', not {protocol!r}") from None


_DECLARE_HINT = "declare custom names first with session.declare(...)"


class _Declared:
    """A set of exact names and ``prefix.*`` patterns, never changed once made.

    Declaring makes another (see :func:`_declared`), shared by every session
    that declared the same: each session declares ``metrics.response``, and a
    set of its own was three objects the garbage collector walks.
    """

    __slots__ = ("names", "prefixes")

    def __init__(
        self, names: frozenset[str] = frozenset(), prefixes: frozenset[str] = frozenset()
    ) -> None:
        self.names = names
        #: Pattern prefixes with their trailing dot: ``"profanity.*"`` -> ``"profanity."``.
        self.prefixes = prefixes

    def without(self, names: Iterable[str]) -> _Declared:
        """These names and patterns but ``names`` (each spelling of a name)."""
        kept, prefixes = set(self.names), set(self.prefixes)
        for name in names:
            if name.endswith(".*"):
                prefixes.discard(name[:-1])
            else:
                kept.difference_update(spellings(name))
        return _declared(kept, prefixes)

    def has(self, name: str) -> bool:
        return name in self.names or any(name.startswith(p) for p in self.prefixes)

    def overlaps(self, prefix: str) -> bool:
        """Tell whether the pattern ``prefix*`` can match a name of this set."""
        return any(n.startswith(prefix) for n in self.names) or any(
            p.startswith(prefix) or prefix.startswith(p) for p in self.prefixes
        )

    def spelled(self) -> Iterator[str]:
        """The names, then the patterns as declared."""
        yield from self.names
        yield from (p + "*" for p in self.prefixes)


def _add(declared: Iterable[str], names: set[str], prefixes: set[str]) -> None:
    """Add names and ``prefix.*`` patterns to these sets; a bad one raises, those before it stay."""
    for name in declared:
        if not isinstance(name, str) or not name:
            raise TypeError(f"an event name must be a non-empty string, not {name!r}")
        if name.endswith(".*") and "*" not in name[:-2] and len(name) > 2:
            prefixes.add(name[:-1])
        elif "*" in name:
            raise ValueError(
                f"declare event names or 'prefix.*' patterns, not {name!r}: "
                "declaring '*' would accept every typo"
            )
        else:
            names.update(spellings(name))


# Every distinct set of declarations, shared; bounded, as names come from applications.
_DECLARED: dict[tuple[frozenset[str], frozenset[str]], _Declared] = {}
_MAX_DECLARED = 1024


def _declared(names: Iterable[str], prefixes: Iterable[str]) -> _Declared:
    """The one :class:`_Declared` of these names and prefixes."""
    key = (frozenset(names), frozenset(prefixes))
    found = _DECLARED.get(key)
    if found is None:
        if len(_DECLARED) >= _MAX_DECLARED:
            _DECLARED.clear()
        found = _DECLARED[key] = _Declared(*key)
    return found


#: What a session declared before its first declare.
_NOTHING_DECLARED = _declared((), ())


@functools.cache
def _installed_declared() -> _Declared:
    """The names the installed plugins declare: read once per process, shared by every session.

    Reading them loads each plugin's entry point; a thousand sessions that each
    registered one custom name would otherwise do it a thousand times. The set
    is never changed after it is built.
    """
    names: set[str] = set()
    prefixes: set[str] = set()
    _add(installed_events(), names, prefixes)
    return _Declared(frozenset(names), frozenset(prefixes))


class EventNames:
    """The event names one session accepts in ``on``, ``wait_for``, ``stream`` and ``emit``.

    ``protocol`` is the protocol the session speaks: only its server events are known.
    """

    def __init__(self, protocol: Protocol = "realtime") -> None:
        self._events = protocol_events(protocol)
        #: The protocol whose server events are known.
        self.protocol: Protocol = protocol
        self._declared = _NOTHING_DECLARED
        self._installed: _Declared | None = None  # read on the first miss only

    def declare(self, *names: str) -> None:
        """Accept these names (or ``prefix.*`` patterns) from now on."""
        declared = self._declared
        added, prefixes = set(declared.names), set(declared.prefixes)
        try:
            _add(names, added, prefixes)
        finally:  # a bad name raises; the ones before it are declared, as they always were
            self._declared = _declared(added, prefixes)

    def undeclare(self, *names: str) -> None:
        """Stop accepting these declared names or patterns (a failed plugin's, say)."""
        self._declared = self._declared.without(names)

    @property
    def declared(self) -> frozenset[str]:
        """The names and patterns declared so far (renamed events in both spellings)."""
        return frozenset(self._declared.spelled())

    def _installed_set(self) -> _Declared:
        if self._installed is None:
            self._installed = _installed_declared()
        return self._installed

    def known(self, name: str) -> bool:
        """Tell whether ``name`` is a protocol event or a declared name."""
        return name in self._events or self._declared.has(name) or self._installed_set().has(name)

    def check(self, pattern: object) -> None:
        """Raise :class:`UnknownEventError` unless a handler for ``pattern`` can ever run.

        Event classes, ``"*"`` and malformed patterns pass: the matcher judges those.
        """
        if not isinstance(pattern, str) or pattern == "*" or not pattern:
            return
        if pattern.endswith(".*"):
            prefix = pattern[:-1]
            if self._can_match(prefix):
                return
            raise UnknownEventError(
                f"the pattern {pattern!r} matches no known event name"
                f"{self._suggestion(pattern, self._patterns())}; {_DECLARE_HINT}"
            )
        if "*" in pattern or self.known(pattern):
            return
        if pattern in _CLIENT_EVENTS[self.protocol]:
            raise UnknownEventError(
                f"{pattern!r} is a client event: the session sends it and never receives it, "
                "so no handler would run (signals.event_sent reports what is sent)"
            )
        raise UnknownEventError(self._unknown(pattern) + self._other_protocol(pattern))

    def check_emit(self, name: str) -> None:
        """Raise unless a plugin event called ``name`` may be emitted (it must be declared)."""
        if name in self._events:
            raise ValueError(
                f"cannot emit {name!r}: it is a server event of the "
                f"{PROTOCOL_NAMES[self.protocol]} protocol, "
                "and its handlers expect the server's model; emit a name of your own "
                "(such as 'myplugin.done') and declare it"
            )
        if not self.known(name):
            raise UnknownEventError(
                self._unknown(name, "emitted")
                + " (a plugin declares the names it emits in its `events` attribute)"
            )

    def _can_match(self, prefix: str) -> bool:
        return (
            any(name.startswith(prefix) for name in self._events)
            or self._declared.overlaps(prefix)
            or self._installed_set().overlaps(prefix)
        )

    def _names(self) -> set[str]:
        """Every exact name known: for suggestions."""
        return {*self._events, *self._declared.names, *self._installed_set().names}

    def _patterns(self) -> set[str]:
        """Every ``prefix.*`` pattern that matches something: for suggestions."""
        prefixes = {*self._declared.prefixes, *self._installed_set().prefixes}
        for name in self._names():
            parts = name.split(".")
            prefixes.update(".".join(parts[:end]) + "." for end in range(1, len(parts)))
        return {prefix + "*" for prefix in prefixes}

    def _unknown(self, name: str, verb: str = "") -> str:
        what = f"unknown event name {name!r}" + (f" {verb}" if verb else "")
        suggestion = self._suggestion(name, self._names())
        if suggestion:
            return f"{what}{suggestion} ({_DECLARE_HINT})"
        protocol = PROTOCOL_NAMES[self.protocol]
        return (
            f"{what}: no {protocol} server event or declared name is called that; {_DECLARE_HINT}"
        )

    def _other_protocol(self, name: str) -> str:
        """Say so when ``name`` is an event of the protocol this session does not speak."""
        for other, events in _SERVER_EVENTS.items():
            if other != self.protocol and name in events:
                return (
                    f"; {name!r} is an event of the {PROTOCOL_NAMES[other]} protocol, and "
                    f"this session speaks {PROTOCOL_NAMES[self.protocol]} "
                    f"(Session(protocol={other!r}) speaks the other)"
                )
        return ""

    @staticmethod
    def _suggestion(name: str, candidates: Iterable[str]) -> str:
        close = difflib.get_close_matches(name, sorted(candidates), n=1)
        return f": did you mean {close[0]!r}?" if close else ""
