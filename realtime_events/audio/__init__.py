"""Audio for the Realtime API's edges: formats, G.711, resampling and WAV.

Standard library only, except that resampling runs on soxr when it is installed
(the ``audio`` extra), and on a pure-Python filter otherwise.

One module per idea, every name re-exported here:

- :mod:`.formats`: the three API formats, durations and byte counts, chunks,
  silence, base64 and its decoded size, levels;
- :mod:`.g711`: μ-law and A-law, bit-exact with the ITU-T reference (and with
  the ``audioop`` module that Python 3.13 removed);
- :mod:`.resampling`: the streaming :class:`Resampler`, and :class:`Converter`
  between any two formats and rates; its engines are :mod:`.soxr_engine` and
  :mod:`.polyphase`;
- :mod:`.wav`: reading and writing WAV files.
"""

from ..events.names import Dialect
from .formats import (
    G711_ALAW,
    G711_ULAW,
    MAX_APPEND_BYTES,
    PCM16,
    AudioFormat,
    base64_decoded_size,
    bytes_for_ms,
    chunks,
    dbfs,
    decode_base64,
    duration_ms,
    encode_base64,
    rms,
    silence,
)
from .g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from .resampling import (
    Converter,
    Resampler,
    default_engine,
    from_pcm16_24k,
    resample,
    to_pcm16_24k,
)
from .wav import read_wav, write_wav

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
    "base64_decoded_size",
    "bytes_for_ms",
    "chunks",
    "dbfs",
    "decode_base64",
    "default_engine",
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
