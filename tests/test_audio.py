"""Tests for realtime_events.audio: formats, sizes, G.711, resampling, WAV."""

from __future__ import annotations

import io
import math
import random
import struct
import sys
import warnings
import wave
from array import array
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from realtime_events.audio import (
    G711_ALAW,
    G711_ULAW,
    MAX_APPEND_BYTES,
    PCM16,
    AudioFormat,
    Converter,
    Resampler,
    alaw_decode,
    alaw_encode,
    base64_decoded_size,
    bytes_for_ms,
    chunks,
    dbfs,
    decode_base64,
    duration_ms,
    encode_base64,
    from_pcm16_24k,
    read_wav,
    resample,
    rms,
    silence,
    to_pcm16_24k,
    ulaw_decode,
    ulaw_encode,
    write_wav,
)
from realtime_events.audio.resampling import Engine
from realtime_events.audio.soxr_engine import soxr_available

# ---------------------------------------------------------------- signal helpers


def pack(samples: list[int] | array[int]) -> bytes:
    """Return samples as little-endian PCM16 bytes."""
    return struct.pack(f"<{len(samples)}h", *samples)


def unpack(pcm: bytes) -> list[int]:
    """Return little-endian PCM16 bytes as a list of samples."""
    return list(struct.unpack(f"<{len(pcm) // 2}h", pcm))


def sine(freq: float, rate: int, seconds: float, amp: float = 10000.0) -> bytes:
    """Return a sine tone as PCM16."""
    count = round(rate * seconds)
    return pack([round(amp * math.sin(2 * math.pi * freq * i / rate + 0.3)) for i in range(count)])


def middle(samples: list[int], rate: int) -> list[int]:
    """Drop 20 ms at each end, where a filter's edges show."""
    edge = rate // 50
    return samples[edge:-edge]


def zero_crossing_frequency(samples: list[int], rate: int) -> float:
    """Estimate a pure tone's frequency from its interpolated upward zero crossings."""
    crossings = [i + a / (a - b) for i, (a, b) in enumerate(pairwise(samples)) if a < 0 <= b]
    assert len(crossings) >= 2
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])


def amplitude_at(samples: list[int], freq: float, rate: int) -> float:
    """Return the amplitude of the ``freq`` component (a one-bin DFT)."""
    w = 2 * math.pi * freq / rate
    re = sum(v * math.cos(w * i) for i, v in enumerate(samples))
    im = sum(v * math.sin(w * i) for i, v in enumerate(samples))
    return 2 * math.hypot(re, im) / len(samples)


# ------------------------------------------------------------------------ formats


def test_format_constants() -> None:
    assert (PCM16.name, PCM16.sample_rate, PCM16.bytes_per_sample) == ("pcm16", 24000, 2)
    assert (G711_ULAW.name, G711_ULAW.sample_rate, G711_ULAW.bytes_per_sample) == (
        "g711_ulaw",
        8000,
        1,
    )
    assert (G711_ALAW.name, G711_ALAW.sample_rate, G711_ALAW.bytes_per_sample) == (
        "g711_alaw",
        8000,
        1,
    )
    assert PCM16.bytes_per_second == 48000
    assert G711_ULAW.bytes_per_second == 8000
    with pytest.raises(AttributeError):
        PCM16.sample_rate = 16000  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fmt", "ga", "beta"),
    [
        (PCM16, {"type": "audio/pcm", "rate": 24000}, "pcm16"),
        (G711_ULAW, {"type": "audio/pcmu"}, "g711_ulaw"),
        (G711_ALAW, {"type": "audio/pcma"}, "g711_alaw"),
    ],
)
def test_format_wire_values(fmt: AudioFormat, ga: dict[str, Any], beta: str) -> None:
    assert fmt.to_wire("ga") == ga
    assert fmt.to_wire("beta") == beta
    assert AudioFormat.from_wire(ga) is fmt
    assert AudioFormat.from_wire(beta) is fmt
    assert AudioFormat.from_wire(ga["type"]) is fmt
    assert AudioFormat.from_wire(fmt) is fmt


def test_format_from_wire_pcm_without_rate() -> None:
    assert AudioFormat.from_wire({"type": "audio/pcm"}) is PCM16


@pytest.mark.parametrize(
    "value",
    ["mp3", "", {"type": "audio/pcm", "rate": 16000}, {"type": "pcm16"}, {"rate": 24000}, 16],
)
def test_format_from_wire_rejects(value: Any) -> None:
    with pytest.raises(ValueError, match=r"audio/pcm at 16000|unknown audio format"):
        AudioFormat.from_wire(value)


def test_format_to_wire_rejects_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="dialect"):
        PCM16.to_wire("v2")  # type: ignore[call-overload]


# -------------------------------------------------------------- sizes and chunks


def test_duration_ms() -> None:
    assert duration_ms(48000) == 1000.0
    assert duration_ms(b"\x00" * 4800) == 100.0
    assert duration_ms(bytearray(160), G711_ULAW) == 20.0
    assert duration_ms(memoryview(bytes(160)), G711_ALAW) == 20.0
    assert duration_ms(4801) == 100.0  # a dangling byte is not sound
    assert duration_ms(0) == 0.0
    with pytest.raises(ValueError, match="negative"):
        duration_ms(-2)


def test_bytes_for_ms() -> None:
    assert bytes_for_ms(100) == 4800
    assert bytes_for_ms(1000) == 48000
    assert bytes_for_ms(20, G711_ULAW) == 160
    assert bytes_for_ms(0.1, G711_ALAW) == 1  # 0.8 samples rounds to one
    assert bytes_for_ms(0.01) == 0
    assert all(bytes_for_ms(ms / 7) % 2 == 0 for ms in range(1000))
    with pytest.raises(ValueError, match="non-negative"):
        bytes_for_ms(-1)
    with pytest.raises(ValueError, match="non-negative"):
        bytes_for_ms(math.nan)


def test_size_methods_match_functions() -> None:
    assert G711_ULAW.duration_ms(160) == duration_ms(160, G711_ULAW) == 20.0
    assert PCM16.duration_ms(b"\x00" * 4801) == 100.0
    assert PCM16.bytes_for_ms(100) == bytes_for_ms(100) == 4800
    assert G711_ALAW.bytes_for_ms(20) == 160


def test_bytes_for_ms_inverts_duration_ms() -> None:
    for length in range(0, 20000, 2):
        assert bytes_for_ms(duration_ms(length)) == length
    for length in range(5000):
        assert bytes_for_ms(duration_ms(length, G711_ULAW), G711_ULAW) == length


def test_chunks_split_on_sample_boundaries() -> None:
    data = bytes(range(256)) * 40  # 10240 bytes: 2 full 100 ms pieces and a tail
    pieces = list(chunks(data))
    assert [len(p) for p in pieces] == [4800, 4800, 640]
    assert b"".join(pieces) == data

    pieces = list(chunks(data[:-1], ms=7))  # 7 ms = 168 samples = 336 bytes
    assert all(len(p) == 336 for p in pieces[:-1])
    assert len(pieces[-1]) % 2 == 1  # the dangling byte is kept, at the very end
    assert b"".join(pieces) == data[:-1]

    assert [len(p) for p in chunks(bytes(8000), ms=20, fmt=G711_ULAW)] == [160] * 50
    assert list(chunks(b"")) == []


def test_chunks_rejects_less_than_a_sample() -> None:
    with pytest.raises(ValueError, match="less than one sample"):
        list(chunks(bytes(10), ms=0.01, fmt=G711_ULAW))
    with pytest.raises(ValueError, match="less than one sample"):
        list(chunks(bytes(10), ms=0))


def test_max_append_bytes() -> None:
    assert MAX_APPEND_BYTES == 11_796_480
    assert MAX_APPEND_BYTES % 2 == 0
    limit = 15 * 1024 * 1024
    assert len(encode_base64(bytes(MAX_APPEND_BYTES))) <= limit
    assert len(encode_base64(bytes(MAX_APPEND_BYTES + 2))) > limit


def test_chunks_never_exceed_max_append_bytes() -> None:
    data = bytes(MAX_APPEND_BYTES + 1000)
    sizes = [len(p) for p in chunks(data, ms=600_000)]
    assert sizes == [MAX_APPEND_BYTES, 1000]


@pytest.mark.parametrize(("fmt", "zero"), [(PCM16, 0), (G711_ULAW, 0xFF), (G711_ALAW, 0xD5)])
def test_silence(fmt: AudioFormat, zero: int) -> None:
    quiet = silence(20, fmt)
    assert len(quiet) == bytes_for_ms(20, fmt)
    assert set(quiet) == {zero}


# ------------------------------------------------------------------------- base64


def test_base64_round_trip() -> None:
    data = bytes(range(256)) * 3
    text = encode_base64(data)
    assert isinstance(text, str)
    assert text.startswith("AAECAwQF")
    assert decode_base64(text) == data
    assert decode_base64(text.encode("ascii")) == data
    assert encode_base64(b"") == ""
    assert decode_base64("") == b""


def test_decode_base64_rejects_garbage() -> None:
    with pytest.raises(ValueError, match=r"."):
        decode_base64("not base64!")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("", 0),
        ("AAEC", 3),  # no padding
        ("AAECAw==", 4),  # two "=": one byte in the last group
        ("AAECAwQ=", 5),  # one "=": two bytes in the last group
        ("AAECAwQF", 6),
    ],
)
def test_base64_decoded_size_counts_padding(text: str, size: int) -> None:
    assert base64_decoded_size(text) == size
    assert base64_decoded_size(text) == len(decode_base64(text))


def test_base64_decoded_size_matches_decoding_every_length() -> None:
    for length in range(64):
        text = encode_base64(bytes(range(length)))
        assert base64_decoded_size(text) == length


def test_base64_decoded_size_is_never_negative() -> None:
    assert base64_decoded_size("=") == 0


# -------------------------------------------------------------------------- G.711

# A straightforward transcription of the ITU-T G.711 reference coder (the
# classic g711.c), with segments found by searching the segment end tables.
SEG_ULAW_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
SEG_ALAW_END = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)


def search(value: int, table: tuple[int, ...]) -> int:
    for i, end in enumerate(table):
        if value <= end:
            return i
    return len(table)


def ref_ulaw_encode(sample: int) -> int:
    pcm = sample >> 2  # 16-bit to 14-bit
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + (0x84 >> 2)
    seg = search(pcm, SEG_ULAW_END)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask


def ref_alaw_encode(sample: int) -> int:
    pcm = sample >> 3  # 16-bit to 13-bit
    if pcm >= 0:
        mask = 0xD5
    else:
        pcm, mask = -pcm - 1, 0x55
    seg = search(pcm, SEG_ALAW_END)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= (pcm >> 1 if seg < 2 else pcm >> seg) & 0xF
    return aval ^ mask


def ref_ulaw_decode(code: int) -> int:
    u = ~code & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def ref_alaw_decode(code: int) -> int:
    a = code ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


ALL_SAMPLES = list(range(-32768, 32768))
ALL_PCM = pack(ALL_SAMPLES)
ALL_CODES = bytes(range(256))


def load_audioop() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module: ModuleType = pytest.importorskip("audioop")
    return module


def test_ulaw_decode_known_values() -> None:
    decoded = unpack(ulaw_decode(ALL_CODES))
    assert decoded[0x00] == -32124
    assert decoded[0x80] == 32124
    assert decoded[0x7F] == 0
    assert decoded[0xFF] == 0
    assert decoded[0x7E] == -8
    assert decoded[0xFE] == 8
    assert decoded == [ref_ulaw_decode(c) for c in range(256)]


def test_alaw_decode_known_values() -> None:
    decoded = unpack(alaw_decode(ALL_CODES))
    assert decoded[0xD5] == 8
    assert decoded[0x55] == -8
    assert decoded[0xAA] == 32256
    assert decoded[0x2A] == -32256
    assert decoded == [ref_alaw_decode(c) for c in range(256)]


def test_g711_encode_known_values() -> None:
    assert ulaw_encode(pack([0, 32767, -32768, -1, 1])) == bytes([0xFF, 0x80, 0x00, 0x7E, 0xFF])
    assert alaw_encode(pack([0, 32767, -32768, -1, 1])) == bytes([0xD5, 0xAA, 0x2A, 0x55, 0xD5])


def test_ulaw_encode_matches_reference_for_every_sample() -> None:
    assert ulaw_encode(ALL_PCM) == bytes(ref_ulaw_encode(s) for s in ALL_SAMPLES)


def test_alaw_encode_matches_reference_for_every_sample() -> None:
    assert alaw_encode(ALL_PCM) == bytes(ref_alaw_encode(s) for s in ALL_SAMPLES)


def test_g711_matches_audioop() -> None:
    audioop = load_audioop()
    assert ulaw_encode(ALL_PCM) == audioop.lin2ulaw(ALL_PCM, 2)
    assert alaw_encode(ALL_PCM) == audioop.lin2alaw(ALL_PCM, 2)
    assert ulaw_decode(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)
    assert alaw_decode(ALL_CODES) == audioop.alaw2lin(ALL_CODES, 2)


def test_g711_code_round_trip() -> None:
    # Every A-law code is its own decoded value's code; μ-law's "negative zero"
    # 0x7F decodes to 0, which encodes as positive zero 0xFF.
    assert alaw_encode(alaw_decode(ALL_CODES)) == ALL_CODES
    assert ulaw_encode(ulaw_decode(ALL_CODES)) == ALL_CODES.replace(b"\x7f", b"\xff")


@pytest.mark.parametrize(
    ("encode", "decode"), [(ulaw_encode, ulaw_decode), (alaw_encode, alaw_decode)]
)
def test_g711_sample_round_trip_error_is_bounded(encode: Any, decode: Any) -> None:
    decoded = unpack(decode(encode(ALL_PCM)))
    for original, value in zip(ALL_SAMPLES, decoded, strict=True):
        # Logarithmic quantisation: error within ~1/16 of the magnitude plus a
        # small floor, and clipping only above the largest code (±32124/±32256).
        assert abs(value - original) <= max(abs(original) / 16 + 16, abs(original) - 32124)
        assert (value >= 0) == (original >= 0) or value == 0 or abs(original) < 8


def test_g711_accepts_bytes_likes_and_empty() -> None:
    pcm = pack([100, -100, 20000])
    assert ulaw_encode(bytearray(pcm)) == ulaw_encode(memoryview(pcm)) == ulaw_encode(pcm)
    assert alaw_decode(bytearray(b"\xd5")) == pack([8])
    for codec in (ulaw_encode, ulaw_decode, alaw_encode, alaw_decode):
        assert codec(b"") == b""
    assert ulaw_encode(pack([5])) == bytes([ref_ulaw_encode(5)])


def test_g711_encode_rejects_odd_length() -> None:
    with pytest.raises(ValueError, match="even"):
        ulaw_encode(b"\x00\x00\x00")
    with pytest.raises(ValueError, match="even"):
        alaw_encode(b"\x00")


# ---------------------------------------------------------------------- resampler

ENGINES = [
    "python",
    pytest.param(
        "soxr", marks=pytest.mark.skipif(not soxr_available(), reason="soxr is not installed")
    ),
]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """Each resampler test runs on both engines: the same contract holds for both."""
    value: Engine = request.param
    return value


RATE_PAIRS = [(8000, 24000), (24000, 8000), (16000, 24000), (48000, 24000), (44100, 24000)]


@pytest.mark.parametrize(("from_rate", "to_rate"), RATE_PAIRS)
def test_resample_keeps_frequency_and_amplitude(
    from_rate: int, to_rate: int, engine: Engine
) -> None:
    source = sine(1000, from_rate, 0.25)
    out = unpack(resample(source, from_rate, to_rate, engine=engine))
    assert len(out) == math.ceil(len(source) // 2 * to_rate / from_rate)
    body = middle(out, to_rate)
    assert zero_crossing_frequency(body, to_rate) == pytest.approx(1000, abs=0.5)
    assert amplitude_at(body, 1000, to_rate) == pytest.approx(10000, rel=0.005)


ALL_RATES = [8000, 16000, 22050, 24000, 44100, 48000]


@pytest.mark.parametrize(
    ("from_rate", "to_rate"), [(a, b) for a in ALL_RATES for b in ALL_RATES if a != b]
)
def test_every_supported_rate_pair(from_rate: int, to_rate: int, engine: Engine) -> None:
    source = sine(1000, from_rate, 0.1)
    out = unpack(resample(source, from_rate, to_rate, engine=engine))
    assert len(out) == math.ceil(len(source) // 2 * to_rate / from_rate)
    body = middle(out, to_rate)
    assert zero_crossing_frequency(body, to_rate) == pytest.approx(1000, abs=1)
    assert amplitude_at(body, 1000, to_rate) == pytest.approx(10000, rel=0.01)


@pytest.mark.parametrize("from_rate", [24000, 48000])
def test_downsampling_filters_out_what_would_alias(from_rate: int, engine: Engine) -> None:
    # 10 kHz cannot exist at 8 kHz; plain decimation would fold it onto 2 kHz.
    out = unpack(resample(sine(10000, from_rate, 0.25), from_rate, 8000, engine=engine))
    body = middle(out, 8000)
    assert amplitude_at(body, 2000, 8000) < 10000 * 10 ** (-70 / 20)
    assert max(map(abs, body)) <= 2


def test_resample_passband_and_cutoff(engine: Engine) -> None:
    # Both flat to 3 kHz at 8 kHz output; at 0.9 of Nyquist (3.6 kHz) the Python
    # filter is -6 dB, while soxr's is still flat (to 0.91 of Nyquist).
    at_cutoff = 0.5 if engine == "python" else 1.0
    for freq, expected in [(3000, 1.0), (3600, at_cutoff)]:
        out = middle(unpack(resample(sine(freq, 24000, 0.25), 24000, 8000, engine=engine)), 8000)
        assert amplitude_at(out, freq, 8000) == pytest.approx(10000 * expected, rel=0.02)


@pytest.mark.parametrize(("from_rate", "to_rate"), [*RATE_PAIRS, (22050, 48000), (8000, 44100)])
def test_streaming_matches_one_shot(from_rate: int, to_rate: int, engine: Engine) -> None:
    low, high = unpack(sine(440, from_rate, 0.15)), unpack(sine(1300, from_rate, 0.15, 20000))
    source = pack([a + b for a, b in zip(low, high, strict=True)])
    expected = resample(source, from_rate, to_rate, engine=engine)
    rng = random.Random(from_rate * 7 + to_rate)
    resampler = Resampler(from_rate, to_rate, engine=engine)
    pieces: list[bytes] = []
    position = 0
    while position < len(source):
        size = rng.choice([0, 1, 2, 3, 7, 64, 333, 1001])
        pieces.append(resampler.process(source[position : position + size]))
        position += size
    pieces.append(resampler.flush())
    streamed = b"".join(pieces)
    assert streamed == expected
    # No click at any chunk edge: the steepest step is the tones' own.
    samples = middle(unpack(streamed), to_rate)  # the abrupt start is not a click
    steepest = max(abs(b - a) for a, b in pairwise(samples))
    bound = 2 * math.pi * (440 * 10000 + 1300 * 20000) / to_rate
    assert steepest <= bound * 1.05 + 2


@pytest.mark.parametrize(("from_rate", "to_rate"), [*RATE_PAIRS, (22050, 16000), (48000, 8000)])
def test_output_length_follows_rate_ratio(from_rate: int, to_rate: int, engine: Engine) -> None:
    for count in (0, 1, 2, 3, 10, 147, 1000):
        out = resample(bytes(2 * count), from_rate, to_rate, engine=engine)
        assert len(out) == 2 * math.ceil(count * to_rate / from_rate)


def test_resample_keeps_a_constant_constant(engine: Engine) -> None:
    out = unpack(resample(pack([1234] * 2000), 44100, 24000, engine=engine))
    assert set(middle(out, 24000)) == {1234}


def test_resample_clips_overshoot(engine: Engine) -> None:
    # A full-scale square wave rings past full scale after filtering.
    square = pack([32767 if (i // 20) % 2 else -32768 for i in range(2000)])
    out = unpack(resample(square, 8000, 24000, engine=engine))
    assert max(out) == 32767
    assert min(out) == -32768


def test_resampler_holds_odd_bytes_and_empty_chunks(engine: Engine) -> None:
    source = sine(1000, 8000, 0.05)
    resampler = Resampler(8000, 24000, engine=engine)
    out = resampler.process(b"")
    for i in range(0, len(source), 3):
        out += resampler.process(source[i : i + 3])
        assert len(out) % 2 == 0
    out += resampler.flush()
    assert out == resample(source, 8000, 24000, engine=engine)


def test_resampler_flush_starts_a_new_stream(engine: Engine) -> None:
    source = sine(1000, 16000, 0.05)
    resampler = Resampler(16000, 24000, engine=engine)
    first = resampler.process(source) + resampler.flush()
    resampler.process(b"\x01")  # a dangling byte is dropped by flush...
    assert resampler.flush() == b""
    assert resampler.process(source) + resampler.flush() == first  # ...and state is fresh


def test_resampler_same_rate_passes_through(engine: Engine) -> None:
    resampler = Resampler(24000, 24000, engine=engine)
    assert resampler.process(b"\x01\x02\x03") == b"\x01\x02"
    assert resampler.process(b"\x04") == b"\x03\x04"
    assert resampler.flush() == b""
    assert resample(b"\x05\x06", 16000, 16000, engine=engine) == b"\x05\x06"


def test_resampler_stereo_converts_each_channel(engine: Engine) -> None:
    left, right = unpack(sine(500, 16000, 0.05)), unpack(sine(1500, 16000, 0.05, amp=-3000))
    interleaved = pack([s for pair in zip(left, right, strict=True) for s in pair])
    resampler = Resampler(16000, 24000, channels=2, engine=engine)
    out = unpack(resampler.process(interleaved[:1001]) + resampler.process(interleaved[1001:]))
    out += unpack(resampler.flush())
    assert out[0::2] == unpack(resample(pack(left), 16000, 24000, engine=engine))
    assert out[1::2] == unpack(resample(pack(right), 16000, 24000, engine=engine))


@pytest.mark.parametrize(
    ("args", "message"),
    [((0, 24000), "positive"), ((8000, -1), "positive"), ((8000, 24000, 0), "channels")],
)
def test_resampler_rejects_bad_arguments(
    args: tuple[int, ...], message: str, engine: Engine
) -> None:
    with pytest.raises(ValueError, match=message):
        Resampler(*args, engine=engine)


def test_resampler_rejects_unwieldy_ratios(engine: Engine) -> None:
    with pytest.raises(ValueError, match="too many filter phases"):
        Resampler(8000, 44101, engine=engine)


# ---------------------------------------------------------------------- converter


def test_to_pcm16_24k_from_g711() -> None:
    tone = sine(1000, 8000, 0.25)
    for fmt, encode in [(G711_ULAW, ulaw_encode), (G711_ALAW, alaw_encode)]:
        pcm = unpack(to_pcm16_24k(encode(tone), fmt))
        assert len(pcm) == 3 * len(tone) // 2
        body = middle(pcm, 24000)
        assert zero_crossing_frequency(body, 24000) == pytest.approx(1000, abs=0.5)
        assert amplitude_at(body, 1000, 24000) == pytest.approx(10000, rel=0.02)


def test_from_pcm16_24k_to_g711() -> None:
    tone = sine(1000, 24000, 0.25)
    ulaw = from_pcm16_24k(tone, "g711_ulaw")
    assert len(ulaw) == len(tone) // 2 // 3
    body = middle(unpack(ulaw_decode(ulaw)), 8000)
    assert zero_crossing_frequency(body, 8000) == pytest.approx(1000, abs=0.5)
    alaw = from_pcm16_24k(tone, {"type": "audio/pcma"})
    assert amplitude_at(middle(unpack(alaw_decode(alaw)), 8000), 1000, 8000) == pytest.approx(
        10000, rel=0.02
    )


def test_pcm16_conversions_with_other_rates() -> None:
    tone = sine(1000, 24000, 0.1)
    assert to_pcm16_24k(tone, PCM16) == tone
    assert from_pcm16_24k(tone, PCM16) == tone
    at_16k = from_pcm16_24k(tone, PCM16, rate=16000)
    assert len(at_16k) == len(tone) * 2 // 3
    assert to_pcm16_24k(at_16k, PCM16, rate=16000) == resample(at_16k, 16000, 24000)


def test_converter_streams_like_one_shot() -> None:
    ulaw = ulaw_encode(sine(700, 8000, 0.2))
    converter = Converter(G711_ULAW, PCM16)
    streamed = b"".join(converter.process(ulaw[i : i + 37]) for i in range(0, len(ulaw), 37))
    streamed += converter.flush()
    assert streamed == to_pcm16_24k(ulaw, G711_ULAW)
    assert Converter("g711_ulaw", "g711_alaw").convert(ulaw) == alaw_encode(ulaw_decode(ulaw))


# ------------------------------------------------------------------------- levels


def test_rms_and_dbfs() -> None:
    square = pack([32767, -32767] * 100)
    assert rms(square) == 32767
    assert dbfs(square) == pytest.approx(20 * math.log10(32767 / 32768))
    assert rms(sine(1000, 24000, 0.1, amp=20000)) == pytest.approx(20000 / math.sqrt(2), rel=1e-3)
    assert dbfs(sine(1000, 24000, 0.1, amp=32767)) == pytest.approx(-3.01, abs=0.01)
    assert rms(b"") == 0.0
    assert dbfs(bytes(100)) == -math.inf
    with pytest.raises(ValueError, match="even"):
        rms(b"\x00")


# ---------------------------------------------------------------------------- WAV


def test_wav_round_trip(tmp_path: Path) -> None:
    pcm = sine(440, 16000, 0.1)
    path = tmp_path / "tone.wav"
    write_wav(path, pcm, 16000)
    assert read_wav(path) == (pcm, 16000)
    assert read_wav(str(path)) == (pcm, 16000)
    write_wav(str(tmp_path / "default.wav"), pcm)
    assert read_wav(tmp_path / "default.wav") == (pcm, 24000)

    buffer = io.BytesIO()
    write_wav(buffer, pcm, 8000)
    buffer.seek(0)
    assert read_wav(buffer) == (pcm, 8000)


def test_write_wav_rejects_odd_length(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_wav(tmp_path / "bad.wav", b"\x00\x00\x00", 8000)


def write_raw_wav(path: Path, frames: bytes, rate: int, channels: int, width: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(frames)


def test_read_wav_downmixes_stereo(tmp_path: Path) -> None:
    left, right = [1000, -2000, 32767, -32768], [3000, -1001, 32767, -32768]
    path = tmp_path / "stereo.wav"
    frames = pack([s for pair in zip(left, right, strict=True) for s in pair])
    write_raw_wav(path, frames, 44100, 2, 2)
    pcm, rate = read_wav(path)
    assert rate == 44100
    assert unpack(pcm) == [2000, -1501, 32767, -32768]


@pytest.mark.parametrize(
    ("width", "frames"),
    [
        (1, bytes([128, 255, 0, 129])),  # unsigned 8-bit
        (3, b"\x99\x00\x00\x77\x00\x80\x12\x00\x7f\x55\x01\x00"),  # 24-bit
        (4, b"\x00\x00\x00\x00\x00\x00\x00\x80\xff\xff\xff\x7f\x00\x00\x01\x00"),  # 32-bit
    ],
)
def test_read_wav_converts_sample_widths(tmp_path: Path, width: int, frames: bytes) -> None:
    path = tmp_path / f"w{width}.wav"
    write_raw_wav(path, frames, 8000, 1, width)
    pcm, rate = read_wav(path)
    assert rate == 8000
    expected = {
        1: [0, 127 << 8, -128 << 8, 1 << 8],
        3: [0, -32768, 32512, 1],
        4: [0, -32768, 32767, 1],
    }
    assert unpack(pcm) == expected[width]


def test_package_is_standard_library_only() -> None:
    # At import time: the soxr engine imports soxr and numpy inside its functions,
    # only when one is used (tests/test_resampling_soxr.py checks that).
    import realtime_events.audio as audio

    package = Path(audio.__file__).parent
    siblings = {path.stem for path in package.glob("*.py")}
    assert {"formats", "g711", "resampling", "wav"} <= siblings
    # The one import from outside the package is the Dialect literal, whose
    # module is checked with it.
    names = package.parent / "events" / "names.py"
    for path in [*package.glob("*.py"), names]:
        source = path.read_text(encoding="utf-8")
        imported = {
            line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))
        }
        for module in imported:
            if module == "..events.names":
                assert path.parent == package
            elif module.startswith("."):
                assert module[1:] in siblings, (path.name, module)
            else:
                assert module.split(".")[0] in sys.stdlib_module_names | {"__future__"}, module
                assert module != "audioop"
