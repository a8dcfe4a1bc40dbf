"""The soxr engine against the pure-Python one, on real speech: same length, aligned, close.

The stated tolerance (realtime_events.audio.resampling's docstring): on speech,
the two outputs differ by less than -60 dB of the signal below 0.75 of the lower
rate's Nyquist frequency, where both filters are flat, and by less than -20 dB
over the whole band; all of the difference is in the transition band, where
soxr's filter keeps more. The recordings are espeak-ng speech (tests/audio).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realtime_events.audio import Converter, Resampler, read_wav, resample

np: Any = pytest.importorskip("numpy")
pytest.importorskip("soxr")

RECORDINGS = Path(__file__).parent / "audio"
NAMES = sorted(json.loads((RECORDINGS / "recordings.json").read_text()))

# Telephony both ways on every recording, and the other rates a client meets on one.
CASES = [
    *((name, 24000, 8000) for name in NAMES),
    *((name, 8000, 24000) for name in NAMES),
    *(("weather_paris.wav", a, b) for a, b in [(24000, 16000), (16000, 24000), (48000, 24000)]),
]


def speech(name: str, rate: int) -> bytes:
    """A recording at ``rate``: 24 kHz as recorded, else converted from it by soxr."""
    pcm, recorded = read_wav(RECORDINGS / name)
    return pcm if rate == recorded else resample(pcm, recorded, rate, engine="soxr")


def agreement_db(reference: Any, other: Any, rate: int, top: float) -> float:
    """Signal-to-difference ratio in dB over the frequencies up to ``top`` Hz."""
    ref = np.fft.rfft(reference.astype(float))
    diff = np.fft.rfft(other.astype(float) - reference)
    band = np.fft.rfftfreq(len(reference), 1 / rate) <= top
    return float(10 * math.log10((abs(ref[band]) ** 2).sum() / (abs(diff[band]) ** 2).sum()))


def lag(reference: Any, other: Any) -> int:
    """Where ``other`` best lines up with ``reference``, in samples (within +-4)."""
    edge, n = 8, len(reference)
    reference, other = reference.astype(float), other.astype(float)  # int16 products overflow
    scores = [
        float(np.dot(reference[edge : n - edge], other[edge + k : n - edge + k]))
        for k in range(-4, 5)
    ]
    return scores.index(max(scores)) - 4


@pytest.mark.parametrize(("name", "from_rate", "to_rate"), CASES)
def test_soxr_and_python_agree_on_speech(name: str, from_rate: int, to_rate: int) -> None:
    source = speech(name, from_rate)
    python = np.frombuffer(resample(source, from_rate, to_rate, engine="python"), "<i2")
    soxr = np.frombuffer(resample(source, from_rate, to_rate, engine="soxr"), "<i2")
    assert len(soxr) == len(python) == math.ceil(len(source) // 2 * to_rate / from_rate)
    assert lag(python, soxr) == 0
    flat = 0.75 * min(from_rate, to_rate) / 2
    assert agreement_db(python, soxr, to_rate, flat) > 60
    assert agreement_db(python, soxr, to_rate, to_rate / 2) > 20


@pytest.mark.parametrize("name", NAMES)
def test_soxr_streams_telephony_in_20_ms_chunks_like_one_shot(name: str) -> None:
    # What a phone bridge does: 20 ms of 8 kHz audio at a time, to 24 kHz and back.
    source = speech(name, 8000)
    up, down = Resampler(8000, 24000, engine="soxr"), Resampler(24000, 8000, engine="soxr")
    assert up.engine == down.engine == "soxr"
    wide = b"".join(up.process(source[i : i + 320]) for i in range(0, len(source), 320))
    wide += up.flush()
    assert wide == resample(source, 8000, 24000, engine="soxr")
    back = b"".join(down.process(wide[i : i + 960]) for i in range(0, len(wide), 960))
    back += down.flush()
    assert len(back) == len(source)
    original, returned = np.frombuffer(source, "<i2"), np.frombuffer(back, "<i2")
    # Up and down again loses only what lies above the telephone band's filter.
    assert agreement_db(original, returned, 8000, 3000) > 40


def test_g711_telephony_runs_on_soxr_by_default() -> None:
    converter = Converter("g711_ulaw", "pcm16")
    assert converter._resampler.engine == "soxr"
    assert len(converter.convert(bytes(160))) == 2 * 480


def test_without_soxr_the_python_engine_runs_and_soxr_is_refused() -> None:
    # A fresh interpreter where soxr cannot be imported: the fallback is chosen
    # and asking for soxr says how to install it.
    code = """
import sys
sys.modules["soxr"] = None
from realtime_events.audio import Resampler, default_engine
assert default_engine() == "python", default_engine()
assert Resampler(8000, 24000).engine == "python"
try:
    Resampler(8000, 24000, engine="soxr")
except ImportError as exc:
    assert "realtime-events[audio]" in str(exc), exc
else:
    raise AssertionError("engine='soxr' was accepted without soxr")
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_importing_the_audio_package_imports_neither_numpy_nor_soxr() -> None:
    code = (
        "import sys, realtime_events.audio; "
        "print(sorted(m for m in ('numpy', 'soxr') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
