"""The plugin protocol, and discovery of installed plugins by entry point.

A plugin is any object with a ``name`` and an ``attach(session)`` method. It
registers ordinary handlers with ``session.on`` and announces what it does with
``session.emit("<name>.<event>", ...)``, declaring those names in a class
attribute ``events`` (``("transcript.updated", ...)`` or ``("profanity.*",)``):
a session refuses names nobody declared, so a typo speaks instead of never
firing. Two optional hooks:

- ``session_config() -> Mapping``: fields it adds to the session configuration
  (the tools plugin adds ``tools``); re-sent on every connect and on
  ``session.update()``.
- ``async run(session)``: a background task in the session's task group, started
  when the session starts and cancelled when it ends.

Installed distributions advertise plugins in the entry-point group
``realtime_events.plugins``; ``Session(plugins=["transcript"])`` loads them by name.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Protocol, runtime_checkable

from .errors import PluginNotFoundError

__all__ = [
    "ENTRY_POINT_GROUP",
    "Plugin",
    "PluginNotFoundError",
    "available",
    "declared_events",
    "installed_events",
    "load",
]

ENTRY_POINT_GROUP = "realtime_events.plugins"

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


def session_config_of(plugin: object) -> Mapping[str, Any]:
    """Return the configuration fields ``plugin`` contributes (none if it has no hook)."""
    hook = getattr(plugin, "session_config", None)
    return hook() if callable(hook) else {}


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
