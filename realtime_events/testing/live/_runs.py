"""Spoken answers: what the Live model says (and delegates) in one go, streamed lazily.

A :class:`LiveRun` is a list of segments the I/O layer streams one event at
a time: speech (``session.output_audio.delta`` with the output transcript a
little ahead of its audio), delegations (``session.delegation.created``, and
a backend's ``response.event`` / ``decision.event`` stream), a backend's
answer read out, and an audio fixture. Each event is made, and the engine's
state updated, when it is taken, so a barge-in or a ``session.close``
between two events stops the run where the client heard it.

Unlike Realtime there is no response lifecycle: no created or done event,
only the audio and its transcript on the session timeline.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ...audio import AudioFormat, from_pcm16_24k
from ..engine._constants import AUDIO_CHUNK_MS, JSON
from ..models import Call, Say
from ..speech import WordTiming, synthesize
from ._config import LiveConfig

#: What the model says after delegating when it has nothing of its own to say (heard on the wire).
ACKNOWLEDGEMENT = "Okay, checking now."


@dataclass(frozen=True, slots=True)
class Speak:
    """Speech: ``text`` as output audio and output transcript."""

    text: str


@dataclass(frozen=True, slots=True)
class Delegate:
    """The model delegates ``calls`` (parallel ones together).

    ``acknowledge`` speaks an acknowledgement after it. ``delegation_id``
    names the delegation a backend round continues (None: a new one).
    """

    calls: tuple[Call, ...]
    acknowledge: bool = False
    delegation_id: str | None = None
    client_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class BackendAnswer:
    """The Responses backend's text answer for ``delegation_id``, streamed then spoken.

    ``announce`` sends ``session.delegation.created`` first: the answer opens
    a delegation of its own rather than continuing one.
    """

    delegation_id: str
    text: str
    client_event_id: str | None
    announce: bool = False


@dataclass(frozen=True, slots=True)
class Fixture:
    """An audio fixture (24 kHz pcm16) played through the session output."""

    pcm: bytes
    client_event_id: str | None


Segment = Speak | Delegate | BackendAnswer | Fixture


class RunHost(Protocol):
    """What a run uses of the engine that made it."""

    @property
    def config(self) -> LiveConfig:
        """The session's configuration (format, voice, delegation)."""
        ...

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...

    def speech_start_ms(self) -> int:
        """Where speech starting now sits on the session timeline."""
        ...

    def transcript_continues(self) -> bool:
        """Whether speech starting now continues the model's turn in the output transcript."""
        ...

    def output_transcript(self, text: str, start_ms: int, end_ms: int) -> JSON:
        """An output transcript delta: ``text``, spoken from ``start_ms`` to ``end_ms``."""
        ...

    def spoke(self, text: str, end_ms: int, audio_ms: float, last_delta: str | None) -> list[JSON]:
        """Speech was sent up to ``end_ms``: history, usage; events it causes (triggers).

        ``last_delta`` is the event id of its last transcript delta, if any.
        """
        ...

    def delegate(self, delegate: Delegate) -> list[JSON]:
        """The events of a delegation: ``delegation.created`` and a backend's stream."""
        ...

    def acknowledgement_due(self) -> bool:
        """True unless context appended since the last delegation cancelled its acknowledgement."""
        ...

    def backend_answer(self, answer: BackendAnswer) -> list[JSON]:
        """The ``response.event`` stream of the backend's text answer."""
        ...

    def follow_up(self) -> Sequence[Segment]:
        """What the model says next in this run (a decision's result read out), if anything."""
        ...

    def fixture_done(self) -> None:
        """The fixture drained: input is heard again."""
        ...


class _AudioDelta(dict[str, Any]):
    """An output audio delta that remembers its playback duration (the wire JSON is unchanged)."""

    duration_ms: float = 0.0


def audio_ms(event: Mapping[str, Any]) -> float:
    """The playback duration of a ``session.output_audio.delta`` the engine made (0 for others).

    The I/O layer sleeps this long after sending the event to pace speech in
    real time.
    """
    return event.duration_ms if isinstance(event, _AudioDelta) else 0.0


def segments(parts: Sequence[Say | Call | Any]) -> list[Segment]:
    """The segments of a model's reply: speech, and delegations in order.

    Calls next to each other are delegated together (parallel calls). A
    reply that only delegates gets a spoken acknowledgement after it, as the
    real model gives one when it has said nothing.
    """
    says = any(isinstance(p, Say) for p in parts)
    result: list[Segment] = []
    calls: list[Call] = []
    for part in [*parts, None]:
        if isinstance(part, Call):
            calls.append(part)
            continue
        if calls:
            result.append(Delegate(tuple(calls)))
            calls = []
        if isinstance(part, Say):
            result.append(Speak(part.text))
    if not says and result:
        last = result[-1]
        assert isinstance(last, Delegate)
        result[-1] = Delegate(last.calls, acknowledge=True)
    return result


class LiveRun:
    """One go of the model's output, streamed lazily: iterate it for its events.

    :meth:`interrupt` stops it at its next step (a barge-in, a fixture, a
    close); ``interrupted`` says whether that happened and ``done`` whether
    the last event was taken.
    """

    def __init__(self, host: RunHost, segments: Sequence[Segment]) -> None:
        self.interrupted = False
        self.done = False
        self._host = host
        self._segments = list(segments)
        self._iterating = False
        self.audio_sent_ms = 0.0

    @property
    def is_fixture(self) -> bool:
        """True for the run that plays an audio fixture."""
        return any(isinstance(s, Fixture) for s in self._segments)

    def interrupt(self) -> None:
        """Stop at the next step; what was sent stays sent."""
        if not self.done:
            self.interrupted = True

    def __iter__(self) -> Iterator[JSON]:
        """The run's events, one at a time; a run streams once."""
        if self._iterating:
            raise RuntimeError("this run is already being streamed")
        self._iterating = True
        return self._events()

    def _events(self) -> Iterator[JSON]:
        host = self._host
        index = 0
        while index < len(self._segments) and not self.interrupted:
            segment = self._segments[index]
            index += 1
            if isinstance(segment, Speak):
                yield from self._speak(segment.text)
            elif isinstance(segment, Delegate):
                yield from host.delegate(segment)
                if segment.acknowledge and host.acknowledgement_due():
                    yield from self._speak(ACKNOWLEDGEMENT)
                self._segments += host.follow_up()
            elif isinstance(segment, BackendAnswer):
                yield from host.backend_answer(segment)
                yield from self._speak(segment.text)
            else:
                yield from self._fixture(segment)
        self.done = True

    def _speak(self, text: str) -> Iterator[JSON]:
        """Transcript deltas a little ahead of the audio they speak, on the session timeline."""
        host = self._host
        fmt = host.config.audio_format
        speech = synthesize(text, sample_rate=fmt.sample_rate, voice=host.config.voice_name)
        audio = speech.encoded(fmt)
        start = host.speech_start_ms()
        words = list(speech.words)
        if words and host.transcript_continues() and not words[0].text[:1].isspace():
            # More of the same turn (an answer after its acknowledgement): the transcript
            # reads "now. In Paris", not "now.In Paris".
            words[0] = replace(words[0], text=" " + words[0].text)
        said = ""
        sent_ms = 0.0
        last: str | None = None
        step = fmt.bytes_for_ms(AUDIO_CHUNK_MS)
        for offset in range(0, len(audio), step):
            if self.interrupted:
                break
            chunk = audio[offset : offset + step]
            chunk_end = fmt.duration_ms(offset + len(chunk))
            while words and words[0].start_ms < chunk_end:
                word = words.pop(0)
                said += word.text
                delta = self._transcript(word, start)
                last = delta["event_id"]
                yield delta
            sent_ms = chunk_end
            yield self._audio_delta(chunk, fmt)
        if not self.interrupted:
            for word in words:
                said += word.text
                delta = self._transcript(word, start)
                last = delta["event_id"]
                yield delta
        yield from host.spoke(said, start + round(sent_ms), sent_ms, last)

    def _transcript(self, word: WordTiming, start: int) -> JSON:
        """One word of the output transcript, placed on the session timeline."""
        return self._host.output_transcript(
            word.text, start + round(word.start_ms), start + round(word.end_ms)
        )

    def _audio_delta(self, chunk: bytes, fmt: AudioFormat) -> JSON:
        """One chunk of output audio; the primary WebSocket's carry no event id nor times."""
        event = _AudioDelta(
            type="session.output_audio.delta", delta=base64.b64encode(chunk).decode("ascii")
        )
        event.duration_ms = fmt.duration_ms(len(chunk))
        self.audio_sent_ms += event.duration_ms
        return event

    def _fixture(self, fixture: Fixture) -> Iterator[JSON]:
        """The fixture's audio in the session's format, then ``fixture.played`` once drained."""
        host = self._host
        fmt = host.config.audio_format
        audio = from_pcm16_24k(fixture.pcm, fmt, fmt.sample_rate)
        step = fmt.bytes_for_ms(AUDIO_CHUNK_MS)
        for offset in range(0, len(audio), step):
            if self.interrupted:
                break
            yield self._audio_delta(audio[offset : offset + step], fmt)
        host.fixture_done()
        if not self.interrupted:  # not emitted for cancelled playback
            played = host.event("session.output_audio.fixture.played")
            if fixture.client_event_id is not None:
                played["client_event_id"] = fixture.client_event_id
            yield played


def words_of(text: str) -> list[str]:
    """``text`` as transcript fragments: each word with its leading space."""
    return re.findall(r"\s*\S+", text)
