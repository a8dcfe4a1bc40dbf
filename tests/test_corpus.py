"""Real recorded server frames (``tests/corpus``) reach their typed handlers.

The corpus holds frames found in public projects and issue threads (its README names
each source). Every frame parses to the model of its ``type`` and, replayed by a
plain ``websockets`` server, runs the handlers registered for its exact name. The
lenient rule is tested here too: a frame without an omittable field is still typed
and says what it missed; a frame without a needed field is not.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pydantic
import pytest
from openai.types.beta.realtime import (
    ConversationItemInputAudioTranscriptionCompletedEvent as SdkTranscriptionCompleted,
)

from realtime_events import ServerEvent, Session, signals
from realtime_events.events import (
    SERVER_EVENT_CLASSES,
    SERVER_EVENTS,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ResponseOutputAudioDeltaEvent,
    UnknownServerEvent,
    canonical,
    parse_server_event,
)

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _lifecycle import record
from _replaying import replaying

CORPUS = Path(__file__).parent / "corpus"

TIMEOUT = 20.0  # a hang guard, not a timing expectation

#: Frame types of the corpus that the SDK does not know, each with why. None so far:
#: every type seen in recorded traffic is one of the SDK's server events.
UNKNOWN_TYPES: dict[str, str] = {}


@dataclass(frozen=True)
class Frame:
    """One recorded frame: its text as stored, and where it comes from."""

    source: str
    line: int
    text: str

    @property
    def data(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.text)
        return value

    def __str__(self) -> str:
        return f"{self.source}:{self.line}"


def _load() -> list[Frame]:
    frames = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                frames.append(Frame(path.name, number, line))
    return frames


FRAMES = _load()
WHISPER_WITHOUT_USAGE = next(
    frame
    for frame in FRAMES
    if frame.data["type"] == "conversation.item.input_audio_transcription.completed"
    and "usage" not in frame.data
)


# --- The corpus itself -------------------------------------------------------------


def test_the_corpus_spans_sources_and_both_dialects() -> None:
    assert len(FRAMES) >= 100
    assert len({frame.source for frame in FRAMES}) >= 4
    types = {frame.data["type"] for frame in FRAMES}
    assert "response.text.delta" in types  # beta spelling
    assert "response.output_audio_transcript.delta" in types  # GA spelling
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for source in {frame.source for frame in FRAMES}:
        assert source in readme, f"{source} is not described in the corpus README"


def test_unknown_types_are_only_the_listed_ones() -> None:
    unknown = {frame.data["type"] for frame in FRAMES} - set(SERVER_EVENT_CLASSES)
    assert unknown == set(UNKNOWN_TYPES)


@pytest.mark.parametrize("frame", FRAMES, ids=str)
def test_every_frame_parses_to_its_typed_model(frame: Frame) -> None:
    data = frame.data
    event = parse_server_event(frame.text)
    if data["type"] in UNKNOWN_TYPES:
        assert type(event) is UnknownServerEvent
        assert event.validation_error is None
        return
    cls = SERVER_EVENT_CLASSES[data["type"]]
    assert type(event) is cls, getattr(event, "validation_error", None)
    # Nothing is lost: the frame comes back as it was recorded, extra fields included.
    assert event.model_dump(mode="json", exclude_unset=True) == data
    absent = tuple(name for name in cls.omittable_fields if data.get(name) is None)
    assert event.missing_fields == absent


def test_the_corpus_has_a_frame_only_the_lenient_rule_accepts() -> None:
    data = WHISPER_WITHOUT_USAGE.data
    with pytest.raises(pydantic.ValidationError, match="usage"):
        SdkTranscriptionCompleted.model_validate(data)  # the SDK requires usage
    event = parse_server_event(WHISPER_WITHOUT_USAGE.text)
    assert isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent)
    assert event.usage is None
    assert event.missing_fields == ("usage",)
    assert event.transcript == data["transcript"]


# --- The lenient rule --------------------------------------------------------------

COMPLETED = "conversation.item.input_audio_transcription.completed"
TRANSCRIBED = {
    "type": COMPLETED,
    "event_id": "event_1",
    "item_id": "item_1",
    "content_index": 0,
    "transcript": "hello",
}
DELTA = {
    "type": "response.output_audio.delta",
    "event_id": "event_2",
    "response_id": "resp_1",
    "item_id": "item_2",
    "output_index": 0,
    "content_index": 0,
    "delta": "AAAA",
}


@pytest.mark.parametrize("usage", ["absent", None])
def test_a_missing_omittable_field_is_none_and_recorded(usage: Any) -> None:
    frame = dict(TRANSCRIBED) if usage == "absent" else {**TRANSCRIBED, "usage": usage}
    event = parse_server_event(json.dumps(frame))
    assert isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent)
    assert event.usage is None
    assert event.missing_fields == ("usage",)
    assert event.model_dump(exclude_unset=True) == frame


def test_a_complete_frame_misses_nothing() -> None:
    usage = {"type": "duration", "seconds": 2}
    event = parse_server_event(json.dumps({**TRANSCRIBED, "usage": usage}))
    assert isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent)
    assert event.usage is not None
    assert event.usage.seconds == 2
    assert event.missing_fields == ()


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ({k: v for k, v in TRANSCRIBED.items() if k != "item_id"}, "item_id"),
        ({k: v for k, v in TRANSCRIBED.items() if k != "transcript"}, "transcript"),
        ({k: v for k, v in DELTA.items() if k != "delta"}, "delta"),
        ({k: v for k, v in DELTA.items() if k != "response_id"}, "response_id"),
    ],
    ids=["transcript-item_id", "transcript-transcript", "delta-delta", "delta-response_id"],
)
def test_a_missing_needed_field_falls_back_with_its_error(
    frame: dict[str, Any], field: str
) -> None:
    event = parse_server_event(json.dumps(frame))
    assert type(event) is UnknownServerEvent
    assert event.model_dump() == frame  # every field kept
    error = event.validation_error
    assert error is not None
    assert [(d["loc"], d["type"]) for d in error.errors()] == [((field,), "missing")]


def test_needed_fields_are_read_off_the_models() -> None:
    completed = ConversationItemInputAudioTranscriptionCompletedEvent
    assert completed.needed_fields == {"event_id", "item_id", "content_index", "transcript"}
    assert completed.omittable_fields == ("usage",)
    assert "delta" in ResponseOutputAudioDeltaEvent.needed_fields
    assert ResponseOutputAudioDeltaEvent.omittable_fields == ()


def test_the_omittable_fields_are_the_ones_real_servers_omit() -> None:
    # Pinned: a field joins this table with a recorded frame in the corpus that lacks it.
    omittable = {cls.canonical_type: cls.omittable_fields for cls in SERVER_EVENTS}
    assert {name: fields for name, fields in omittable.items() if fields} == {
        "conversation.item.input_audio_transcription.completed": ("usage",)
    }
    for cls in SERVER_EVENTS:
        for name in cls.omittable_fields:
            assert name not in cls.needed_fields
            assert cls.model_fields[name].default is None


# --- Through a Session, from a plain websockets server ------------------------------


@pytest.mark.anyio
async def test_every_recorded_frame_reaches_an_exact_name_handler(anyio_backend: str) -> None:
    expected = [frame for frame in FRAMES if frame.data["type"] not in UNKNOWN_TYPES]
    with replaying([frame.text for frame in FRAMES]) as url:
        session = Session(url=url)
        received: list[ServerEvent] = []
        everything = anyio.Event()

        def on_event(event: ServerEvent) -> None:
            received.append(event)
            if len(received) == len(expected):
                everything.set()

        for name in sorted({canonical(frame.data["type"]) for frame in expected}):
            session.on(name, on_event)  # exact names: the typed models only
        invalid = record(signals.event_invalid, session)
        async with session:
            with anyio.fail_after(TIMEOUT):
                await everything.wait()
    assert invalid == []
    assert [event.model_dump(mode="json", exclude_unset=True) for event in received] == [
        frame.data for frame in expected
    ]
    transcripts = [e for e in received if e.type == WHISPER_WITHOUT_USAGE.data["type"]]
    assert [e.missing_fields for e in transcripts] == [("usage",)]


@pytest.mark.anyio
async def test_a_frame_without_a_needed_field_is_reported_and_skips_typed_handlers(
    anyio_backend: str,
) -> None:
    broken = {k: v for k, v in TRANSCRIBED.items() if k != "item_id"}
    frames = [json.dumps(broken), json.dumps(TRANSCRIBED)]
    with replaying(frames) as url:
        session = Session(url=url)
        typed: list[ServerEvent] = []
        everything: list[ServerEvent] = []
        done = anyio.Event()
        session.on(COMPLETED, typed.append)

        def on_any(event: ServerEvent) -> None:
            everything.append(event)
            if event.type == COMPLETED and len(everything) == 2:
                done.set()

        session.on("*", on_any)
        invalid = record(signals.event_invalid, session)
        async with session:
            with anyio.fail_after(TIMEOUT):
                await done.wait()
    assert [type(e) for e in everything] == [
        UnknownServerEvent,
        ConversationItemInputAudioTranscriptionCompletedEvent,
    ]
    assert [e.model_dump(exclude_unset=True) for e in typed] == [TRANSCRIBED]
    assert len(invalid) == 1
    assert invalid[0]["event"] is everything[0]
    assert isinstance(invalid[0]["error"], pydantic.ValidationError)
