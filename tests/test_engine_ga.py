"""The engine speaks today's GA API: obfuscated deltas, gpt-realtime-2, transcription, DTMF, idle.

Every event is validated by the official SDK's server event union, and
checked for fields it doesn't know, through the engine tests' client.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import (
    RECORDINGS,
    WEATHER_TOOL,
    Client,
    Event,
    append,
    error_of,
    feed,
    of_type,
    one,
    read_wav,
    types,
)

from realtime_events.audio import PCM16
from realtime_events.testing.engine import audio_ms
from realtime_events.testing.models import (
    DemoModel,
    ScriptedModel,
    is_multi_message,
)

TEXT_DELTAS = (
    "response.output_text.delta",
    "response.output_audio_transcript.delta",
    "response.function_call_arguments.delta",
)


def silence(ms: int) -> bytes:
    return bytes(PCM16.bytes_for_ms(ms))


def ask(client: Client, text: str) -> list[Event]:
    """A user's text message, then the response it asks for, streamed."""
    client.say(text)
    return client.turn({"type": "response.create"})


def two_models() -> ScriptedModel:
    return (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees.")
        .otherwise("Here is my answer.")
    )


# --------------------------------------------------------------- obfuscation


def test_ga_text_deltas_carry_obfuscation_padding_to_sixteen() -> None:
    client = Client("ga", two_models())
    client.configure(tools=[WEATHER_TOOL])
    events = ask(client, "hello") + ask(client, "weather?")
    client.configure(output_modalities=["text"])
    events += ask(client, "and now in text")
    deltas = [e for e in events if e["type"] in TEXT_DELTAS]
    assert {e["type"] for e in deltas} == set(TEXT_DELTAS)
    for delta in deltas:
        padding = delta["obfuscation"]
        assert padding.isalnum()
        assert (len(delta["delta"]) + len(padding)) % 16 == 0
    assert len({d["obfuscation"] for d in deltas}) > 1  # random-looking, not one constant


def test_beta_deltas_have_no_obfuscation() -> None:
    client = Client("beta", two_models())
    events = ask(client, "hello")
    deltas = of_type(events, "response.audio_transcript.delta")
    assert deltas
    assert all("obfuscation" not in d for d in deltas)


def test_ga_session_carries_id_object_and_expires_at() -> None:
    client = Client("ga")
    session = one(client.events, "session.created")["session"]
    assert session["object"] == "realtime.session"
    assert session["id"] == client.engine.session_id
    assert session["id"].startswith("sess_")
    assert session["expires_at"] == 1_700_000_000 + 3600
    updated = one(client.configure(instructions="Be brief."), "session.updated")["session"]
    assert (updated["id"], updated["expires_at"]) == (session["id"], session["expires_at"])


# ------------------------------------------------------------ gpt-realtime-2


def test_multi_message_models_are_gpt_realtime_2_and_its_versions() -> None:
    assert is_multi_message("gpt-realtime-2")
    assert is_multi_message("gpt-realtime-2.1")
    assert is_multi_message("gpt-realtime-2.1-mini")
    assert not is_multi_message("gpt-realtime")
    assert not is_multi_message("gpt-realtime-2025-08-28")  # a dated gpt-realtime


def messages(events: list[Event]) -> list[dict[str, Any]]:
    return [e["item"] for e in of_type(events, "response.output_item.done")]


@pytest.mark.parametrize("modality", ["audio", "text"])
def test_gpt_realtime_2_speaks_a_preamble_message_then_the_answer(modality: str) -> None:
    client = Client("ga", two_models(), query={"model": "gpt-realtime-2"})
    assert one(client.events, "session.created")["session"]["model"] == "gpt-realtime-2"
    client.configure(output_modalities=[modality])
    events = ask(client, "hello")
    added = of_type(events, "response.output_item.added")
    assert [e["output_index"] for e in added] == [0, 1]
    first, second = messages(events)
    assert first["id"] != second["id"]
    part = "output_audio" if modality == "audio" else "output_text"
    key = "transcript" if modality == "audio" else "text"
    assert [c["type"] for c in first["content"]] == [part]
    assert [c["type"] for c in second["content"]] == [part]
    assert first["content"][0][key] == "Let me think."
    assert second["content"][0][key] == "Here is my answer."
    # Each message has its own content part, at content_index 0 of its own item.
    parts = of_type(events, "response.content_part.added")
    assert [(p["item_id"], p["content_index"]) for p in parts] == [
        (first["id"], 0),
        (second["id"], 0),
    ]
    if modality == "audio":
        audio = of_type(events, "response.output_audio.delta")
        assert {a["item_id"] for a in audio} == {first["id"], second["id"]}
    done = one(events, "response.done")["response"]
    assert [item["id"] for item in done["output"]] == [first["id"], second["id"]]
    assert [item["id"] for item in client.engine.conversation[-2:]] == [first["id"], second["id"]]


def test_gpt_realtime_2_calls_a_function_after_its_preamble_and_answers_without_one() -> None:
    client = Client("ga", two_models(), session_defaults={"model": "gpt-realtime-2"})
    client.configure(tools=[WEATHER_TOOL], output_modalities=["text"])
    events = ask(client, "weather in Paris?")
    preamble, call = messages(events)
    assert preamble["content"][0]["text"] == "Let me think."
    assert (call["type"], call["name"]) == ("function_call", "get_weather")
    assert one(events, "response.function_call_arguments.done")["output_index"] == 1
    output = {
        "type": "conversation.item.create",
        "item": {
            "type": "function_call_output",
            "call_id": call["call_id"],
            "output": '{"temp_c": 21}',
        },
    }
    client.send(output)
    answer = client.turn({"type": "response.create"})
    assert [m["content"][0]["text"] for m in messages(answer)] == ["It is 21 degrees."]


def test_gpt_realtime_answers_in_one_message() -> None:
    client = Client("ga", two_models())
    events = ask(client, "hello")
    assert len(messages(events)) == 1


def test_demo_model_speaks_a_preamble_on_gpt_realtime_2() -> None:
    client = Client("ga", DemoModel(), query={"model": "gpt-realtime-2.1"})
    client.configure(output_modalities=["text"])
    texts = [m["content"][0]["text"] for m in messages(ask(client, "hello"))]
    assert texts[0] == "Let me think."
    assert texts[1].startswith("Hello!")


def test_cancel_in_the_second_message_keeps_the_first_whole() -> None:
    model = ScriptedModel().otherwise("This is a rather long answer, long enough to cancel.")
    client = Client("ga", model, query={"model": "gpt-realtime-2"})
    client.say("hello")
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    stream = iter(run)
    events: list[Event] = []
    # Up to the second message's second audio chunk.
    while len([e for e in events if e["type"] == "response.output_audio.delta"
               and e["output_index"] == 1]) < 2:  # fmt: skip
        events.append(next(stream))
    assert client.send({"type": "response.cancel"}) == []
    events += client.check(list(stream))
    first, second = messages(events)
    assert first["status"] == "completed"
    assert first["content"][0]["transcript"] == "Let me think."
    assert second["status"] == "incomplete"
    heard = second["content"][0]["transcript"]
    assert heard
    assert "This is a rather long answer, long enough to cancel.".startswith(heard)
    assert heard != "This is a rather long answer, long enough to cancel."
    assert one(events, "response.done")["response"]["status"] == "cancelled"


def test_truncate_either_message_of_a_multi_message_response() -> None:
    client = Client("ga", two_models(), query={"model": "gpt-realtime-2"})
    events = ask(client, "hello")
    first, second = messages(events)
    for item, end_ms in ((first, 200), (second, 300)):
        truncated = one(
            client.send(
                {
                    "type": "conversation.item.truncate",
                    "item_id": item["id"],
                    "content_index": 0,
                    "audio_end_ms": end_ms,
                }
            ),
            "conversation.item.truncated",
        )
        assert (truncated["item_id"], truncated["audio_end_ms"]) == (item["id"], end_ms)
    kept = {item["id"]: item for item in client.engine.conversation}
    for item, end_ms in ((first, 200), (second, 300)):
        audio = kept[item["id"]]["content"][0]["audio"]
        assert len(audio) * 3 // 4 == PCM16.bytes_for_ms(end_ms)
    # The message not heard at all can be deleted, as barge-in does.
    deleted = client.send({"type": "conversation.item.delete", "item_id": second["id"]})
    assert one(deleted, "conversation.item.deleted")["item_id"] == second["id"]


# ----------------------------------------------------------------- reasoning


def test_reasoning_effort_on_the_session_and_per_response() -> None:
    model = two_models()
    client = Client("ga", model, query={"model": "gpt-realtime-2"})
    session = one(
        client.configure(reasoning={"effort": "low"}, parallel_tool_calls=False),
        "session.updated",
    )["session"]
    assert session["reasoning"] == {"effort": "low"}
    assert session["parallel_tool_calls"] is False
    ask(client, "hello")
    assert model.contexts[-1].reasoning_effort == "low"
    client.turn({"type": "response.create", "response": {"reasoning": {"effort": "xhigh"}}})
    assert model.contexts[-1].reasoning_effort == "xhigh"
    assert model.contexts[-1].model == "gpt-realtime-2"


@pytest.mark.parametrize(
    ("event", "param"),
    [
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "reasoning": {"effort": "max"}},
            },
            "session.reasoning.effort",
        ),
        (
            {"type": "response.create", "response": {"reasoning": {"effort": "max"}}},
            "response.reasoning.effort",
        ),
    ],
)
def test_an_unknown_reasoning_effort_is_refused_with_the_supported_ones(
    event: Event, param: str
) -> None:
    client = Client("ga")
    error = error_of(client.send(event))
    assert error["code"] == "invalid_value"
    assert error["param"] == param
    assert error["message"] == (
        "Invalid value: 'max'. Supported values are: "
        "'minimal', 'low', 'medium', 'high', and 'xhigh'."
    )
    assert client.engine.next_response() is None


# ------------------------------------------------------------- transcription


def transcription_update(**audio_input: Any) -> Event:
    return {
        "type": "session.update",
        "session": {"type": "transcription", "audio": {"input": audio_input}},
    }


def test_transcription_session_transcribes_and_never_responds() -> None:
    name = "hello_there.wav"
    model = ScriptedModel().hears(Path(__file__).parent / "audio" / name, RECORDINGS[name]["text"])
    client = Client("ga", model, query={"intent": "transcription"})
    session = one(client.events, "session.created")["session"]
    assert (session["type"], session["object"]) == (
        "transcription",
        "realtime.transcription_session",
    )
    assert "output_modalities" not in session
    updated = one(
        client.send(transcription_update(transcription={"model": "gpt-4o-transcribe"})),
        "session.updated",
    )["session"]
    assert updated["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe"}
    events = feed(client, read_wav(name) + silence(1000))
    assert types(events)[:2] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
    ]
    one(events, "input_audio_buffer.committed")
    completed = one(events, "conversation.item.input_audio_transcription.completed")
    assert completed["transcript"] == RECORDINGS[name]["text"]
    assert of_type(events, "conversation.item.input_audio_transcription.delta")
    assert client.engine.next_response() is None
    assert model.contexts == []
    error = error_of(client.send({"type": "response.create"}))
    assert error["code"] == "invalid_value"
    assert error["param"] == "type"
    assert "'response.create'" in error["message"]
    assert "'input_audio_buffer.append'" in error["message"]


def test_the_session_type_is_fixed_by_the_connection() -> None:
    realtime = Client("ga")
    error = error_of(realtime.send(transcription_update()))
    assert error["code"] == "invalid_parameter"
    assert error["message"] == (
        "Passing a transcription session update event to a realtime session is not allowed."
    )
    transcription = Client("ga", query={"intent": "transcription"})
    error = error_of(
        transcription.send({"type": "session.update", "session": {"type": "realtime"}})
    )
    assert error["code"] == "invalid_parameter"
    assert "realtime session update event to a transcription session" in error["message"]


def test_transcription_session_from_the_defaults_and_its_refusals() -> None:
    client = Client(
        "ga",
        session_defaults={
            "type": "transcription",
            "audio": {
                "input": {
                    "transcription": {"model": "gpt-realtime-whisper"},
                    "turn_detection": None,
                }
            },
        },
    )
    session = one(client.events, "session.created")["session"]
    assert session["type"] == "transcription"
    assert session["audio"]["input"]["turn_detection"] is None
    error = error_of(client.send(transcription_update(turn_detection={"type": "server_vad"})))
    assert error["message"] == "Turn detection is not supported for this transcription model."
    error = error_of(client.send(transcription_update(output={"voice": "marin"})))
    assert (error["code"], error["param"]) == ("unknown_parameter", "session.audio.input.output")
    refused = Client("ga", query={"intent": "transcription", "model": "gpt-realtime"})
    error = refused.events[0]["error"]
    assert types(refused.events) == ["error"]
    assert error["message"] == "You must not provide a model parameter for transcription sessions."


# ---------------------------------------------------------------------- DTMF


@pytest.mark.parametrize("digit", ["0", "9", "*", "#", "A", "D"])
def test_dtmf_event(digit: str) -> None:
    client = Client("ga")
    events = client.check(client.engine.dtmf_event(digit))
    assert events == [
        {
            "type": "input_audio_buffer.dtmf_event_received",
            "event": digit,
            "received_at": 1_700_000_000,
        }
    ]


@pytest.mark.parametrize("digit", ["", "12", "E", "x", " "])
def test_dtmf_refuses_what_no_keypad_sends(digit: str) -> None:
    with pytest.raises(ValueError, match="DTMF"):
        Client("ga").engine.dtmf_event(digit)


# -------------------------------------------------------------- idle timeout


def idle_client(timeout_ms: int = 2000, **turn_detection: Any) -> tuple[Client, ScriptedModel]:
    model = ScriptedModel().otherwise("Are you still there?")
    client = Client("ga", model)
    detection = {"type": "server_vad", "idle_timeout_ms": timeout_ms, **turn_detection}
    client.configure(audio={"input": {"turn_detection": detection}})
    return client, model


def test_idle_timeout_counts_input_audio_after_the_response_played() -> None:
    client, _ = idle_client()
    client.say("hello")
    feed(client, silence(500))  # audio before the response: not part of the wait
    response = client.turn({"type": "response.create"})
    playback = sum(
        PCM16.duration_ms(len(e["delta"]) * 3 // 4)
        for e in of_type(response, "response.output_audio.delta")
    )
    assert playback > 0
    waiting = feed(client, silence(int(playback) + 1900))
    assert "input_audio_buffer.timeout_triggered" not in types(waiting)
    events = feed(client, silence(200))
    timeout = one(events, "input_audio_buffer.timeout_triggered")
    assert timeout["audio_start_ms"] == round(500 + playback)
    assert timeout["audio_end_ms"] - timeout["audio_start_ms"] == pytest.approx(2000, abs=100)
    committed = one(events, "input_audio_buffer.committed")
    assert committed["item_id"] == timeout["item_id"]
    assert one(events, "conversation.item.added")["item"]["content"][0]["type"] == "input_audio"
    answer = client.drain()
    assert one(answer, "response.done")["response"]["status"] == "completed"
    # Once: the next wait starts after this answer.
    assert "input_audio_buffer.timeout_triggered" not in types(feed(client, silence(500)))


def test_idle_timeout_by_wall_time_without_audio() -> None:
    client, _ = idle_client(timeout_ms=1000)
    client.say("hello")
    client.turn({"type": "response.create"})
    assert client.check(client.engine.advance(500)) == []
    events = client.check(client.engine.advance(60_000))
    timeout = one(events, "input_audio_buffer.timeout_triggered")
    assert timeout["audio_start_ms"] > 0
    assert timeout["audio_end_ms"] >= timeout["audio_start_ms"] + 1000
    assert client.engine.next_response() is not None
    with pytest.raises(ValueError, match="back"):
        client.engine.advance(-1)


@pytest.mark.parametrize("pace", [1.0, 0.5, 0.0])
def test_idle_timeout_counts_the_playback_once_however_fast_the_answer_streams(
    pace: float,
) -> None:
    # The I/O layer's way: each audio delta, then ``pace`` times its playback of wall time.
    client, _ = idle_client(timeout_ms=1000, create_response=False)
    client.say("hello")
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    playback = 0.0
    for event in run:
        client.check([event])
        playback += audio_ms(event)
        assert client.check(client.engine.advance(audio_ms(event) * pace)) == []
    assert playback > 1000  # longer than the timeout: counted twice, it would fire far later
    # The client plays from the first delta on: what has not played yet, then the timeout.
    left = playback * (1 - pace)
    assert client.check(client.engine.advance(left + 900)) == []
    timeout = one(client.check(client.engine.advance(200)), "input_audio_buffer.timeout_triggered")
    assert timeout["audio_start_ms"] == round(playback)  # no input audio: where playback ended
    assert timeout["audio_end_ms"] - timeout["audio_start_ms"] == pytest.approx(1100, abs=1)


def test_idle_timeout_never_fires_once_the_user_speaks_or_when_unset() -> None:
    client, _ = idle_client(timeout_ms=500, create_response=False)
    client.say("hello")
    client.turn({"type": "response.create"})
    events = feed(client, read_wav("hello_there.wav"))
    assert one(events, "input_audio_buffer.speech_started")
    assert "input_audio_buffer.timeout_triggered" not in types(events)
    assert client.check(client.engine.advance(60_000)) == []
    unset = Client("ga", ScriptedModel().otherwise("Hi."))
    unset.say("hello")
    unset.turn({"type": "response.create"})
    assert unset.check(unset.engine.advance(60_000)) == []
    assert "input_audio_buffer.timeout_triggered" not in types(feed(unset, silence(3000)))


def test_idle_timeout_does_not_fire_before_any_response() -> None:
    client, _ = idle_client(timeout_ms=200)
    assert client.check(client.engine.advance(10_000)) == []
    assert types(client.send(append(silence(1000)))) == []
