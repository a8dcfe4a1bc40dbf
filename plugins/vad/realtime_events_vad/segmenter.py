"""From per-frame speech probabilities to speech onsets and offsets, with timestamps.

The :class:`Segmenter` takes pcm16 mono audio in chunks of any size and at
any rate, cuts it into the frames its detector wants (resampling first when
the detector can't take the input's rate), and applies the same decision
rules to every detector:

- speech starts after ``min_speech_ms`` of frames at or above ``threshold``,
  with gaps of at most ``onset_gap_ms`` between them (a stop consonant's
  closure must not restart the count); the onset is the first of those frames;
- speech stops after ``min_silence_ms`` of frames below ``release`` (the
  hangover); the offset is the end of the last frame at or above it.

Times are milliseconds of audio pushed since the segmenter was made, which is
what the Realtime server's ``audio_start_ms`` / ``audio_end_ms`` count too.
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime_events.audio import Resampler

from .detectors import Detector, EnergyDetector, detector_rate

__all__ = ["Segmenter", "SpeechEvent", "SpeechStarted", "SpeechStopped"]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Speech began at ``audio_start_ms``; it was recognised at ``detected_ms``.

    ``probability`` is the detector's highest probability over the onset
    frames (None for yes/no detectors).
    """

    audio_start_ms: float
    detected_ms: float
    probability: float | None


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Speech from ``audio_start_ms`` ended at ``audio_end_ms``; recognised at ``detected_ms``.

    ``probability`` is the mean probability over the speech's voiced frames
    (None for yes/no detectors).
    """

    audio_start_ms: float
    audio_end_ms: float
    detected_ms: float
    probability: float | None


SpeechEvent = SpeechStarted | SpeechStopped


class Segmenter:
    """Finds where speech starts and stops in a stream of pcm16 chunks."""

    def __init__(
        self,
        detector: Detector | None = None,
        *,
        threshold: float = 0.5,
        release: float | None = None,
        min_speech_ms: float = 60.0,
        min_silence_ms: float = 500.0,
        onset_gap_ms: float = 40.0,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.detector: Detector = detector if detector is not None else EnergyDetector()
        self.threshold = threshold
        #: Probability below which a frame counts as silence while speaking.
        self.release = release if release is not None else max(0.0, threshold - 0.15)
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.onset_gap_ms = onset_gap_ms
        self._input_rate: int | None = None
        self._rate = 0  # the detector's rate
        self._frame_bytes = 0
        self._frame_duration = 0.0
        self._resampler: Resampler | None = None
        self._odd = b""
        self._pending = bytearray()
        self._position = 0.0  # ms analysed
        self._pushed_samples = 0
        self._pushed_base_ms = 0.0
        self._speaking = False
        self._run_start: float | None = None
        self._run_peak = 0.0
        self._run_voiced = 0.0
        self._run_gap = 0.0
        self._speech_start = 0.0
        self._last_voiced_end = 0.0
        self._voiced_sum = 0.0
        self._voiced_count = 0
        self._graded = True  # False once the detector answered with a bool

    @property
    def speaking(self) -> bool:
        """True between a :class:`SpeechStarted` and its :class:`SpeechStopped`."""
        return self._speaking

    @property
    def position_ms(self) -> float:
        """Milliseconds of audio analysed so far (whole frames)."""
        return self._position

    @property
    def pushed_ms(self) -> float:
        """Milliseconds of audio pushed so far (including what waits for a whole frame)."""
        rate = self._input_rate
        return self._pushed_base_ms + (self._pushed_samples * 1000.0 / rate if rate else 0.0)

    @property
    def frame_ms(self) -> float:
        """The length of the detector's frames at the current rate (0 before any audio)."""
        return self._frame_duration

    @property
    def buffered_bytes(self) -> int:
        """Bytes held between calls: a partial frame and a dangling odd byte."""
        return len(self._pending) + len(self._odd)

    def reset(self) -> None:
        """Forget any speech in progress and the detector's state; the clock keeps running."""
        self._speaking = False
        self._run_start = None
        self.detector.reset()

    def _set_rate(self, rate: int) -> None:
        if rate <= 0:
            raise ValueError(f"sample rate must be positive, not {rate}")
        if self._input_rate is not None:
            self._pushed_base_ms = self.pushed_ms
            self._pushed_samples = 0
            if self._resampler is not None:
                self._analyse(self._resampler.flush())
            # A partial frame or sample of the old rate would be noise at the new one.
            self._pending.clear()
            self._odd = b""
        self._input_rate = rate
        self._rate = detector_rate(self.detector, rate)
        samples = max(1, round(self._rate * self.detector.frame_ms / 1000.0))
        self._frame_bytes = 2 * samples
        self._frame_duration = samples * 1000.0 / self._rate
        self._resampler = Resampler(rate, self._rate) if self._rate != rate else None

    def push(
        self, pcm: bytes | bytearray | memoryview, sample_rate: int = 24000
    ) -> list[SpeechEvent]:
        """Analyse more pcm16 little-endian mono audio; return the onsets and offsets it completes.

        Chunks may have any length, odd ones included (the dangling byte waits
        for the next chunk); a new ``sample_rate`` starts a new rate mid-stream.
        """
        if sample_rate != self._input_rate:
            self._set_rate(sample_rate)
        data = self._odd + bytes(pcm) if self._odd else bytes(pcm)
        whole = len(data) - len(data) % 2
        self._odd = data[whole:]
        if not whole:
            return []
        self._pushed_samples += whole // 2
        audio = data[:whole]
        if self._resampler is not None:
            audio = self._resampler.process(audio)
        return self._analyse(audio)

    def _analyse(self, audio: bytes) -> list[SpeechEvent]:
        pending = self._pending
        pending += audio
        size = self._frame_bytes
        events: list[SpeechEvent] = []
        count = len(pending) // size
        for index in range(count):
            frame = bytes(pending[index * size : (index + 1) * size])
            event = self._frame(self.detector.process(frame, self._rate))
            if event is not None:
                events.append(event)
        del pending[: count * size]
        return events

    def _frame(self, answer: float | bool) -> SpeechEvent | None:
        if isinstance(answer, bool):
            self._graded = False
        probability = float(answer)
        start = self._position
        end = self._position = start + self._frame_duration
        if not self._speaking:
            if probability < self.threshold:
                if self._run_start is not None:
                    self._run_gap += self._frame_duration
                    if self._run_gap > self.onset_gap_ms:
                        self._run_start = None
                return None
            if self._run_start is None:
                self._run_start = start
                self._run_peak = probability
                self._run_voiced = 0.0
            self._run_gap = 0.0
            self._run_peak = max(self._run_peak, probability)
            self._run_voiced += self._frame_duration
            if self._run_voiced < self.min_speech_ms - 1e-6:
                return None
            self._speaking = True
            self._speech_start = self._run_start
            self._last_voiced_end = end
            self._voiced_sum = 0.0
            self._voiced_count = 0
            self._run_start = None
            return SpeechStarted(
                audio_start_ms=self._speech_start,
                detected_ms=end,
                probability=self._run_peak if self._graded else None,
            )
        if probability >= self.release:
            self._last_voiced_end = end
            self._voiced_sum += probability
            self._voiced_count += 1
            return None
        if end - self._last_voiced_end < self.min_silence_ms:
            return None
        self._speaking = False
        mean = self._voiced_sum / self._voiced_count if self._voiced_count else self.threshold
        return SpeechStopped(
            audio_start_ms=self._speech_start,
            audio_end_ms=self._last_voiced_end,
            detected_ms=end,
            probability=mean if self._graded else None,
        )
