"""Stand-ins for the parts of a Realtime session that a Live session does not have.

A ``Session(protocol="live")`` keeps the attributes of a Realtime one
(``response``, ``conversation``, ``turns``, ``metrics``, the audio buffers), so
that code written for either reads the same; on Live each is a
:class:`RealtimeOnly`, whose every use raises
:class:`~realtime_events.errors.RealtimeError` saying what to do instead.
"""

from __future__ import annotations

from typing import Any

from ..errors import RealtimeError

__all__ = [
    "LIVE_METRICS",
    "NO_BUFFER",
    "NO_ITEMS",
    "NO_RESPONSES",
    "NO_TURNS",
    "RealtimeOnly",
    "nothing",
    "realtime_only_parts",
    "write_nothing",
]


class RealtimeOnly:
    """Stands for a part of a Realtime session in a Live one: any use says what to do instead."""

    def __init__(self, name: str, instead: str) -> None:
        self._name = name
        self._instead = instead

    def __repr__(self) -> str:
        return f"<session.{self._name}: Realtime only>"

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        raise RealtimeError(
            f"session.{self._name}.{attribute}: session.{self._name} is a part of the Realtime "
            f"protocol, and this session speaks Live: {self._instead}"
        )


NO_ITEMS = (
    "Live has no conversation items; session.live.history holds the turns, "
    "made of the input and output transcript deltas"
)
NO_RESPONSES = (
    "Live has no response lifecycle (the model answers when it hears the user); "
    "session.live.response.create() asks a Responses delegation backend to go on"
)
NO_TURNS = "Live turns have no end event: handle session.output_transcript.delta"
LIVE_METRICS = (
    "Live has no responses to time: session.live.metrics has the usage, the time to "
    "first audio and the reconnects"
)
NO_BUFFER = (
    "send audio with send_audio() or session.live.session.input_audio.append(); the "
    "server detects the end of each turn, so there is nothing to commit or clear"
)


def realtime_only_parts() -> dict[str, RealtimeOnly]:
    """A stand-in for each Realtime-only attribute of a session, by attribute name."""
    return {
        name: RealtimeOnly(name, instead)
        for name, instead in (
            ("conversation", NO_ITEMS),
            ("response", NO_RESPONSES),
            ("turns", NO_TURNS),
            ("metrics", LIVE_METRICS),
            ("input_audio_buffer", NO_BUFFER),
            ("output_audio_buffer", NO_BUFFER),
        )
    }


async def write_nothing(write: Any) -> None:
    """Nothing to replay after a reconnect: Live carries it in session.start."""


async def nothing() -> None:
    """Nothing waits for a Live reconnect."""
