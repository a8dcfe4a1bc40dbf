"""G.711: μ-law and A-law, bit-exact with the ITU-T reference.

The codecs match the ITU-T G.711 reference coder and the ``audioop`` module
that Python 3.13 removed, byte for byte. Both directions run through lookup
tables so the per-sample work stays in C.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from functools import cache
from operator import itemgetter

from .formats import _BIG_ENDIAN, _check_even, _to_bytes

__all__ = ["alaw_decode", "alaw_encode", "ulaw_decode", "ulaw_encode"]


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
