"""The local server's Live engine, Sans-I/O, checked by the official SDK's own Live types.

Every frame the engine emits in these conversations is validated by the
SDK's ``ServerEvent`` union (and a Responses backend's nested events by its
``ResponseStreamEvent`` union): session start, errors for bad input, audio
with server-side turn detection on a real recording, client and Responses
delegations, Decisions, appends, mute, fixtures, usage, update and close.
The last test holds the same conversation through the SDK's
``client.live.connect()`` over a loopback socket.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, cast

import anyio
import pytest
from openai.types.live import ServerEvent
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from realtime_events.audio import PCM16, chunks, read_wav, silence
from realtime_events.testing.engine import IdFactory
from realtime_events.testing.live import (
    ACKNOWLEDGEMENT,
    LIVE_PATH,
    LiveEngine,
    audio_ms,
)
from realtime_events.testing.models import ScriptedModel

LIVE = TypeAdapter[Any](ServerEvent)
RESPONSES = TypeAdapter[Any](ResponseStreamEvent)
AUDIO = Path(__file__).parent / "audio"
WEATHER = AUDIO / "weather_paris.wav"
HEARD = "What's the weather in Paris?"


def weather_model() -> ScriptedModel:
    """Delegates weather questions, reads the result back, greets otherwise."""
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
        .otherwise("Hello there!")
    )
    return model.hears(WEATHER, HEARD)


class Conversation:
    """A Live engine and every event it emitted, each validated by the SDK's union."""

    def __init__(self, model: ScriptedModel | None = None) -> None:
        self.engine = LiveEngine(
            model=model or weather_model(), ids=IdFactory(7), clock=lambda: 1_700_000_000.0
        )
        self.events: list[dict[str, Any]] = []

    def check(self, events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        checked = []
        for event in events:
            LIVE.validate_python(event)  # raises on any field the SDK would not accept
            if event["type"] == "response.event":
                RESPONSES.validate_python(event["event"])
            checked.append(cast(dict[str, Any], event))  # keeps audio_ms's duration
        self.events += checked
        return checked

    def send(self, **event: Any) -> list[dict[str, Any]]:
        return self.check(self.engine.receive(json.dumps(event)))

    def start(self, **session: Any) -> dict[str, Any]:
        [started] = self.send(type="session.start", session={"model": "gpt-live-1", **session})
        assert started["type"] == "session.started"
        return started

    def speak(self, pcm: bytes, trailing_ms: int = 1000) -> list[dict[str, Any]]:
        """Stream a recording in 100 ms appends, then silence: what the appends caused."""
        events = []
        for chunk in chunks(pcm + silence(trailing_ms), PCM16.bytes_for_ms(100)):
            audio = base64.b64encode(chunk).decode("ascii")
            events += self.send(type="session.input_audio.append", audio=audio)
        return events

    def stream(self) -> list[dict[str, Any]]:
        """Stream every run the engine has ready, to its end."""
        events = []
        while (run := self.engine.next_response()) is not None:
            events += self.check(run)
        return events


def types(events: Iterable[Mapping[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def transcript(events: Iterable[Mapping[str, Any]], kind: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == f"session.{kind}_transcript.delta")


def recording() -> bytes:
    pcm, rate = read_wav(WEATHER)
    assert rate == 24000
    return pcm


# ------------------------------------------------------------------ start, errors


def test_nothing_is_sent_before_session_start_and_started_carries_the_resolved_session() -> None:
    conversation = Conversation()
    assert conversation.engine.start() == []
    [started] = conversation.send(
        type="session.start",
        event_id="evt_start",
        session={"model": "gpt-live-1.1", "instructions": "Be brief.", "store": True},
    )
    parsed = LIVE.validate_python(started)
    assert parsed.type == "session.started"
    assert parsed.client_event_id == "evt_start"
    session = parsed.session
    assert session.id.startswith("live_")
    assert session.model == "gpt-live-1.1"
    assert session.status == "active"
    assert session.instructions == "Be brief."
    assert session.audio.output.voice == "marin"
    assert (session.audio.format.type, session.audio.format.rate) == ("audio/pcm", 24000)
    assert session.delegation.type == "client"
    assert session.expires_at > 1_700_000_000
    assert session.store is True
    assert LIVE_PATH == "/v1/live/sessions"


@pytest.mark.parametrize(
    ("frame", "code", "param"),
    [
        ("{not json", "invalid_json", None),
        ('["session.start"]', "invalid_type", None),
        ('{"type": "input_audio_buffer.commit"}', "invalid_value", "type"),
        ('{"type": "session.input_audio.append", "audio": ""}', "session_not_started", "type"),
        ('{"type": "session.start"}', "missing_required_parameter", "session"),
        ('{"type": "session.start", "session": {}}', "missing_required_parameter", "session.model"),
        (
            '{"type": "session.start", "session": {"model": "gpt-realtime"}}',
            "invalid_value",
            "session.model",
        ),
        (
            '{"type": "session.start", "session": {"model": "gpt-live-1", "voice": "marin"}}',
            "unknown_parameter",
            "session.voice",
        ),
        (
            '{"type": "session.start", "session": {"model": "gpt-live-1", '
            '"audio": {"format": {"type": "audio/pcm", "rate": 44100}}}}',
            "invalid_value",
            "session.audio.format.rate",
        ),
        (
            '{"type": "session.start", "session": {"model": "gpt-live-1", '
            '"audio": {"output": {"voice": "nobody"}}}}',
            "invalid_value",
            "session.audio.output.voice",
        ),
        (
            '{"type": "session.start", "session": {"model": "gpt-live-1", '
            '"delegation": {"type": "responses"}}}',
            "missing_required_parameter",
            "session.delegation.responses",
        ),
    ],
)
def test_bad_input_before_the_session_is_answered_with_the_live_error_shape(
    frame: str, code: str, param: str | None
) -> None:
    conversation = Conversation()
    [error] = conversation.check(conversation.engine.receive(frame))
    parsed = LIVE.validate_python(error)
    assert parsed.type == "error"
    assert (parsed.error.code, parsed.error.param) == (code, param)
    assert parsed.error.type == "invalid_request_error"
    assert not conversation.engine.started


def test_the_unknown_event_error_lists_every_client_event_and_the_session_goes_on() -> None:
    conversation = Conversation()
    conversation.start()
    [error] = conversation.send(type="session.input_audio.commit", event_id="evt_1")
    message = error["error"]["message"]
    for name in ("session.start", "session.input_audio.append", "session.commentary.append",
                 "decision.create", "response.item.create", "session.close"):  # fmt: skip
        assert f"'{name}'" in message
    assert error["client_event_id"] == error["error"]["client_event_id"] == "evt_1"
    [again] = conversation.send(type="session.start", session={"model": "gpt-live-1"})
    assert again["error"]["code"] == "session_already_started"
    [muted] = conversation.send(type="session.input_audio.mute", event_id="m")
    assert (muted["type"], muted["client_event_id"]) == ("session.input_audio.muted", "m")


def test_commands_a_session_refuses_name_their_fault() -> None:
    conversation = Conversation()
    conversation.start()
    [error] = conversation.send(
        type="response.item.create",
        item={"type": "function_call_output", "call_id": "call_1", "output": "{}"},
    )
    assert error["error"]["message"] == "response.item.create requires Responses delegation."
    [error] = conversation.send(type="session.thinking.append", content="quiet")
    assert error["error"]["param"] == "delegation_id"  # required, even when null
    [error] = conversation.send(
        type="session.commentary.append", content="x", delegation_id="item_nope"
    )
    assert error["error"]["code"] == "delegation_not_found"
    [error] = conversation.send(type="session.update", session={"instructions": "Louder."})
    assert (error["error"]["code"], error["error"]["param"]) == (
        "immutable_field_update",
        "session.instructions",
    )
    [error] = conversation.send(
        type="session.update", session={"delegation": {"type": "responses", "responses": {}}}
    )
    assert error["error"]["code"] == "immutable_field_update"
    [error] = conversation.send(type="decision.create", event_id="d1")
    assert "Decisions" in error["error"]["message"]


# ------------------------------------------------------------ audio conversation


def test_an_audio_turn_is_detected_transcribed_and_a_client_delegation_answered_aloud() -> None:
    conversation = Conversation()
    conversation.start()
    heard = conversation.speak(recording())
    assert types(heard) == ["session.input_transcript.delta"] * len(HEARD.split())
    assert transcript(heard, "input") == HEARD
    starts = [e["start_ms"] for e in heard]
    assert starts == sorted(starts)
    # The recording's speech starts at 405 ms; the detector pads 300 ms before it.
    assert 0 <= heard[0]["start_ms"] <= 405 <= heard[0]["end_ms"]
    assert heard[-1]["end_ms"] >= 1852

    answer = conversation.stream()
    [created] = [e for e in answer if e["type"] == "session.delegation.created"]
    assert created["delegation"]["target"] == "client"
    assert created["offset_ms"] >= heard[-1]["end_ms"]
    assert answer[0] == created  # delegated first, then acknowledged aloud
    assert transcript(answer, "output") == ACKNOWLEDGEMENT
    played = sum(audio_ms(e) for e in answer)
    assert played > 500  # the acknowledgement was spoken, not only written
    assert all("event_id" not in e for e in answer if e["type"] == "session.output_audio.delta")

    result = json.dumps({"city": "Paris", "temp_c": 21})
    [ack] = conversation.send(
        type="session.commentary.append",
        event_id="evt_result",
        content=result,
        delegation_id=created["delegation"]["id"],
    )
    assert (ack["type"], ack["client_event_id"]) == ("session.commentary.appended", "evt_result")
    spoken = conversation.stream()
    # The answer continues the turn its acknowledgement began: a space between the two.
    assert transcript(answer + spoken, "output") == f"{ACKNOWLEDGEMENT} It is 21 degrees in Paris."
    output = [e for e in spoken if e["type"] == "session.output_transcript.delta"]
    acknowledged = [e for e in answer if e["type"] == "session.output_transcript.delta"]
    assert output[0]["start_ms"] >= acknowledged[-1]["end_ms"]
    pcm = b"".join(
        base64.b64decode(e["delta"]) for e in spoken if e["type"] == "session.output_audio.delta"
    )
    assert PCM16.duration_ms(pcm) == pytest.approx(sum(audio_ms(e) for e in spoken))

    [closed] = conversation.send(type="session.close", event_id="bye")
    parsed = LIVE.validate_python(closed)
    assert (parsed.reason, parsed.client_event_id) == ("close_requested", "bye")
    assert parsed.usage.seconds == int((played + PCM16.duration_ms(pcm)) // 1000)
    assert conversation.engine.closed
    [late] = conversation.send(type="session.input_audio.mute")
    assert late["error"]["code"] == "session_closed"


def test_speech_during_an_answer_interrupts_it_where_it_was_heard() -> None:
    conversation = Conversation(ScriptedModel().otherwise("Hello there, " * 12))
    conversation.start()
    conversation.speak(recording())
    run = conversation.engine.next_response()
    assert run is not None
    events = iter(run)
    taken = conversation.check(next(events) for _ in range(6))
    conversation.speak(recording(), trailing_ms=0)  # the user talks over the answer
    rest = conversation.check(events)
    assert run.interrupted
    said = transcript(taken + rest, "output")
    assert said
    assert len(said) < len("Hello there, " * 12)
    assert sum(audio_ms(e) for e in taken + rest) < 5000


def test_muted_input_is_silence_to_the_model() -> None:
    conversation = Conversation()
    conversation.start()
    conversation.send(type="session.input_audio.mute")
    assert conversation.speak(recording()) == []
    [unmuted] = conversation.send(type="session.input_audio.unmute")
    assert unmuted["type"] == "session.input_audio.unmuted"
    assert transcript(conversation.speak(recording()), "input") == HEARD


def test_g711_sessions_hear_and_speak_at_8_khz() -> None:
    from realtime_events.audio import resample, ulaw_encode

    conversation = Conversation()
    started = conversation.start(audio={"format": {"type": "audio/pcmu", "rate": 8000}})
    assert started["session"]["audio"]["format"] == {"type": "audio/pcmu", "rate": 8000}
    ulaw = ulaw_encode(resample(recording() + silence(1000), 24000, 8000))
    heard = []
    for chunk in chunks(ulaw, 800):
        heard += conversation.send(
            type="session.input_audio.append", audio=base64.b64encode(chunk).decode()
        )
    assert "session.input_transcript.delta" in types(heard)
    answer = conversation.stream()
    audio = b"".join(base64.b64decode(e["delta"]) for e in answer if "delta" in e and
                     e["type"] == "session.output_audio.delta")  # fmt: skip
    assert len(audio) == pytest.approx(sum(audio_ms(e) for e in answer) * 8, abs=8)


# ----------------------------------------------------------- text and appends


def test_text_history_appends_and_commentary_without_a_delegation() -> None:
    model = ScriptedModel().otherwise("I heard: {text}")
    conversation = Conversation(model)
    history = [
        {"role": "developer", "content": [{"type": "input_text", "text": "Speak French."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Bonjour"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Salut !"}]},
    ]
    started = conversation.start(input=history)
    assert [m["role"] for m in started["session"]["input"]] == ["developer", "user", "assistant"]
    [ack] = conversation.send(
        type="session.instructions.append", content="Use short sentences.", delegation_id=None
    )
    assert ack["type"] == "session.instructions.appended"
    assert ack["start_ms"] == ack["end_ms"]
    [ack] = conversation.send(
        type="session.thinking.append", content="The user likes trains.", delegation_id=None
    )
    assert ack["type"] == "session.thinking.appended"
    assert conversation.stream() == []  # silent context says nothing
    [ack] = conversation.send(
        type="session.commentary.append", content="Your train leaves at nine.", delegation_id=None
    )
    assert ack["type"] == "session.commentary.appended"
    assert transcript(conversation.stream(), "output") == "Your train leaves at nine."
    [error] = conversation.send(
        type="session.commentary.append", content="word " * 600, delegation_id=None
    )
    assert error["error"]["code"] == "string_above_max_length"
    context = model.contexts
    assert context == []  # commentary without a delegation is relayed, not answered


# ------------------------------------------------------------------ Responses


def test_a_responses_delegation_streams_the_function_call_and_speaks_the_backend_answer() -> None:
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .once()
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
        .otherwise("Hello there!")
    )
    conversation = Conversation(model.hears(WEATHER, HEARD))
    tool = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    started = conversation.start(
        delegation={"type": "responses", "responses": {"model": "gpt-5.4", "tools": [tool]}}
    )
    assert started["session"]["delegation"]["responses"]["tools"] == [tool]
    conversation.speak(recording())
    first = conversation.stream()
    [created] = [e for e in first if e["type"] == "session.delegation.created"]
    assert created["delegation"]["target"] == "responses"
    nested = [e["event"] for e in first if e["type"] == "response.event"]
    assert {e["delegation_id"] for e in first if e["type"] == "response.event"} == {
        created["delegation"]["id"]
    }
    assert [e["sequence_number"] for e in nested] == list(range(len(nested)))
    [call] = [e["item"] for e in nested if e["type"] == "response.output_item.done"]
    assert (call["type"], call["name"], json.loads(call["arguments"])) == (
        "function_call",
        "get_weather",
        {"city": "Paris"},
    )
    assert nested[-1]["type"] == "response.completed"
    assert transcript(first, "output") == ACKNOWLEDGEMENT

    output = {"type": "function_call_output", "call_id": call["call_id"], "output": '{"city": '
              '"Paris", "temp_c": 19}'}  # fmt: skip
    assert conversation.send(type="response.item.create", item=output) == []
    assert conversation.send(type="response.create", event_id="go") == []
    answer = conversation.stream()
    nested = [e["event"] for e in answer if e["type"] == "response.event"]
    assert "".join(e["delta"] for e in nested if e["type"] == "response.output_text.delta") == (
        "It is 19 degrees in Paris."
    )
    assert all(e["client_event_id"] == "go" for e in answer if e["type"] == "response.event")
    assert transcript(answer, "output") == " It is 19 degrees in Paris."  # the turn goes on
    [error] = conversation.send(
        type="session.commentary.append", content="x", delegation_id=created["delegation"]["id"]
    )
    assert error["error"]["param"] == "delegation_id"  # Responses take no delegation ids

    # With no tool output waiting, response.create asks the backend afresh: a new delegation.
    conversation.send(type="response.create")
    fresh = conversation.stream()
    [opened] = [e for e in fresh if e["type"] == "session.delegation.created"]
    assert opened["delegation"]["id"] != created["delegation"]["id"]
    assert fresh[0] == opened
    nested = [e["event"]["type"] for e in fresh if e["type"] == "response.event"]
    assert nested[0] == "response.created"
    assert nested[-1] == "response.completed"
    texts = [e["event"] for e in fresh if e["type"] == "response.event"]
    assert [e["text"] for e in texts if e["type"] == "response.output_text.done"] == [
        "Hello there!"
    ]
    assert transcript(fresh, "output") == " Hello there!"  # the backend's answer, spoken


# -------------------------------------------------------------------- Decisions


def test_decisions_delegation_items_create_and_transcript_triggers() -> None:
    question = {"type": "predicate", "name": "wants_weather", "instructions": "Weather asked?"}
    choice = {
        "type": "choice",
        "name": "city",
        "instructions": "Which city?",
        "choices": [{"value": "Paris"}, {"value": "Rome"}],
    }
    conversation = Conversation()
    conversation.start(
        delegation={"type": "decisions", "decisions": {"model": "gpt-5.4-mini",
                                                        "questions": [question, choice]}},
        triggers=[{"type": "decisions", "event_type": "session.input_transcript.delta",
                   "decisions": {"questions": [question]}}],
    )  # fmt: skip
    [created] = conversation.send(
        type="decision.item.create",
        event_id="i1",
        item={"role": "user", "content": "I live in Paris."},
    )
    item_id = created["item"]["id"]
    assert created["client_event_id"] == "i1"
    [deleted] = conversation.send(type="decision.item.delete", item_id=item_id)
    assert deleted["item_id"] == item_id
    [error] = conversation.send(type="decision.item.delete", item_id=item_id)
    assert error["error"]["code"] == "item_not_found"

    [decided] = conversation.send(type="decision.create", event_id="d1")
    parsed = LIVE.validate_python(decided)
    answers = parsed.event.decision.answers
    assert [a.type for a in answers] == ["predicate", "choice"]
    assert answers[1].choice == "Paris"
    assert parsed.client_event_id == "d1"
    [error] = conversation.send(type="decision.create", event_id="d1")
    assert error["error"]["code"] == "duplicate_event_id"

    heard = conversation.speak(recording())
    [fired] = [e for e in heard if e["type"] == "decision.event"]
    last_delta = [e for e in heard if e["type"] == "session.input_transcript.delta"][-1]
    assert fired["source_event_id"] == last_delta["event_id"]
    assert fired["source_event_type"] == "session.input_transcript.delta"
    assert fired["trigger_id"] is not None
    answer = conversation.stream()
    [delegated] = [e for e in answer if e["type"] == "session.delegation.created"]
    assert delegated["delegation"]["target"] == "decisions"
    [evaluated] = [e for e in answer if e["type"] == "decision.event"]
    assert evaluated["delegation_id"] == delegated["delegation"]["id"]


# --------------------------------------------------- update, fixture, usage


def test_update_changes_delegation_settings_and_triggers_only() -> None:
    conversation = Conversation()
    conversation.start()
    [updated] = conversation.send(
        type="session.update",
        event_id="u1",
        session={"delegation": {"type": "client", "acknowledgement_delay_ms": 250},
                 "triggers": []},
    )  # fmt: skip
    assert updated["type"] == "session.updated"
    assert updated["session"]["delegation"] == {"type": "client", "acknowledgement_delay_ms": 250}
    assert updated["client_event_id"] == "u1"


def test_an_audio_fixture_plays_whole_while_input_and_appends_wait() -> None:
    conversation = Conversation()
    conversation.start()
    fixture = base64.b64encode(silence(450)).decode()
    [playing] = conversation.send(
        type="session.output_audio.fixture.play", audio=fixture, event_id="f"
    )
    assert (playing["type"], playing["client_event_id"]) == (
        "session.output_audio.fixture.playing",
        "f",
    )
    [error] = conversation.send(type="session.instructions.append", content="x", delegation_id=None)
    assert error["error"]["code"] == "audio_fixture_active"
    assert conversation.speak(recording()) == []  # dropped while it plays, not replayed
    played = conversation.stream()
    assert types(played)[-1] == "session.output_audio.fixture.played"
    assert sum(audio_ms(e) for e in played) == pytest.approx(450)
    assert conversation.send(type="session.instructions.append", content="x", delegation_id=None)


def test_usage_is_reported_as_session_time_passes() -> None:
    conversation = Conversation()
    conversation.start()
    assert conversation.check(conversation.engine.advance(14_000)) == []
    [usage] = conversation.check(conversation.engine.advance(2_000))
    assert usage["type"] == "session.usage.updated"
    assert usage["usage"] == {"seconds": 0}
    assert 0 < usage["context_window"]["usage_ratio"] < 1
    [closed] = conversation.check(conversation.engine.close("expired"))
    assert closed["reason"] == "expired"
    assert conversation.engine.close() == []


# ---------------------------------------------------- the SDK over a socket


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDK's Live client is asyncio-only
async def test_the_sdk_holds_a_conversation_with_the_engine_over_a_loopback_socket(
    anyio_backend: str,
) -> None:
    from openai import AsyncOpenAI
    from websockets.asyncio.server import ServerConnection, serve

    paths: list[str] = []

    async def handle(websocket: ServerConnection) -> None:
        assert websocket.request is not None
        paths.append(websocket.request.path)
        engine = LiveEngine(model=weather_model())

        async def stream() -> None:
            while not engine.closed:
                run = engine.next_response()
                if run is None:
                    await anyio.sleep(0.01)
                    continue
                for event in run:
                    await websocket.send(json.dumps(event))

        async with anyio.create_task_group() as group:
            group.start_soon(stream)
            async for frame in websocket:
                for event in engine.receive(frame):
                    await websocket.send(json.dumps(event))
                if engine.closed:
                    break
            group.cancel_scope.cancel()

    async with serve(handle, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=f"ws://127.0.0.1:{port}/v1")
        seen: list[Any] = []

        async with client.live.connect() as connection:

            async def until(kind: str) -> Any:
                while True:
                    event = LIVE.validate_json(await connection.recv_bytes())
                    seen.append(event)
                    if event.type == kind:
                        return event

            await connection.session.start(session={"model": "gpt-live-1"})
            started = await until("session.started")
            assert started.session.model == "gpt-live-1"
            for chunk in chunks(recording() + silence(1000), PCM16.bytes_for_ms(100)):
                await connection.session.input_audio.append(audio=base64.b64encode(chunk).decode())
            created = await until("session.delegation.created")
            await connection.session.commentary.append(
                content='{"city": "Paris", "temp_c": 18}', delegation_id=created.delegation.id
            )
            await until("session.commentary.appended")
            said = ""
            while "Paris." not in said:
                event = await until("session.output_transcript.delta")
                said += event.delta
            await connection.session.close()
            closed = await until("session.closed")
            assert closed.reason == "close_requested"

    assert paths == [LIVE_PATH]
    heard = "".join(e.delta for e in seen if e.type == "session.input_transcript.delta")
    assert heard == HEARD
    assert said.endswith("It is 18 degrees in Paris.")
    assert any(e.type == "session.output_audio.delta" for e in seen)
