"""Synthesized speech in every output format: G.711 and PCM at any rate, resampled when needed.

The local servers synthesize at the session's rate, so most of the time
:meth:`Speech.encoded` only encodes; these tests pin that path byte for byte,
and check that speech synthesized at one rate and sent at another (24 kHz to
Live's 16 kHz PCM, to 8 kHz G.711, 16 kHz up to 24 kHz) keeps its length, its
words where their timings say, and its level.
"""

from __future__ import annotations

import math
import sys
from array import array

import pytest

from realtime_events.audio import (
    G711_ALAW,
    G711_ULAW,
    PCM16,
    AudioFormat,
    alaw_decode,
    alaw_encode,
    dbfs,
    ulaw_decode,
    ulaw_encode,
)
from realtime_events.testing.speech import Speech, WordTiming, synthesize

TEXT = "Hello there, how are you today? Fine, thanks."
#: PCM at 16 kHz, one of the Live API's output formats.
PCM16_16K = AudioFormat("pcm16", 16000, 2, "audio/pcm")


def _linear(audio: bytes, fmt: AudioFormat) -> bytes:
    """PCM16 samples of ``audio`` in ``fmt``."""
    if fmt.ga_type == "audio/pcmu":
        return ulaw_decode(audio)
    if fmt.ga_type == "audio/pcma":
        return alaw_decode(audio)
    return audio


def _window(pcm: bytes, rate: int, start_ms: float, end_ms: float) -> bytes:
    first, last = round(start_ms * rate / 1000), round(end_ms * rate / 1000)
    return pcm[2 * first : 2 * last]


def _onset_ms(pcm: bytes, rate: int, word: WordTiming) -> float:
    """When the voice of ``word`` starts: its first sample above 3% of full scale."""
    samples = array("h")
    samples.frombytes(_window(pcm, rate, word.start_ms, word.end_ms))
    if sys.byteorder == "big":
        samples.byteswap()
    first = next(i for i, sample in enumerate(samples) if abs(sample) > 1000)
    return word.start_ms + first * 1000 / rate


def test_at_the_synthesized_rate_it_only_encodes() -> None:
    speech = synthesize(TEXT)
    assert speech.encoded(PCM16) == speech.pcm
    telephone = synthesize(TEXT, sample_rate=8000)
    assert telephone.encoded(G711_ULAW) == ulaw_encode(telephone.pcm)
    assert telephone.encoded(G711_ALAW) == alaw_encode(telephone.pcm)
    assert synthesize(TEXT, sample_rate=16000).encoded(PCM16_16K) == (
        synthesize(TEXT, sample_rate=16000).pcm
    )


@pytest.mark.parametrize(
    ("rate", "fmt"),
    [
        (24000, PCM16_16K),
        (24000, G711_ULAW),
        (24000, G711_ALAW),
        (16000, PCM16),
        (8000, PCM16),
    ],
    ids=["24k to 16k PCM", "24k to mu-law", "24k to A-law", "16k to 24k PCM", "8k to 24k PCM"],
)
def test_another_rate_is_resampled_keeping_length_words_and_level(
    rate: int, fmt: AudioFormat
) -> None:
    speech: Speech = synthesize(TEXT, sample_rate=rate)
    audio = speech.encoded(fmt)
    samples = len(speech.pcm) // 2
    # The resampler's contract: ceil(n * to / from) samples, aligned with the input.
    assert len(audio) == math.ceil(samples * fmt.sample_rate / rate) * fmt.bytes_per_sample
    assert fmt.duration_ms(audio) == pytest.approx(speech.duration_ms, abs=1000 / rate)
    pcm = _linear(audio, fmt)
    for word in speech.words:
        # Each word starts where it did (the filter's delay is compensated), within
        # two samples of the lower rate: a threshold crossing on a ramp moves by one.
        onset = _onset_ms(speech.pcm, rate, word)
        slack = 2 * 1000 / min(rate, fmt.sample_rate)
        assert _onset_ms(pcm, fmt.sample_rate, word) == pytest.approx(onset, abs=slack), word
        # ...and is as loud as it was synthesized (G.711 costs a little).
        here = _window(pcm, fmt.sample_rate, word.start_ms, word.end_ms)
        there = _window(speech.pcm, rate, word.start_ms, word.end_ms)
        assert dbfs(here) == pytest.approx(dbfs(there), abs=0.5), word


def test_an_unknown_format_is_refused() -> None:
    opus = AudioFormat("opus", 48000, 2, "audio/opus")
    with pytest.raises(ValueError, match="unknown audio format"):
        synthesize(TEXT).encoded(opus)
