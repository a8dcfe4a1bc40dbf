"""The pure-Python resampling engine: a streaming polyphase windowed-sinc filter.

What :class:`~realtime_events.audio.Resampler` runs when soxr is not installed
(and on request, ``engine="python"``). Standard library only; about 30
multiply-adds per output sample, so 8 kHz <-> 24 kHz telephony costs a few
percent of a core per call direction, where soxr costs a few hundredths.
"""

from __future__ import annotations

import math
from array import array
from functools import lru_cache
from operator import mul

from .formats import _samples, _to_bytes

__all__ = ["MAX_PHASES", "PolyphaseEngine"]

# Half the filter's length, in samples of the lower of the two rates. 16 keeps
# the transition band near 0.15 of the lower rate (3.1-4.3 kHz at 8 kHz) at
# about 30 multiply-adds per output sample, fast enough in pure Python.
_HALF_TAPS = 16
# Cutoff as a fraction of the lower rate's Nyquist frequency.
_ROLLOFF = 0.9
# Kaiser beta: at least 70 dB of stopband attenuation.
_KAISER_BETA = 7.0
#: A rate ratio p/q needs p filter phases; this caps the table's size.
MAX_PHASES = 4096


def _bessel_i0(x: float) -> float:
    """Return the modified Bessel function of the first kind, order 0."""
    total = term = 1.0
    k = 0
    while term > 1e-16 * total:
        k += 1
        term *= (x / (2 * k)) ** 2
        total += term
    return total


@lru_cache(maxsize=64)
def _filter_bank(up: int, down: int) -> tuple[tuple[tuple[float, ...], ...], int]:
    """Return the polyphase windowed-sinc filter for resampling by ``up/down``.

    Phase ``p`` holds the taps for an output that falls ``p/up`` of an input
    sample after an input sample; the second item is the half-length in input
    samples. Each phase is normalised to unit gain at DC so a constant signal
    stays exactly constant.
    """
    scale = min(1.0, up / down)
    half = math.ceil(_HALF_TAPS / scale)
    cutoff = scale * _ROLLOFF  # in units of the input's Nyquist frequency
    norm = _bessel_i0(_KAISER_BETA)
    bank = []
    for phase in range(up):
        offset = phase / up
        taps = []
        for i in range(2 * half):
            t = offset + half - 1 - i  # output time minus this tap's input time
            x = math.pi * cutoff * t
            sinc = math.sin(x) / x if x else 1.0
            edge = t / half
            window = _bessel_i0(_KAISER_BETA * math.sqrt(max(0.0, 1.0 - edge * edge))) / norm
            taps.append(sinc * window)
        gain = sum(taps)
        bank.append(tuple(tap / gain for tap in taps))
    return tuple(bank), half


def _to_int16(values: list[float]) -> array[int]:
    try:
        return array("h", map(round, values))
    except OverflowError:
        # Overshoot near full scale is rare, so clip only when it happens.
        return array("h", [max(-32768, min(32767, round(v))) for v in values])


class PolyphaseEngine:
    """Converts whole PCM16 frames from ``up/down`` times one rate to the other, streaming.

    Kaiser-windowed sinc, flat (within 0.1 dB) to 0.75 of the lower rate's
    Nyquist frequency, -6 dB at 0.9 of it, at least 70 dB down from 1.1 of it.
    Every output is computed at its exact fractional position, with no
    intermediate upsampled signal. The first output is aligned with the first
    input sample; :meth:`flush` completes the stream to ``ceil(n * up / down)``
    frames and resets.
    """

    def __init__(self, up: int, down: int, channels: int) -> None:
        """Prepare the filter bank for the reduced ratio ``up/down``."""
        self._up, self._down, self.channels = up, down, channels
        self._bank, self._half = _filter_bank(up, down)
        # Per phase: how far the next output's window moves, and its phase.
        self._advance = [(p + down) // up for p in range(up)]
        self._next = [(p + down) % up for p in range(up)]
        self.reset()

    def reset(self) -> None:
        """Forget the stream in progress."""
        # The first output is centred on the first input sample, so the
        # window starts half a filter before it, over silence.
        self._buffers: list[list[float]] = [[0.0] * (self._half - 1) for _ in range(self.channels)]
        self._start = 0
        self._phase = 0
        self._frames_in = 0
        self._frames_out = 0

    def _run(self, buffer: list[float]) -> tuple[list[float], int, int]:
        """Compute every output whose window lies inside ``buffer``."""
        bank, advance, next_phase = self._bank, self._advance, self._next
        taps = 2 * self._half
        start, phase = self._start, self._phase
        last = len(buffer) - taps
        out: list[float] = []
        append = out.append
        if self._down == 1:
            # Integer upsampling: each window serves all phases in turn.
            while start <= last:
                window = buffer[start : start + taps]
                for coefficients in bank[phase:]:
                    append(sum(map(mul, coefficients, window)))
                phase = 0
                start += 1
        else:
            while start <= last:
                append(sum(map(mul, bank[phase], buffer[start : start + taps])))
                start += advance[phase]
                phase = next_phase[phase]
        return out, start, phase

    def _convert(self, samples: array[int], limit: int | None = None) -> bytes:
        channels = self.channels
        results: list[list[float]] = []
        start = phase = 0
        for channel, buffer in enumerate(self._buffers):
            buffer.extend(map(float, samples[channel::channels] if channels > 1 else samples))
            out, start, phase = self._run(buffer)
            del buffer[:start]
            results.append(out if limit is None else out[:limit])
        self._start, self._phase = 0, phase
        if channels == 1:
            pcm = _to_int16(results[0])
        else:
            pcm = array("h", bytes(2 * channels * len(results[0])))
            for channel, out in enumerate(results):
                pcm[channel::channels] = _to_int16(out)
        self._frames_out += len(pcm) // channels
        return _to_bytes(pcm)

    def process(self, frames: bytes | memoryview) -> bytes:
        """Convert whole frames of little-endian PCM16; return the output they complete."""
        samples = _samples(frames)
        self._frames_in += len(samples) // self.channels
        return self._convert(samples)

    def flush(self) -> bytes:
        """Return the output still held back, then reset."""
        total = -(-self._frames_in * self._up // self._down)
        missing = total - self._frames_out
        out = b""
        if missing > 0:
            padding = array("h", bytes(2 * self.channels * self._half))
            out = self._convert(padding, limit=missing)
        self.reset()
        return out
