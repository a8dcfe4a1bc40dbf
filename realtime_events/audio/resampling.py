"""Resampling: a streaming polyphase sample-rate converter, and format conversion on top.

:class:`Resampler` changes the rate of PCM16 audio; :class:`Converter` adds the
G.711 decoding and encoding around it, so any API format converts to any other
(or to linear audio at another rate) in one streaming object.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from functools import lru_cache
from operator import mul
from typing import Any

from .formats import G711_ALAW, G711_ULAW, PCM16, AudioFormat, _samples, _to_bytes
from .g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

__all__ = ["Converter", "Resampler", "from_pcm16_24k", "resample", "to_pcm16_24k"]

# -------------------------------------------------------------------------- resampler

# Half the filter's length, in samples of the lower of the two rates. 16 keeps
# the transition band near 0.15 of the lower rate (3.1-4.3 kHz at 8 kHz) at
# about 30 multiply-adds per output sample, fast enough in pure Python.
_HALF_TAPS = 16
# Cutoff as a fraction of the lower rate's Nyquist frequency.
_ROLLOFF = 0.9
# Kaiser beta: at least 70 dB of stopband attenuation.
_KAISER_BETA = 7.0
# A rate ratio p/q needs p filter phases; this caps the table's size.
_MAX_PHASES = 4096


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


class Resampler:
    """A streaming PCM16 sample-rate converter with a windowed-sinc low-pass filter.

    Converts between any two rates whose reduced ratio needs at most 4096 filter
    phases, which covers 8000, 16000, 22050, 24000, 44100 and 48000 Hz in every
    direction. The filter is a Kaiser-windowed sinc whose response is flat
    (within 0.1 dB) to 0.75 of the lower rate's Nyquist frequency, -6 dB at 0.9
    of it, and at least 70 dB down from 1.1 of it, so downsampling does not
    alias audibly. It is polyphase: every output is computed directly at its
    exact fractional position, with no intermediate upsampled signal.

    :meth:`process` carries the filter history and fractional position across
    calls, so feeding a stream in any chunking gives the same output, sample
    for sample, as converting it in one go; a dangling odd byte is kept until the
    next chunk. Output lags input by the filter's half-length (16 samples of the
    lower rate: 2 ms at 8 kHz); :meth:`flush` ends the stream, returns what is
    still held back, and makes the resampler ready for a new stream. A whole
    stream yields ``ceil(n * to_rate / from_rate)`` samples for ``n`` input
    samples, the first aligned with the first input sample.

    ``channels`` > 1 converts interleaved audio, each channel separately.
    """

    def __init__(self, from_rate: int, to_rate: int, channels: int = 1) -> None:
        """Prepare to convert from ``from_rate`` to ``to_rate`` Hz."""
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError("sample rates must be positive")
        if channels < 1:
            raise ValueError("channels must be at least 1")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.channels = channels
        common = math.gcd(from_rate, to_rate)
        self._up = to_rate // common
        self._down = from_rate // common
        if self._up > _MAX_PHASES:
            raise ValueError(
                f"cannot resample {from_rate} Hz to {to_rate} Hz: the ratio "
                f"{self._up}/{self._down} needs too many filter phases"
            )
        self._frame = 2 * channels
        self._bank: tuple[tuple[float, ...], ...] = ()
        self._half = 0
        if from_rate != to_rate:
            self._bank, self._half = _filter_bank(self._up, self._down)
        # Per phase: how far the next output's window moves, and its phase.
        self._advance = [(p + self._down) // self._up for p in range(self._up)]
        self._next = [(p + self._down) % self._up for p in range(self._up)]
        self.reset()

    def reset(self) -> None:
        """Forget the stream in progress, dropping any audio held back."""
        self._pending = b""
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

    def process(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """Convert the next piece of the stream, returning all output it completes."""
        data = self._pending + bytes(chunk) if self._pending else bytes(chunk)
        usable = len(data) - len(data) % self._frame
        self._pending = data[usable:]
        if not usable:
            return b""
        if self.from_rate == self.to_rate:
            return data[:usable]
        samples = _samples(memoryview(data)[:usable])
        self._frames_in += len(samples) // self.channels
        return self._convert(samples)

    def flush(self) -> bytes:
        """End the stream: return the output still held back, then reset.

        A dangling partial sample is not sound and is dropped.
        """
        if self.from_rate == self.to_rate:
            self.reset()
            return b""
        total = -(-self._frames_in * self._up // self._down)
        missing = total - self._frames_out
        out = b""
        if missing > 0:
            padding = array("h", bytes(2 * self.channels * self._half))
            out = self._convert(padding, limit=missing)
        self.reset()
        return out


def resample(pcm: bytes | bytearray | memoryview, from_rate: int, to_rate: int) -> bytes:
    """Return mono PCM16 audio converted from ``from_rate`` to ``to_rate`` Hz.

    The same as one :class:`Resampler` fed all of ``pcm`` and flushed.
    """
    resampler = Resampler(from_rate, to_rate)
    return resampler.process(pcm) + resampler.flush()


# ------------------------------------------------------------------------- converter


class Converter:
    """A streaming conversion between any two audio formats and rates.

    Decodes G.711 if the source is G.711, resamples, and encodes G.711 if the
    target is G.711. Rates default to each format's API rate; pass ``from_rate``
    or ``to_rate`` for PCM16 at another rate (say 16 kHz from a microphone, or
    8 kHz linear audio from a telephony provider). Like :class:`Resampler`, it
    keeps its state between :meth:`process` calls, so chunk edges are seamless.
    """

    def __init__(
        self,
        from_fmt: AudioFormat | str | Mapping[str, Any],
        to_fmt: AudioFormat | str | Mapping[str, Any],
        *,
        from_rate: int | None = None,
        to_rate: int | None = None,
    ) -> None:
        """Prepare to convert ``from_fmt`` audio to ``to_fmt`` audio."""
        self.from_fmt = AudioFormat.from_wire(from_fmt)
        self.to_fmt = AudioFormat.from_wire(to_fmt)
        self.from_rate = from_rate or self.from_fmt.sample_rate
        self.to_rate = to_rate or self.to_fmt.sample_rate
        self._resampler = Resampler(self.from_rate, self.to_rate)

    def _decode(self, data: bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
        if self.from_fmt is G711_ULAW:
            return ulaw_decode(data)
        if self.from_fmt is G711_ALAW:
            return alaw_decode(data)
        return data

    def _encode(self, pcm: bytes) -> bytes:
        if self.to_fmt is G711_ULAW:
            return ulaw_encode(pcm)
        if self.to_fmt is G711_ALAW:
            return alaw_encode(pcm)
        return pcm

    def process(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """Convert the next piece of the stream, returning all output it completes."""
        return self._encode(self._resampler.process(self._decode(chunk)))

    def flush(self) -> bytes:
        """End the stream: return the output still held back, then reset."""
        return self._encode(self._resampler.flush())

    def convert(self, data: bytes | bytearray | memoryview) -> bytes:
        """Convert a whole stream in one call (:meth:`process` then :meth:`flush`)."""
        return self.process(data) + self.flush()


def to_pcm16_24k(
    data: bytes | bytearray | memoryview,
    fmt: AudioFormat | str | Mapping[str, Any],
    rate: int | None = None,
) -> bytes:
    """Return audio in ``fmt`` (at ``rate``, default the format's own) as 24 kHz PCM16."""
    return Converter(fmt, PCM16, from_rate=rate).convert(data)


def from_pcm16_24k(
    pcm: bytes | bytearray | memoryview,
    fmt: AudioFormat | str | Mapping[str, Any],
    rate: int | None = None,
) -> bytes:
    """Return 24 kHz PCM16 audio converted to ``fmt`` (at ``rate``, default the format's own)."""
    return Converter(PCM16, fmt, to_rate=rate).convert(pcm)
