"""Audio formats, G.711, resampling and small helpers for Realtime API audio.

Everything here uses only the standard library. PCM16 is always signed 16-bit
little-endian, which is what the Realtime API sends and expects, whatever the
host's byte order. The G.711 codecs are bit-exact with the ITU-T G.711 reference
(and with the ``audioop`` module that Python 3.13 removed).
"""

from __future__ import annotations

import base64
import math
import sys
import wave
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import itemgetter, mul
from os import PathLike
from typing import IO, Any, Literal, overload

__all__ = [
    "G711_ALAW",
    "G711_ULAW",
    "MAX_APPEND_BYTES",
    "PCM16",
    "AudioFormat",
    "Converter",
    "Dialect",
    "Resampler",
    "alaw_decode",
    "alaw_encode",
    "bytes_for_ms",
    "chunks",
    "dbfs",
    "decode_base64",
    "duration_ms",
    "encode_base64",
    "from_pcm16_24k",
    "read_wav",
    "resample",
    "rms",
    "silence",
    "to_pcm16_24k",
    "ulaw_decode",
    "ulaw_encode",
    "write_wav",
]

#: A protocol dialect; the same literal type as ``realtime_events.events.names.Dialect``
#: (repeated here so this module imports nothing but the standard library).
Dialect = Literal["ga", "beta"]

_BIG_ENDIAN = sys.byteorder == "big"


# --------------------------------------------------------------------------- formats


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """One of the Realtime API's audio formats, and its spellings in both dialects.

    Use the constants :data:`PCM16`, :data:`G711_ULAW` and :data:`G711_ALAW`; build
    one from a session's wire value with :meth:`from_wire`.
    """

    #: The beta wire name: ``"pcm16"``, ``"g711_ulaw"`` or ``"g711_alaw"``.
    name: str
    #: Samples per second (the API fixes it: 24000 for PCM16, 8000 for G.711).
    sample_rate: int
    #: Bytes per (mono) sample: 2 for PCM16, 1 for G.711.
    bytes_per_sample: int
    #: The GA ``type``: ``"audio/pcm"``, ``"audio/pcmu"`` or ``"audio/pcma"``.
    ga_type: str

    @property
    def bytes_per_second(self) -> int:
        """Bytes of audio per second of sound."""
        return self.sample_rate * self.bytes_per_sample

    def duration_ms(self, data_or_length: bytes | bytearray | memoryview | int) -> float:
        """Return the milliseconds of sound in some audio of this format (or a byte count).

        A trailing partial sample is not sound and is not counted.
        """
        samples = _byte_length(data_or_length) // self.bytes_per_sample
        return samples * 1000 / self.sample_rate

    def bytes_for_ms(self, ms: float) -> int:
        """Return the byte count of ``ms`` milliseconds of this format, in whole samples.

        Rounds to the nearest sample, so ``bytes_for_ms(duration_ms(n)) == n`` for
        any whole-sample ``n``.
        """
        if ms < 0 or math.isnan(ms):
            raise ValueError(f"a duration must be non-negative, not {ms!r}")
        return round(ms * self.sample_rate / 1000) * self.bytes_per_sample

    @classmethod
    def from_wire(cls, value: AudioFormat | str | Mapping[str, Any]) -> AudioFormat:
        """Return the format a wire value names, in either dialect.

        Accepts a GA object (``{"type": "audio/pcm", "rate": 24000}``,
        ``{"type": "audio/pcmu"}``, ``{"type": "audio/pcma"}``), a beta string
        (``"pcm16"``, ``"g711_ulaw"``, ``"g711_alaw"``), a bare GA type string, or an
        :class:`AudioFormat` (returned as is). Raises :class:`ValueError` for anything
        else, including ``audio/pcm`` at a rate other than 24000, which the API
        does not offer.
        """
        if isinstance(value, AudioFormat):
            return value
        if isinstance(value, str):
            fmt = _BY_WIRE_NAME.get(value)
            if fmt is None:
                raise ValueError(f"unknown audio format {value!r}")
            return fmt
        if isinstance(value, Mapping):
            type_ = value.get("type")
            fmt = _BY_WIRE_NAME.get(type_) if isinstance(type_, str) else None
            if fmt is None or type_ != fmt.ga_type:
                raise ValueError(f"unknown audio format {dict(value)!r}")
            rate = value.get("rate")
            if rate is not None and rate != fmt.sample_rate:
                raise ValueError(
                    f"{fmt.ga_type} at {rate} Hz is not a Realtime API format "
                    f"(only {fmt.sample_rate} Hz is)"
                )
            return fmt
        raise ValueError(f"unknown audio format {value!r}")

    @overload
    def to_wire(self, dialect: Literal["beta"]) -> str: ...
    @overload
    def to_wire(self, dialect: Literal["ga"]) -> dict[str, Any]: ...
    @overload
    def to_wire(self, dialect: Dialect) -> str | dict[str, Any]: ...

    def to_wire(self, dialect: Dialect) -> str | dict[str, Any]:
        """Return the value a session configuration uses for this format in ``dialect``.

        GA gives an object (``{"type": "audio/pcm", "rate": 24000}`` or
        ``{"type": "audio/pcmu"}``); beta gives a string (``"pcm16"``).
        """
        if dialect == "beta":
            return self.name
        if dialect == "ga":
            if self.ga_type == "audio/pcm":
                return {"type": self.ga_type, "rate": self.sample_rate}
            return {"type": self.ga_type}
        raise ValueError(f"unknown dialect {dialect!r}")


#: 16-bit signed little-endian PCM, mono, 24 kHz.
PCM16 = AudioFormat("pcm16", 24000, 2, "audio/pcm")
#: G.711 μ-law, mono, 8 kHz.
G711_ULAW = AudioFormat("g711_ulaw", 8000, 1, "audio/pcmu")
#: G.711 A-law, mono, 8 kHz.
G711_ALAW = AudioFormat("g711_alaw", 8000, 1, "audio/pcma")

_BY_WIRE_NAME: dict[str, AudioFormat] = {
    spelling: fmt for fmt in (PCM16, G711_ULAW, G711_ALAW) for spelling in (fmt.name, fmt.ga_type)
}

#: Most raw audio bytes one ``input_audio_buffer.append`` may carry. The API caps
#: the event's audio at 15 MiB of base64, which decodes to 3/4 as many bytes; the
#: result (11,796,480) is a whole number of samples in every format.
MAX_APPEND_BYTES = (15 * 1024 * 1024 * 3 // 4) // 2 * 2


# --------------------------------------------------------------------- sizes, chunks


def _byte_length(data_or_length: bytes | bytearray | memoryview | int) -> int:
    if isinstance(data_or_length, int):
        if data_or_length < 0:
            raise ValueError("a length cannot be negative")
        return data_or_length
    if isinstance(data_or_length, memoryview):
        return data_or_length.nbytes
    return len(data_or_length)


def duration_ms(
    data_or_length: bytes | bytearray | memoryview | int, fmt: AudioFormat = PCM16
) -> float:
    """Return how many milliseconds of sound some audio (or a byte count) holds.

    A trailing partial sample is not sound and is not counted. The same as
    ``fmt.duration_ms(data_or_length)``.
    """
    return fmt.duration_ms(data_or_length)


def bytes_for_ms(ms: float, fmt: AudioFormat = PCM16) -> int:
    """Return the byte count of ``ms`` milliseconds of audio, always whole samples.

    The sample count is rounded to the nearest sample, so
    ``bytes_for_ms(duration_ms(n)) == n`` for any whole-sample ``n``. The same as
    ``fmt.bytes_for_ms(ms)``.
    """
    return fmt.bytes_for_ms(ms)


def chunks(
    data: bytes | bytearray | memoryview, ms: float = 100, fmt: AudioFormat = PCM16
) -> Iterator[bytes]:
    """Yield ``data`` in pieces of ``ms`` milliseconds, cut on sample boundaries.

    The last piece may be shorter. No piece exceeds :data:`MAX_APPEND_BYTES`, so
    each fits one ``input_audio_buffer.append``. A dangling partial sample at the
    end of ``data`` stays at the end of the last piece rather than being dropped.
    """
    size = bytes_for_ms(ms, fmt)
    if size <= 0:
        raise ValueError(f"{ms} ms is less than one sample of {fmt.name}")
    size = min(size, MAX_APPEND_BYTES - MAX_APPEND_BYTES % fmt.bytes_per_sample)
    view = memoryview(data).cast("B")
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def silence(ms: float, fmt: AudioFormat = PCM16) -> bytes:
    """Return ``ms`` milliseconds of digital silence in ``fmt``."""
    # G.711 codes for zero are not zero bytes: 0xFF in μ-law, 0xD5 in A-law.
    fill = {"g711_ulaw": b"\xff", "g711_alaw": b"\xd5"}.get(fmt.name, b"\x00")
    return fill * bytes_for_ms(ms, fmt)


# ----------------------------------------------------------------------------- base64


def encode_base64(pcm: bytes | bytearray | memoryview) -> str:
    """Return audio bytes as the base64 text that audio events carry."""
    return base64.b64encode(pcm).decode("ascii")


def decode_base64(s: str | bytes) -> bytes:
    """Return the audio bytes of an event's base64 text.

    Raises :class:`ValueError` (``binascii.Error``) if ``s`` is not valid base64.
    """
    return base64.b64decode(s, validate=True)


# ------------------------------------------------------------------- sample plumbing


def _samples(pcm: bytes | bytearray | memoryview) -> array[int]:
    """Return little-endian PCM16 bytes (of even length) as an array of ints."""
    samples = array("h")
    samples.frombytes(pcm)
    if _BIG_ENDIAN:
        samples.byteswap()
    return samples


def _to_bytes(samples: array[int]) -> bytes:
    """Return an array of 16-bit ints as little-endian PCM16 bytes."""
    if _BIG_ENDIAN:
        samples = array(samples.typecode, samples)
        samples.byteswap()
    return samples.tobytes()


def _check_even(pcm: bytes | bytearray | memoryview) -> None:
    if _byte_length(pcm) % 2:
        raise ValueError("PCM16 audio must have an even number of bytes")


# ------------------------------------------------------------------------------ G.711

# The reference coder works on 14-bit (μ-law) or 13-bit (A-law) samples; a
# 16-bit sample is shifted right arithmetically first, exactly as audioop did.
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159


def _ulaw_encode_14(value: int) -> int:
    """Encode one 14-bit sample to μ-law, as the ITU-T G.711 reference does."""
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = max(value.bit_length() - 6, 0)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _alaw_encode_13(value: int) -> int:
    """Encode one 13-bit sample to A-law, as the ITU-T G.711 reference does."""
    if value >= 0:
        mask = 0xD5
    else:
        value, mask = -value - 1, 0x55
    segment = max(value.bit_length() - 5, 0)
    if segment >= 8:
        return 0x7F ^ mask
    quant = (value >> (1 if segment < 2 else segment)) & 0x0F
    return ((segment << 4) | quant) ^ mask


def _ulaw_decode_one(code: int) -> int:
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    return _ULAW_BIAS - magnitude if code & 0x80 else magnitude - _ULAW_BIAS


def _alaw_decode_one(code: int) -> int:
    code ^= 0x55
    segment = (code & 0x70) >> 4
    magnitude = ((code & 0x0F) << 4) + 8
    if segment:
        magnitude = (magnitude + 0x100) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


def _encode_table(encode: Callable[[int], int], shift: int) -> bytes:
    """Return the 65536-entry table from a 16-bit sample's unsigned value to its code."""
    # Every 16-bit sample that shares its top (16 - shift) bits shares a code, so
    # the small table is computed once and strided into the big one at C speed.
    width = 16 - shift
    small = bytes(
        encode(v - (1 << width) if v >= 1 << (width - 1) else v) for v in range(1 << width)
    )
    table = bytearray(65536)
    for low in range(1 << shift):
        table[low :: 1 << shift] = small
    return bytes(table)


def _decode_tables(decode: Callable[[int], int]) -> tuple[bytes, bytes]:
    """Return the low-byte and high-byte translate tables of a 256-entry decoder."""
    values = array("h", (decode(code) for code in range(256)))
    raw = _to_bytes(values)
    return raw[0::2], raw[1::2]


_ULAW_DECODE_LO, _ULAW_DECODE_HI = _decode_tables(_ulaw_decode_one)
_ALAW_DECODE_LO, _ALAW_DECODE_HI = _decode_tables(_alaw_decode_one)


@cache
def _ulaw_encode_table() -> bytes:
    return _encode_table(_ulaw_encode_14, 2)


@cache
def _alaw_encode_table() -> bytes:
    return _encode_table(_alaw_encode_13, 3)


def _encode(pcm16: bytes | bytearray | memoryview, table: bytes) -> bytes:
    _check_even(pcm16)
    indices = array("H")
    indices.frombytes(pcm16)
    if _BIG_ENDIAN:
        indices.byteswap()
    if len(indices) < 2:
        # itemgetter with one key returns a bare item, not a tuple.
        return bytes(table[i] for i in indices)
    return bytes(itemgetter(*indices)(table))


def _decode(codes: bytes | bytearray | memoryview, lo: bytes, hi: bytes) -> bytes:
    # Two byte-wise translations plus slice interleaving keep the loop in C.
    codes = bytes(codes)
    out = bytearray(2 * len(codes))
    out[0::2] = codes.translate(lo)
    out[1::2] = codes.translate(hi)
    return bytes(out)


def ulaw_encode(pcm16: bytes | bytearray | memoryview) -> bytes:
    """Return PCM16 audio encoded as G.711 μ-law, one byte per sample.

    Raises :class:`ValueError` if ``pcm16`` has an odd number of bytes.
    """
    return _encode(pcm16, _ulaw_encode_table())


def ulaw_decode(ulaw: bytes | bytearray | memoryview) -> bytes:
    """Return G.711 μ-law audio decoded to PCM16."""
    return _decode(ulaw, _ULAW_DECODE_LO, _ULAW_DECODE_HI)


def alaw_encode(pcm16: bytes | bytearray | memoryview) -> bytes:
    """Return PCM16 audio encoded as G.711 A-law, one byte per sample.

    Raises :class:`ValueError` if ``pcm16`` has an odd number of bytes.
    """
    return _encode(pcm16, _alaw_encode_table())


def alaw_decode(alaw: bytes | bytearray | memoryview) -> bytes:
    """Return G.711 A-law audio decoded to PCM16."""
    return _decode(alaw, _ALAW_DECODE_LO, _ALAW_DECODE_HI)


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


# ---------------------------------------------------------------------------- levels


def rms(pcm16: bytes | bytearray | memoryview) -> float:
    """Return the root-mean-square level of PCM16 audio, in sample units (0 if empty)."""
    _check_even(pcm16)
    samples = _samples(pcm16)
    if not samples:
        return 0.0
    return math.sqrt(sum(map(mul, samples, samples)) / len(samples))


def dbfs(pcm16: bytes | bytearray | memoryview) -> float:
    """Return the RMS level of PCM16 audio in dB relative to full scale.

    Full scale is 32768, so a full-scale square wave reads 0 dBFS and a
    full-scale sine about -3 dBFS. Silence (or no audio) reads ``-inf``.
    """
    level = rms(pcm16)
    return 20 * math.log10(level / 32768) if level else -math.inf


# ------------------------------------------------------------------------------- WAV


def _to_pcm16(frames: bytes, width: int) -> bytes:
    """Return WAV sample data of ``width`` bytes per sample as PCM16."""
    if width == 2:
        return frames
    out = bytearray(len(frames) // width * 2)
    if width == 1:
        # 8-bit WAV is unsigned; flipping the top bit makes it signed.
        out[1::2] = frames.translate(bytes((b ^ 0x80) for b in range(256)))
        return bytes(out)
    if width in (3, 4):
        # Keep the top 16 bits of each little-endian sample.
        out[0::2] = frames[width - 2 :: width]
        out[1::2] = frames[width - 1 :: width]
        return bytes(out)
    raise ValueError(f"unsupported WAV sample width: {width} bytes")


def read_wav(path_or_file: str | PathLike[str] | IO[bytes]) -> tuple[bytes, int]:
    """Return a PCM WAV file's audio as mono PCM16, and its sample rate.

    8-, 24- and 32-bit samples are converted to 16-bit; several channels are
    averaged into one. The rate is left as is (see :func:`resample`).
    """
    with ExitStack() as stack:
        # wave.open takes a str or a file, but not a path object.
        source = (
            stack.enter_context(open(path_or_file, "rb"))
            if isinstance(path_or_file, str | PathLike)
            else path_or_file
        )
        wav = stack.enter_context(wave.open(source, "rb"))
        channels = wav.getnchannels()
        rate = wav.getframerate()
        pcm = _to_pcm16(wav.readframes(wav.getnframes()), wav.getsampwidth())
    if channels == 1:
        return pcm, rate
    samples = _samples(pcm[: len(pcm) - len(pcm) % (2 * channels)])
    per_channel = [samples[c::channels] for c in range(channels)]
    mixed = array("h", [total // channels for total in map(sum, zip(*per_channel, strict=True))])
    return _to_bytes(mixed), rate


def write_wav(
    path_or_file: str | PathLike[str] | IO[bytes],
    pcm: bytes | bytearray | memoryview,
    sample_rate: int = PCM16.sample_rate,
) -> None:
    """Write mono PCM16 audio to a WAV file."""
    _check_even(pcm)
    with ExitStack() as stack:
        target = (
            stack.enter_context(open(path_or_file, "wb"))
            if isinstance(path_or_file, str | PathLike)
            else path_or_file
        )
        wav = stack.enter_context(wave.open(target, "wb"))
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm)
