"""Server-side voice activity detection for the local server.

An energy detector with the knobs of the real server's ``server_vad`` turn
detection: ``threshold`` (0..1, higher needs louder audio), ``prefix_padding_ms``
(audio kept before the detected onset) and ``silence_duration_ms`` (how long
the audio must stay quiet before speech counts as stopped).

It is fed pcm16 incrementally, in chunks of any size, and keeps its own clock
in milliseconds of audio pushed, which is how the real server reports
``audio_start_ms`` / ``audio_end_ms``: positions in all the audio appended
during the session.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..audio import rms

__all__ = ["SpeechStarted", "SpeechStopped", "VadSettings", "VoiceActivityDetector"]

#: Analysis frame length. 10 ms keeps onsets and offsets well inside the
#: ~100 ms precision clients expect, and is cheap in pure Python.
FRAME_MS = 10
#: Voiced audio needed before an onset counts, so clicks don't start a turn.
MIN_SPEECH_MS = 40


@dataclass(frozen=True, slots=True)
class VadSettings:
    """The ``server_vad`` parameters, with the real server's defaults."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 500

    @property
    def level(self) -> float:
        """Frame RMS (on the int16 scale) at or above which a frame counts as voiced.

        The threshold maps linearly onto -70..-10 dBFS: the default 0.5 is
        -40 dBFS, above a quiet room and below any speech near a microphone.
        """
        return 32768.0 * 10 ** ((-70.0 + 60.0 * self.threshold) / 20.0)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Speech began at ``onset_ms``; ``audio_start_ms`` includes the prefix padding."""

    onset_ms: int
    audio_start_ms: int


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Speech ended at ``offset_ms``; ``audio_end_ms`` includes the silence duration."""

    offset_ms: int
    audio_end_ms: int


VadEvent = SpeechStarted | SpeechStopped


class VoiceActivityDetector:
    """Incremental energy-based detector of speech onsets and offsets."""

    def __init__(self, settings: VadSettings | None = None, *, sample_rate: int = 24000) -> None:
        self.settings = settings or VadSettings()
        self.sample_rate = sample_rate
        self._frame_samples = sample_rate * FRAME_MS // 1000
        self._pending = b""
        self._frames = 0  # frames analysed since the detector was made
        self._voiced_run = 0  # consecutive voiced frames while not speaking
        self._silent_run = 0  # consecutive quiet frames while speaking
        self._speaking = False
        self._last_voiced_end = 0

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio analysed so far (whole frames only)."""
        return self._frames * FRAME_MS

    @property
    def speaking(self) -> bool:
        """True between a :class:`SpeechStarted` and the matching :class:`SpeechStopped`."""
        return self._speaking

    def reset(self, *, skip_to_ms: int | None = None) -> None:
        """Forget any speech in progress (the buffer was committed or cleared).

        The clock keeps running, since the real server counts positions over
        the whole session. ``skip_to_ms`` is unused audio the caller dropped.
        """
        self._voiced_run = 0
        self._silent_run = 0
        self._speaking = False
        if skip_to_ms is not None and skip_to_ms > self.position_ms:
            self._frames = skip_to_ms // FRAME_MS

    def push(self, pcm: bytes) -> list[VadEvent]:
        """Analyse more pcm16 little-endian mono audio; return the onsets and offsets found."""
        data = self._pending + pcm
        frame_bytes = 2 * self._frame_samples
        whole = len(data) - len(data) % frame_bytes
        self._pending = data[whole:]
        events: list[VadEvent] = []
        for start in range(0, whole, frame_bytes):
            event = self._frame(rms(data[start : start + frame_bytes]))
            if event is not None:
                events.append(event)
        return events

    def _frame(self, rms: float) -> VadEvent | None:
        self._frames += 1
        voiced = rms >= self.settings.level
        if not self._speaking:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run * FRAME_MS < MIN_SPEECH_MS:
                return None
            self._speaking = True
            self._silent_run = 0
            self._last_voiced_end = self.position_ms
            onset = self.position_ms - self._voiced_run * FRAME_MS
            padded = max(0, onset - self.settings.prefix_padding_ms)
            return SpeechStarted(onset_ms=onset, audio_start_ms=padded)
        if voiced:
            self._silent_run = 0
            self._last_voiced_end = self.position_ms
            return None
        self._silent_run += 1
        if self._silent_run * FRAME_MS < self.settings.silence_duration_ms:
            return None
        self._speaking = False
        self._voiced_run = 0
        return SpeechStopped(offset_ms=self._last_voiced_end, audio_end_ms=self.position_ms)
