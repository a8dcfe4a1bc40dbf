"""``session.live``: a Live session's helpers, its start, its history and its metrics.

A :class:`~realtime_events.Session` built with ``protocol="live"`` holds one
:class:`LiveControl`. It is the SDK-shaped helper tree of
:class:`~realtime_events.live.resources.LiveResources`
(``session.live.session.input_audio.append(...)``,
``session.live.session.commentary.append(...)``, ``session.live.decision.create()``...)
sending through the session, and beside it what the session needs to speak
Live: the start of each connection (:class:`~.exchange.LiveExchange`), the
turns and delegations carried to the next server session
(:class:`~.history.LiveHistory`) and :class:`~.metrics.LiveMetrics`.

It knows nothing of Session: the session hands it ``on`` (to register its
handlers first, before the application's), ``send`` and the rest as callables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio

from ..events._base import ClientEvent
from ..resources import Send
from .client import LiveSessionCloseEvent
from .config import LiveSessionInfo
from .events import LiveSessionClosedEvent
from .exchange import LiveExchange
from .history import LiveHistory
from .metrics import LiveMetrics
from .resources import LiveResources

__all__ = ["LiveControl"]


class LiveControl(LiveResources):
    """The Live side of a session: SDK-shaped helpers, the start, history and metrics.

    ``own`` is the session's own configuration in Live's shape, ``model`` the
    Live model; ``on`` registers a handler on the session, ``send`` sends an
    event through it; ``contributions`` returns the plugins' fields;
    ``close_current`` closes the current connection (code, reason);
    ``start_timeout`` bounds the wait for ``session.started``; ``sender`` is
    the session (for the metrics' signal receivers).
    """

    def __init__(
        self,
        own: dict[str, Any],
        model: str,
        *,
        on: Callable[[str, Callable[[Any], Any]], Any],
        send: Send,
        contributions: Callable[[], Iterable[Mapping[str, Any]]],
        close_current: Callable[[int, str], Awaitable[None]],
        start_timeout: float,
        sender: Any,
    ) -> None:
        super().__init__(send)
        self._send_event = send
        #: The turns and client delegations carried from one server session to the next.
        self.history = LiveHistory(lambda: self.exchange.session_id)
        #: What each connection starts with, and what the server answered.
        self.exchange = LiveExchange(
            own,
            model,
            contributions=contributions,
            history=self.history.messages,
            close=close_current,
            start_timeout=start_timeout,
        )
        self._closed = anyio.Event()
        on("session.updated", self.exchange.on_updated)
        on("session.input_transcript.delta", self.history.on_input)
        on("session.output_transcript.delta", self.history.on_output)
        on("session.delegation.created", self.history.on_delegation)
        on("session.closed", self._on_closed)
        #: Usage, time to first audio and reconnects.
        self.metrics = LiveMetrics(sender)

    def __repr__(self) -> str:
        return f"<LiveControl session_id={self.session_id!r} turns={len(self.history.turns)}>"

    @property
    def model(self) -> str:
        """The Live model each server session starts with."""
        return self.exchange.model

    @property
    def session_id(self) -> str | None:
        """The id of the current server session (for sideband, forks, recordings)."""
        return self.exchange.session_id

    @property
    def session_ids(self) -> list[str]:
        """Every server session this session started, oldest first (one per connection)."""
        return list(self.exchange.session_ids)

    @property
    def server_session(self) -> LiveSessionInfo | None:
        """The server's session, from its last ``session.started`` or ``session.updated``."""
        return self.exchange.server_session

    @property
    def pending_delegations(self) -> list[str]:
        """The ids of the client delegations not answered yet, oldest first."""
        return self.history.pending

    def new_run(self) -> None:
        """A new run of the session starts afresh: no server session, history or delegation."""
        self.exchange.session_ids.clear()
        self.exchange.session_id = None
        self.history.clear()

    def route(self, event: ClientEvent) -> ClientEvent:
        """What to send for ``event`` on the current server session (see LiveHistory.route)."""
        return self.history.route(event)

    def sent(self, event: ClientEvent) -> None:
        """``event`` was written: a delegation it answered is answered."""
        self.history.answered(event)

    async def close_session(self, timeout: float) -> None:
        """Send ``session.close`` and wait (at most ``timeout`` s) for ``session.closed``."""
        self._closed = anyio.Event()
        await self._send_event(LiveSessionCloseEvent())
        with anyio.move_on_after(timeout):
            await self._closed.wait()

    def _on_closed(self, event: LiveSessionClosedEvent) -> None:
        self._closed.set()

    def connection_lost(self) -> None:
        """The connection closed: no ``session.closed`` will come on it."""
        self._closed.set()
