"""A session's plugins: attaching one (checked first), and the tasks they run.

What a plugin is and may do is told by :mod:`realtime_events.plugins`. A
:class:`PluginHost` attaches plugins to one session in order: a plugin whose
configuration the session would refuse, or whose name is taken, is refused
before anything changes; then its event names are declared and it attaches.
A plugin's ``run(session)`` becomes a task of each run of the session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from .dispatch import current_dispatcher
from .plugins import Plugin, declared_events, load, session_config_of

__all__ = ["PluginHost"]

logger = logging.getLogger("realtime_events.session")

PluginTask = Callable[[], Coroutine[Any, Any, None]]


class PluginHost:
    """The plugins attached to ``session``, by name, in attaching order.

    ``admit`` checks the configuration a plugin would contribute (raising to
    refuse it); ``declare`` declares the event names it announces.
    """

    def __init__(
        self,
        session: object,
        *,
        admit: Callable[[Mapping[str, Any]], None],
        declare: Callable[..., None],
    ) -> None:
        self._session = session
        self._admit = admit
        self._declare = declare
        self.plugins: dict[str, Plugin] = {}

    def attach(self, plugin: Any, options: Mapping[str, Any]) -> Any:
        """Attach ``plugin`` (an object, or the name of an installed one); return it."""
        loaded: Any = load(plugin, **options) if isinstance(plugin, str) else plugin
        name = getattr(loaded, "name", None)
        if not isinstance(name, str) or not callable(getattr(loaded, "attach", None)):
            raise TypeError(f"{loaded!r} is not a plugin: it needs a name and attach(session)")
        if name in self.plugins:
            raise ValueError(f"a plugin named {name!r} is already attached")
        self._admit(session_config_of(loaded))
        self._declare(*declared_events(loaded))
        self.plugins[name] = loaded
        loaded.attach(self._session)
        return loaded

    def contributions(self) -> list[Mapping[str, Any]]:
        """The configuration fields each plugin contributes, in attaching order."""
        return [session_config_of(plugin) for plugin in self.plugins.values()]

    def tasks(self) -> list[PluginTask]:
        """The tasks of the plugins that have a ``run``, for a run of the session."""
        return [task for plugin in self.plugins.values() if (task := self.task(plugin))]

    def task(self, plugin: Any) -> PluginTask | None:
        """The plugin's ``run(session)`` as a task of the run, if it has one."""
        run = getattr(plugin, "run", None)
        if not callable(run):
            return None
        session = self._session

        async def task() -> None:
            # A plugin may be attached from a handler; its task is not the dispatcher,
            # whatever context it was started from (emit() depends on telling them apart).
            current_dispatcher.set(None)
            try:
                await run(session)
            except Exception:
                logger.exception("plugin %r failed", plugin.name)

        return task
