"""What a run of a session is handed: its settings, and the session's parts as plain callables.

A :class:`~realtime_events.supervisor.Supervisor` knows nothing of ``Session``
(docs/design.md): the session builds a :class:`RunHooks` and a
:class:`RunSettings` for each run, and the supervisor calls only those.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .connection import WebSocket
from .dispatch import Dispatcher
from .events import ClientEvent, ServerEvent
from .frames import FrameParser
from .reconnect import ReconnectPolicy
from .recording import Recorder

__all__ = ["RunHooks", "RunSettings", "SessionState", "Write"]

SessionState = Literal["idle", "connecting", "open", "reconnecting", "closing", "closed"]
Write = Callable[[ClientEvent], Awaitable[None]]


@dataclass(frozen=True)
class RunSettings:
    """The numbers a run obeys."""

    reconnect: ReconnectPolicy | None
    renew_after: float | None
    close_timeout: float
    max_pending_bytes: int


@dataclass(frozen=True)
class RunHooks:
    """What a run needs from its session, as plain callables."""

    dispatcher: Dispatcher
    #: Open a new connection (the handshake; raises ConnectionFailedError).
    open: Callable[[], Awaitable[WebSocket]]
    #: Send the session configuration on a fresh connection.
    configure: Callable[[Write], Awaitable[None]]
    #: Replay the conversation into a new server session.
    restore: Callable[[Write], Awaitable[None]]
    #: Take a server event that only echoes what ``restore`` sent; True if it did.
    absorb: Callable[[ServerEvent], bool]
    #: The classes of the events ``absorb`` may take: others skip it on the reader's fast path.
    absorbs: tuple[type[ServerEvent], ...]
    #: After a reconnect: send what waited for it (queued response requests).
    resume: Callable[[], Awaitable[None]]
    #: Return once no response is running (renewal waits for a quiet moment).
    idle: Callable[[], Awaitable[None]]
    #: Parses the frames (and reports what is not an event).
    parse: FrameParser
    #: Send a lifecycle signal with the session as sender.
    signal: Callable[..., None]
    #: Long-running tasks that live as long as the run (plugins' ``run``).
    tasks: Sequence[Callable[[], Awaitable[None]]] = ()
    recorder: Recorder | None = None
