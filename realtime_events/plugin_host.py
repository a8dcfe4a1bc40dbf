"""A session's plugins: attaching one (checked first), and the tasks they run.

What a plugin is and may do is told by :mod:`realtime_events.plugins`. A
:class:`PluginHost` attaches plugins to one session in order. Before anything
changes, a plugin is refused when its name is taken, when it does not apply to
the session's protocol (:class:`PluginNotApplicableError`), or when the session
would refuse the configuration it contributes. Then its event names are
declared and it attaches; it is listed in ``plugins`` only once ``attach``
returned, so a plugin whose ``attach`` raises is not left attached, and the
names it declared that were not declared before are undeclared again (when
the session hands the host ``declared`` and ``undeclare``). A plugin's
``run(session)`` becomes a task of each run of the session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Coroutine, Mapping
from typing import Any

from .dispatch import current_dispatcher
from .endpoint import Protocol
from .errors import PluginNotApplicableError
from .event_names import PROTOCOL_NAMES
from .plugins import Plugin, declared_events, declared_protocols, load, session_config_of

__all__ = ["PluginHost"]

logger = logging.getLogger("realtime_events.session")

PluginTask = Callable[[], Coroutine[Any, Any, None]]


class PluginHost:
    """The plugins attached to ``session``, by name, in attaching order.

    ``protocol`` is the session's; ``own`` returns the session's own
    configuration fields (both are told to a plugin's ``session_config`` hook
    that asks for them). ``admit`` checks the configuration a plugin would
    contribute (raising to refuse it); ``declare`` declares the event names it
    announces. Without ``protocol`` and ``own`` they are read from the session.
    ``declared`` returns the names declared so far and ``undeclare`` forgets
    names: with both, a plugin whose ``attach`` raises takes back the names it
    added, so a typo of one of them is refused again. ``plugins`` is the dict to
    list them in (a new one by default).
    """

    def __init__(
        self,
        session: Any,
        *,
        admit: Callable[[Mapping[str, Any]], None],
        declare: Callable[..., None],
        protocol: Protocol | None = None,
        own: Callable[[], Mapping[str, Any]] | None = None,
        declared: Callable[[], Collection[str]] | None = None,
        undeclare: Callable[..., None] | None = None,
        plugins: dict[str, Plugin] | None = None,
    ) -> None:
        self._session = session
        self._admit = admit
        self._declare = declare
        self._declared = declared
        self._undeclare = undeclare
        self._protocol: Protocol = protocol or session.protocol
        # None: read the session's config when asked (no closure kept per session).
        self._own = own
        self.plugins: dict[str, Plugin] = {} if plugins is None else plugins

    def attach(self, plugin: Any, options: Mapping[str, Any]) -> Any:
        """Attach ``plugin`` (an object, or the name of an installed one); return it.

        Raises, leaving the session as it was, when the name is taken
        (ValueError), when the plugin does not apply to the session's protocol
        (:class:`PluginNotApplicableError`), or when the configuration it
        contributes would be refused. When its ``attach`` raises, the plugin is
        not listed, and the event names it added are undeclared (given
        ``declared`` and ``undeclare``).
        """
        loaded: Any = load(plugin, **options) if isinstance(plugin, str) else plugin
        name = getattr(loaded, "name", None)
        if not isinstance(name, str) or not callable(getattr(loaded, "attach", None)):
            raise TypeError(f"{loaded!r} is not a plugin: it needs a name and attach(session)")
        if name in self.plugins:
            raise ValueError(f"a plugin named {name!r} is already attached")
        self._check_protocol(name, loaded)
        self._admit(self._config_of(loaded))
        names = declared_events(loaded)
        added = self._added_by(names)
        self._declare(*names)
        try:
            loaded.attach(self._session)
        except BaseException:
            if added and self._undeclare is not None:
                self._undeclare(*added)
            raise
        self.plugins[name] = loaded
        return loaded

    def _added_by(self, names: Collection[str]) -> tuple[str, ...]:
        """Which of ``names`` declaring them adds (none known when they cannot be undone)."""
        if self._declared is None or self._undeclare is None:
            return ()
        before = self._declared()
        return tuple(dict.fromkeys(name for name in names if name not in before))

    def _check_protocol(self, name: str, plugin: Any) -> None:
        """Refuse ``plugin`` when the session's protocol is not one it applies to."""
        supported = declared_protocols(plugin)
        protocol = self._protocol
        if protocol in supported:
            return
        hints = getattr(plugin, "protocol_hints", None)
        hint = hints.get(protocol) if isinstance(hints, Mapping) else None
        others = " or ".join(f"protocol={p!r}" for p in supported)
        raise PluginNotApplicableError(
            f"the {name!r} plugin does not apply to a {PROTOCOL_NAMES[protocol]} session "
            f"(protocol={protocol!r}): it applies to "
            f"{' and '.join(PROTOCOL_NAMES[p] for p in supported)} sessions only. "
            + (hint or f"Leave it out of this session, or use it on a session with {others}"),
            plugin=name,
            protocol=protocol,
            supported=supported,
        )

    def _config_of(self, plugin: Any, own: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
        if own is None:
            own = self._own() if self._own is not None else self._session.config
        return session_config_of(plugin, protocol=self._protocol, config=own)

    def contributions(self, own: Mapping[str, Any] | None = None) -> list[Mapping[str, Any]]:
        """The configuration fields each plugin contributes, in attaching order.

        ``own`` is the session's own fields they are for (by default the
        session's current ones): an update is checked with the fields it makes.
        """
        return [self._config_of(plugin, own) for plugin in self.plugins.values()]

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
