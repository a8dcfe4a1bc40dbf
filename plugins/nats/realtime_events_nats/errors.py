"""The plugin's exceptions: each says what went wrong and about which session."""

from __future__ import annotations

from realtime_events import RealtimeError

__all__ = [
    "AsyncioOnlyError",
    "CommandError",
    "CommandRefusedError",
    "CommandTimeoutError",
    "InvalidJobError",
    "NatsPluginError",
    "NatsUnavailableError",
    "UnknownCommandError",
    "UnknownSessionError",
]


class NatsPluginError(RealtimeError):
    """Base class of the NATS plugin's errors."""


class AsyncioOnlyError(NatsPluginError):
    """The plugin was used on another event loop than asyncio (nats-py is asyncio-only)."""


class NatsUnavailableError(NatsPluginError):
    """The NATS server could not be reached (or has no JetStream)."""


class InvalidJobError(NatsPluginError, ValueError):
    """A job payload that is not a session job: it is rejected, never retried."""


class CommandError(NatsPluginError):
    """A command could not be carried out; ``session_id`` and ``command`` say which."""

    def __init__(self, message: str, *, session_id: str, command: str) -> None:
        super().__init__(message)
        self.session_id = session_id
        self.command = command


class UnknownSessionError(CommandError, LookupError):
    """No such session was ever started, or it has ended."""


class UnknownCommandError(CommandError):
    """The session's worker knows no command of that name."""


class CommandRefusedError(CommandError):
    """The session refused the command (its handler raised); the message says why."""


class CommandTimeoutError(CommandError, TimeoutError):
    """No answer in time: no worker holds the session yet, or it did not reply."""
