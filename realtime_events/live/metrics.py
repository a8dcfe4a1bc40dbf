"""What a Live session costs and how fast it answers: usage, time to first audio, reconnects.

The Live protocol has no responses to time: the model answers when it hears
the user, and its turns have no end event. :class:`LiveMetrics` measures what
the protocol does tell:

- usage, as the server reports it: ``session.usage.updated`` (cumulative
  billable seconds, and how full the context window is) and the final usage
  of ``session.closed``;
- the time to first audio of each answer: from the last transcript delta of
  the user's turn (the server has heard the user out) to the first output
  audio delta after it, on this machine's clock;
- reconnects, and the time spent reconnecting.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from .. import signals
from .events import (
    LiveInputTranscriptDeltaEvent,
    LiveOutputAudioDeltaEvent,
    LiveSessionClosedEvent,
    LiveSessionUsageUpdatedEvent,
)
from .payloads import LiveUsage

__all__ = ["LiveMetrics"]

#: How many answers' times :attr:`LiveMetrics.first_audio` keeps, newest last.
KEEP_ANSWERS = 100


class LiveMetrics:
    """Usage, time to first audio and reconnects of one Live session (``session.metrics``)."""

    def __init__(self, session: Any = None, *, keep: int = KEEP_ANSWERS) -> None:
        #: The newest usage the server reported (cumulative: never add two up).
        self.usage: LiveUsage | None = None
        #: The context window's fill, active tokens over the model's limit (None: not told).
        self.context_usage_ratio: float | None = None
        #: Seconds from the end of each user turn to the first audio of the answer.
        self.first_audio: deque[float] = deque(maxlen=keep)
        self.reconnects = 0
        #: Seconds spent between losing a connection and having it back.
        self.reconnect_time = 0.0
        self._heard_at: float | None = None
        self._lost_at: float | None = None
        self._session: Any = None
        if session is not None:
            self.attach(session)

    def __repr__(self) -> str:
        seconds = self.usage.seconds if self.usage is not None else None
        return f"<LiveMetrics seconds={seconds} answers={len(self.first_audio)}>"

    def attach(self, session: Any) -> None:
        """Register the handlers and signal receivers on a Live ``session``."""
        if self._session is not None:
            raise RuntimeError("this LiveMetrics is already attached to a session")
        self._session = session
        session.on("session.usage.updated", self._on_usage)
        session.on("session.closed", self._on_closed)
        session.on("session.input_transcript.delta", self._on_heard)
        session.on("session.output_audio.delta", self._on_audio)
        # Weak receivers (bound methods): they live exactly as long as the session.
        signals.disconnected.connect(self._on_disconnected, sender=session)
        signals.reconnected.connect(self._on_reconnected, sender=session)

    @property
    def time_to_first_audio(self) -> float | None:
        """The newest answer's time to first audio, in seconds (None before one)."""
        return self.first_audio[-1] if self.first_audio else None

    def summary(self) -> dict[str, Any]:
        """The totals and the mean time to first audio, for logs and dashboards."""
        times = list(self.first_audio)
        return {
            "seconds": self.usage.seconds if self.usage is not None else None,
            "context_usage_ratio": self.context_usage_ratio,
            "answers": len(times),
            "time_to_first_audio": sum(times) / len(times) if times else None,
            "reconnects": self.reconnects,
            "reconnect_time": self.reconnect_time,
        }

    def _on_usage(self, event: LiveSessionUsageUpdatedEvent) -> None:
        self.usage = event.usage
        if event.context_window is not None:
            self.context_usage_ratio = event.context_window.usage_ratio

    def _on_closed(self, event: LiveSessionClosedEvent) -> None:
        if event.usage is not None:
            self.usage = event.usage

    def _on_heard(self, event: LiveInputTranscriptDeltaEvent) -> None:
        self._heard_at = time.perf_counter()

    def _on_audio(self, event: LiveOutputAudioDeltaEvent) -> None:
        if self._heard_at is not None:
            self.first_audio.append(time.perf_counter() - self._heard_at)
            self._heard_at = None

    def _on_disconnected(self, session: Any, *, will_reconnect: bool = False, **_: Any) -> None:
        self._heard_at = None
        if will_reconnect:
            self._lost_at = time.perf_counter()

    def _on_reconnected(self, session: Any, **_: Any) -> None:
        self.reconnects += 1
        if self._lost_at is not None:
            self.reconnect_time += time.perf_counter() - self._lost_at
            self._lost_at = None
