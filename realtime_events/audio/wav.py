"""WAV files: read any PCM WAV as mono PCM16, write mono PCM16."""

from __future__ import annotations

import wave
from array import array
from contextlib import ExitStack
from os import PathLike
from typing import IO

from .formats import PCM16, _check_even, _samples, _to_bytes

__all__ = ["read_wav", "write_wav"]


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
