"""Settings: which classes are kinds (their ``type`` always sent) is worked out once per class."""

from __future__ import annotations

from typing import Literal

import pytest

from realtime_events.events.parse import parse_server_event
from realtime_events.events.settings import (
    AudioConfig,
    AudioFormatConfig,
    FunctionTool,
    McpTool,
    SemanticVad,
    ServerVad,
    Setting,
    Tool,
    TurnDetection,
)


@pytest.mark.parametrize("kind", [ServerVad, SemanticVad, FunctionTool, McpTool])
def test_a_kind_knows_it_is_one_before_any_instance_exists(kind: type[Setting]) -> None:
    assert kind._sends_type is True
    assert kind().model_dump(exclude_unset=True) == {
        "type": kind.__pydantic_fields__["type"].default
    }


@pytest.mark.parametrize("base", [Setting, TurnDetection, Tool, AudioFormatConfig, AudioConfig])
def test_a_setting_without_a_default_type_sends_none(base: type[Setting]) -> None:
    assert base._sends_type is False
    assert base().model_dump(exclude_unset=True) == {}


def test_a_kind_defined_outside_the_library_is_one_too() -> None:
    class Whistle(TurnDetection):
        type: Literal["whistle"] = "whistle"
        pitch_hz: int | None = None

    class Plain(TurnDetection):
        pitch_hz: int | None = None

    assert Whistle(pitch_hz=440).model_dump(exclude_unset=True) == {
        "type": "whistle",
        "pitch_hz": 440,
    }
    assert Plain(pitch_hz=440).model_dump(exclude_unset=True) == {"pitch_hz": 440}


def test_a_subclass_of_a_kind_stays_a_kind() -> None:
    class LoudVad(ServerVad):
        loudness: float | None = None

    assert LoudVad._sends_type is True
    assert LoudVad().model_dump(exclude_unset=True) == {"type": "server_vad"}


def test_a_parsed_session_created_keeps_what_the_server_sent() -> None:
    frame = (
        b'{"type":"session.created","event_id":"e1","session":{"type":"realtime",'
        b'"audio":{"input":{"format":{"type":"audio/pcm","rate":24000},'
        b'"turn_detection":{"threshold":0.5}},"output":{"format":{"rate":24000}}}}}'
    )
    session = parse_server_event(frame).session  # type: ignore[attr-defined]
    vad = session.audio.input.turn_detection
    assert isinstance(vad, ServerVad)  # a missing type is server_vad, as in beta
    assert vad.model_dump(exclude_unset=True) == {"type": "server_vad", "threshold": 0.5}
    assert "type" not in session.audio.output.format
    assert session.audio.input.format["type"] == "audio/pcm"
