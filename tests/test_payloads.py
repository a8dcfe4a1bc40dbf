"""The settings models agree with the official SDK's types, in both directions.

Each case builds the SDK's own model, dumps it, parses the dump with ours and
dumps it back: the two dumps are equal, the setting parsed into the kind the
SDK meant (``ServerVad``, ``McpTool``...), and the SDK validates what we send.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
from openai.types.beta.realtime import transcription_session_update as beta_transcription
from openai.types.realtime import (
    RealtimeResponseCreateParams,
    RealtimeSessionCreateRequest,
    RealtimeSessionCreateResponse,
    RealtimeTranscriptionSessionCreateRequest,
    RealtimeTranscriptionSessionCreateResponse,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from pydantic import BaseModel

from realtime_events.errors import InvalidEventError
from realtime_events.events import (
    RealtimeSessionInfo,
    ResponseCreateParams,
    parse_client_event,
    parse_server_event,
)
from realtime_events.events import SessionUpdateEvent as OurSessionUpdateEvent
from realtime_events.events.payloads import TranscriptionSessionConfig
from realtime_events.events.settings import (
    AudioConfig,
    AudioTranscription,
    CustomVoice,
    FunctionTool,
    FunctionToolChoice,
    McpApprovalFilter,
    McpTool,
    McpToolChoice,
    McpToolFilter,
    NoiseReduction,
    Prompt,
    Reasoning,
    RetentionRatioTruncation,
    SemanticVad,
    ServerVad,
    Tool,
    ToolChoice,
    TracingConfig,
    Truncation,
    TurnDetection,
)


def _dump(model: BaseModel) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True, by_alias=True)
    return dumped


SERVER_VAD = {
    "type": "server_vad",
    "threshold": 0.6,
    "prefix_padding_ms": 300,
    "silence_duration_ms": 500,
    "idle_timeout_ms": 6000,
    "create_response": True,
    "interrupt_response": False,
}
SEMANTIC_VAD = {
    "type": "semantic_vad",
    "eagerness": "high",
    "create_response": False,
    "interrupt_response": True,
}
TRANSCRIPTION = {
    "model": "gpt-4o-transcribe",
    "language": "en",
    "prompt": "Expect words about weather.",
}
GPT_TRANSCRIBE = {
    "model": "gpt-transcribe",
    "languages": ["en", "fr"],
    "keywords": ["Realtime", "anyio"],
}
WHISPER_DELAY = {"model": "gpt-realtime-whisper", "delay": "low"}
FUNCTION = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}
MCP_SERVER = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example.com/sse",
    "server_description": "The product documentation.",
    "authorization": "token-1",
    "headers": {"X-Team": "voice"},
    "allowed_tools": {"tool_names": ["search", "fetch"], "read_only": True},
    "require_approval": {"never": {"tool_names": ["search"]}, "always": {"read_only": False}},
}
MCP_CONNECTOR = {
    "type": "mcp",
    "server_label": "mail",
    "connector_id": "connector_gmail",
    "authorization": "oauth-token",
    "allowed_tools": ["search_emails"],
    "require_approval": "never",
    "defer_loading": True,
    "allowed_callers": ["direct"],
}
MCP_TUNNEL = {"type": "mcp", "server_label": "intranet", "tunnel_id": "tun_1"}
RETENTION = {
    "type": "retention_ratio",
    "retention_ratio": 0.8,
    "token_limits": {"post_instructions": 8000},
}
TRACING = {"workflow_name": "support-line", "group_id": "grp_1", "metadata": {"team": "voice"}}
PROMPT = {
    "id": "pmpt_123",
    "version": "4",
    "variables": {"city": "Paris", "hint": {"type": "input_text", "text": "be brief"}},
}

#: (field, SDK value, the path of the typed value in our model, the class it must be).
SESSION_CASES: list[tuple[str, Any, str, type[BaseModel] | None]] = [
    ("reasoning", {"effort": "xhigh"}, "reasoning", Reasoning),
    ("reasoning", {"effort": "minimal"}, "reasoning", Reasoning),
    ("truncation", "auto", "truncation", None),
    ("truncation", "disabled", "truncation", None),
    ("truncation", RETENTION, "truncation", RetentionRatioTruncation),
    ("tracing", "auto", "tracing", None),
    ("tracing", TRACING, "tracing", TracingConfig),
    ("prompt", PROMPT, "prompt", Prompt),
    ("parallel_tool_calls", True, "parallel_tool_calls", None),
    ("tool_choice", "required", "tool_choice", None),
    ("tool_choice", {"type": "function", "name": "get_weather"}, "tool_choice", FunctionToolChoice),
    ("tool_choice", {"type": "mcp", "server_label": "docs"}, "tool_choice", McpToolChoice),
    (
        "tool_choice",
        {"type": "mcp", "server_label": "docs", "name": "search"},
        "tool_choice",
        McpToolChoice,
    ),
    ("tools", [FUNCTION], "tools.0", FunctionTool),
    ("tools", [MCP_SERVER], "tools.0", McpTool),
    ("tools", [MCP_SERVER], "tools.0.allowed_tools", McpToolFilter),
    ("tools", [MCP_SERVER], "tools.0.require_approval", McpApprovalFilter),
    ("tools", [MCP_CONNECTOR], "tools.0", McpTool),
    ("tools", [MCP_TUNNEL], "tools.0", McpTool),
    ("audio", {"input": {"turn_detection": SERVER_VAD}}, "audio.input.turn_detection", ServerVad),
    (
        "audio",
        {"input": {"turn_detection": SEMANTIC_VAD}},
        "audio.input.turn_detection",
        SemanticVad,
    ),
    ("audio", {"input": {"turn_detection": None}}, "audio.input.turn_detection", None),
    (
        "audio",
        {"input": {"transcription": TRANSCRIPTION}},
        "audio.input.transcription",
        AudioTranscription,
    ),
    (
        "audio",
        {"input": {"transcription": GPT_TRANSCRIBE}},
        "audio.input.transcription",
        AudioTranscription,
    ),
    (
        "audio",
        {"input": {"transcription": WHISPER_DELAY}},
        "audio.input.transcription",
        AudioTranscription,
    ),
    (
        "audio",
        {"input": {"noise_reduction": {"type": "far_field", "strength": 0.5}}},
        "audio.input.noise_reduction",
        NoiseReduction,
    ),
    (
        "audio",
        {"output": {"voice": {"id": "voice_123"}, "speed": 1.2}},
        "audio.output.voice",
        CustomVoice,
    ),
    (
        "audio",
        {"input": {"format": {"type": "audio/pcmu"}}, "output": {"format": {"type": "audio/pcm"}}},
        "audio",
        AudioConfig,
    ),
]


def _at(model: Any, path: str) -> Any:
    for part in path.split("."):
        model = model[int(part)] if part.isdigit() else getattr(model, part)
    return model


def _case_id(case: tuple[str, Any, str, Any]) -> str:
    _, value, path, kind = case
    return f"{path}-{kind.__name__ if kind else json.dumps(value)[:20]}"


@pytest.mark.parametrize("case", SESSION_CASES, ids=_case_id)
def test_session_settings_round_trip_with_the_sdk(case: tuple[str, Any, str, Any]) -> None:
    field, value, path, kind = case
    sdk = RealtimeSessionCreateRequest.model_validate({"type": "realtime", field: value})
    wire = _dump(sdk)
    ours = RealtimeSessionInfo.model_validate(wire)
    if kind is not None:
        assert type(_at(ours, path)) is kind
    assert _dump(ours) == wire
    assert RealtimeSessionCreateRequest.model_validate(_dump(ours)) == sdk


#: The per-response settings: the session's where they are the same.
RESPONSE_CASES = [
    case
    for case in SESSION_CASES
    if case[0] in ("reasoning", "prompt", "parallel_tool_calls", "tool_choice", "tools")
]


@pytest.mark.parametrize("case", RESPONSE_CASES, ids=_case_id)
def test_response_settings_round_trip_with_the_sdk(case: tuple[str, Any, str, Any]) -> None:
    field, value, path, kind = case
    sdk = RealtimeResponseCreateParams.model_validate({field: value})
    wire = _dump(sdk)
    ours = ResponseCreateParams.model_validate(wire)
    if kind is not None:
        assert type(_at(ours, path)) is kind
    assert _dump(ours) == wire
    assert RealtimeResponseCreateParams.model_validate(_dump(ours)) == sdk


def test_a_full_response_create_round_trips_through_both_parsers() -> None:
    response = {
        "instructions": "Answer in French.",
        "conversation": "none",
        "output_modalities": ["audio"],
        "audio": {"output": {"format": {"type": "audio/pcma"}, "voice": "cedar"}},
        "max_output_tokens": 512,
        "metadata": {"topic": "weather"},
        "reasoning": {"effort": "low"},
        "prompt": PROMPT,
        "parallel_tool_calls": False,
        "tools": [FUNCTION, MCP_CONNECTOR],
        "tool_choice": {"type": "mcp", "server_label": "mail"},
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Weather?"}],
            }
        ],
    }
    sample = {"type": "response.create", "event_id": "c1", "response": response}
    ResponseCreateEvent.model_validate(sample)
    event = parse_client_event(sample)
    assert json.loads(event.to_json()) == sample
    typed = ResponseCreateParams.model_validate(response)
    assert isinstance(typed.reasoning, Reasoning)
    assert typed.reasoning.effort == "low"
    assert isinstance(typed.audio, AudioConfig)
    assert typed.audio.output is not None
    assert typed.audio.output.voice == "cedar"
    assert [type(tool) for tool in typed.tools or ()] == [FunctionTool, McpTool]
    assert _dump(typed) == response
    assert _dump(RealtimeResponseCreateParams.model_validate(_dump(typed))) == response


GA_SESSION_UPDATE: dict[str, Any] = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "model": "gpt-realtime-2",
        "instructions": "Be brief.",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": TRANSCRIPTION,
                "noise_reduction": {"type": "near_field"},
                "turn_detection": SEMANTIC_VAD,
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
        },
        "include": ["item.input_audio_transcription.logprobs"],
        "reasoning": {"effort": "medium"},
        "truncation": RETENTION,
        "tracing": TRACING,
        "prompt": PROMPT,
        "parallel_tool_calls": True,
        "tools": [FUNCTION, MCP_SERVER],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
    },
}
GA_TRANSCRIPTION_UPDATE: dict[str, Any] = {
    "type": "session.update",
    "event_id": "c2",
    "session": {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": TRANSCRIPTION,
                "noise_reduction": {"type": "far_field", "strength": 0.7},
                "turn_detection": SERVER_VAD,
            }
        },
        "include": ["item.input_audio_transcription.logprobs"],
    },
}
BETA_TRANSCRIPTION_UPDATE = {
    "type": "transcription_session.update",
    "session": {
        "input_audio_format": "g711_ulaw",
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe", "language": "de"},
        "input_audio_noise_reduction": {"type": "near_field"},
        "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
        "include": ["item.input_audio_transcription.logprobs"],
    },
}


@pytest.mark.parametrize(
    ("sample", "sdk_model"),
    [
        (GA_SESSION_UPDATE, SessionUpdateEvent),
        (GA_TRANSCRIPTION_UPDATE, SessionUpdateEvent),
        (BETA_TRANSCRIPTION_UPDATE, beta_transcription.TranscriptionSessionUpdate),
    ],
    ids=["ga-realtime", "ga-transcription", "beta-transcription"],
)
def test_session_updates_round_trip_through_parse_client_event(
    sample: dict[str, Any], sdk_model: type[BaseModel]
) -> None:
    sdk_model.model_validate(sample)
    event = parse_client_event(sample)
    assert json.loads(event.to_json()) == sample
    assert event.session == sample["session"]  # type: ignore[attr-defined]  # the dict as given
    assert _dump(sdk_model.model_validate(json.loads(event.to_json()))) == sample


def test_a_transcription_session_is_modelled_in_the_sdks_shape() -> None:
    session = GA_TRANSCRIPTION_UPDATE["session"]
    sdk = RealtimeTranscriptionSessionCreateRequest.model_validate(session)
    ours = TranscriptionSessionConfig.model_validate(_dump(sdk))
    assert ours.audio is not None
    assert ours.audio.input is not None
    assert type(ours.audio.input.turn_detection) is ServerVad
    assert ours.audio.input.turn_detection.idle_timeout_ms == 6000
    assert _dump(ours) == _dump(sdk) == session
    # Ours, built in code, is a request the SDK takes.
    built = TranscriptionSessionConfig(
        type="transcription",
        audio=AudioConfig.model_validate(
            {"input": {"turn_detection": SemanticVad(eagerness="low")}}
        ),
    )
    assert RealtimeTranscriptionSessionCreateRequest.model_validate(_dump(built)).audio
    event = OurSessionUpdateEvent(session=built)
    SessionUpdateEvent.model_validate_json(event.to_json())
    assert json.loads(event.to_json())["session"] == {
        "type": "transcription",
        "audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}}},
    }


@pytest.mark.parametrize(
    "session",
    [
        {"type": "transcription", "voice": "alloy"},
        {"type": "transcription", "instructions": "Be brief."},
        {"type": "transcription", "reasoning": {"effort": "low"}},
        {"type": "transcription", "audio": {"output": {"voice": "alloy"}}},
    ],
)
def test_a_realtime_field_in_a_transcription_update_is_refused(session: dict[str, Any]) -> None:
    field = next(key for key in session if key != "type")
    field = "audio.output" if field == "audio" else field
    with pytest.raises(InvalidEventError, match=rf"session: .*{field}: not a setting of a tr"):
        parse_client_event({"type": "session.update", "session": session})
    with pytest.raises(pydantic.ValidationError, match="not a setting of a transcription"):
        TranscriptionSessionConfig.model_validate(session)


@pytest.mark.parametrize(
    ("session", "where"),
    [
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"threshold": "hi"}}}},
            "session.audio.input.turn_detection.threshold: Input should be a valid number",
        ),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": "server_vad"}}},
            "session.audio.input.turn_detection: Input should be a valid dictionary or instance",
        ),
        (
            {"type": "realtime", "tools": [{"type": "mcp", "headers": ["X-Team"]}]},
            "session.tools.0.headers: Input should be a valid dictionary",
        ),
        (
            {"type": "realtime", "reasoning": "high"},
            "session.reasoning: Input should be a valid dictionary",
        ),
        (
            {"type": "transcription", "audio": {"input": {"transcription": {"model": 4}}}},
            "session.audio.input.transcription.model: Input should be a valid string",
        ),
    ],
)
def test_a_mistyped_setting_is_refused_by_its_path(session: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_client_event({"type": "session.update", "session": session})
    assert f"invalid 'session.update' client event: {where}" in str(caught.value)


def test_a_mistyped_response_setting_is_refused() -> None:
    with pytest.raises(InvalidEventError, match=r"response.parallel_tool_calls: Input should be"):
        parse_client_event({"type": "response.create", "response": {"parallel_tool_calls": "x"}})


def test_models_built_in_code_are_sent_with_their_kind() -> None:
    session = RealtimeSessionInfo(
        type="realtime",
        tools=[
            FunctionTool(name="get_weather", parameters={"type": "object"}),
            McpTool(
                server_label="docs", server_url="https://mcp.example.com", require_approval="never"
            ),
        ],
        tool_choice=McpToolChoice(server_label="docs"),
        truncation=RetentionRatioTruncation(retention_ratio=0.5),
        reasoning=Reasoning(effort="high"),
        audio=AudioConfig.model_validate(
            {"input": {"turn_detection": ServerVad(idle_timeout_ms=5000)}}
        ),
    )
    wire = json.loads(OurSessionUpdateEvent(session=session).to_json())["session"]
    assert wire["tools"][0]["type"] == "function"
    assert wire["tools"][1] == {
        "type": "mcp",
        "server_label": "docs",
        "server_url": "https://mcp.example.com",
        "require_approval": "never",
    }
    assert wire["tool_choice"] == {"type": "mcp", "server_label": "docs"}
    assert wire["truncation"] == {"type": "retention_ratio", "retention_ratio": 0.5}
    assert wire["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "idle_timeout_ms": 5000,
    }
    assert RealtimeSessionCreateRequest.model_validate(wire).reasoning is not None


def test_the_servers_session_reads_as_the_sdks() -> None:
    created = RealtimeSessionCreateResponse.model_validate(
        {
            "id": "sess_1",
            "object": "realtime.session",
            "type": "realtime",
            "expires_at": 1_900_000_000,
            **{k: v for k, v in GA_SESSION_UPDATE["session"].items() if k != "type"},
        }
    )
    frame = {"type": "session.created", "event_id": "e1", "session": _dump(created)}
    event = parse_server_event(json.dumps(frame))
    assert event.model_dump(mode="json", exclude_unset=True) == frame
    session = event.session  # type: ignore[attr-defined]
    assert type(session.truncation) is RetentionRatioTruncation
    assert type(session.audio.input.turn_detection) is SemanticVad
    assert [type(tool) for tool in session.tools] == [FunctionTool, McpTool]

    transcription = RealtimeTranscriptionSessionCreateResponse.model_validate(
        {"id": "sess_2", "object": "realtime.transcription_session", "type": "transcription"}
        | GA_TRANSCRIPTION_UPDATE["session"]
    )
    frame = {"type": "session.updated", "event_id": "e2", "session": _dump(transcription)}
    event = parse_server_event(json.dumps(frame))
    assert event.model_dump(mode="json", exclude_unset=True) == frame
    assert event.session.type == "transcription"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ({"type": "future_vad", "sensitivity": 3}, TurnDetection),
        ({"silence_duration_ms": 300}, ServerVad),  # beta's default kind
    ],
)
def test_turn_detection_of_an_unknown_or_default_kind(
    value: dict[str, Any], kind: type[BaseModel]
) -> None:
    session = RealtimeSessionInfo.model_validate({"turn_detection": value})
    assert type(session.turn_detection) is kind
    assert session.turn_detection is not None
    assert session.turn_detection.model_extra == {
        k: v for k, v in value.items() if k not in type(session.turn_detection).model_fields
    }


def test_unknown_kinds_keep_every_field() -> None:
    wire = {
        "tools": [{"type": "web_search", "filters": {"site": "example.com"}}],
        "tool_choice": {"type": "web_search"},
        "truncation": {"type": "sliding_window", "size": 3},
        "tracing": {"workflow_name": "w", "sampling": 0.5},
    }
    session = RealtimeSessionInfo.model_validate(wire)
    assert type(session.tools[0]) is Tool  # type: ignore[index]
    assert type(session.tool_choice) is ToolChoice
    assert type(session.truncation) is Truncation
    assert type(session.tracing) is TracingConfig
    assert _dump(session) == wire


def test_settings_still_read_like_the_dicts_they_were() -> None:
    session = RealtimeSessionInfo.model_validate(
        {"tools": [FUNCTION], "audio": {"input": {"turn_detection": SERVER_VAD, "extra": 1}}}
    )
    tool = session.tools[0]  # type: ignore[index]
    assert tool["name"] == "get_weather"
    assert tool.get("description") == FUNCTION["description"]
    assert "name" in tool
    assert session.audio is not None
    audio_input = session.audio["input"]
    assert audio_input["turn_detection"]["idle_timeout_ms"] == 6000
    assert audio_input["extra"] == 1  # an extra field reads the same way
    # A field the server did not send is missing, as it was from the dict.
    assert "format" not in audio_input
    assert audio_input.get("format", "absent") == "absent"
    with pytest.raises(KeyError):
        audio_input["format"]
