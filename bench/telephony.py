"""Telephony audio: what 8 kHz <-> 24 kHz costs per call direction, on each resampling engine."""

from __future__ import annotations

import time
from pathlib import Path

from realtime_events.audio import Converter, Resampler, read_wav, resample
from realtime_events.audio.resampling import Engine
from realtime_events.audio.soxr_engine import soxr_available

from .measure import table

RECORDING = Path(__file__).parent.parent / "tests" / "audio" / "weather_paris.wav"


def _speech(seconds: float) -> bytes:
    """``seconds`` of real speech at 24 kHz: a test recording, repeated."""
    pcm, rate = read_wav(RECORDING)
    assert rate == 24000
    size = int(seconds * 24000) * 2
    return (pcm * (size // len(pcm) + 1))[:size]


def _cost(convert: Converter | Resampler, audio: bytes, chunk: int, reps: int) -> float:
    """The least CPU seconds over ``reps`` runs to stream ``audio`` in ``chunk``-byte pieces."""
    best = float("inf")
    for _ in range(reps):
        started = time.process_time()
        for at in range(0, len(audio), chunk):
            convert.process(audio[at : at + chunk])
        convert.flush()
        best = min(best, time.process_time() - started)
    return best


def telephony(seconds: float, reps: int) -> dict[str, float]:
    """Per engine and direction: % of a core that streaming in 20 ms chunks costs."""
    wide = _speech(seconds)
    narrow = resample(wide, 24000, 8000)
    ulaw = Converter("pcm16", "g711_ulaw", from_rate=24000).convert(wide)
    engines: list[Engine] = ["python", "soxr"] if soxr_available() else ["python"]
    rows, result = [], {}
    for engine in engines:
        costs = {
            "8k -> 24k": _cost(Resampler(8000, 24000, engine=engine), narrow, 320, reps),
            "24k -> 8k": _cost(Resampler(24000, 8000, engine=engine), wide, 960, reps),
            "g711 8k -> pcm16 24k": _cost(
                Converter("g711_ulaw", "pcm16", engine=engine), ulaw, 160, reps
            ),
            "pcm16 24k -> g711 8k": _cost(
                Converter("pcm16", "g711_ulaw", engine=engine), wide, 960, reps
            ),
        }
        for direction, cpu in costs.items():
            share = cpu / seconds * 100
            result[f"{engine} {direction}"] = share
            rows.append([engine, direction, f"{cpu * 1000 * 10 / seconds:.1f}", f"{share:.3f}"])
    print(table(["engine", "direction", "CPU ms per 10 s of audio", "% of a core"], rows))
    return result
