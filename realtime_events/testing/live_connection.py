"""A Live client's connection to the local server: what differs from the shared I/O.

The engine is a :class:`~realtime_events.testing.live.LiveEngine`, one per
connection, as each primary WebSocket is a new server session: nothing is
sent before the client's ``session.start``; speech is paced by the Live
:func:`~realtime_events.testing.live.audio_ms`; once the engine has sent
``session.closed`` the socket closes with 1000; the session cap ends the
session as ``expired``; and a client gone without closing ends it as
``connection_lost``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .connection import EngineConnection
from .live import LiveEngine, audio_ms

__all__ = ["LiveServerConnection"]


class LiveServerConnection(EngineConnection[LiveEngine]):
    """One Live client connected to the server."""

    MALFORMED: ClassVar[str] = '{"type": "session.output_transcript.delta", "oops": '

    def audio_ms(self, event: Mapping[str, Any]) -> float:
        """How long a Live output audio delta plays, in ms (0 for other events)."""
        return audio_ms(event)

    def expire(self, seconds: float) -> Sequence[Mapping[str, Any]]:
        """``session.closed`` with reason ``expired`` (nothing if the session never started)."""
        return self.engine.close("expired")

    def finished(self) -> bool:
        """True once the engine has ended the session (``session.closed`` was sent)."""
        return self.engine.closed

    def lost(self) -> None:
        """The client left without ``session.close``: the session ends as ``connection_lost``."""
        self.engine.close("connection_lost")
