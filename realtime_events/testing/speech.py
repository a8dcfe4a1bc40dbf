"""Speech-like audio for the local server's assistant replies.

There is no text-to-speech engine here: :func:`synthesize` renders text as
voiced syllables (a pitched tone with formant-shaped harmonics under a
syllable-rate amplitude envelope) at about 14 characters of text per second.
It sounds like murmured speech, has the energy contour real speech has (so
voice activity detectors and level meters react to it), and comes with word
timings, so transcript deltas can be aligned with the audio deltas that carry
the same words.

The output is deterministic: the same text, voice and sample rate always give
the same bytes. :meth:`Speech.encoded` gives it in a session's output format,
G.711 included (``audio/pcmu`` / ``audio/pcma``; ``g711_ulaw`` / ``g711_alaw`` in beta),
and PCM at any rate, resampling when it was synthesized at another.
"""

from __future__ import annotations

import math
import re
import sys
import zlib
from array import array
from dataclasses import dataclass
from functools import lru_cache

from ..audio import PCM16, AudioFormat, Converter

__all__ = ["CHARS_PER_SECOND", "Speech", "WordTiming", "synthesize"]

#: Speaking rate: characters of text rendered per second of audio.
CHARS_PER_SECOND = 14.0

_MS_PER_CHAR = 1000.0 / CHARS_PER_SECOND
_AMPLITUDE = 0.32 * 32767
# (F1, F2) in Hz of the vowel a syllable is built around.
_FORMANTS: dict[str, tuple[float, float]] = {
    "a": (730.0, 1090.0),
    "e": (530.0, 1840.0),
    "i": (300.0, 2250.0),
    "o": (570.0, 840.0),
    "u": (320.0, 900.0),
    "y": (300.0, 2100.0),
}
_VOWEL_GROUP = re.compile(r"[aeiouy]+", re.IGNORECASE)
_TOKEN = re.compile(r"\s*\S+")
_PAUSE_CHARS = frozenset(".,!?;:-\u2014")


@dataclass(frozen=True, slots=True)
class WordTiming:
    """Where one transcript token sits in the synthesized audio.

    ``text`` is the token exactly as it appears in the transcript, leading
    whitespace included, so joining every token gives back the whole text.
    """

    text: str
    start_ms: float
    end_ms: float


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesized audio for a text: pcm16 little-endian mono samples and word timings."""

    text: str
    pcm: bytes
    sample_rate: int
    words: tuple[WordTiming, ...]

    @property
    def duration_ms(self) -> float:
        """Playback duration of :attr:`pcm` in milliseconds."""
        return len(self.pcm) / 2 / self.sample_rate * 1000.0

    def encoded(self, fmt: AudioFormat) -> bytes:
        """The audio in ``fmt``, at ``fmt.sample_rate``, resampled if it was synthesized at another.

        Any format of the Realtime and Live APIs: G.711 (μ-law, A-law) or PCM16
        at any rate :class:`~realtime_events.audio.Resampler` converts (24 kHz,
        Live's 16 kHz...). Word timings hold at any rate; synthesizing at
        ``fmt.sample_rate`` skips the resampling.
        """
        try:
            # The encoding by its GA type, so a format at another rate keeps its kind.
            kind = AudioFormat.from_wire(fmt.ga_type)
        except ValueError:
            raise ValueError(f"unknown audio format {fmt!r}") from None
        converter = Converter(PCM16, kind, from_rate=self.sample_rate, to_rate=fmt.sample_rate)
        return converter.convert(self.pcm)


def synthesize(text: str, *, sample_rate: int = 24000, voice: str = "alloy") -> Speech:
    """Render ``text`` as speech-like pcm16 audio with word timings.

    The voice name only picks the pitch, so different voices are audibly
    different. Results are cached, since a conversation often repeats itself.
    """
    return _synthesize(text, sample_rate, voice)


@lru_cache(maxsize=64)
def _synthesize(text: str, sample_rate: int, voice: str) -> Speech:
    base_f0 = 105.0 + zlib.crc32(voice.encode()) % 110
    samples = array("h")
    words: list[WordTiming] = []
    tokens = _TOKEN.findall(text)
    for index, token in enumerate(tokens):
        start_ms = len(samples) * 1000.0 / sample_rate
        # Pitch falls across a sentence and rises on a question, as in speech.
        progress = index / max(1, len(tokens) - 1)
        f0 = base_f0 * (1.08 - 0.16 * progress)
        if token.rstrip().endswith("?"):
            f0 *= 1.2
        _render_token(samples, token, f0, sample_rate)
        words.append(WordTiming(token, start_ms, len(samples) * 1000.0 / sample_rate))
    if sys.byteorder == "big":
        samples.byteswap()
    return Speech(text, samples.tobytes(), sample_rate, tuple(words))


def _render_token(out: array[int], token: str, f0: float, rate: int) -> None:
    """Append one token: a short gap for its leading space, voiced syllables, pauses."""
    stripped = token.lstrip()
    _silence(out, (len(token) - len(stripped)) * _MS_PER_CHAR, rate)
    word = stripped.rstrip("".join(_PAUSE_CHARS))
    trailing = len(stripped) - len(word)
    if word:
        vowels = _VOWEL_GROUP.findall(word) or ["a"]
        syllable_ms = len(word) * _MS_PER_CHAR / len(vowels)
        for step, vowel in enumerate(vowels):
            pitch = f0 * (1.0 + 0.04 * math.sin(step * 1.7))
            _syllable(out, syllable_ms, pitch, _FORMANTS[vowel[0].lower()], rate)
    _silence(out, trailing * _MS_PER_CHAR, rate)


def _silence(out: array[int], ms: float, rate: int) -> None:
    out.frombytes(bytes(2 * round(ms * rate / 1000.0)))


def _syllable(
    out: array[int], ms: float, f0: float, formants: tuple[float, float], rate: int
) -> None:
    """Append one voiced syllable: a one-period wavetable under a rise-hold-fall envelope."""
    count = round(ms * rate / 1000.0)
    table = _period_table(round(f0), formants, rate)
    period = len(table)
    attack = max(1, int(count * 0.2))
    release = max(1, int(count * 0.3))
    for i in range(count):
        if i < attack:
            gain = 0.5 - 0.5 * math.cos(math.pi * i / attack)
        elif i >= count - release:
            gain = 0.5 - 0.5 * math.cos(math.pi * (count - i) / release)
        else:
            gain = 1.0
        out.append(int(table[i % period] * gain))


@lru_cache(maxsize=256)
def _period_table(f0: int, formants: tuple[float, float], rate: int) -> tuple[float, ...]:
    """One pitch period of a voiced sound: harmonics weighted by two formant peaks."""
    period = max(2, round(rate / f0))
    first, second = formants
    weights: list[float] = []
    harmonic = 1
    while harmonic * f0 < min(4000.0, rate / 2):
        freq = harmonic * f0
        peak = math.exp(-(((freq - first) / 160.0) ** 2))
        peak += 0.6 * math.exp(-(((freq - second) / 220.0) ** 2))
        weights.append((0.15 + peak) / harmonic)
        harmonic += 1
    wave = [
        sum(w * math.sin(2 * math.pi * (h + 1) * k / period) for h, w in enumerate(weights))
        for k in range(period)
    ]
    scale = _AMPLITUDE / (max(abs(v) for v in wave) or 1.0)
    return tuple(v * scale for v in wave)
