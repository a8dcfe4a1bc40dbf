"""The idle timeout of server VAD: how long the user has been silent since the assistant spoke.

With ``turn_detection.idle_timeout_ms`` set, the real server triggers a
response when no speech starts within that long after the last response's
audio finished playing. The client plays the audio as it arrives, so the
playback runs from the response's first audio delta, however fast the rest
of the response is streamed (a paced server streams it in real time, and
its ``response.done`` comes when the playback is nearly over). The engine
never sleeps, so time reaches it two ways, and the timer keeps the further
of the two:

- input audio: a client streaming audio (a phone call does) moves the clock
  by the audio's duration, which is how the event's ``audio_start_ms`` /
  ``audio_end_ms`` are counted;
- :meth:`IdleTimer.advance`: the I/O layer tells how much wall time passed,
  for a client that sends no audio while it waits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Mark:
    """A moment on both clocks: the input audio position and the wall time told so far."""

    stream_ms: float
    wall_ms: float


@dataclass(frozen=True, slots=True)
class _Armed:
    """Where the playback of the last response began, and how long it plays."""

    began: _Mark
    playback_ms: float


class IdleTimer:
    """Counts silence after the assistant's last response, in audio and in wall time."""

    def __init__(self) -> None:
        self._armed: _Armed | None = None
        self._playing: _Mark | None = None  # the first audio of the response in progress
        self._wall_ms = 0.0  # all wall time told by advance()

    @property
    def armed(self) -> bool:
        """True while waiting for the user after a response."""
        return self._armed is not None

    def playback_started(self, stream_ms: float) -> None:
        """The response's first audio is sent at input position ``stream_ms``: it plays from now."""
        if self._playing is None:
            self._playing = _Mark(stream_ms, self._wall_ms)

    def arm(self, stream_ms: float, playback_ms: float) -> None:
        """A response was done at input position ``stream_ms``; its audio plays ``playback_ms``.

        The playback counts from the response's first audio, not from now: what
        of it already played while the response streamed is not waited again.
        """
        began = self._playing if playback_ms > 0 else None
        self._playing = None
        self._armed = _Armed(began or _Mark(stream_ms, self._wall_ms), playback_ms)

    def disarm(self) -> None:
        """Speech started, or a response began: nobody is waiting any more."""
        self._armed = None
        self._playing = None

    def advance(self, ms: float) -> None:
        """``ms`` of wall time passed (the I/O layer's clock)."""
        self._wall_ms += ms

    def due(self, stream_ms: float, timeout_ms: int) -> tuple[int, int] | None:
        """``(audio_start_ms, audio_end_ms)`` once ``timeout_ms`` passed after playback, else None.

        The start is where playback ended in the input audio's clock; the end
        is that plus the silence waited, whichever clock counted further.
        """
        armed = self._armed
        if armed is None:
            return None
        began = armed.began
        elapsed = max(stream_ms - began.stream_ms, self._wall_ms - began.wall_ms)
        if elapsed < armed.playback_ms + timeout_ms:
            return None
        start = began.stream_ms + armed.playback_ms
        return round(start), round(began.stream_ms + elapsed)
