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

It is also where a Live session's handlers are typed: ``session.live.on``,
``once``, ``wait_for`` and ``stream`` are the session's own (one dispatcher,
one order), with generated overloads over the Live event names, so
``@session.live.on("error")`` gives its handler a ``LiveErrorEvent`` where
``session.on("error")`` would promise Realtime's ``ErrorEvent``.

A sideband (``attach=`` a session id) shares all of it but the start: the
exchange attaches instead of starting, what a sideband may not send is refused
here before it is written, and closing it closes only its own connection
(``session.live.session.close()`` ends the session it watches, for everyone).

It knows nothing of Session: the session hands it ``on``, ``wait_for`` and
``stream`` (its handler API), ``send`` and the rest as callables.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

import anyio

from .. import signals
from .._generated_live_overloads import Handler, LiveOverloads, Pattern
from ..audio import MAX_APPEND_BYTES
from ..errors import RealtimeError
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

logger = logging.getLogger("realtime_events.session")


class LiveControl(LiveResources, LiveOverloads):
    """The Live side of a session: SDK-shaped helpers, typed handlers, the start, history, metrics.

    ``own`` is the session's own configuration in Live's shape, ``model`` the
    Live model; ``on``, ``wait_for`` and ``stream`` are the session's handler
    API, ``send`` sends an event through it; ``contributions`` returns the
    plugins' fields; ``close_current`` closes the current connection (code,
    reason); ``end_run`` ends the session's run (on ``session.closed``);
    ``start_timeout`` bounds the wait for ``session.started``; ``sender`` is
    the session (for the metrics' signal receivers). ``attach`` makes it a
    sideband of that running session, and ``attached`` is called each time a
    connection of it opens (a sideband gets no ``session.started``).
    """

    def __init__(
        self,
        own: dict[str, Any],
        model: str,
        *,
        on: Callable[..., Any],
        wait_for: Callable[..., Awaitable[Any]],
        stream: Callable[..., AbstractAsyncContextManager[Any]],
        send: Send,
        contributions: Callable[[Mapping[str, Any]], Iterable[Mapping[str, Any]]],
        close_current: Callable[[int, str], Awaitable[None]],
        end_run: Callable[[], Awaitable[None]],
        start_timeout: float,
        sender: Any,
        attach: str | None = None,
        attached: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(send)
        self._send_event = send
        self._on = on
        self._wait = wait_for
        self._stream = stream
        self._end_run = end_run
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
            attach=attach,
            attached=attached,
        )
        self._closed = anyio.Event()
        on("session.updated", self.exchange.on_updated)
        on("session.input_transcript.delta", self.history.on_input)
        on("session.output_transcript.delta", self.history.on_output)
        on("session.delegation.created", self.history.on_delegation)
        on("session.closed", self._on_closed)
        # A close waiting for session.closed waits no more once the connection is gone.
        signals.disconnected.connect(self._connection_lost, sender=sender)
        #: Usage, time to first audio and reconnects.
        self.metrics = LiveMetrics(sender)

    def __repr__(self) -> str:
        return f"<LiveControl session_id={self.session_id!r} turns={len(self.history.turns)}>"

    @property
    def model(self) -> str:
        """The Live model each server session starts with."""
        return self.exchange.model

    @property
    def attach(self) -> str | None:
        """The id of the running session this sideband attaches to (None on a primary)."""
        return self.exchange.attach

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
        """A new run of the session starts afresh: no server session, history or delegation.

        A sideband's next run attaches to the same session again.
        """
        self.exchange.session_ids.clear()
        self.exchange.session_id = None
        self.history.clear()

    # -- handlers: the session's, typed by the Live names ---------------------

    def _register(self, name: Pattern, handler: Handler, *, once: bool, concurrent: bool) -> None:
        self._on(name, handler, once=once, concurrent=concurrent)

    async def _wait_for(
        self, name: Pattern, *, where: Callable[[Any], bool] | None, timeout: float | None
    ) -> Any:
        return await self._wait(name, where=where, timeout=timeout)

    def stream(
        self,
        name: Pattern = "*",
        *,
        where: Callable[[Any], bool] | None = None,
        buffer: int = 256,
        overflow: Literal["block", "drop_oldest"] = "block",
    ) -> AbstractAsyncContextManager[Any]:
        """``Session.stream``: collect matching events for ``async for`` while the block runs."""
        return self._stream(name, where=where, buffer=buffer, overflow=overflow)

    # -- what the session does the Live way -----------------------------------

    async def write(
        self, event: ClientEvent, write: Callable[[ClientEvent], Awaitable[None]], *, starting: bool
    ) -> ClientEvent:
        """Write ``event`` with ``write`` on the current server session; return what was sent.

        While the connection is ``starting``, nothing may precede ``session.started``:
        the write waits for it. A delegation's answer is routed (see LiveHistory.route).
        """
        self.exchange.refuse_on_sideband(event)
        if starting:
            await self.exchange.wait_started()
        sent = self.history.route(event)
        await write(sent)
        self.history.answered(event)
        return sent

    async def send_audio(self, pcm: bytes, *, commit: bool, respond: bool) -> None:
        """Append ``pcm`` as ``session.input_audio.append``, in chunks under the size limit."""
        if commit or respond:
            raise RealtimeError(
                "send_audio(commit=..., respond=...) is not for a Live session: the "
                "server detects the end of the user's turn and answers by itself"
            )
        if self.attach is not None:
            raise RealtimeError(
                "send_audio() is not for a sideband: input audio comes from the primary "
                "connection (a sideband hears it as session.input_audio.append events)"
            )
        for start in range(0, len(pcm), MAX_APPEND_BYTES):
            await self.session.input_audio.append(pcm[start : start + MAX_APPEND_BYTES])

    async def close_session(self, timeout: float, *, wait: bool = True) -> None:
        """Send ``session.close`` if a server session is started; wait for ``session.closed``.

        The wait lasts at most ``timeout`` seconds, and none when ``wait`` is false
        (from a handler, which the answer would have to wait for). A send that
        fails (the connection went meanwhile) is logged: closing goes on.
        """
        if not self.exchange.started or self.attach is not None:
            return  # a sideband leaves the session it watches running
        self._closed = anyio.Event()
        try:
            await self._send_event(LiveSessionCloseEvent())
        except RealtimeError as exc:
            logger.debug("session.close not sent: %s", exc)
            return
        if wait:
            with anyio.move_on_after(timeout):
                await self._closed.wait()

    async def _on_closed(self, event: LiveSessionClosedEvent) -> None:
        # session.closed is the server's last word on a Live session: the run ends.
        self._closed.set()
        await self._end_run()

    def _connection_lost(self, session: Any, **_: Any) -> None:
        # No session.closed will come on a closed connection.
        self._closed.set()
