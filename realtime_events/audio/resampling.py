"""Resampling: a streaming sample-rate converter, and format conversion on top.

:class:`Resampler` changes the rate of PCM16 audio; :class:`Converter` adds the
G.711 decoding and encoding around it, so any API format converts to any other
(or to linear audio at another rate) in one streaming object.

Two engines run behind the one API: soxr (libsoxr, in C) when the ``soxr``
package is installed (the ``audio`` extra: ``pip install realtime-events[audio]``),
else a pure-Python polyphase filter (:mod:`.polyphase`). Both keep the same
contract: aligned output, ``ceil(n * to_rate / from_rate)`` frames per stream,
the same samples whatever the chunking. On real speech their outputs agree
within -60 dB of the signal where both filters are flat (below 0.75 of the lower
rate's Nyquist frequency) and within -20 dB over the whole band: they differ
only in the transition band, where soxr keeps more (flat to 0.91 of Nyquist).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, Protocol, TypeAlias

from .formats import G711_ALAW, G711_ULAW, PCM16, AudioFormat
from .g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from .polyphase import MAX_PHASES, PolyphaseEngine
from .soxr_engine import SoxrEngine, soxr_available

__all__ = [
    "Converter",
    "Engine",
    "Resampler",
    "default_engine",
    "from_pcm16_24k",
    "resample",
    "to_pcm16_24k",
]

#: Which engine a :class:`Resampler` runs: ``"auto"`` is soxr if installed, else Python.
Engine: TypeAlias = Literal["auto", "soxr", "python"]


def default_engine() -> Literal["soxr", "python"]:
    """Return what ``engine="auto"`` picks here: ``"soxr"`` if installed, else ``"python"``."""
    return "soxr" if soxr_available() else "python"


class _Engine(Protocol):
    def process(self, frames: bytes | memoryview) -> bytes: ...
    def flush(self) -> bytes: ...
    def reset(self) -> None: ...


class Resampler:
    """A streaming PCM16 sample-rate converter with a low-pass filter.

    Converts between any two rates whose reduced ratio needs at most 4096 filter
    phases, which covers 8000, 16000, 22050, 24000, 44100 and 48000 Hz in every
    direction (the limit holds for both engines, so code that works with soxr
    works without it). Downsampling is low-passed so it does not alias audibly:
    soxr's filter is flat to 0.91 of the lower rate's Nyquist frequency; the
    pure-Python one is flat (within 0.1 dB) to 0.75 of it, -6 dB at 0.9 and at
    least 70 dB down from 1.1.

    :meth:`process` carries the filter state across calls, so feeding a stream
    in any chunking gives the same output, sample for sample, as converting it
    in one go; a dangling odd byte is kept until the next chunk. Output lags
    input by the filter's length (2 ms at 8 kHz with the Python engine);
    :meth:`flush` ends the stream, returns what is still held back, and makes
    the resampler ready for a new stream. A whole stream yields
    ``ceil(n * to_rate / from_rate)`` samples for ``n`` input samples, the first
    aligned with the first input sample.

    ``channels`` > 1 converts interleaved audio, each channel separately.
    ``engine`` picks soxr or the pure-Python filter; ``"auto"`` (the default)
    takes soxr when it is installed, and :attr:`engine` tells which runs.
    """

    def __init__(
        self, from_rate: int, to_rate: int, channels: int = 1, *, engine: Engine = "auto"
    ) -> None:
        """Prepare to convert from ``from_rate`` to ``to_rate`` Hz."""
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError("sample rates must be positive")
        if channels < 1:
            raise ValueError("channels must be at least 1")
        if engine not in ("auto", "soxr", "python"):
            raise ValueError(f"engine must be 'auto', 'soxr' or 'python', not {engine!r}")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self.channels = channels
        common = math.gcd(from_rate, to_rate)
        up, down = to_rate // common, from_rate // common
        if up > MAX_PHASES:
            raise ValueError(
                f"cannot resample {from_rate} Hz to {to_rate} Hz: the ratio "
                f"{up}/{down} needs too many filter phases"
            )
        if engine == "soxr" and not soxr_available():
            raise ImportError(
                "the soxr engine needs the soxr package: pip install 'realtime-events[audio]'"
            )
        #: The engine that runs: ``"soxr"`` or ``"python"``.
        self.engine: Literal["soxr", "python"] = default_engine() if engine == "auto" else engine
        self._frame = 2 * channels
        self._engine: _Engine | None = None
        if from_rate != to_rate:
            if self.engine == "soxr":
                self._engine = SoxrEngine(from_rate, to_rate, channels, up, down)
            else:
                self._engine = PolyphaseEngine(up, down, channels)
        self._pending = b""

    def reset(self) -> None:
        """Forget the stream in progress, dropping any audio held back."""
        self._pending = b""
        if self._engine is not None:
            self._engine.reset()

    def process(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """Convert the next piece of the stream, returning all output it completes."""
        data = self._pending + bytes(chunk) if self._pending else bytes(chunk)
        usable = len(data) - len(data) % self._frame
        self._pending = data[usable:]
        if not usable:
            return b""
        if self._engine is None:
            return data[:usable]
        return self._engine.process(data if usable == len(data) else memoryview(data)[:usable])

    def flush(self) -> bytes:
        """End the stream: return the output still held back, then reset.

        A dangling partial sample is not sound and is dropped.
        """
        self._pending = b""
        if self._engine is None:
            return b""
        return self._engine.flush()


def resample(
    pcm: bytes | bytearray | memoryview, from_rate: int, to_rate: int, *, engine: Engine = "auto"
) -> bytes:
    """Return mono PCM16 audio converted from ``from_rate`` to ``to_rate`` Hz.

    The same as one :class:`Resampler` fed all of ``pcm`` and flushed.
    """
    resampler = Resampler(from_rate, to_rate, engine=engine)
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
        engine: Engine = "auto",
    ) -> None:
        """Prepare to convert ``from_fmt`` audio to ``to_fmt`` audio."""
        self.from_fmt = AudioFormat.from_wire(from_fmt)
        self.to_fmt = AudioFormat.from_wire(to_fmt)
        self.from_rate = from_rate or self.from_fmt.sample_rate
        self.to_rate = to_rate or self.to_fmt.sample_rate
        self._resampler = Resampler(self.from_rate, self.to_rate, engine=engine)

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
