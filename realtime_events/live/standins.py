"""Stand-ins for the parts of a Realtime session that a Live session does not have.

A ``Session(protocol="live")`` keeps the attributes of a Realtime one
(``response``, ``conversation``, ``turns``, ``metrics``, the audio buffers), so
that code written for either reads the same; on Live each is a
:class:`RealtimeOnly`, whose every use raises
:class:`~realtime_events.errors.RealtimeError` saying what to do instead.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidConfigError, RealtimeError

__all__ = [
    "LIVE_METRICS",
    "NO_BUFFER",
    "NO_ITEMS",
    "NO_RESPONSES",
    "NO_TURNS",
    "RealtimeOnly",
    "nothing",
    "one_format",
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


def one_format(input_format: Any, output_format: Any) -> Any:
    """Live's one audio format, from the Realtime pair of arguments."""
    if input_format is not None and output_format is not None and input_format != output_format:
        raise InvalidConfigError(
            "a Live session has one audio format for both directions: give "
            "input_audio_format or output_audio_format, or equal ones",
            "audio.format",
        )
    return input_format if input_format is not None else output_format


async def write_nothing(write: Any) -> None:
    """Nothing to replay after a reconnect: Live carries it in session.start."""


async def nothing() -> None:
    """Nothing waits for a Live reconnect."""
