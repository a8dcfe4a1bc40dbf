"""Invalid settings are refused locally, naming the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime_events import Session
from realtime_events.audio import G711_ULAW, PCM16
from realtime_events.config import REASONING_EFFORTS, VOICES, check_config
from realtime_events.errors import InvalidConfigError
from realtime_events.events.settings import (
    FunctionTool,
    McpTool,
    NoiseReduction,
    Reasoning,
    SemanticVad,
    ServerVad,
)
from realtime_events.testing import LocalRealtimeServer
from realtime_events_tools import Tools

pytestmark = pytest.mark.anyio

GOOD: list[dict[str, Any]] = [
    {"output_modalities": ["text"]},
    {"output_modalities": ["audio"]},
    {"output_modalities": ("text", "audio")},
    {"modalities": ["audio", "text"]},
    *({"voice": voice} for voice in VOICES),
    {"voice": {"id": "voice_1234"}},
    {"input_audio_format": "pcm16", "output_audio_format": "g711_alaw"},
    {"input_audio_format": {"type": "audio/pcm", "rate": 24000}},
    {"output_audio_format": {"type": "audio/pcmu"}},
    {"input_audio_format": PCM16, "output_audio_format": G711_ULAW},
    {"turn_detection": None},
    {"turn_detection": {"type": "server_vad", "threshold": 0.6}},
    {"turn_detection": {"type": "semantic_vad", "eagerness": "high"}},
    {"turn_detection": {"silence_duration_ms": 300}},  # beta's default type
    {"tool_choice": "required"},
    {"tool_choice": {"type": "function", "name": "get_weather"}},
    {"tool_choice": {"type": "mcp", "server_label": "docs"}},
    {"temperature": 0.8, "speed": 1.5, "max_output_tokens": 4096},
    {"max_output_tokens": "inf"},
    {"input_audio_noise_reduction": {"type": "near_field"}},
    {"instructions": "Be brief.", "some_future_field": {"anything": True}},
    # Today's settings.
    *({"reasoning": {"effort": effort}} for effort in REASONING_EFFORTS),
    {"reasoning": Reasoning(effort="low")},
    {"truncation": "auto"},
    {"truncation": "disabled"},
    {"truncation": {"type": "retention_ratio", "retention_ratio": 0.8}},
    {
        "truncation": {
            "type": "retention_ratio",
            "retention_ratio": 0,
            "token_limits": {"post_instructions": 8000},
        }
    },
    {"prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}}},
    {"parallel_tool_calls": False},
    {"tracing": None},
    {"tracing": "auto"},
    {"tracing": {"workflow_name": "support", "group_id": "g", "metadata": {"a": "b"}}},
    {"include": ["item.input_audio_transcription.logprobs"]},
    {"input_audio_transcription": None},
    {"input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "x"}},
    {"input_audio_transcription": {"model": "gpt-transcribe", "languages": ["en"], "keywords": []}},
    {"input_audio_transcription": {"model": "gpt-realtime-whisper", "delay": "xhigh"}},
    {"input_audio_noise_reduction": {"type": "far_field", "strength": 0.5}},
    {"input_audio_noise_reduction": NoiseReduction(type="near_field")},
    {
        "turn_detection": {
            "type": "server_vad",
            "idle_timeout_ms": 5000,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 0,
            "create_response": False,
            "interrupt_response": True,
        }
    },
    {"turn_detection": {"type": "semantic_vad", "eagerness": "auto", "create_response": True}},
    {"turn_detection": SemanticVad(eagerness="low")},
    {"turn_detection": ServerVad(threshold=0.4, idle_timeout_ms=8000)},
    {"tool_choice": {"type": "mcp", "server_label": "docs", "name": "search"}},
    {"tools": []},
    {"tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]},
    {"tools": [FunctionTool(name="f"), McpTool(server_label="d", server_url="https://x")]},
    {
        "tools": [
            {
                "type": "mcp",
                "server_label": "docs",
                "server_url": "https://mcp.example.com",
                "headers": {"X-Team": "voice"},
                "allowed_tools": {"tool_names": ["search"], "read_only": True},
                "require_approval": {"never": {"tool_names": ["search"]}},
                "server_description": "Docs.",
                "authorization": "t",
            },
            {
                "type": "mcp",
                "server_label": "mail",
                "connector_id": "connector_gmail",
                "allowed_tools": ["search"],
                "require_approval": "always",
                "allowed_callers": ["direct", "programmatic"],
                "defer_loading": False,
            },
            {"type": "mcp", "server_label": "intranet", "tunnel_id": "tun_1"},
        ]
    },
    {"audio": {"input": {"turn_detection": {"type": "semantic_vad"}}, "output": {"voice": "ash"}}},
    {"type": "realtime", "voice": "marin"},
    {
        "type": "transcription",
        "input_audio_format": "g711_ulaw",
        "input_audio_transcription": {"model": "whisper-1"},
        "input_audio_noise_reduction": None,
        "turn_detection": None,
        "include": ["item.input_audio_transcription.logprobs"],
    },
    {"type": "transcription", "audio": {"input": {"transcription": {"model": "whisper-1"}}}},
]


@pytest.mark.parametrize("config", GOOD)
def test_valid_settings_pass(config: dict[str, Any]) -> None:
    check_config(config)


BAD: list[tuple[dict[str, Any], str]] = [
    (
        {"output_modalities": ["txt"]},
        "invalid output_modalities=['txt']: allowed ['text'], ['audio'] or ['text', 'audio']"
        " (audio comes with its transcript); 'txt' is not a modality",
    ),
    ({"output_modalities": "text"}, "invalid output_modalities='text': allowed ['text']"),
    ({"output_modalities": []}, "invalid output_modalities=[]: allowed ['text']"),
    ({"modalities": ["video"]}, "invalid modalities=['video']"),
    (
        {"voice": "alloyy"},
        "invalid voice='alloyy': allowed 'alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', "
        "'shimmer', 'verse', 'marin', 'cedar', or a custom voice {'id': ...}; "
        "did you mean 'alloy'?",
    ),
    ({"voice": {"name": "x"}}, "invalid voice={'name': 'x'}: allowed 'alloy'"),
    ({"input_audio_format": "mp3"}, "invalid input_audio_format='mp3': allowed 'pcm16'"),
    (
        {"output_audio_format": {"type": "audio/pcm", "rate": 16000}},
        "invalid output_audio_format={'type': 'audio/pcm', 'rate': 16000}: allowed 'pcm16'",
    ),
    (
        {"turn_detection": {"type": "client_vad"}},
        "invalid turn_detection.type='client_vad': allowed 'server_vad', 'semantic_vad'",
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "eagerness": "eager"}},
        "invalid turn_detection.eagerness='eager': allowed 'low', 'medium', 'high', 'auto'",
    ),
    ({"turn_detection": {"threshold": 2}}, "invalid turn_detection.threshold=2"),
    ({"turn_detection": "server_vad"}, "invalid turn_detection='server_vad': allowed None"),
    ({"tool_choice": "auot"}, "invalid tool_choice='auot': allowed 'auto', 'none', 'required'"),
    ({"tool_choice": {"type": "function"}}, "invalid tool_choice={'type': 'function'}"),
    ({"temperature": 2.0}, "invalid temperature=2.0: allowed a number from 0.6 to 1.2"),
    ({"temperature": "hot"}, "invalid temperature='hot'"),
    ({"speed": 3}, "invalid speed=3: allowed a number from 0.25 to 1.5"),
    ({"max_output_tokens": 0}, "invalid max_output_tokens=0: allowed an integer from 1 to 4096"),
    ({"max_output_tokens": True}, "invalid max_output_tokens=True"),
    ({"input_audio_noise_reduction": {"type": "loud"}}, "invalid input_audio_noise_reduction="),
    # Today's settings.
    (
        {"reasoning": {"effort": "hgh"}},
        "invalid reasoning.effort='hgh': allowed 'minimal', 'low', 'medium', 'high', 'xhigh';"
        " did you mean 'high'?",
    ),
    ({"reasoning": "high"}, "invalid reasoning='high': allowed a mapping such as {'effort'"),
    ({"reasoning": {"efort": "low"}}, "unknown reasoning setting 'efort': did you mean 'effort'?"),
    (
        {"truncation": "auot"},
        "invalid truncation='auot': allowed 'auto', 'disabled' or {'type': 'retention_ratio',"
        " 'retention_ratio': ...}; did you mean 'auto'?",
    ),
    (
        {"truncation": {"type": "retention_ratio", "retention_ratio": 1.5}},
        "invalid truncation.retention_ratio=1.5: allowed a number from 0.0 to 1.0",
    ),
    (
        {
            "truncation": {
                "type": "retention_ratio",
                "retention_ratio": 0.5,
                "token_limits": {"post_instructions": 0},
            }
        },
        "invalid truncation.token_limits.post_instructions=0: allowed a positive integer",
    ),
    ({"prompt": {"version": "2"}}, "invalid prompt={'version': '2'}: allowed a mapping with"),
    ({"prompt": {"id": "p", "variables": ["x"]}}, "invalid prompt.variables=['x']"),
    ({"parallel_tool_calls": "yes"}, "invalid parallel_tool_calls='yes': allowed True or False"),
    ({"tracing": "on"}, "invalid tracing='on': allowed None (off), 'auto' or {"),
    ({"tracing": {"workflow_name": 3}}, "invalid tracing.workflow_name=3: allowed a string"),
    ({"include": ["logprobs"]}, "invalid include='logprobs': allowed"),
    (
        {"input_audio_transcription": {"model": "whisper-1", "langauge": "en"}},
        "unknown input_audio_transcription setting 'langauge': did you mean 'language'?",
    ),
    ({"input_audio_transcription": {"language": 7}}, "invalid input_audio_transcription.lang"),
    ({"input_audio_transcription": {"delay": "slow"}}, "invalid input_audio_transcription.delay"),
    ({"input_audio_transcription": "whisper-1"}, "invalid input_audio_transcription='whisper-1'"),
    (
        {"input_audio_noise_reduction": {"type": "far_feild"}},
        "invalid input_audio_noise_reduction={'type': 'far_feild'}: allowed None or {'type': ...}"
        " with type 'near_field', 'far_field'; did you mean 'far_field'?",
    ),
    (
        {"input_audio_noise_reduction": {"type": "far_field", "strength": -1}},
        "invalid input_audio_noise_reduction.strength=-1",
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "idle_timeout_ms": 5000}},
        "turn_detection.idle_timeout_ms is not a setting of semantic_vad turn detection: it takes"
        " create_response, interrupt_response, eagerness",
    ),
    (
        {"turn_detection": {"type": "server_vad", "eagerness": "high"}},
        "turn_detection.eagerness is not a setting of server_vad turn detection",
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "eagernes": "high"}},
        "unknown turn_detection setting 'eagernes': did you mean 'eagerness'?",
    ),
    (
        {"turn_detection": {"type": "semantic_vad", "eagerness": "hgh"}},
        "invalid turn_detection.eagerness='hgh': allowed 'low', 'medium', 'high', 'auto';"
        " did you mean 'high'?",
    ),
    (
        {"turn_detection": {"idle_timeout_ms": -5}},
        "invalid turn_detection.idle_timeout_ms=-5: allowed a whole number of milliseconds",
    ),
    ({"turn_detection": {"create_response": "yes"}}, "invalid turn_detection.create_response="),
    ({"turn_detection": SemanticVad(eagerness="eager")}, "invalid turn_detection.eagerness="),
    ({"tool_choice": "requird"}, "invalid tool_choice='requird'"),
    ({"tool_choice": {"type": "mcp", "server_label": "d", "name": 1}}, "invalid tool_choice.name"),
    ({"tools": {"type": "function"}}, "invalid tools={'type': 'function'}: allowed a list"),
    ({"tools": [{"type": "function"}]}, "invalid tools.0.name=None: allowed the function's name"),
    ({"tools": [{"type": "fuction", "name": "f"}]}, "invalid tools.0.type='fuction': allowed"),
    (
        {"tools": [{"type": "function", "name": "f", "paramters": {}}]},
        "unknown tools.0 setting 'paramters': did you mean 'parameters'?",
    ),
    (
        {"tools": [{"type": "mcp", "server_label": "docs"}]},
        "tools.0 needs one of server_url, connector_id or tunnel_id",
    ),
    (
        {"tools": [{"type": "mcp", "server_url": "https://x"}]},
        "invalid tools.0.server_label=None",
    ),
    (
        {"tools": [{"type": "mcp", "server_label": "m", "connector_id": "connector_gmial"}]},
        "invalid tools.0.connector_id='connector_gmial': allowed 'connector_dropbox'",
    ),
    (
        {"tools": [{"type": "mcp", "server_label": "d", "server_url": "u", "headers": {"a": 1}}]},
        "invalid tools.0.headers={'a': 1}: allowed a mapping of header names to strings",
    ),
    (
        {"tools": [McpTool(server_label="d", server_url="u", require_approval="sometimes")]},
        "invalid tools.0.require_approval='sometimes': allowed 'always', 'never', or a filter",
    ),
    (
        {
            "tools": [
                {
                    "type": "mcp",
                    "server_label": "d",
                    "server_url": "u",
                    "require_approval": {"never": {"tool_name": ["x"]}},
                }
            ]
        },
        "unknown tools.0.require_approval.never setting 'tool_name': did you mean 'tool_names'?",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "x"}}}},
        "invalid audio.input.turn_detection.eagerness='x'",
    ),
    ({"audio": {"output": {"voice": "alloyy"}}}, "invalid audio.output.voice='alloyy'"),
    ({"type": "transcrption"}, "invalid type='transcrption': allowed 'realtime', 'transcription'"),
    (
        {"type": "transcription", "voice": "alloy"},
        "voice is not a setting of a transcription session (type='transcription'): it takes audio,"
        " include, input_audio_format, input_audio_noise_reduction, input_audio_transcription,"
        " turn_detection",
    ),
    (
        {"type": "transcription", "audio": {"output": {"voice": "alloy"}}},
        "audio.output is not a setting of a transcription session",
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD)
def test_invalid_settings_name_the_field_the_value_and_what_is_allowed(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        check_config(config)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)
    field = caught.value.field
    assert field.split(".")[0] in config
    if "transcription session" not in str(caught.value):
        assert field.split(".")[0] == next(iter(config))


def test_the_session_refuses_invalid_settings_when_it_is_built() -> None:
    with pytest.raises(InvalidConfigError, match=r"invalid output_modalities=\['txt'\]"):
        Session(url="ws://127.0.0.1:9", output_modalities=["txt"])
    with pytest.raises(InvalidConfigError, match="did you mean 'coral'"):
        Session(url="ws://127.0.0.1:9", voice="corals")
    with pytest.raises(InvalidConfigError, match="invalid temperature=5"):
        Session(url="ws://127.0.0.1:9", config={"temperature": 5})
    with pytest.raises(InvalidConfigError, match="invalid tool_choice='auot'"):
        Session(url="ws://127.0.0.1:9").use(Tools(tool_choice="auot"))


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer() as server:
        yield server


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_an_invalid_update_is_refused_before_it_is_sent(
    server: LocalRealtimeServer, dialect: Any
) -> None:
    session = Session(url=server.url, dialect=dialect, voice="ash")
    async with session:
        await session.wait_for("session.updated", timeout=10)
        with pytest.raises(InvalidConfigError, match="invalid voice='bogus'"):
            await session.update(voice="bogus", instructions="Be brief.")
        # Nothing of the refused update was kept, and a valid one still goes through.
        assert session.config == {"voice": "ash"}
        async with session.stream("session.updated") as updates:
            await session.update(voice="sage", output_modalities=["text", "audio"])
            updated = await updates.receive(timeout=10)
    assert session.server_config["voice"] == "sage"
    assert updated.type == "session.updated"
