"""Tests of the local server's protocol engine, without sockets.

Every event the engine emits is validated against the official SDK's server
event union for its dialect, and checked for fields the SDK doesn't know.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai.types.beta.realtime import RealtimeServerEvent as BetaServerEvent
from openai.types.realtime import RealtimeServerEvent as GAServerEvent
from pydantic import BaseModel, TypeAdapter

from realtime_events.audio import G711_ULAW, PCM16
from realtime_events.events.names import for_dialect
from realtime_events.testing.engine import IdFactory, RealtimeEngine, ResponseRun, audio_ms
from realtime_events.testing.models import (
    Call,
    DemoModel,
    ReplyContext,
    Say,
    ScriptedModel,
    ToolOutput,
    placeholder_transcript,
)
from realtime_events.testing.speech import CHARS_PER_SECOND, synthesize
from realtime_events.testing.vad import (
    SpeechStarted,
    SpeechStopped,
    VadSettings,
    VoiceActivityDetector,
)

Event = dict[str, Any]

AUDIO_DIR = Path(__file__).parent / "audio"
RECORDINGS: dict[str, dict[str, Any]] = json.loads((AUDIO_DIR / "recordings.json").read_text())
ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "ga": TypeAdapter(GAServerEvent),
    "beta": TypeAdapter(BetaServerEvent),
}
# Fields the real server sends that the SDK's session models don't declare.
EXTRA_FIELDS_ALLOWED = {
    ("RealtimeSessionCreateRequest", "object"),
    ("RealtimeSessionCreateRequest", "id"),
    ("RealtimeSessionCreateRequest", "expires_at"),
    ("Session", "object"),
    ("Session", "expires_at"),
    ("RealtimeTranscriptionSessionCreateRequest", "object"),
    ("RealtimeTranscriptionSessionCreateRequest", "id"),
    ("RealtimeTranscriptionSessionCreateRequest", "expires_at"),
    # Real GA text deltas carry it; the SDK declares it on MCP argument deltas only.
    ("ResponseTextDeltaEvent", "obfuscation"),
    ("ResponseAudioTranscriptDeltaEvent", "obfuscation"),
    ("ResponseFunctionCallArgumentsDeltaEvent", "obfuscation"),
}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


# ------------------------------------------------------------------ helpers


def assert_valid(event: Event, dialect: str) -> None:
    """The event validates under the SDK union and carries no field the SDK doesn't know."""
    model = ADAPTERS[dialect].validate_python(event)
    unknown = list(_unknown_fields(model, event["type"]))
    assert not unknown, f"{event['type']}: fields unknown to the SDK: {unknown}"


def _unknown_fields(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, BaseModel):
        for key in value.model_extra or {}:
            if (type(value).__name__, key) not in EXTRA_FIELDS_ALLOWED:
                yield f"{path}.{key}"
        for name in type(value).model_fields:
            yield from _unknown_fields(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for index, entry in enumerate(value):
            yield from _unknown_fields(entry, f"{path}[{index}]")


class Client:
    """Drives an engine like the I/O layer does, validating everything it emits."""

    def __init__(self, dialect: str = "ga", model: Any = None, **kwargs: Any) -> None:
        self.dialect = dialect
        self.model = model if model is not None else ScriptedModel()
        self.engine = RealtimeEngine(
            dialect=dialect,  # type: ignore[arg-type]
            model=self.model,
            ids=IdFactory(seed=7),
            clock=lambda: 1_700_000_000.0,
            **kwargs,
        )
        self.events = self.check(self.engine.start())

    def name(self, ga_name: str) -> str:
        return for_dialect(ga_name, self.dialect)  # type: ignore[arg-type]

    def check(self, events: list[Event]) -> list[Event]:
        for event in events:
            assert_valid(event, self.dialect)
            # An internal failure is reported as server_error; no flow here should cause one.
            assert event.get("error", {}).get("type") != "server_error", event
        return events

    def send(self, event: Event | str | bytes) -> list[Event]:
        """Send one client event; return its immediate answer (responses stay queued)."""
        frame = event if isinstance(event, str | bytes) else json.dumps(event)
        return self.check(self.engine.receive(frame))

    def stream(self, run: ResponseRun) -> list[Event]:
        return self.check(list(run))

    def drain(self) -> list[Event]:
        """Stream every queued response to its end."""
        events: list[Event] = []
        while (run := self.engine.next_response()) is not None:
            events += self.stream(run)
        return events

    def turn(self, event: Event) -> list[Event]:
        """Send an event, then stream the responses it caused."""
        return self.send(event) + self.drain()

    def configure(self, **fields: Any) -> list[Event]:
        """A session.update in this dialect: GA keys are translated for beta."""
        session: dict[str, Any] = dict(fields)
        if self.dialect == "ga":
            session["type"] = "realtime"
        else:
            if "output_modalities" in session:
                modalities = session.pop("output_modalities")
                session["modalities"] = ["text", "audio"] if "audio" in modalities else ["text"]
            audio = session.pop("audio", {})
            inp, out = audio.get("input", {}), audio.get("output", {})
            if "turn_detection" in inp:
                session["turn_detection"] = inp["turn_detection"]
            if "transcription" in inp:
                session["input_audio_transcription"] = inp["transcription"]
            if "voice" in out:
                session["voice"] = out["voice"]
        return self.send({"type": "session.update", "session": session})

    def say(self, text: str) -> list[Event]:
        return self.send(user_text(text))


def user_text(text: str) -> Event:
    content = [{"type": "input_text", "text": text}]
    return {
        "type": "conversation.item.create",
        "item": {"type": "message", "role": "user", "content": content},
    }


def types(events: list[Event]) -> list[str]:
    return [e["type"] for e in events]


def of_type(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["type"] == kind]


def one(events: list[Event], kind: str) -> Event:
    found = of_type(events, kind)
    assert len(found) == 1, f"expected one {kind}, got {types(events)}"
    return found[0]


def error_of(events: list[Event]) -> dict[str, Any]:
    assert types(events) == ["error"], types(events)
    error: dict[str, Any] = events[0]["error"]
    return error


def read_wav(name: str) -> bytes:
    with wave.open(str(AUDIO_DIR / name), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        return wav.readframes(wav.getnframes())


def append(pcm: bytes) -> Event:
    return {"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()}


def feed(client: Client, pcm: bytes, chunk_ms: int = 100) -> list[Event]:
    """Append audio in real-time-sized chunks, as a microphone would."""
    step = PCM16.bytes_for_ms(chunk_ms)
    events: list[Event] = []
    for start in range(0, len(pcm), step):
        events += client.send(append(pcm[start : start + step]))
    return events


@pytest.fixture(params=["ga", "beta"])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -------------------------------------------------------------------- session


def test_session_created_first_with_defaults(dialect: str) -> None:
    client = Client(dialect)
    created = one(client.events, "session.created")
    session = created["session"]
    assert session["id"].startswith("sess_")
    assert session["expires_at"] == 1_700_000_000 + 3600
    if dialect == "ga":
        assert session["type"] == "realtime"
        assert session["output_modalities"] == ["audio"]
        assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}
        detection = session["audio"]["input"]["turn_detection"]
    else:
        assert session["modalities"] == ["text", "audio"]
        assert session["input_audio_format"] == "pcm16"
        detection = session["turn_detection"]
    assert detection["type"] == "server_vad"
    assert detection["silence_duration_ms"] == 500
    assert detection["create_response"] is True


def test_session_update_merges_and_returns_the_full_config(dialect: str) -> None:
    client = Client(dialect)
    client.configure(instructions="Be brief.", tools=[WEATHER_TOOL])
    updated = one(client.configure(audio={"output": {"voice": "cedar"}}), "session.updated")
    session = updated["session"]
    assert session["instructions"] == "Be brief."
    assert session["tools"][0]["name"] == "get_weather"
    voice = session["audio"]["output"]["voice"] if dialect == "ga" else session["voice"]
    assert voice == "cedar"
    assert client.engine.session == session


def test_session_update_partial_turn_detection_fills_defaults(dialect: str) -> None:
    client = Client(dialect)
    detection = {"type": "server_vad", "threshold": 0.7}
    session = one(
        client.configure(audio={"input": {"turn_detection": detection}}), "session.updated"
    )["session"]
    got = (
        session["audio"]["input"]["turn_detection"]
        if dialect == "ga"
        else session["turn_detection"]
    )
    assert got["threshold"] == 0.7
    assert got["prefix_padding_ms"] == 300
    assert got["interrupt_response"] is True


def test_session_update_unknown_parameter(dialect: str) -> None:
    client = Client(dialect)
    error = error_of(client.configure(bogus=1))
    assert error["code"] == "unknown_parameter"
    assert error["message"] == "Unknown parameter: 'session.bogus'."
    assert error["param"] == "session.bogus"


def test_session_update_bad_modalities(dialect: str) -> None:
    client = Client(dialect)
    key, value = (
        ("output_modalities", ["text", "audio"]) if dialect == "ga" else ("modalities", ["audio"])
    )
    session: dict[str, Any] = {key: value}
    if dialect == "ga":
        session["type"] = "realtime"
    error = error_of(client.send({"type": "session.update", "session": session}))
    assert error["code"] == "invalid_value"
    assert error["message"].startswith(f"Invalid modalities: {value}. Supported combinations are:")
    error = error_of(
        client.send({"type": "session.update", "session": {**session, key: ["video"]}})
    )
    assert error["message"] == "Invalid value: 'video'. Supported values are: 'text' and 'audio'."
    assert error["param"] == f"session.{key}[0]"


def test_ga_session_update_requires_type() -> None:
    client = Client("ga")
    error = error_of(client.send({"type": "session.update", "session": {"instructions": "x"}}))
    assert error == {
        "type": "invalid_request_error",
        "code": "missing_required_parameter",
        "message": "Missing required parameter: 'session.type'.",
        "param": "session.type",
        "event_id": None,
    }


def test_session_defaults_apply_before_session_created() -> None:
    engine = RealtimeEngine(session_defaults={"instructions": "Hi.", "output_modalities": ["text"]})
    session = engine.start()[0]["session"]
    assert session["instructions"] == "Hi."
    assert session["output_modalities"] == ["text"]
    with pytest.raises(ValueError, match="Unknown parameter"):
        RealtimeEngine(session_defaults={"nope": 1})


def test_ids_are_deterministic_with_a_seed() -> None:
    def run() -> list[Event]:
        client = Client("ga", ScriptedModel().otherwise("Same every time."))
        client.configure(output_modalities=["text"])
        client.say("hi")
        return client.turn({"type": "response.create"})

    assert run() == run()
    ids = [e["event_id"] for e in run()]
    assert all(re.fullmatch(r"event_[A-Za-z0-9]{21}", i) for i in ids)
    assert len(set(ids)) == len(ids)


# ------------------------------------------------------------------ responses


def test_text_turn(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().when("hello").say("Hi there, how are you?"))
    client.configure(output_modalities=["text"])
    client.say("Hello!")
    events = client.turn({"type": "response.create"})
    text_delta, text_done = (
        client.name("response.output_text.delta"),
        client.name("response.output_text.done"),
    )
    added = "conversation.item.added" if dialect == "ga" else "conversation.item.created"
    expected = ["response.created", "rate_limits.updated", "response.output_item.added", added]
    expected += ["response.content_part.added"] + [text_delta] * 5
    expected += [text_done, "response.content_part.done", "response.output_item.done"]
    expected += ["conversation.item.done"] if dialect == "ga" else []
    expected += ["response.done"]
    assert types(events) == expected
    assert "".join(e["delta"] for e in of_type(events, text_delta)) == "Hi there, how are you?"
    done = one(events, "response.done")["response"]
    assert done["status"] == "completed"
    assert done["status_details"] is None
    assert done["output"][0]["content"] == [
        {"type": "output_text" if dialect == "ga" else "text", "text": "Hi there, how are you?"}
    ]
    usage = done["usage"]
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert client.engine.active_response_id is None
    assert client.engine.conversation[-1]["role"] == "assistant"


def test_audio_turn_audio_matches_transcript_timing(dialect: str) -> None:
    reply = "Hello there! The weather in Paris is lovely today."
    client = Client(dialect, ScriptedModel().otherwise(reply))
    client.say("hi")
    events = client.turn({"type": "response.create"})
    audio_delta = client.name("response.output_audio.delta")
    transcript_delta = client.name("response.output_audio_transcript.delta")
    pcm = b"".join(base64.b64decode(e["delta"]) for e in of_type(events, audio_delta))
    duration = PCM16.duration_ms(pcm)
    assert duration == pytest.approx(len(reply) / CHARS_PER_SECOND * 1000, abs=AUDIO_STEP_MS)
    assert sum(audio_ms(e) for e in events) == pytest.approx(duration)
    assert all(len(base64.b64decode(e["delta"])) <= 4800 for e in of_type(events, audio_delta))
    words = synthesize(reply, voice=voice_of(client)).words
    deltas = of_type(events, transcript_delta)
    assert "".join(e["delta"] for e in deltas) == reply
    assert [e["delta"] for e in deltas] == [w.text for w in words]
    # A word's transcript is sent within one audio chunk of the audio where it starts.
    sent_ms = 0.0
    timing = iter(words)
    for event in events:
        if event["type"] == audio_delta:
            sent_ms += audio_ms(event)
        elif event["type"] == transcript_delta:
            word = next(timing)
            assert sent_ms <= word.start_ms < sent_ms + AUDIO_STEP_MS
    transcript_done = one(events, client.name("response.output_audio_transcript.done"))
    assert transcript_done["transcript"] == reply
    done = one(events, "response.done")["response"]
    part = done["output"][0]["content"][0]
    assert part == {"type": "output_audio" if dialect == "ga" else "audio", "transcript": reply}
    assert done["usage"]["output_token_details"]["audio_tokens"] > 0


AUDIO_STEP_MS = 100


def voice_of(client: Client) -> str:
    session = client.engine.session
    return str(session["audio"]["output"]["voice"] if client.dialect == "ga" else session["voice"])


def test_g711_output_format() -> None:
    client = Client("ga", ScriptedModel().otherwise("One two three."))
    client.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"output": {"format": {"type": "audio/pcmu"}}},
            },
        }
    )
    client.say("count")
    events = client.turn({"type": "response.create"})
    deltas = of_type(events, "response.output_audio.delta")
    data = b"".join(base64.b64decode(e["delta"]) for e in deltas)
    assert len(base64.b64decode(deltas[0]["delta"])) == 800  # 100 ms of 8 kHz G.711
    assert sum(audio_ms(e) for e in deltas) == pytest.approx(G711_ULAW.duration_ms(data))
    assert one(events, "response.done")["response"]["audio"]["output"]["format"] == {
        "type": "audio/pcmu"
    }


def test_response_create_overrides_modality_and_metadata(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Plain text please."))
    key = "output_modalities" if dialect == "ga" else "modalities"
    events = client.turn(
        {"type": "response.create", "response": {key: ["text"], "metadata": {"k": "v"}}}
    )
    assert of_type(events, client.name("response.output_text.delta"))
    assert not of_type(events, client.name("response.output_audio.delta"))
    assert one(events, "response.created")["response"]["metadata"] == {"k": "v"}


def test_function_call_then_tool_output_then_answer(dialect: str) -> None:
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
    )
    client = Client(dialect, model)
    client.configure(tools=[WEATHER_TOOL], output_modalities=["text"])
    client.say("What's the weather in Paris?")
    events = client.turn({"type": "response.create"})
    added = one(events, "response.output_item.added")["item"]
    assert added["type"] == "function_call"
    assert added["status"] == "in_progress"
    deltas = of_type(events, "response.function_call_arguments.delta")
    done = one(events, "response.function_call_arguments.done")
    assert "".join(d["delta"] for d in deltas) == done["arguments"] == '{"city": "Paris"}'
    assert done["call_id"].startswith("call_")
    assert ("name" in done) == (dialect == "ga")
    assert one(events, "response.output_item.done")["item"]["arguments"] == '{"city": "Paris"}'
    output = {
        "type": "function_call_output",
        "call_id": done["call_id"],
        "output": '{"temp_c": 21, "city": "Paris"}',
    }
    client.send({"type": "conversation.item.create", "item": output})
    answer = client.turn({"type": "response.create"})
    text = one(answer, client.name("response.output_text.done"))["text"]
    assert text == "It is 21 degrees in Paris."
    context = model.contexts[-1]
    assert context.tool_outputs == (ToolOutput(done["call_id"], "get_weather", output["output"]),)
    assert context.has_tool("get_weather")


def test_parallel_function_calls(dialect: str) -> None:
    model = (
        ScriptedModel().when("both").call("get_weather", city="Paris").call("get_time", zone="CET")
    )
    client = Client(dialect, model)
    client.configure(tools=[WEATHER_TOOL, {**WEATHER_TOOL, "name": "get_time"}])
    client.say("both please")
    events = client.turn({"type": "response.create"})
    added = of_type(events, "response.output_item.added")
    assert [(e["output_index"], e["item"]["name"]) for e in added] == [
        (0, "get_weather"),
        (1, "get_time"),
    ]
    output = one(events, "response.done")["response"]["output"]
    assert [item["name"] for item in output] == ["get_weather", "get_time"]
    assert len({item["call_id"] for item in output}) == 2


def test_one_active_response_per_conversation(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Busy."))
    assert client.send({"type": "response.create"}) == []
    run = client.engine.next_response()
    assert run is not None
    error = error_of(client.send({"type": "response.create", "event_id": "evt_client_1"}))
    assert error["code"] == "conversation_already_has_active_response"
    assert error["message"] == (
        f"Conversation already has an active response in progress: {run.id}. "
        "Wait until the response is finished before creating a new one."
    )
    assert error["event_id"] == "evt_client_1"
    client.stream(run)
    assert client.send({"type": "response.create"}) == []


def test_cancel_mid_run_closes_what_is_open(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("This is a rather long answer to cancel."))
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    audio_delta = client.name("response.output_audio.delta")
    events: list[Event] = []
    stream = iter(run)
    while audio_ms_sent(events, audio_delta) < 300:
        events.append(next(stream))
    assert client.engine.active_response_id == run.id
    assert client.send({"type": "response.cancel"}) == []
    assert run.cancelled
    epilogue = client.check(list(stream))
    expected = [
        client.name("response.output_audio.done"),
        client.name("response.output_audio_transcript.done"),
        "response.content_part.done",
        "response.output_item.done",
    ]
    expected += ["conversation.item.done"] if dialect == "ga" else []
    assert types(epilogue) == [*expected, "response.done"]
    assert one(epilogue, "response.output_item.done")["item"]["status"] == "incomplete"
    done = one(epilogue, "response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert client.engine.active_response_id is None
    heard = one(epilogue, client.name("response.output_audio_transcript.done"))["transcript"]
    assert "This is a rather long answer to cancel.".startswith(heard)
    error = error_of(client.send({"type": "response.cancel"}))
    assert error["code"] == "response_cancel_not_active"
    assert error["message"] == "Cancellation failed: no active response found"


def audio_ms_sent(events: list[Event], audio_delta: str) -> float:
    return sum(audio_ms(e) for e in events if e["type"] == audio_delta)


def test_cancel_before_streaming_and_by_id(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Never said."))
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    error = error_of(client.send({"type": "response.cancel", "response_id": "resp_other"}))
    assert error["code"] == "response_cancel_not_active"
    assert client.send({"type": "response.cancel", "response_id": run.id}) == []
    events = client.stream(run)
    assert types(events) == ["response.created", "rate_limits.updated", "response.done"]
    assert events[-1]["response"]["status"] == "cancelled"


def test_out_of_band_response_stays_out_of_the_conversation(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Summary: {text}"))
    client.configure(output_modalities=["text"])
    client.say("remember this")
    before = client.engine.conversation
    request = {
        "conversation": "none",
        "input": [{"type": "item_reference", "id": before[0]["id"]}],
        "metadata": {"topic": "summary"},
    }
    events = client.turn({"type": "response.create", "response": request})
    assert not of_type(events, "conversation.item.added")
    assert not of_type(events, "conversation.item.created")
    done = one(events, "response.done")["response"]
    assert done["conversation_id"] is None
    assert done["output"][0]["content"][0]["text"] == "Summary: remember this"
    assert client.engine.conversation == before


def test_out_of_band_response_can_be_cancelled_by_id(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Side answer."))
    client.send({"type": "response.create", "response": {"conversation": "none"}})
    run = client.engine.next_response()
    assert run is not None
    assert client.engine.active_response_id is None  # out-of-band: the conversation is free
    error = error_of(client.send({"type": "response.cancel"}))
    assert error["code"] == "response_cancel_not_active"
    assert client.send({"type": "response.cancel", "response_id": run.id}) == []
    assert client.stream(run)[-1]["response"]["status"] == "cancelled"


def test_voice_cannot_change_once_assistant_audio_was_sent(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Hi."))
    client.turn({"type": "response.create"})
    error = error_of(client.configure(audio={"output": {"voice": "verse"}}))
    assert error["code"] == "cannot_update_voice"
    assert one(client.configure(instructions="still fine"), "session.updated")


VOICE_ERROR = (
    "Invalid value: 'robot'. Supported values are: 'alloy', 'ash', 'ballad', 'coral', 'echo',"
    " 'sage', 'shimmer', 'verse', 'marin', and 'cedar'."
)


def test_an_unknown_voice_is_refused_with_the_supported_ones(dialect: str) -> None:
    client = Client(dialect)
    error = error_of(client.configure(audio={"output": {"voice": "robot"}}))
    param = "session.audio.output.voice" if dialect == "ga" else "session.voice"
    assert error == {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": VOICE_ERROR,
        "param": param,
        "event_id": error["event_id"],
    }
    # The session keeps its voice and goes on.
    assert voice_of(client) == ("marin" if dialect == "ga" else "alloy")
    assert one(client.configure(audio={"output": {"voice": "cedar"}}), "session.updated")


def test_an_unknown_voice_in_a_response_is_refused(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Hi."))
    override: dict[str, Any] = (
        {"audio": {"output": {"voice": "robot"}}} if dialect == "ga" else {"voice": "robot"}
    )
    error = error_of(client.send({"type": "response.create", "response": override}))
    assert error["code"] == "invalid_value"
    assert error["message"] == VOICE_ERROR
    param = "response.audio.output.voice" if dialect == "ga" else "response.voice"
    assert error["param"] == param
    assert client.drain() == []  # no response was started


# ---------------------------------------------------------------- conversation


def create(client: Client, text: str, item_id: str, previous: str | None = None) -> list[Event]:
    event = user_text(text)
    event["item"]["id"] = item_id
    if previous is not None:
        event["previous_item_id"] = previous
    return client.send(event)


def test_item_create_ordering_with_previous_item_id(dialect: str) -> None:
    client = Client(dialect)
    first = create(client, "a", "item_a")
    expected = (
        ["conversation.item.added", "conversation.item.done"]
        if dialect == "ga"
        else ["conversation.item.created"]
    )
    assert types(first) == expected
    assert first[0]["previous_item_id"] is None
    assert first[0]["item"]["status"] == "completed"
    create(client, "b", "item_b")
    inserted = create(client, "c", "item_c", previous="item_a")
    assert inserted[0]["previous_item_id"] == "item_a"
    rooted = create(client, "r", "item_r", previous="root")
    assert rooted[0]["previous_item_id"] is None
    assert [i["id"] for i in client.engine.conversation] == ["item_r", "item_a", "item_c", "item_b"]
    error = error_of(create(client, "x", "item_x", previous="item_nope"))
    assert error["code"] == "item_create_invalid_previous_item_id"
    assert (
        error["message"]
        == "Error adding item: the previous item with id 'item_nope' does not exist."
    )


def test_item_create_kinds_and_validation(dialect: str) -> None:
    client = Client(dialect)
    assistant_type = "output_text" if dialect == "ga" else "text"
    items: list[dict[str, Any]] = [
        {
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "Be nice."}],
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": assistant_type, "text": "Hello."}],
        },
        {"type": "function_call", "name": "get_weather", "arguments": "{}", "call_id": "call_1"},
        {"type": "function_call_output", "call_id": "call_1", "output": "{}"},
    ]
    for item in items:
        created = client.send({"type": "conversation.item.create", "item": item})
        assert created[0]["item"]["type"] == item["type"]
    assert client.engine.conversation[1]["content"] == [{"type": assistant_type, "text": "Hello."}]
    error = error_of(
        client.send(
            {"type": "conversation.item.create", "item": {"type": "message", "role": "user"}}
        )
    )
    assert error["message"] == "Missing required parameter: 'item.content'."
    bad = {"type": "message", "role": "user", "content": [{"type": "output_text", "text": "x"}]}
    error = error_of(client.send({"type": "conversation.item.create", "item": bad}))
    assert error["code"] == "invalid_value"
    assert error["param"] == "item.content[0].type"
    error = error_of(client.send({"type": "conversation.item.create", "item": {"type": "nope"}}))
    assert error["param"] == "item.type"
    error = error_of(
        client.send(
            {
                "type": "conversation.item.create",
                "item": {**items[0], "id": client.engine.conversation[0]["id"]},
            }
        )
    )
    assert error["param"] == "item.id"


def test_item_retrieve_and_delete(dialect: str) -> None:
    client = Client(dialect)
    create(client, "keep", "item_keep")
    create(client, "drop", "item_drop")
    retrieved = one(
        client.send({"type": "conversation.item.retrieve", "item_id": "item_keep"}),
        "conversation.item.retrieved",
    )
    assert retrieved["item"]["content"] == [{"type": "input_text", "text": "keep"}]
    deleted = client.send({"type": "conversation.item.delete", "item_id": "item_drop"})
    assert deleted[0] == {
        "type": "conversation.item.deleted",
        "event_id": deleted[0]["event_id"],
        "item_id": "item_drop",
    }
    assert [i["id"] for i in client.engine.conversation] == ["item_keep"]
    for action, verb in (("delete", "deleting"), ("retrieve", "retrieving")):
        error = error_of(
            client.send({"type": f"conversation.item.{action}", "item_id": "item_drop"})
        )
        assert error["code"] == f"item_{action}_invalid_item_id"
        assert (
            error["message"] == f"Error {verb} item: the item with id 'item_drop' does not exist."
        )


def test_truncate_assistant_audio(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("A reply of a couple of seconds."))
    events = client.turn({"type": "response.create"})
    item_id = one(events, "response.output_item.added")["item"]["id"]
    sent = audio_ms_sent(events, client.name("response.output_audio.delta"))
    error = error_of(client.send(truncate(item_id, 5000)))
    assert error["message"] == f"Audio content of {int(sent)}ms is already shorter than 5000ms"
    truncated = client.send(truncate(item_id, 1000))
    assert truncated[0]["type"] == "conversation.item.truncated"
    assert (truncated[0]["item_id"], truncated[0]["audio_end_ms"]) == (item_id, 1000)
    item = one(
        client.send({"type": "conversation.item.retrieve", "item_id": item_id}),
        "conversation.item.retrieved",
    )["item"]
    part = item["content"][0]
    assert PCM16.duration_ms(base64.b64decode(part["audio"])) == 1000
    assert part["transcript"] == ""


def truncate(item_id: str, end_ms: int, content_index: int = 0) -> Event:
    return {
        "type": "conversation.item.truncate",
        "item_id": item_id,
        "content_index": content_index,
        "audio_end_ms": end_ms,
    }


def test_truncate_between_events_sees_only_the_audio_sent(dialect: str) -> None:
    client = Client(
        dialect, ScriptedModel().otherwise("This answer is interrupted halfway through.")
    )
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    stream = iter(run)
    events: list[Event] = []
    audio_delta = client.name("response.output_audio.delta")
    while len(of_type(events, audio_delta)) < 3:
        events.append(next(stream))
    item_id = one(events, "response.output_item.added")["item"]["id"]
    error = error_of(client.send(truncate(item_id, 400)))
    assert error["message"] == "Audio content of 300ms is already shorter than 400ms"
    assert client.send(truncate(item_id, 250))[0]["type"] == "conversation.item.truncated"
    client.send({"type": "response.cancel"})
    assert client.check(list(stream))[-1]["response"]["status"] == "cancelled"


def test_truncate_errors(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Text only."))
    client.configure(output_modalities=["text"])
    create(client, "user words", "item_user")
    events = client.turn({"type": "response.create"})
    text_item = one(events, "response.output_item.added")["item"]["id"]
    for item_id in ("item_user", text_item):
        error = error_of(client.send(truncate(item_id, 0)))
        assert error["message"] == "Only model output audio messages can be truncated"
        assert error["code"] is None
    error = error_of(client.send(truncate("item_gone", 0)))
    assert error["code"] == "item_truncate_invalid_item_id"
    assert error["message"] == "Error truncating item: the item with id 'item_gone' does not exist."


# --------------------------------------------------------------- input audio


def test_commit_empty_and_too_short(dialect: str) -> None:
    client = Client(dialect)
    error = error_of(client.send({"type": "input_audio_buffer.commit"}))
    assert error["code"] == "input_audio_buffer_commit_empty"
    assert error["message"] == (
        "Error committing input audio buffer: buffer too small. "
        "Expected at least 100ms of audio, but buffer only has 0.00ms of audio."
    )
    client.send(append(bytes(PCM16.bytes_for_ms(50))))
    error = error_of(client.send({"type": "input_audio_buffer.commit"}))
    assert "buffer only has 50.00ms of audio" in error["message"]


def test_manual_commit_without_vad(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().hears_next("manual words"))
    client.configure(
        audio={"input": {"turn_detection": None, "transcription": {"model": "gpt-4o-transcribe"}}}
    )
    pcm = read_wav("hello_there.wav")
    assert feed(client, pcm) == []
    events = client.send({"type": "input_audio_buffer.commit"})
    committed = one(events, "input_audio_buffer.committed")
    delta = "conversation.item.input_audio_transcription.delta"
    assert "".join(e["delta"] for e in of_type(events, delta)) == "manual words"
    completed = one(events, "conversation.item.input_audio_transcription.completed")
    assert completed["item_id"] == committed["item_id"]
    assert completed["usage"]["type"] == "tokens"
    assert client.engine.next_response() is None  # no VAD, no auto-response
    item = one(
        client.send({"type": "conversation.item.retrieve", "item_id": committed["item_id"]}),
        "conversation.item.retrieved",
    )["item"]
    assert base64.b64decode(item["content"][0]["audio"]) == pcm
    assert item["content"][0]["transcript"] == "manual words"
    assert one(client.send({"type": "input_audio_buffer.clear"}), "input_audio_buffer.cleared")


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_server_vad_finds_speech_in_recordings(dialect: str, name: str) -> None:
    truth = RECORDINGS[name]
    model = (
        ScriptedModel()
        .when("hello")
        .say("Hi!")
        .when("weather")
        .call("get_weather", city="Paris")
        .otherwise("OK.")
    )
    model.hears(AUDIO_DIR / name, truth["text"])
    client = Client(dialect, model)
    client.configure(
        tools=[WEATHER_TOOL], audio={"input": {"transcription": {"model": "whisper-1"}}}
    )
    events = feed(client, read_wav(name))
    started = one(events, "input_audio_buffer.speech_started")
    stopped = one(events, "input_audio_buffer.speech_stopped")
    # The real server's positions include the prefix padding and the silence duration.
    assert started["audio_start_ms"] + 300 == pytest.approx(truth["speech_start_ms"], abs=100)
    assert stopped["audio_end_ms"] - 500 == pytest.approx(truth["speech_end_ms"], abs=100)
    assert stopped["item_id"] == started["item_id"]
    committed = one(events, "input_audio_buffer.committed")
    assert committed["item_id"] == started["item_id"]
    item_event = "conversation.item.added" if dialect == "ga" else "conversation.item.created"
    assert one(events, item_event)["item"]["content"] == [
        {"type": "input_audio", "transcript": None}
    ]
    completed = one(events, "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == truth["text"]
    assert completed["usage"]["type"] == "duration"
    response = client.drain()
    assert one(response, "response.done")["response"]["status"] == "completed"
    assert model.contexts[-1].user_text == truth["text"]
    if "weather" in truth["text"]:
        assert one(response, "response.output_item.added")["item"]["name"] == "get_weather"


def test_vad_positions_count_the_whole_session(dialect: str) -> None:
    client = Client(dialect)
    pcm = read_wav("stop.wav")
    feed(client, pcm)
    client.drain()
    events = feed(client, pcm)
    started = one(events, "input_audio_buffer.speech_started")
    offset = PCM16.duration_ms(pcm)
    assert started["audio_start_ms"] + 300 == pytest.approx(
        offset + RECORDINGS["stop.wav"]["speech_start_ms"], abs=100
    )


def test_speech_interrupts_the_active_response(dialect: str) -> None:
    model = (
        ScriptedModel()
        .when("stop")
        .say("Okay, stopping.")
        .otherwise("Let me tell you a long story about the sea and the ships.")
    )
    model.hears(AUDIO_DIR / "stop.wav", "stop")
    client = Client(dialect, model)
    client.say("tell me a story")
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    stream = iter(run)
    events = client.check([next(stream) for _ in range(6)])
    pcm = read_wav("stop.wav")
    vad_events: list[Event] = []
    step = PCM16.bytes_for_ms(100)
    for start in range(0, len(pcm), step):
        vad_events += client.send(append(pcm[start : start + step]))
        if of_type(vad_events, "input_audio_buffer.speech_started"):
            break
    assert run.cancelled
    epilogue = client.check(list(stream))
    done = epilogue[-1]["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    vad_events += feed(client, pcm[start + step :])
    assert one(vad_events, "input_audio_buffer.speech_stopped")
    answer = client.drain()
    transcript = one(answer, client.name("response.output_audio_transcript.done"))["transcript"]
    assert transcript == "Okay, stopping."
    assert events[0]["type"] == "response.created"


def test_auto_response_waits_for_the_active_one(dialect: str) -> None:
    model = (
        ScriptedModel()
        .when("stop")
        .say("Stopped.")
        .otherwise("A long answer that keeps going and going.")
    )
    model.hears(AUDIO_DIR / "stop.wav", "stop")
    client = Client(dialect, model)
    client.configure(
        audio={"input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}}
    )
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    feed(client, read_wav("stop.wav"))
    assert not run.cancelled
    assert client.engine.next_response() is None  # the auto-response waits its turn
    assert client.stream(run)[-1]["response"]["status"] == "completed"
    answer = client.drain()
    assert (
        one(answer, client.name("response.output_audio_transcript.done"))["transcript"]
        == "Stopped."
    )


# --------------------------------------------------------------- bad input


def test_bad_json_and_unknown_type(dialect: str) -> None:
    client = Client(dialect)
    error = error_of(client.send("{not json"))
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_json"
    error = error_of(client.send(b"\xff\xfe"))
    assert error["code"] == "invalid_json"
    error = error_of(client.send("[1, 2]"))
    assert error["code"] == "invalid_type"
    error = error_of(client.send({"type": "response.audio.delta", "event_id": "evt_7"}))
    assert error["code"] == "invalid_value"
    assert error["param"] == "type"
    assert error["message"].startswith(
        "Invalid value: 'response.audio.delta'. Supported values are: 'session.update',"
    )
    assert error["event_id"] == "evt_7"
    error = error_of(client.send({"event_id": "evt_8"}))
    assert error["message"] == "Missing required parameter: 'type'."


def test_missing_and_mistyped_fields(dialect: str) -> None:
    client = Client(dialect)
    cases: list[tuple[Event, str, str]] = [
        ({"type": "conversation.item.delete"}, "missing_required_parameter", "item_id"),
        ({"type": "conversation.item.retrieve", "item_id": 5}, "invalid_type", "item_id"),
        (
            {"type": "conversation.item.truncate", "item_id": "x"},
            "item_truncate_invalid_item_id",
            "",
        ),
        ({"type": "input_audio_buffer.append"}, "missing_required_parameter", "audio"),
        ({"type": "input_audio_buffer.append", "audio": "not base64!"}, "invalid_value", "audio"),
        ({"type": "conversation.item.create"}, "missing_required_parameter", "item"),
        ({"type": "session.update"}, "missing_required_parameter", "session"),
        (
            {"type": "response.create", "response": {"bogus": True}},
            "unknown_parameter",
            "response.bogus",
        ),
    ]
    for event, code, param in cases:
        error = error_of(client.send(event))
        assert error["code"] == code, event
        assert (error["param"] or "") == param, event
    error = error_of(client.send({"type": "conversation.item.retrieve", "item_id": 5}))
    assert (
        error["message"]
        == "Invalid type for 'item_id': expected a string, but got an integer instead."
    )


def test_errors_never_stop_the_session(dialect: str) -> None:
    client = Client(dialect, ScriptedModel().otherwise("Still here."))
    for frame in ("", "null", '{"type": 1}', "{}"):
        assert client.send(frame)[0]["type"] == "error"
    assert (
        one(client.turn({"type": "response.create"}), "response.done")["response"]["status"]
        == "completed"
    )


def test_audio_ms_of_a_copied_event_falls_back_to_pcm16() -> None:
    event = {"type": "response.output_audio.delta", "delta": base64.b64encode(bytes(4800)).decode()}
    assert audio_ms(event) == 100
    assert audio_ms({"type": "response.done"}) == 0


# ------------------------------------------------------------------- models


def context(
    text: str | None = None, outputs: tuple[ToolOutput, ...] = (), tools: tuple[str, ...] = ()
) -> ReplyContext:
    return ReplyContext(
        user_text=text,
        tool_outputs=outputs,
        tools=tuple({"type": "function", "name": name} for name in tools),
    )


def test_scripted_model_rules() -> None:
    model = (
        ScriptedModel()
        .when(re.compile(r"weather in (?P<city>\w+)", re.I))
        .say("Checking {city}.")
        .call("get_weather", city="{city}")
        .when("HELLO", "hi")
        .say("Hi!")
        .once()
        .when(tool_output=True)
        .say("Got {output}.")
        .otherwise("I heard: {text}")
    )
    assert model.reply(context("Weather in Oslo?")) == [
        Say("Checking Oslo."),
        Call("get_weather", {"city": "Oslo"}),
    ]
    assert model.reply(context("well hello")) == [Say("Hi!")]
    assert model.reply(context("well hello")) == [Say("I heard: well hello")]
    outputs = (ToolOutput("call_1", "get_weather", "sunny"),)
    assert model.reply(context("weather in Oslo", outputs)) == [Say("Got sunny.")]
    assert model.reply(context("{missing} stays")) == [Say("I heard: {missing} stays")]
    with pytest.raises(ValueError, match="when"):
        ScriptedModel().say("no rule")


def test_scripted_model_hears_recordings_through_vad_cuts() -> None:
    model = ScriptedModel()
    for name, truth in RECORDINGS.items():
        model.hears(AUDIO_DIR / name, truth["text"])
    pcm = read_wav("weather_paris.wav")
    cut = pcm[PCM16.bytes_for_ms(150) : PCM16.bytes_for_ms(2400)]
    assert model.transcribe(cut, 24000) == "what is the weather in Paris"
    silence = bytes(PCM16.bytes_for_ms(1000))
    assert model.transcribe(silence, 24000) == "(1.0 s of speech)"
    model.hears_next("queued")
    assert model.transcribe(silence, 24000) == "queued"
    assert placeholder_transcript(bytes(67200), 24000) == "(1.4 s of speech)"


def test_demo_model() -> None:
    model = DemoModel()
    assert model.reply(context("What's the weather in Paris?", tools=("get_weather",))) == [
        Call("get_weather", {"city": "Paris"})
    ]
    no_tool = model.reply(context("What's the weather in Paris?"))
    assert isinstance(no_tool[0], Say)
    assert "don't have a weather tool" in no_tool[0].text
    output = ToolOutput("call_1", "get_weather", '{"city": "Paris", "temp_c": 21}')
    answer = model.reply(context("weather in Paris", (output,)))
    assert answer == [Say("In Paris it is 21 degrees.")]
    greeting = model.reply(context("hello"))[0]
    assert isinstance(greeting, Say)
    assert greeting.text.startswith("Hello")


def test_demo_model_end_to_end(dialect: str) -> None:
    client = Client(dialect, DemoModel())
    client.configure(tools=[WEATHER_TOOL], output_modalities=["text"])
    client.say("what's the weather in Paris")
    events = client.turn({"type": "response.create"})
    assert one(events, "response.function_call_arguments.done")["arguments"] == '{"city": "Paris"}'


# ----------------------------------------------------------------- speech, vad


def test_speech_is_deterministic_and_speech_like() -> None:
    speech = synthesize("Hello there, how are you today?")
    assert speech.pcm == synthesize("Hello there, how are you today?").pcm
    assert speech.duration_ms == pytest.approx(31 / CHARS_PER_SECOND * 1000, abs=1)
    assert "".join(w.text for w in speech.words) == speech.text
    assert all(a.end_ms == pytest.approx(b.start_ms) for a, b in itertools.pairwise(speech.words))
    detector = VoiceActivityDetector()
    found = detector.push(speech.pcm + bytes(PCM16.bytes_for_ms(800)))
    assert isinstance(found[0], SpeechStarted)
    assert isinstance(found[-1], SpeechStopped)
    assert synthesize("Hi", voice="alloy").pcm != synthesize("Hi", voice="echo").pcm


def test_vad_ignores_silence_and_respects_threshold() -> None:
    detector = VoiceActivityDetector()
    assert detector.push(bytes(PCM16.bytes_for_ms(2000))) == []
    assert detector.position_ms == 2000
    deaf = VoiceActivityDetector(VadSettings(threshold=1.0))
    assert deaf.push(read_wav("hello_there.wav")) == []
