"""Tests of the event models and parsers, checked against the official SDK's models."""

from __future__ import annotations

import base64
import copy
import json
import typing
from collections.abc import Callable
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openai.types.beta.realtime import realtime_client_event as beta_client_union
from openai.types.beta.realtime import realtime_server_event as beta_server_union
from openai.types.realtime import realtime_client_event as ga_client_union
from openai.types.realtime import realtime_server_event as ga_server_union

from realtime_events.errors import InvalidEventError, InvalidFrameError
from realtime_events.events import (
    BETA_TO_GA,
    CLIENT_EVENT_CLASSES,
    SERVER_EVENT_CLASSES,
    ClientEvent,
    ContentPart,
    ConversationItem,
    ConversationItemCreateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferDtmfEventReceivedEvent,
    RealtimeSessionInfo,
    Response,
    ResponseCancelEvent,
    ResponseCreateEvent,
    ResponseCreateParams,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ServerEvent,
    SessionUpdateEvent,
    UnknownServerEvent,
    canonical,
    parse_client_event,
    parse_server_event,
)

# --- The SDK's catalogue ------------------------------------------------------------


def _sdk_classes(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    """Map each ``type`` literal of an SDK union to the SDK class that has it."""
    members = typing.get_args(typing.get_args(union)[0])
    return {
        name: cls
        for cls in members
        for name in typing.get_args(cls.model_fields["type"].annotation)
    }


SDK_SERVER = {
    "ga": _sdk_classes(ga_server_union.RealtimeServerEvent),
    "beta": _sdk_classes(beta_server_union.RealtimeServerEvent),
}
SDK_CLIENT = {
    "ga": _sdk_classes(ga_client_union.RealtimeClientEvent),
    "beta": _sdk_classes(beta_client_union.RealtimeClientEvent),
}


def test_sdk_catalogue_has_the_documented_size() -> None:
    sizes = {dialect: len(classes) for dialect, classes in SDK_SERVER.items()}
    assert sizes == {"ga": 46, "beta": 34}
    assert {dialect: len(classes) for dialect, classes in SDK_CLIENT.items()} == {
        "ga": 11,
        "beta": 12,
    }


def test_server_classes_cover_exactly_the_sdk_server_events() -> None:
    assert set(SERVER_EVENT_CLASSES) == set(SDK_SERVER["ga"]) | set(SDK_SERVER["beta"])


def test_client_classes_cover_exactly_the_sdk_client_events() -> None:
    assert set(CLIENT_EVENT_CLASSES) == set(SDK_CLIENT["ga"]) | set(SDK_CLIENT["beta"])


def _expected_class_name(wire_type: str) -> str:
    """``response.output_audio.delta`` -> ``ResponseOutputAudioDeltaEvent``."""
    words = wire_type.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + "Event"


@pytest.mark.parametrize("wire_type", sorted(SERVER_EVENT_CLASSES))
def test_server_class_naming_and_spellings(wire_type: str) -> None:
    cls = SERVER_EVENT_CLASSES[wire_type]
    ga = canonical(wire_type)
    assert cls.canonical_type == ga
    assert cls.__name__ == _expected_class_name(ga)
    spellings = set(typing.get_args(cls.model_fields["type"].annotation))
    if ga in BETA_TO_GA.values():
        assert cls.beta_type is not None
        assert BETA_TO_GA[cls.beta_type] == ga
        assert spellings == {ga, cls.beta_type}
    else:
        assert cls.beta_type is None
        assert spellings == {ga}


@pytest.mark.parametrize("wire_type", sorted(CLIENT_EVENT_CLASSES))
def test_client_class_naming(wire_type: str) -> None:
    cls = CLIENT_EVENT_CLASSES[wire_type]
    assert cls.canonical_type == wire_type
    assert cls.__name__ == _expected_class_name(wire_type)
    assert cls.model_fields["type"].default == wire_type


def test_the_renamed_events_share_one_class() -> None:
    assert len(BETA_TO_GA) == 6
    for beta, ga in BETA_TO_GA.items():
        assert SERVER_EVENT_CLASSES[beta] is SERVER_EVENT_CLASSES[ga]
    assert len(set(SERVER_EVENT_CLASSES.values())) == 47


# --- Samples of every server event, both dialects ------------------------------------

USER_ITEM = {
    "id": "item_C1",
    "object": "realtime.item",
    "type": "message",
    "status": "completed",
    "role": "user",
    "content": [{"type": "input_audio", "transcript": "What's the weather in Paris?"}],
}
FUNCTION_CALL_ITEM = {
    "id": "item_C3",
    "object": "realtime.item",
    "type": "function_call",
    "status": "completed",
    "call_id": "call_Q1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
}
GA_ASSISTANT_ITEM = {
    "id": "item_C2",
    "object": "realtime.item",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_audio", "transcript": "It is sunny in Paris."}],
}
BETA_ASSISTANT_ITEM = {**GA_ASSISTANT_ITEM, "content": [{"type": "audio", "transcript": "Sunny."}]}

RESPONSE_USAGE = {
    "total_tokens": 310,
    "input_tokens": 250,
    "output_tokens": 60,
    "input_token_details": {"text_tokens": 120, "audio_tokens": 130, "cached_tokens": 64},
    "output_token_details": {"text_tokens": 15, "audio_tokens": 45},
}
GA_RESPONSE = {
    "object": "realtime.response",
    "id": "resp_R1",
    "status": "cancelled",
    "status_details": {"type": "cancelled", "reason": "turn_detected"},
    "output": [GA_ASSISTANT_ITEM],
    "conversation_id": "conv_A1",
    "output_modalities": ["audio"],
    "max_output_tokens": "inf",
    "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
    "usage": RESPONSE_USAGE,
    "metadata": None,
}
BETA_RESPONSE = {
    "object": "realtime.response",
    "id": "resp_R1",
    "status": "failed",
    "status_details": {
        "type": "failed",
        "error": {"type": "server_error", "code": "internal_error"},
    },
    "output": [BETA_ASSISTANT_ITEM],
    "conversation_id": "conv_A1",
    "modalities": ["text", "audio"],
    "voice": "alloy",
    "output_audio_format": "pcm16",
    "temperature": 0.8,
    "max_output_tokens": 4096,
    "usage": RESPONSE_USAGE,
    "metadata": {"topic": "weather"},
}
GA_SESSION = {
    "type": "realtime",
    "model": "gpt-realtime",
    "output_modalities": ["audio"],
    "instructions": "You are a helpful assistant.",
    "audio": {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 200,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    },
    "tools": [],
    "tool_choice": "auto",
    "tracing": None,
    "truncation": "auto",
    "prompt": None,
    "include": None,
    "max_output_tokens": "inf",
}
GA_TRANSCRIPTION_SESSION = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": {"type": "semantic_vad", "eagerness": "auto"},
        }
    },
    "include": ["item.input_audio_transcription.logprobs"],
}
BETA_SESSION = {
    "id": "sess_S1",
    "model": "gpt-4o-realtime-preview",
    "modalities": ["text", "audio"],
    "instructions": "You are a helpful assistant.",
    "voice": "alloy",
    "speed": 1.1,
    "input_audio_format": "pcm16",
    "output_audio_format": "g711_ulaw",
    "input_audio_transcription": {"model": "whisper-1"},
    "input_audio_noise_reduction": None,
    "turn_detection": {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
    },
    "tools": [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather of a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ],
    "tool_choice": "auto",
    "temperature": 0.8,
    "max_response_output_tokens": "inf",
    "tracing": "auto",
}
BETA_TRANSCRIPTION_SESSION = {
    "client_secret": {"value": "ek_abc123", "expires_at": 1735689600},
    "input_audio_format": "pcm16",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
    "modalities": ["text"],
    "turn_detection": {"type": "server_vad", "threshold": 0.5, "silence_duration_ms": 500},
}
LOGPROBS = [{"token": "What", "bytes": [87, 104, 97, 116], "logprob": -0.02}]
ERROR = {
    "type": "invalid_request_error",
    "code": "invalid_value",
    "message": "Invalid value: 'nova'. Supported values are: 'alloy', 'marin'.",
    "param": "session.audio.output.voice",
    "event_id": "evt_client_7",
}
CONTENT_KEYS = {
    "response_id": "resp_R1",
    "item_id": "item_C2",
    "output_index": 0,
    "content_index": 0,
}
AUDIO_B64 = base64.b64encode(b"\x00\x01\xfe\xff" * 4).decode()


def _ga_samples() -> list[dict[str, Any]]:
    return [
        {"type": "session.created", "event_id": "evt_1", "session": GA_SESSION},
        {"type": "session.updated", "event_id": "evt_2", "session": GA_TRANSCRIPTION_SESSION},
        {
            "type": "conversation.created",
            "event_id": "evt_3",
            "conversation": {"id": "conv_A1", "object": "realtime.conversation"},
        },
        {"type": "conversation.item.created", "event_id": "evt_4", "item": USER_ITEM},
        {
            "type": "conversation.item.added",
            "event_id": "evt_5",
            "item": GA_ASSISTANT_ITEM,
            "previous_item_id": "item_C1",
        },
        {
            "type": "conversation.item.done",
            "event_id": "evt_6",
            "item": FUNCTION_CALL_ITEM,
            "previous_item_id": "item_C2",
        },
        {"type": "conversation.item.retrieved", "event_id": "evt_7", "item": USER_ITEM},
        {"type": "conversation.item.deleted", "event_id": "evt_8", "item_id": "item_C1"},
        {
            "type": "conversation.item.truncated",
            "event_id": "evt_9",
            "item_id": "item_C2",
            "content_index": 0,
            "audio_end_ms": 1500,
        },
        {
            "type": "conversation.item.input_audio_transcription.delta",
            "event_id": "evt_10",
            "item_id": "item_C1",
            "content_index": 0,
            "delta": "What",
            "logprobs": LOGPROBS,
        },
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "evt_11",
            "item_id": "item_C1",
            "content_index": 0,
            "transcript": "What's the weather in Paris?",
            "usage": {
                "type": "tokens",
                "input_tokens": 24,
                "output_tokens": 9,
                "total_tokens": 33,
                "input_token_details": {"text_tokens": 0, "audio_tokens": 24},
            },
            "logprobs": LOGPROBS,
            "languages": [{"code": "en"}],
        },
        {
            "type": "conversation.item.input_audio_transcription.failed",
            "event_id": "evt_12",
            "item_id": "item_C1",
            "content_index": 0,
            "error": {
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": "The audio could not be transcribed.",
                "param": None,
            },
        },
        {
            "type": "conversation.item.input_audio_transcription.segment",
            "event_id": "evt_13",
            "item_id": "item_C1",
            "content_index": 0,
            "id": "seg_0001",
            "text": "What's the weather",
            "speaker": "A",
            "start": 0.0,
            "end": 1.25,
        },
        {"type": "input_audio_buffer.committed", "event_id": "evt_14", "item_id": "item_C1"},
        {"type": "input_audio_buffer.cleared", "event_id": "evt_15"},
        {
            "type": "input_audio_buffer.speech_started",
            "event_id": "evt_16",
            "item_id": "item_C1",
            "audio_start_ms": 1000,
        },
        {
            "type": "input_audio_buffer.speech_stopped",
            "event_id": "evt_17",
            "item_id": "item_C1",
            "audio_end_ms": 2000,
        },
        {
            "type": "input_audio_buffer.timeout_triggered",
            "event_id": "evt_18",
            "item_id": "item_C4",
            "audio_start_ms": 2000,
            "audio_end_ms": 8000,
        },
        {"type": "input_audio_buffer.dtmf_event_received", "event": "5", "received_at": 1735689600},
        {"type": "output_audio_buffer.started", "event_id": "evt_19", "response_id": "resp_R1"},
        {"type": "output_audio_buffer.stopped", "event_id": "evt_20", "response_id": "resp_R1"},
        {"type": "output_audio_buffer.cleared", "event_id": "evt_21", "response_id": "resp_R1"},
        {
            "type": "response.created",
            "event_id": "evt_22",
            "response": {
                "object": "realtime.response",
                "id": "resp_R1",
                "status": "in_progress",
                "status_details": None,
                "output": [],
                "usage": None,
            },
        },
        {"type": "response.done", "event_id": "evt_23", "response": GA_RESPONSE},
        {
            "type": "response.output_item.added",
            "event_id": "evt_24",
            "response_id": "resp_R1",
            "output_index": 0,
            "item": GA_ASSISTANT_ITEM,
        },
        {
            "type": "response.output_item.done",
            "event_id": "evt_25",
            "response_id": "resp_R1",
            "output_index": 1,
            "item": FUNCTION_CALL_ITEM,
        },
        {
            "type": "response.content_part.added",
            "event_id": "evt_26",
            **CONTENT_KEYS,
            "part": {"type": "audio", "transcript": ""},
        },
        {
            "type": "response.content_part.done",
            "event_id": "evt_27",
            **CONTENT_KEYS,
            "part": {"type": "audio", "transcript": "It is sunny in Paris."},
        },
        {
            "type": "response.output_text.delta",
            "event_id": "evt_28",
            **CONTENT_KEYS,
            "delta": "It is",
        },
        {
            "type": "response.output_text.done",
            "event_id": "evt_29",
            **CONTENT_KEYS,
            "text": "It is sunny in Paris.",
        },
        {
            "type": "response.output_audio.delta",
            "event_id": "evt_30",
            **CONTENT_KEYS,
            "delta": AUDIO_B64,
        },
        {"type": "response.output_audio.done", "event_id": "evt_31", **CONTENT_KEYS},
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": "evt_32",
            **CONTENT_KEYS,
            "delta": "It is ",
        },
        {
            "type": "response.output_audio_transcript.done",
            "event_id": "evt_33",
            **CONTENT_KEYS,
            "transcript": "It is sunny in Paris.",
        },
        {
            "type": "response.function_call_arguments.delta",
            "event_id": "evt_34",
            "response_id": "resp_R1",
            "item_id": "item_C3",
            "output_index": 1,
            "call_id": "call_Q1",
            "delta": '{"city": ',
        },
        {
            "type": "response.function_call_arguments.done",
            "event_id": "evt_35",
            "response_id": "resp_R1",
            "item_id": "item_C3",
            "output_index": 1,
            "call_id": "call_Q1",
            "name": "get_weather",
            "arguments": '{"city": "Paris"}',
        },
        {
            "type": "response.mcp_call_arguments.delta",
            "event_id": "evt_36",
            "response_id": "resp_R1",
            "item_id": "item_M1",
            "output_index": 0,
            "delta": '{"repo": ',
            "obfuscation": "a1b2",
        },
        {
            "type": "response.mcp_call_arguments.done",
            "event_id": "evt_37",
            "response_id": "resp_R1",
            "item_id": "item_M1",
            "output_index": 0,
            "arguments": '{"repo": "openai/openai-python"}',
        },
        {
            "type": "response.mcp_call.in_progress",
            "event_id": "evt_38",
            "item_id": "item_M1",
            "output_index": 0,
        },
        {
            "type": "response.mcp_call.completed",
            "event_id": "evt_39",
            "item_id": "item_M1",
            "output_index": 0,
        },
        {
            "type": "response.mcp_call.failed",
            "event_id": "evt_40",
            "item_id": "item_M1",
            "output_index": 0,
        },
        {"type": "mcp_list_tools.in_progress", "event_id": "evt_41", "item_id": "item_L1"},
        {"type": "mcp_list_tools.completed", "event_id": "evt_42", "item_id": "item_L1"},
        {"type": "mcp_list_tools.failed", "event_id": "evt_43", "item_id": "item_L1"},
        {"type": "error", "event_id": "evt_44", "error": ERROR},
        {
            "type": "rate_limits.updated",
            "event_id": "evt_45",
            "rate_limits": [
                {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 0.06},
                {"name": "tokens", "limit": 50000, "remaining": 49370, "reset_seconds": 0.756},
            ],
        },
    ]


def _beta_samples() -> list[dict[str, Any]]:
    ga = {sample["type"]: sample for sample in _ga_samples()}
    samples: list[dict[str, Any]] = []
    for wire_type in SDK_SERVER["beta"]:
        sample = copy.deepcopy(ga.get(canonical(wire_type), {}))
        sample["type"] = wire_type
        samples.append(sample)
    beta = {sample["type"]: sample for sample in samples}
    beta["session.created"]["session"] = BETA_SESSION
    beta["session.updated"]["session"] = {**BETA_SESSION, "voice": "verse"}
    beta["transcription_session.updated"].update(
        event_id="evt_46", session=BETA_TRANSCRIPTION_SESSION
    )
    beta["conversation.item.created"]["item"] = BETA_ASSISTANT_ITEM
    beta["response.output_item.added"]["item"] = BETA_ASSISTANT_ITEM
    beta["response.done"]["response"] = BETA_RESPONSE
    del beta["response.function_call_arguments.done"]["name"]
    completed = beta["conversation.item.input_audio_transcription.completed"]
    del completed["languages"]
    completed["usage"] = {"type": "duration", "seconds": 2.4}
    return samples


SAMPLES = [("ga", sample) for sample in _ga_samples()] + [
    ("beta", sample) for sample in _beta_samples()
]


def _sample_id(case: tuple[str, dict[str, Any]]) -> str:
    return f"{case[0]}:{case[1]['type']}"


def test_samples_cover_every_sdk_server_event() -> None:
    for dialect in ("ga", "beta"):
        sampled = [sample["type"] for d, sample in SAMPLES if d == dialect]
        assert sorted(sampled) == sorted(SDK_SERVER[dialect])


def _assert_no_extra(value: Any, where: str) -> None:
    if isinstance(value, pydantic.BaseModel):
        assert not value.model_extra, f"{where}: the SDK does not know {set(value.model_extra)}"
        for name in type(value).model_fields:
            _assert_no_extra(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for index, element in enumerate(value):
            _assert_no_extra(element, f"{where}.{index}")


@pytest.mark.parametrize("case", SAMPLES, ids=_sample_id)
def test_sample_is_faithful_to_the_sdk(case: tuple[str, dict[str, Any]]) -> None:
    dialect, sample = case
    sdk_class = SDK_SERVER[dialect][sample["type"]]
    _assert_no_extra(sdk_class.model_validate(sample), sample["type"])


ENCODINGS: dict[str, Callable[[str], bytes | bytearray | str]] = {
    "bytes": str.encode,
    "bytearray": lambda text: bytearray(text.encode()),
    "str": lambda text: text,
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("case", SAMPLES, ids=_sample_id)
def test_sample_round_trips(case: tuple[str, dict[str, Any]], encoding: str) -> None:
    _, sample = case
    event = parse_server_event(ENCODINGS[encoding](json.dumps(sample)))
    assert type(event).__name__ == _expected_class_name(canonical(sample["type"]))
    assert not isinstance(event, UnknownServerEvent)
    assert event.type == sample["type"]
    assert event.canonical_type == canonical(sample["type"])
    assert event.model_dump(mode="json", exclude_unset=True) == sample
    assert event.model_extra == {}


# --- Server event behaviour --------------------------------------------------------


def test_audio_delta_decodes_lazily() -> None:
    sample = {"type": "response.audio.delta", "event_id": "e", **CONTENT_KEYS, "delta": AUDIO_B64}
    event = parse_server_event(json.dumps(sample))
    assert isinstance(event, ResponseOutputAudioDeltaEvent)
    assert "audio" not in event.__dict__
    assert event.audio == b"\x00\x01\xfe\xff" * 4
    assert event.audio is event.audio
    assert "audio" not in event.model_dump()


def test_unknown_type_keeps_every_field() -> None:
    frame = {"type": "response.hologram.delta", "event_id": "e", "delta": {"x": [1, 2]}}
    event = parse_server_event(json.dumps(frame).encode())
    assert type(event) is UnknownServerEvent
    assert event.type == "response.hologram.delta"
    assert event.validation_error is None
    assert event.model_dump() == frame
    assert event.model_extra == {"event_id": "e", "delta": {"x": [1, 2]}}


def test_known_type_with_bad_fields_becomes_unknown_with_the_error() -> None:
    frame = {"type": "response.output_text.delta", "event_id": "e", "delta": 5}
    event = parse_server_event(json.dumps(frame))
    assert type(event) is UnknownServerEvent
    assert event.model_dump() == frame
    error = event.validation_error
    assert isinstance(error, pydantic.ValidationError)
    assert error.title == "ResponseOutputTextDeltaEvent"
    bad = {detail["loc"] for detail in error.errors()}
    assert ("delta",) in bad
    assert ("response_id",) in bad


def test_unknown_fields_of_a_known_event_are_kept() -> None:
    frame = {"type": "input_audio_buffer.cleared", "event_id": "e", "new_field": [1, "a"]}
    event = parse_server_event(json.dumps(frame))
    assert type(event).__name__ == "InputAudioBufferClearedEvent"
    assert event.model_extra == {"new_field": [1, "a"]}
    assert event.model_dump() == frame


def test_unknown_fields_of_nested_payloads_are_kept() -> None:
    item = {**USER_ITEM, "future": True}
    item["content"] = [{"type": "input_text", "text": "hi", "lang": "en"}]
    frame = {"type": "conversation.item.created", "event_id": "e", "item": item}
    event = parse_server_event(json.dumps(frame))
    assert event.model_dump(exclude_unset=True) == frame


@pytest.mark.parametrize(
    "frame",
    [b"{not json", b"\xff\xfe", "", b"[1, 2]", "null", '"response.done"', b"{}", '{"type": 5}'],
)
def test_frames_that_are_not_events_raise_invalid_frame(frame: bytes | str) -> None:
    with pytest.raises(InvalidFrameError) as info:
        parse_server_event(frame)
    assert info.value.frame == frame


def test_invalid_frame_from_a_bytearray_carries_bytes() -> None:
    with pytest.raises(InvalidFrameError) as info:
        parse_server_event(bytearray(b"[1, 2]"))
    assert info.value.frame == b"[1, 2]"
    assert type(info.value.frame) is bytes
    assert "array" in str(info.value)


def test_dtmf_has_no_event_id() -> None:
    frame = {"type": "input_audio_buffer.dtmf_event_received", "event": "#", "received_at": 17}
    event = parse_server_event(json.dumps(frame))
    assert isinstance(event, InputAudioBufferDtmfEventReceivedEvent)
    assert event.event == "#"
    assert "event_id" not in InputAudioBufferDtmfEventReceivedEvent.model_fields


@pytest.mark.parametrize("name", ["get_weather", None])
def test_function_call_arguments_done_with_and_without_name(name: str | None) -> None:
    frame: dict[str, Any] = {
        "type": "response.function_call_arguments.done",
        "event_id": "e",
        "response_id": "r",
        "item_id": "i",
        "output_index": 0,
        "call_id": "c",
        "arguments": "{}",
    }
    if name is not None:
        frame["name"] = name
    event = parse_server_event(json.dumps(frame))
    assert isinstance(event, ResponseFunctionCallArgumentsDoneEvent)
    assert event.name == name
    assert event.arguments == "{}"


def test_item_and_response_text() -> None:
    item = ConversationItem(
        content=[
            ContentPart(type="input_text", text="Hello, "),
            ContentPart(type="input_audio", transcript="world"),
            ContentPart(type="input_image", image_url="data:image/png;base64,AA=="),
        ]
    )
    assert item.text == "Hello, world"
    assert ConversationItem(type="function_call").text == ""
    response = Response.model_validate(GA_RESPONSE)
    assert response.text == "It is sunny in Paris."
    assert Response().text == ""


# --- Client events ---------------------------------------------------------------

CLIENT_SAMPLES: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("ga",), {"type": "session.update", "event_id": "c1", "session": GA_SESSION}),
    (("beta",), {"type": "session.update", "session": {"voice": "alloy", "modalities": ["text"]}}),
    (
        ("beta",),
        {
            "type": "transcription_session.update",
            "session": {"input_audio_transcription": {"model": "gpt-4o-transcribe"}},
        },
    ),
    (("ga", "beta"), {"type": "response.create"}),
    (
        ("ga",),
        {
            "type": "response.create",
            "response": {"output_modalities": ["text"], "instructions": "Be brief."},
        },
    ),
    (("ga", "beta"), {"type": "response.cancel", "response_id": "resp_R1"}),
    (
        ("ga", "beta"),
        {
            "type": "conversation.item.create",
            "previous_item_id": "item_C1",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hello"}],
            },
        },
    ),
    (
        ("ga", "beta"),
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_Q1", "output": '{"t": 21}'},
        },
    ),
    (("ga", "beta"), {"type": "conversation.item.delete", "item_id": "item_C1"}),
    (("ga", "beta"), {"type": "conversation.item.retrieve", "item_id": "item_C1"}),
    (
        ("ga", "beta"),
        {
            "type": "conversation.item.truncate",
            "item_id": "item_C2",
            "content_index": 0,
            "audio_end_ms": 1500,
        },
    ),
    (("ga", "beta"), {"type": "input_audio_buffer.append", "audio": AUDIO_B64}),
    (("ga", "beta"), {"type": "input_audio_buffer.commit", "event_id": "c2"}),
    (("ga", "beta"), {"type": "input_audio_buffer.clear"}),
    (("ga", "beta"), {"type": "output_audio_buffer.clear"}),
]


def test_client_samples_cover_every_client_event() -> None:
    assert {sample["type"] for _, sample in CLIENT_SAMPLES} == set(CLIENT_EVENT_CLASSES)


@pytest.mark.parametrize(
    "case", CLIENT_SAMPLES, ids=[sample["type"] for _, sample in CLIENT_SAMPLES]
)
def test_client_event_from_dict(case: tuple[tuple[str, ...], dict[str, Any]]) -> None:
    dialects, sample = case
    for dialect in dialects:
        SDK_CLIENT[dialect][sample["type"]].model_validate(sample)
    event = parse_client_event(sample)
    assert type(event) is CLIENT_EVENT_CLASSES[sample["type"]]
    assert json.loads(event.to_json()) == sample
    assert parse_client_event(event) is event


def test_client_event_serializes_only_set_fields() -> None:
    assert json.loads(ResponseCancelEvent().to_json()) == {"type": "response.cancel"}
    event = SessionUpdateEvent(session=RealtimeSessionInfo(type="realtime", instructions="Hi"))
    assert json.loads(event.to_json()) == {
        "type": "session.update",
        "session": {"type": "realtime", "instructions": "Hi"},
    }
    create = ResponseCreateEvent(response=ResponseCreateParams(output_modalities=["text"]))
    assert json.loads(create.to_json()) == {
        "type": "response.create",
        "response": {"output_modalities": ["text"]},
    }
    item = ConversationItemCreateEvent(
        item=ConversationItem(
            type="message", role="user", content=[ContentPart(type="input_text", text="Hi")]
        ),
        event_id="c9",
    )
    assert json.loads(item.to_json()) == {
        "type": "conversation.item.create",
        "event_id": "c9",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hi"}],
        },
    }


def test_client_event_dicts_stay_dicts() -> None:
    event = SessionUpdateEvent(session={"type": "realtime", "future": {"a": 1}})
    assert event.session == {"type": "realtime", "future": {"a": 1}}


@pytest.mark.parametrize("raw", [b"\x00\x01\xfe\xff", bytearray(b"\x00\x01"), memoryview(b"\x07")])
def test_append_accepts_raw_bytes(raw: bytes | bytearray | memoryview) -> None:
    event = InputAudioBufferAppendEvent(audio=raw)
    assert event.audio == base64.b64encode(bytes(raw)).decode()
    assert event.audio_bytes == bytes(raw)
    wire = json.loads(event.to_json())
    assert wire == {"type": "input_audio_buffer.append", "audio": event.audio}
    from_dict = parse_client_event({"type": "input_audio_buffer.append", "audio": bytes(raw)})
    assert isinstance(from_dict, InputAudioBufferAppendEvent)
    assert from_dict.audio == event.audio


def test_bad_client_dict_names_the_field_and_type() -> None:
    with pytest.raises(InvalidEventError) as info:
        parse_client_event(
            {"type": "conversation.item.truncate", "item_id": "i", "content_index": 0}
        )
    message = str(info.value)
    assert "conversation.item.truncate" in message
    assert "audio_end_ms" in message
    assert "item_id" not in message
    assert isinstance(info.value.__cause__, pydantic.ValidationError)


def test_bad_client_dict_wrong_type_of_field() -> None:
    with pytest.raises(InvalidEventError, match=r"'conversation.item.delete'.*item_id"):
        parse_client_event({"type": "conversation.item.delete", "item_id": 7})


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ({"item_id": "i"}, "no 'type'"),
        ({"type": "response.hologram"}, "unknown client event type 'response.hologram'"),
        ({"type": "response.done"}, "unknown client event type 'response.done'"),
    ],
)
def test_client_dict_without_a_known_type(event: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidEventError, match=match):
        parse_client_event(event)


def test_client_event_must_be_a_model_or_mapping() -> None:
    with pytest.raises(InvalidEventError, match="mapping"):
        parse_client_event(["response.create"])  # type: ignore[arg-type]


def test_client_event_subclass_passes_through() -> None:
    class PluginEvent(ClientEvent):
        type: str = "x.plugin"

    event = PluginEvent()
    assert parse_client_event(event) is event


# --- Robustness ------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
EVENT_LIKE = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(SERVER_EVENT_CLASSES)) | st.text(max_size=12)},
    optional={
        "event_id": JSON_VALUES,
        "item_id": JSON_VALUES,
        "response_id": st.text(),
        "delta": JSON_VALUES,
        "item": JSON_VALUES,
        "response": JSON_VALUES,
        "session": JSON_VALUES,
    },
)


def _parses_or_rejects(frame: bytes | bytearray | str) -> None:
    try:
        event = parse_server_event(frame)
    except InvalidFrameError as error:
        kept = error.frame
    else:
        assert isinstance(event, ServerEvent)
        return
    assert kept == (bytes(frame) if isinstance(frame, bytearray) else frame)


@given(st.binary())
def test_arbitrary_bytes_parse_or_raise_invalid_frame(frame: bytes) -> None:
    _parses_or_rejects(frame)


@given(JSON_VALUES)
def test_arbitrary_json_parses_or_raises_invalid_frame(value: Any) -> None:
    _parses_or_rejects(json.dumps(value))
    _parses_or_rejects(bytearray(json.dumps(value).encode()))


@given(EVENT_LIKE)
def test_event_like_objects_parse(value: dict[str, Any]) -> None:
    event = parse_server_event(json.dumps(value))
    assert isinstance(event, ServerEvent)
    assert event.type == value["type"]
    if isinstance(event, UnknownServerEvent):
        # Compared as JSON, where NaN equals itself.
        assert json.dumps(event.model_dump(), sort_keys=True) == json.dumps(value, sort_keys=True)
