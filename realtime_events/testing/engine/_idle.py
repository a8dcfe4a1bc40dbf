"""The idle timeout of server VAD: how long the user has been silent since the assistant spoke.

With ``turn_detection.idle_timeout_ms`` set, the real server triggers a
response when no speech starts within that long after the last response's
audio finished playing. The engine never sleeps, so time reaches it two
ways, and the timer keeps the further of the two:

- input audio: a client streaming audio (a phone call does) moves the clock
  by the audio's duration, which is how the event's ``audio_start_ms`` /
  ``audio_end_ms`` are counted;
- :meth:`IdleTimer.advance`: the I/O layer tells how much wall time passed,
  for a client that sends no audio while it waits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Armed:
    """Where the wait began: the input audio position at ``response.done``, and what plays after."""

    stream_ms: float
    playback_ms: float
    waited_ms: float = 0.0  # wall time told by advance() since


class IdleTimer:
    """Counts silence after the assistant's last response, in audio and in wall time."""

    def __init__(self) -> None:
        self._armed: _Armed | None = None

    @property
    def armed(self) -> bool:
        """True while waiting for the user after a response."""
        return self._armed is not None

    def arm(self, stream_ms: float, playback_ms: float) -> None:
        """A response was done at input position ``stream_ms``; its audio plays ``playback_ms``."""
        self._armed = _Armed(stream_ms, playback_ms)

    def disarm(self) -> None:
        """Speech started, or a response began: nobody is waiting any more."""
        self._armed = None

    def advance(self, ms: float) -> None:
        """``ms`` of wall time passed (the I/O layer's clock)."""
        if self._armed is not None:
            self._armed.waited_ms += ms

    def due(self, stream_ms: float, timeout_ms: int) -> tuple[int, int] | None:
        """``(audio_start_ms, audio_end_ms)`` once ``timeout_ms`` passed after playback, else None.

        The start is where playback ended in the input audio's clock; the end
        is that plus the silence waited, whichever clock counted further.
        """
        armed = self._armed
        if armed is None:
            return None
        elapsed = max(stream_ms - armed.stream_ms, armed.waited_ms)
        if elapsed < armed.playback_ms + timeout_ms:
            return None
        start = armed.stream_ms + armed.playback_ms
        return round(start), round(armed.stream_ms + elapsed)
