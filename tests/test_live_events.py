"""The Live protocol's event models, checked against the official SDK's ``openai.types.live``.

Every server event of the SDK's unions is built by the SDK's own models from a
sample that fills every field, dumped by the SDK, parsed by ours: the right
class, the same fields, the same frame back. Every client event of ours is
validated by the SDK's client unions and dumps as the SDK dumps it. The
configuration check refuses typos and bad values with the field named.
"""

from __future__ import annotations

import base64
import json
import typing
from typing import Any

import pydantic
import pytest
from openai.types.live import client_event as sdk_client_union
from openai.types.live import connect_client_event as sdk_connect_client_union
from openai.types.live import connect_server_event as sdk_connect_server_union
from openai.types.live import fork_client_event as sdk_fork_client_union
from openai.types.live import server_event as sdk_server_union

from realtime_events.errors import InvalidConfigError, InvalidEventError, InvalidFrameError
from realtime_events.events import ClientEvent, ServerEvent, UnknownServerEvent
from realtime_events.live import (
    LIVE_CLIENT_EVENT_CLASSES,
    LIVE_CLIENT_EVENTS,
    LIVE_SERVER_EVENT_CLASSES,
    LIVE_SERVER_EVENTS,
    LiveAudio,
    LiveAudioFormat,
    LiveAudioOutput,
    LiveDelegation,
    LiveFunctionTool,
    LiveInputMessage,
    LiveInstructionsAppendEvent,
    LiveOutputAudioDeltaEvent,
    LiveResponsesBackend,
    LiveSessionCloseEvent,
    LiveSessionConfig,
    LiveSessionStartEvent,
    LiveTextPart,
    LiveTransportDtmfSendEvent,
    check_live_config,
    parse_live_client_event,
    parse_live_server_event,
)
from realtime_events.live.client import LiveForkSessionStartEvent

# --- The SDK's catalogue ------------------------------------------------------------


def _sdk_classes(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    """Map each ``type`` literal of an SDK union to the SDK class that has it."""
    members = typing.get_args(typing.get_args(union)[0])
    return {
        name: cls
        for cls in members
        for name in typing.get_args(cls.model_fields["type"].annotation)
    }


SDK_SERVER = _sdk_classes(sdk_server_union.ServerEvent)
#: A sideband's server events: the primary's and WebRTC's paused/resumed.
SDK_CONNECT_SERVER = _sdk_classes(sdk_connect_server_union.ConnectServerEvent)
SDK_CLIENT = _sdk_classes(sdk_client_union.ClientEvent)
#: A sideband's client events: the primary's but session.start, and transport.dtmf.send.
SDK_CONNECT_CLIENT = _sdk_classes(sdk_connect_client_union.ConnectClientEvent)
SDK_FORK_CLIENT = _sdk_classes(sdk_fork_client_union.ForkClientEvent)


def test_the_sdk_catalogue_has_the_documented_size() -> None:
    assert len(SDK_SERVER) == 28
    assert len(SDK_CLIENT) == 15


def test_server_classes_cover_exactly_the_sdk_server_events() -> None:
    assert set(LIVE_SERVER_EVENT_CLASSES) == set(SDK_SERVER) | set(SDK_CONNECT_SERVER)
    assert len(LIVE_SERVER_EVENTS) == len(LIVE_SERVER_EVENT_CLASSES) == 30


def test_client_classes_cover_exactly_the_sdk_client_events() -> None:
    assert set(LIVE_CLIENT_EVENT_CLASSES) == set(SDK_CLIENT) | set(SDK_CONNECT_CLIENT)
    assert len(LIVE_CLIENT_EVENTS) == 16


@pytest.mark.parametrize("cls", LIVE_SERVER_EVENTS, ids=lambda cls: cls.__name__)
def test_server_class_shape(cls: type[ServerEvent]) -> None:
    assert cls.__name__.startswith("Live")
    assert cls.__name__.endswith("Event")
    assert typing.get_args(cls.model_fields["type"].annotation) == (cls.canonical_type,)
    assert cls.beta_type is None


@pytest.mark.parametrize("cls", LIVE_CLIENT_EVENTS, ids=lambda cls: cls.__name__)
def test_client_class_shape(cls: type[ClientEvent]) -> None:
    assert cls.__name__.startswith("Live")
    assert typing.get_args(cls.model_fields["type"].annotation) == (cls.canonical_type,)
    assert cls.model_fields["type"].default == cls.canonical_type


# --- Samples: every field of every server event ------------------------------------

AUDIO = b"\x01\x00\xff\x7f" * 4
AUDIO_B64 = base64.b64encode(AUDIO).decode()

QUESTIONS: list[dict[str, Any]] = [
    {
        "type": "choice",
        "name": "intent",
        "instructions": "What does the caller want?",
        "choices": [{"value": "billing", "description": "Money"}, {"value": True}],
    },
    {"type": "predicate", "instructions": [{"type": "input_text", "text": "Is it urgent?"}]},
    {
        "type": "score",
        "instructions": "How upset?",
        "levels": [{"label": "calm", "description": "Fine"}],
    },
]

SESSION: dict[str, Any] = {
    "id": "sess_1",
    "expires_at": 1_900_000_000,
    "model": "gpt-live-1",
    "status": "active",
    "audio": {
        "format": {"type": "audio/pcm", "rate": 24000},
        "output": {"voice": "marin"},
    },
    "client": {
        "data_channel": {
            "allowed_client_events": ["session.input_audio.mute"],
            "allowed_server_events": [
                {"type": "session.output_transcript.delta"},
                {"type": "response.event", "response_event": "response.output_text.delta"},
            ],
        }
    },
    "delegation": {
        "type": "responses",
        "acknowledgement_delay_ms": 400,
        "responses": {
            "model": "gpt-5.2",
            "instructions": "Look orders up.",
            "max_output_tokens": 800,
            "parallel_tool_calls": False,
            "reasoning": {"effort": "low", "summary": "auto"},
            "service_tier": "auto",
            "text": {"verbosity": "low"},
            "tool_choice": "auto",
            "tools": [
                {
                    "type": "function",
                    "name": "lookup_order",
                    "description": "Find an order.",
                    "parameters": {"type": "object", "properties": {}},
                    "strict": True,
                },
                {"type": "web_search"},
            ],
        },
    },
    "input": [
        {"role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {
            "role": "user",
            "content": [{"type": "input_text", "text": "Hi"}],
            "id": "msg_1",
            "status": "completed",
            "type": "message",
        },
        {"role": "assistant", "content": [{"type": "output_text", "text": "Hello!"}]},
    ],
    "instructions": "You are a friendly agent.",
    "safety_identifier": "user-42",
    "store": True,
    "triggers": [
        {
            "type": "decisions",
            "event_type": "session.input_transcript.delta",
            "decisions": {"questions": QUESTIONS},
        }
    ],
}

ACK = {"event_id": "event_9", "client_event_id": "mine_1"}
TIMED = {**ACK, "start_ms": 1200, "end_ms": 1900}
USAGE = {"seconds": 61.0, "active_seconds": 50, "paused_seconds": 11}

SAMPLES: list[dict[str, Any]] = [
    {"type": "session.started", **ACK, "session": SESSION},
    {"type": "session.updated", **ACK, "session": SESSION},
    {"type": "session.paused", **ACK},
    {"type": "session.resumed", **ACK},
    {"type": "session.input_audio.muted", **ACK},
    {"type": "session.input_audio.unmuted", **ACK},
    {"type": "session.output_audio.fixture.playing", **ACK},
    {"type": "session.output_audio.fixture.played", **ACK},
    {"type": "session.instructions.appended", **TIMED},
    {"type": "session.thinking.appended", **TIMED},
    {"type": "session.commentary.appended", **TIMED},
    {"type": "session.input_audio.append", "audio": AUDIO_B64},
    {"type": "session.output_audio.delta", "delta": AUDIO_B64, "start_ms": 0, "end_ms": 20},
    {"type": "session.input_transcript.delta", **TIMED, "delta": "Where is "},
    {"type": "session.output_transcript.delta", **TIMED, "delta": "Let me check"},
    {
        "type": "session.delegation.created",
        **ACK,
        "offset_ms": 2500,
        "delegation": {
            "id": "del_1",
            "target": "responses",
            "type": "delegation",
            "response_id": "resp_1",
        },
    },
    {
        "type": "decision.event",
        "event_id": "event_10",
        "event": {
            "type": "decision.completed",
            "decision": {
                "answers": [
                    {"type": "predicate", "name": "urgent", "probability": 0.9},
                    {"type": "refusal", "name": None},
                ],
                "model": "gpt-decide",
                "usage": {
                    "input_tokens": 120,
                    "input_tokens_details": {"cache_write_tokens": 0, "cached_tokens": 64},
                    "output_tokens": 4,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 124,
                },
            },
        },
        "delegation_id": None,
        "source_event_id": "event_7",
        "source_event_type": "session.input_transcript.delta",
        "trigger_id": "trig_1",
    },
    {
        "type": "decision.item.created",
        **ACK,
        "item": {
            "type": "function_call",
            "id": "ditem_1",
            "call_id": "call_1",
            "name": "lookup_order",
            "arguments": "{}",
            "namespace": "orders",
            "status": "completed",
        },
    },
    {"type": "decision.item.deleted", **ACK, "item_id": "ditem_1"},
    {
        "type": "response.event",
        **ACK,
        "delegation_id": "del_1",
        "event": {
            "type": "response.output_text.delta",
            "delta": "Your order",
            "sequence_number": 3,
        },
    },
    {
        "type": "session.usage.updated",
        **ACK,
        "usage": USAGE,
        "context_window": {"usage_ratio": 0.25},
    },
    {
        "type": "session.closed",
        **ACK,
        "reason": "close_requested",
        "session": SESSION,
        "usage": USAGE,
    },
    {
        "type": "error",
        **ACK,
        "error": {
            "code": "unknown_parameter",
            "message": "Unknown parameter: 'session.voice'.",
            "type": "invalid_request_error",
            "client_event_id": "mine_1",
            "param": "session.voice",
        },
    },
    {"type": "info", **ACK, "code": "data_channel_permissions", "message": "Applied."},
    {"type": "transport.dtmf.received", "event_id": "event_11", "event": "5"},
    {"type": "transport.dtmf.send", **ACK, "event": "5"},
    {"type": "transport.dtmf.sent", **ACK, "event": "#"},
    {"type": "transport.ringing", "event_id": "event_12", "session_id": "sess_1"},
    {"type": "transport.answered", "event_id": "event_13", "session_id": "sess_1"},
    {
        "type": "transport.failed",
        "event_id": "event_14",
        "session_id": "sess_1",
        "error": {"code": "busy", "message": "Busy here", "type": "call_error", "param": ""},
    },
]


def _sdk_class(event_type: str) -> type[pydantic.BaseModel]:
    return SDK_SERVER.get(event_type) or SDK_CONNECT_SERVER[event_type]


def _assert_no_extra(value: Any, where: str) -> None:
    """No model in ``value`` holds a field its class does not declare."""
    if isinstance(value, pydantic.BaseModel):
        assert not value.model_extra, f"{where}: {set(value.model_extra or ())} not declared"
        for name in type(value).model_fields:
            _assert_no_extra(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for index, element in enumerate(value):
            _assert_no_extra(element, f"{where}.{index}")


def test_samples_cover_every_server_event() -> None:
    assert sorted(sample["type"] for sample in SAMPLES) == sorted(LIVE_SERVER_EVENT_CLASSES)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda sample: sample["type"])
def test_sdk_built_event_parses_into_our_class(sample: dict[str, Any]) -> None:
    built = _sdk_class(sample["type"]).model_validate(sample)
    _assert_no_extra(built, sample["type"])  # the sample holds only what the SDK knows
    frame = built.model_dump_json(exclude_unset=True)
    event = parse_live_server_event(frame)
    assert type(event) is LIVE_SERVER_EVENT_CLASSES[sample["type"]]
    assert event.canonical_type == sample["type"]
    # Every field equal, at every depth, and the same frame back.
    dumped = event.model_dump(mode="json", exclude_unset=True)
    assert dumped == built.model_dump(mode="json", exclude_unset=True) == sample
    assert json.loads(event.model_dump_json(exclude_unset=True)) == json.loads(frame)
    _assert_no_extra(event, sample["type"])  # ours declares every field the SDK has
    assert event.missing_fields == ()


@pytest.mark.parametrize("encoding", ["bytes", "bytearray", "str"])
def test_every_frame_encoding_parses(encoding: str) -> None:
    text = json.dumps(SAMPLES[0])
    frame: dict[str, bytes | bytearray | str] = {
        "bytes": text.encode(),
        "bytearray": bytearray(text.encode()),
        "str": text,
    }
    event = parse_live_server_event(frame[encoding])
    assert event.type == "session.started"


# --- Server event behaviour ----------------------------------------------------------


def test_output_audio_decodes_lazily_and_once() -> None:
    event = parse_live_server_event(
        json.dumps({"type": "session.output_audio.delta", "delta": AUDIO_B64})
    )
    assert isinstance(event, LiveOutputAudioDeltaEvent)
    assert "audio" not in event.__dict__
    assert event.audio == AUDIO
    assert event.audio is event.audio
    assert event.start_ms is None  # the primary WebSocket has no timeline on audio


def test_reflected_input_audio_decodes() -> None:
    event = parse_live_server_event(json.dumps(SAMPLES[11]))
    assert event.audio_bytes == AUDIO  # type: ignore[attr-defined]


def test_started_session_is_typed() -> None:
    event = parse_live_server_event(json.dumps(SAMPLES[0]))
    session = event.session  # type: ignore[attr-defined]
    assert session.id == "sess_1"
    assert session.audio.format.rate == 24000
    assert session.audio.output.voice == "marin"
    tool = session.delegation.responses.tools[0]
    assert isinstance(tool, LiveFunctionTool)
    assert tool.name == "lookup_order"
    assert session.delegation.responses.tools[1] == {"type": "web_search"}
    assert [message.role for message in session.input] == ["developer", "user", "assistant"]
    assert session.triggers[0].decisions.questions[0].choices == QUESTIONS[0]["choices"]


def test_omitted_timeline_and_usage_still_give_the_typed_event() -> None:
    transcript = {"type": "session.input_transcript.delta", "event_id": "e", "delta": "hi"}
    event = parse_live_server_event(json.dumps(transcript))
    assert type(event).__name__ == "LiveInputTranscriptDeltaEvent"
    assert event.missing_fields == ("start_ms", "end_ms")
    closed = {"type": "session.closed", "event_id": "e", "reason": "expired", "session": SESSION}
    event = parse_live_server_event(json.dumps(closed))
    assert type(event).__name__ == "LiveSessionClosedEvent"
    assert event.missing_fields == ("usage",)


def test_unknown_type_keeps_every_field() -> None:
    frame = {"type": "session.something_new", "event_id": "e", "payload": {"a": [1]}}
    event = parse_live_server_event(json.dumps(frame))
    assert type(event) is UnknownServerEvent
    assert event.model_extra == {"event_id": "e", "payload": {"a": [1]}}
    assert event.validation_error is None


def test_known_type_without_a_needed_field_is_unknown_with_the_error() -> None:
    frame = {"type": "session.output_transcript.delta", "event_id": "e"}
    event = parse_live_server_event(json.dumps(frame))
    assert type(event) is UnknownServerEvent
    assert event.validation_error is not None
    assert [error["loc"] for error in event.validation_error.errors()] == [("delta",)]


def test_new_fields_and_new_values_are_kept() -> None:
    sample = json.loads(json.dumps(SAMPLES[0]))
    sample["session"]["audio"]["output"]["voice"] = "a-voice-from-next-year"
    sample["session"]["delegation"]["responses"]["brand_new"] = 1
    sample["shiny"] = True
    event = parse_live_server_event(json.dumps(sample))
    assert type(event).__name__ == "LiveSessionStartedEvent"
    assert event.model_dump(mode="json", exclude_unset=True) == sample


@pytest.mark.parametrize("frame", ["not json", "[1]", '"text"', '{"no_type": 1}', '{"type": 3}'])
def test_frames_that_are_not_events_raise(frame: str) -> None:
    with pytest.raises(InvalidFrameError):
        parse_live_server_event(frame)


# --- Client events: ours validated by the SDK -----------------------------------------

CLIENT_SAMPLES: list[ClientEvent] = [
    LiveSessionStartEvent(
        session={
            key: value
            for key, value in SESSION.items()
            if key not in ("id", "expires_at", "status")
        },
        event_id="mine_1",
    ),
    parse_live_client_event(
        {
            "type": "session.update",
            "session": {
                "delegation": {"type": "responses", "responses": {"instructions": "Be quick."}},
                "triggers": [],
            },
        }
    ),
    parse_live_client_event({"type": "session.input_audio.append", "audio": AUDIO}),
    parse_live_client_event({"type": "session.input_audio.mute", "event_id": "m"}),
    parse_live_client_event({"type": "session.input_audio.unmute"}),
    parse_live_client_event({"type": "session.output_audio.fixture.play", "audio": AUDIO_B64}),
    parse_live_client_event({"type": "session.instructions.append", "content": "Be formal."}),
    parse_live_client_event(
        {"type": "session.thinking.append", "content": "Looking it up", "delegation_id": "del_1"}
    ),
    parse_live_client_event(
        {
            "type": "session.commentary.append",
            "content": "It ships today.",
            "delegation_id": "del_1",
        }
    ),
    parse_live_client_event({"type": "decision.create", "event_id": "dec_1"}),
    parse_live_client_event(
        {
            "type": "decision.item.create",
            "item": {"type": "message", "role": "user", "content": "Cancel my order"},
        }
    ),
    parse_live_client_event({"type": "decision.item.delete", "item_id": "ditem_1"}),
    parse_live_client_event(
        {
            "type": "response.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
        }
    ),
    parse_live_client_event({"type": "response.create"}),
    LiveSessionCloseEvent(),
    LiveTransportDtmfSendEvent(event="#", event_id="key_1"),
]


def test_client_samples_cover_every_client_event() -> None:
    assert sorted(event.type for event in CLIENT_SAMPLES) == sorted(LIVE_CLIENT_EVENT_CLASSES)


@pytest.mark.parametrize("event", CLIENT_SAMPLES, ids=lambda event: event.type)
def test_the_sdk_validates_our_client_event(event: ClientEvent) -> None:
    wire = json.loads(event.to_json())
    sdk_class = SDK_CLIENT.get(event.type) or SDK_CONNECT_CLIENT[event.type]
    built = sdk_class.model_validate(wire)
    _assert_no_extra(built, event.type)
    # The SDK writes the same frame from it, so nothing was lost or added.
    assert json.loads(built.model_dump_json(exclude_unset=True)) == wire
    assert parse_live_client_event(wire).to_json() == event.to_json()


def test_append_events_always_carry_the_delegation_id() -> None:
    event = LiveInstructionsAppendEvent(content="Be formal.")
    assert json.loads(event.to_json()) == {
        "type": "session.instructions.append",
        "content": "Be formal.",
        "delegation_id": None,
    }


def test_audio_bytes_are_encoded() -> None:
    for raw in (AUDIO, bytearray(AUDIO), memoryview(AUDIO)):
        event = parse_live_client_event({"type": "session.input_audio.append", "audio": raw})
        assert json.loads(event.to_json())["audio"] == AUDIO_B64
        assert event.audio_bytes == AUDIO  # type: ignore[attr-defined]


def test_a_fork_start_may_be_empty_and_the_sdk_takes_it() -> None:
    event = LiveForkSessionStartEvent()
    assert json.loads(event.to_json()) == {"type": "session.start", "session": {}}
    SDK_FORK_CLIENT["session.start"].model_validate(json.loads(event.to_json()))
    with pytest.raises(pydantic.ValidationError, match="keeps the stored session's model"):
        LiveForkSessionStartEvent(session={"model": "gpt-live-1"})


def test_a_config_model_is_sent_as_the_fields_it_was_given() -> None:
    config = LiveSessionConfig(
        model="gpt-live-1",
        audio=LiveAudio(
            format=LiveAudioFormat(type="audio/pcmu", rate=8000),
            output=LiveAudioOutput(voice="cedar"),
        ),
        delegation=LiveDelegation(
            type="responses",
            responses=LiveResponsesBackend(
                model="gpt-5.2", tools=[LiveFunctionTool(name="lookup_order")]
            ),
        ),
        input=[LiveInputMessage(role="user", content=[LiveTextPart(text="Hi")])],
    )
    wire = json.loads(LiveSessionStartEvent(session=config).to_json())
    assert wire["session"] == {
        "model": "gpt-live-1",
        "audio": {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "cedar"}},
        "delegation": {
            "type": "responses",
            "responses": {
                "model": "gpt-5.2",
                "tools": [{"type": "function", "name": "lookup_order"}],
            },
        },
        "input": [{"role": "user", "content": [{"text": "Hi"}]}],
    }
    SDK_CLIENT["session.start"].model_validate(wire)


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (
            {"type": "session.input_audio.append"},
            r"'session.input_audio.append'.*audio: Field required",
        ),
        ({"type": "decision.create"}, r"'decision.create'.*event_id: Field required"),
        ({"type": "transport.dtmf.send", "event": "55"}, r"event: a DTMF key is one of"),
        ({"type": "session.start", "session": {}}, r"session: invalid model=None"),
        (
            {"type": "session.start", "session": {"model": "gpt-live-1", "instructons": "x"}},
            r"session: unknown Live setting 'instructons': did you mean 'instructions'\?",
        ),
        (
            {"type": "session.update", "session": {"instructions": "x"}},
            r"instructions cannot change after the Live session started",
        ),
        ({"type": "response.cancel"}, r"unknown Live client event type 'response.cancel'"),
        ({"event_id": "e"}, r"client event has no 'type' field"),
    ],
)
def test_bad_client_events_are_refused_with_the_field_named(
    event: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidEventError, match=match):
        parse_live_client_event(event)


def test_a_client_event_must_be_a_model_or_a_mapping() -> None:
    with pytest.raises(InvalidEventError, match="not list"):
        parse_live_client_event([("type", "session.close")])  # type: ignore[arg-type]
    close = LiveSessionCloseEvent()
    assert parse_live_client_event(close) is close


# --- The configuration check -------------------------------------------------------------


def _start_config() -> dict[str, Any]:
    return {
        key: value for key, value in SESSION.items() if key not in ("id", "expires_at", "status")
    }


def test_a_full_configuration_passes_every_check() -> None:
    check_live_config(_start_config())
    check_live_config(LiveSessionConfig.model_validate(_start_config()))
    check_live_config({"model": "gpt-live-1.1"})
    check_live_config({"model": "gpt-live-1", "delegation": {"type": "client"}})
    check_live_config({"model": "gpt-live-1", "delegation": None, "future_setting": 1})
    check_live_config({"model": "gpt-live-2-preview"})  # a model the library does not know yet
    check_live_config({"delegation": {"type": "decisions", "decisions": {"model": "m"}}}, "update")
    check_live_config({"store": True}, "fork")
    check_live_config(
        {"type": "live", "model": "gpt-live-1", "audio": {"output": {"voice": {"id": "voice_1"}}}},
        "accept",
    )


def _with(path: str, value: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(json.dumps(_start_config()))
    *parents, leaf = path.split(".")
    target: Any = config
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[leaf] = value
    return config


BAD_CONFIGS: list[tuple[dict[str, Any], str, str]] = [
    ({"model": "gpt-live1"}, "model", "did you mean 'gpt-live-1'"),
    ({"model": "gpt-realtime"}, "model", "is a Realtime model"),
    ({"model": ""}, "model", "the Live model's name"),
    ({"model": "gpt-live-1", "voice": "marin"}, "voice", "audio.output.voice"),
    ({"model": "gpt-live-1", "tools": []}, "tools", "Live delegates tools"),
    ({"model": "gpt-live-1", "turn_detection": None}, "turn_detection", "the server's"),
    ({"model": "gpt-live-1", "instuctions": "x"}, "instuctions", "did you mean 'instructions'"),
    (_with("audio.output.voice", "maryn"), "audio.output.voice", "did you mean 'marin'"),
    (
        _with("audio.format", {"type": "audio/pcm", "rate": 44100}),
        "audio.format.rate",
        "16000 or 24000",
    ),
    (_with("audio.format", {"type": "audio/pcmu"}), "audio.format.rate", "8000 for audio/pcmu"),
    (_with("audio.format", {"type": "pcm16"}), "audio.format.type", "'audio/pcm'"),
    (_with("audio.fromat", {}), "audio.fromat", "did you mean 'format'"),
    (_with("store", "yes"), "store", "True or False"),
    (_with("delegation.type", "backend"), "delegation.type", "'responses'"),
    (
        _with("delegation.acknowledgement_delay_ms", -1),
        "delegation.acknowledgement_delay_ms",
        "0 or more",
    ),
    (_with("delegation.responses.model", None), "delegation.responses.model", "Responses model"),
    (
        _with("delegation.responses.tools.0.name", ""),
        "delegation.responses.tools.0.name",
        "function's name",
    ),
    (
        _with("delegation.responses.tools.1.type", "web_serch"),
        "delegation.responses.tools.1.type",
        "did you mean 'web_search'",
    ),
    (
        _with("delegation.responses.reasoning", {"effort": "hi"}),
        "delegation.responses.reasoning.effort",
        "'high'",
    ),
    (
        _with("delegation.responses.tool_choice", "any"),
        "delegation.responses.tool_choice",
        "'auto'",
    ),
    (_with("input.0.role", "system"), "input.0.role", "'developer'"),
    (_with("input.0.content", []), "input.0.content", "exactly one text part"),
    (_with("input.2.content.0.type", "input_text"), "input.2.content.0.type", "'output_text'"),
    (_with("input", [{"role": "user", "content": [{"text": "hi"}]}] * 129), "input", "at most 128"),
    (
        _with("triggers.0.event_type", "session.transcript.delta"),
        "triggers.0.event_type",
        "'session.input_transcript.delta'",
    ),
    (_with("triggers.0.decisions.questions", []), "triggers.0.decisions.questions", "non-empty"),
    (
        _with("triggers.0.decisions.questions.0.choices", None),
        "triggers.0.decisions.questions.0.choices",
        "needs choices",
    ),
    (
        _with("triggers", [SESSION["triggers"][0]] * 2),
        "triggers.1.event_type",
        "at most one per event type",
    ),
    (
        _with("client.data_channel.allowed_server_events", [{"type": "response.event"}]),
        "client.data_channel.allowed_server_events.0.response_event",
        "nested Responses event",
    ),
]


@pytest.mark.parametrize(
    ("config", "field", "words"), BAD_CONFIGS, ids=lambda x: x if isinstance(x, str) else ""
)
def test_a_bad_configuration_is_refused_with_the_field_named(
    config: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        check_live_config(config)
    assert caught.value.field == field
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("config", "what", "field", "words"),
    [
        (
            {
                "type": "live",
                "model": "gpt-live-1",
                "audio": {"format": {"type": "audio/pcm", "rate": 24000}},
            },
            "accept",
            "audio.format",
            "negotiates",
        ),
        ({"type": "realtime", "model": "gpt-live-1"}, "accept", "type", "'live'"),
        ({"model": "gpt-live-1"}, "update", "model", "cannot change"),
        (
            {"delegation": {"type": "responses", "responses": {"modle": "x"}}},
            "update",
            "delegation.responses.modle",
            "did you mean 'model'",
        ),
        ({"model": "gpt-live-1"}, "fork", "model", "keeps the stored session's model"),
        ({"delegation": {"type": "client"}}, "fork", "delegation.type", "'responses'"),
        ({"audio": {"output": {"voice": "marin"}}}, "fork", "audio.output", "voice"),
    ],
)
def test_each_place_has_its_own_rules(
    config: dict[str, Any], what: Any, field: str, words: str
) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        check_live_config(config, what)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_what_the_check_passes_the_sdk_takes() -> None:
    config = _start_config()
    check_live_config(config)
    SDK_CLIENT["session.start"].model_validate({"type": "session.start", "session": config})


def test_every_live_model_is_exported_by_the_live_package() -> None:
    import realtime_events.live as live

    models: list[type] = [*LIVE_SERVER_EVENTS, *LIVE_CLIENT_EVENTS, LiveForkSessionStartEvent]
    for cls in models:
        assert getattr(live, cls.__name__) is cls, cls.__name__
        assert cls.__name__ in live.__all__
    assert set(LIVE_SERVER_EVENT_CLASSES.values()) == set(LIVE_SERVER_EVENTS)
    assert set(LIVE_CLIENT_EVENT_CLASSES.values()) == set(LIVE_CLIENT_EVENTS)


def test_the_live_package_does_not_import_the_session() -> None:
    # Hand components what they need: nothing of live/ may reach for Session's modules.
    import ast
    from pathlib import Path

    import realtime_events.live as live

    forbidden = {"session", "supervisor", "sync", "dispatch", "plugin_host"}
    for path in Path(live.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")
                assert not forbidden & set(top), f"{path.name} imports {node.module}"
