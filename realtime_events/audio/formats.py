"""Audio formats and sizes: the API's three formats, durations, chunks, base64, levels.

PCM16 is always signed 16-bit little-endian, which is what the Realtime API
sends and expects, whatever the host's byte order; the sample helpers here read
and write it that way for the other audio modules.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from operator import mul
from typing import Any, Literal, overload

from ..events.names import Dialect

__all__ = [
    "G711_ALAW",
    "G711_ULAW",
    "MAX_APPEND_BYTES",
    "PCM16",
    "AudioFormat",
    "base64_decoded_size",
    "bytes_for_ms",
    "chunks",
    "dbfs",
    "decode_base64",
    "duration_ms",
    "encode_base64",
    "rms",
    "silence",
]

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


def base64_decoded_size(text: str) -> int:
    """Return how many bytes some padded base64 text decodes to, without decoding it.

    Every 4 characters carry 3 bytes, and each ``=`` of padding stands for a
    byte that is not there. Counting this way lets a handler measure audio
    deltas (for a duration, a running total) at no cost. Text that is not
    valid base64 gives a meaningless count, never a negative one.
    """
    return max(0, len(text) * 3 // 4 - text[-2:].count("="))


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
