"""Invalid settings are refused locally, naming the field, the value and what is allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime_events import Session
from realtime_events.audio import G711_ULAW, PCM16
from realtime_events.config import VOICES, check_config
from realtime_events.errors import InvalidConfigError
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
]


@pytest.mark.parametrize(("config", "message"), BAD)
def test_invalid_settings_name_the_field_the_value_and_what_is_allowed(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        check_config(config)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field.split(".")[0] == next(iter(config))


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
