"""A Realtime client's connection to the local server: what differs from the shared I/O.

The engine is a :class:`~realtime_events.testing.engine.RealtimeEngine`;
audio is paced by its :func:`~realtime_events.testing.engine.audio_ms`; the
session cap sends the real server's ``session_expired`` error; and the
caller's phone can press keys (:meth:`ServerConnection.send_dtmf`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .connection import EngineConnection
from .engine import RealtimeEngine, audio_ms

__all__ = ["ServerConnection"]


class ServerConnection(EngineConnection[RealtimeEngine]):
    """One Realtime client connected to the server."""

    MALFORMED: ClassVar[str] = '{"type": "response.output_text.delta", "oops": '

    @property
    def dialect(self) -> str:
        """The dialect the client asked for: ``"beta"`` with the beta header, else ``"ga"``."""
        return self.engine.dialect

    async def send_dtmf(self, digits: str) -> None:
        """Press keys on the caller's phone: ``input_audio_buffer.dtmf_event_received`` for each.

        ``digits`` are keypad keys (``0``-``9``, ``*``, ``#``, ``A``-``D``), sent
        in order; an unknown key raises ``ValueError`` before anything is sent.
        """
        events = [event for digit in digits for event in self.engine.dtmf_event(digit)]
        async with self._order:
            await self.send_events(events)

    def audio_ms(self, event: Mapping[str, Any]) -> float:
        """How long a Realtime audio delta plays, in ms (0 for other events)."""
        return audio_ms(event)

    def expire(self, seconds: float) -> Sequence[Mapping[str, Any]]:
        """The ``session_expired`` error the real server sends at its cap on a session."""
        return [
            {
                "type": "error",
                "event_id": "event_cap",
                "error": {
                    "type": "invalid_request_error",
                    "code": "session_expired",
                    "message": f"Your session hit the maximum duration of {seconds:g} seconds.",
                    "param": None,
                    "event_id": None,
                },
            }
        ]
