"""The plugin protocol, and discovery of installed plugins by entry point.

A plugin is any object with a ``name`` and an ``attach(session)`` method. It
registers ordinary handlers with ``session.on`` and announces what it does with
``session.emit("<name>.<event>", ...)``, declaring those names in a class
attribute ``events`` (``("transcript.updated", ...)`` or ``("profanity.*",)``):
a session refuses names nobody declared, so a typo speaks instead of never
firing. Optional attributes and hooks:

- ``protocols``: the protocols it applies to, ``("realtime", "live")`` when
  absent (:data:`PROTOCOLS`). A session of another protocol refuses it before
  anything is configured or attached, raising
  :class:`~realtime_events.errors.PluginNotApplicableError`; ``protocol_hints``
  (``{"live": "use ... instead"}``) adds what to do instead to that message.
- ``session_config() -> Mapping``: fields it adds to the session configuration
  (the tools plugin adds ``tools``); re-sent on every connect and on
  ``session.update()``. A hook that accepts the keywords ``protocol`` (the
  session's) and ``config`` (the session's own fields, read-only) is given
  them, also when it is checked before ``attach``; one without is called bare.
- ``async run(session)``: a background task in the session's task group, started
  when the session starts and cancelled when it ends.

Installed distributions advertise plugins in the entry-point group
``realtime_events.plugins``; ``Session(plugins=["transcript"])`` loads them by name.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import weakref
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from . import endpoint
from .errors import PluginNotApplicableError, PluginNotFoundError

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROTOCOLS",
    "Plugin",
    "PluginNotApplicableError",
    "PluginNotFoundError",
    "available",
    "declared_events",
    "declared_protocols",
    "installed_events",
    "load",
    "session_config_of",
]

ENTRY_POINT_GROUP = "realtime_events.plugins"
#: The protocols a plugin applies to when it does not say (its ``protocols``).
PROTOCOLS: tuple[endpoint.Protocol, ...] = ("realtime", "live")
#: What the host may tell a ``session_config`` hook that accepts it, by keyword.
_CONFIG_CONTEXT = frozenset({"protocol", "config"})
#: What :func:`_context_keywords` found, by the hook's function.
_KEYWORDS: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()

logger = logging.getLogger("realtime_events.plugins")


@runtime_checkable
class Plugin(Protocol):
    """What :meth:`Session.use` needs of a plugin."""

    name: str

    # ``session`` is a Session; typed Any so that this module, which session.py
    # imports, does not import it back (a plugin annotates it as Session).
    def attach(self, session: Any) -> None:
        """Register the plugin's handlers on ``session`` (a :class:`Session`)."""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> dict[str, str]:
    """Return the installed plugins: name -> ``module:attribute`` of its factory."""
    return {name: ep.value for name, ep in sorted(_entry_points().items())}


def load(name: str, **options: Any) -> Plugin:
    """Create the installed plugin called ``name``, passing ``options`` to its factory.

    Safe to call from any thread: it only reads package metadata.
    """
    found = _entry_points().get(name)
    if found is None:
        installed = ", ".join(available()) or "none"
        raise PluginNotFoundError(
            f"no plugin named {name!r} is installed (installed: {installed}); "
            f"install the distribution 'realtime-events-{name}'"
        )
    factory = found.load()
    plugin = factory(**options)
    if not isinstance(plugin, Plugin):
        raise TypeError(f"entry point {found.value!r} did not produce a plugin")
    return plugin


def session_config_of(
    plugin: object,
    *,
    protocol: endpoint.Protocol = "realtime",
    config: Mapping[str, Any] | None = None,
) -> Mapping[str, Any]:
    """Return the configuration fields ``plugin`` contributes (none if it has no hook).

    ``protocol`` and ``config`` (the session's own fields) go to a hook that
    accepts them by keyword (or takes ``**kwargs``); a hook without them is
    called with no argument, as plugins written before them are.
    """
    hook = getattr(plugin, "session_config", None)
    if not callable(hook):
        return {}
    accepted = _context_keywords(hook)
    context: dict[str, Any] = {}
    if "protocol" in accepted:
        context["protocol"] = protocol
    if "config" in accepted:
        # Read-only: a plugin says what it adds, it does not edit the session's fields.
        context["config"] = MappingProxyType(
            config if isinstance(config, dict) else {**(config or {})}
        )
    fields: Mapping[str, Any] = hook(**context)
    return fields


def _context_keywords(hook: Any) -> frozenset[str]:
    """The keywords of :data:`_CONFIG_CONTEXT` that ``hook`` accepts (kept per function)."""
    function = getattr(hook, "__func__", hook)  # a bound method's function outlives it
    try:
        return _KEYWORDS[function]
    except (KeyError, TypeError):  # not seen yet, or takes no weak reference
        pass
    try:
        parameters = inspect.signature(hook).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: call it bare
        return frozenset()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        accepted = _CONFIG_CONTEXT
    else:
        keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        accepted = frozenset(p.name for p in parameters if p.kind in keyword) & _CONFIG_CONTEXT
    # Reading a signature costs more than the hook: the configuration is made on every
    # connect and update, and each of many sessions checks its plugins once.
    with contextlib.suppress(TypeError):  # a callable that takes no weak reference
        _KEYWORDS[function] = accepted
    return accepted


def declared_protocols(plugin: object) -> tuple[endpoint.Protocol, ...]:
    """Return the protocols ``plugin`` applies to: its ``protocols``, or :data:`PROTOCOLS`."""
    protocols = getattr(plugin, "protocols", PROTOCOLS)
    if isinstance(protocols, str) or not all(isinstance(p, str) for p in protocols):
        raise TypeError(
            f"{plugin!r}: protocols must be a tuple of protocol names {PROTOCOLS}, "
            f"not {protocols!r}"
        )
    known = tuple(p for p in PROTOCOLS if p in protocols)
    if not known or len(known) != len(set(protocols)):
        raise ValueError(
            f"{plugin!r}: protocols must name one or more of {PROTOCOLS}, not {protocols!r}"
        )
    return known


def declared_events(plugin: object) -> tuple[str, ...]:
    """Return the event names ``plugin`` declares in its ``events`` attribute (none if absent)."""
    events = getattr(plugin, "events", ())
    if isinstance(events, str) or not all(isinstance(name, str) for name in events):
        raise TypeError(
            f"{plugin!r}: events must be a tuple of event names or 'prefix.*' patterns, "
            f"not {events!r}"
        )
    return tuple(events)


@functools.cache
def installed_events() -> tuple[str, ...]:
    """Return the event names every installed plugin declares, importing each one once.

    Read from the factory an entry point names (a plugin class's ``events``), so a
    handler may be registered before its plugin is attached. A plugin that fails
    to import declares nothing here; ``load`` reports its error when it is used.
    """
    names: list[str] = []
    for entry_point in _entry_points().values():
        try:
            factory = entry_point.load()
            names.extend(declared_events(factory))
        except Exception as exc:
            logger.debug("plugin %r declares no events here: %s", entry_point.name, exc)
    return tuple(names)
