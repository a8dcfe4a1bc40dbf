"""The parts that need no session: estimating heard text, and rendering turns."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path

import pytest

from realtime_events_transcript import Turn, heard_text, render_markdown, render_text
from realtime_events_transcript.export import save

SENTENCE = "The quick brown fox jumps over the lazy dog"


def test_nothing_is_heard_at_zero_ms() -> None:
    assert heard_text(SENTENCE, 0, 3000) == ""


def test_everything_is_heard_at_or_past_the_end() -> None:
    assert heard_text(SENTENCE, 3000, 3000) == SENTENCE
    assert heard_text(SENTENCE, 5000, 3000) == SENTENCE


def test_without_an_audio_length_the_text_is_kept() -> None:
    assert heard_text(SENTENCE, 1200, 0) == SENTENCE


def test_the_cut_is_rounded_up_to_the_end_of_a_word() -> None:
    # Half of 43 characters is inside "jumps": the word being spoken counts as heard.
    assert heard_text(SENTENCE, 1500, 3000) == "The quick brown fox jumps"


def test_any_audio_played_keeps_at_least_one_word() -> None:
    assert heard_text(SENTENCE, 1, 3000) == "The"


def test_cuts_never_split_words_and_grow_with_time() -> None:
    words = SENTENCE.split()
    previous = ""
    for ms in range(0, 3001, 50):
        heard = heard_text(SENTENCE, ms, 3000)
        assert heard.split() == words[: len(heard.split())]
        assert len(heard) >= len(previous)
        previous = heard


def _turns() -> list[Turn]:
    start = datetime(2026, 1, 2, 3, 4, 5)
    return [
        Turn("item_1", "user", "What's the weather?", "completed", start, start, "text"),
        Turn(
            "item_2",
            "tool_call",
            "get_weather({})",
            "completed",
            start,
            start,
            item_type="function_call",
            name="get_weather",
            call_id="call_1",
            arguments='{"city": "Paris"}',
        ),
        Turn(
            "item_3",
            "tool_output",
            '{"temp_c": 21}',
            "completed",
            start,
            start,
            item_type="function_call_output",
            call_id="call_1",
            output='{"temp_c": 21}',
        ),
        Turn("item_4", "assistant", "It is 21 degrees", "interrupted", start, None, "audio", 900),
        Turn("item_5", "user", "", "failed", start, start, "audio", error="no speech"),
        Turn("item_6", "assistant", "", "interrupted", start, start, "audio", 0),
    ]


def test_text_export() -> None:
    assert render_text(_turns()) == (
        "User: What's the weather?\n"
        "Assistant: It is 21 degrees [interrupted]\n"
        "User: [inaudible]\n"
        "Assistant: [interrupted]"
    )
    assert render_text(_turns(), tools=True, marks=False, labels={"user": "Caller"}) == (
        "Caller: What's the weather?\n"
        'Tool call: get_weather({"city": "Paris"})\n'
        'Tool output: {"temp_c": 21}\n'
        "Assistant: It is 21 degrees\n"
        "Caller: [inaudible]\n"
        "Assistant:"
    )


def test_markdown_export() -> None:
    assert render_markdown(_turns()[:4], tools=True) == (
        "# Transcript\n\n"
        "**User:** What's the weather?\n\n"
        '**Tool call:** `get_weather({"city": "Paris"})`\n\n'
        '**Tool output:** `{"temp_c": 21}`\n\n'
        "**Assistant:** It is 21 degrees *(interrupted)*\n"
    )


@pytest.mark.parametrize("suffix", [".json", ".md", ".txt"])
def test_save_picks_the_format_from_the_suffix(tmp_path: Path, suffix: str) -> None:
    path = save(_turns(), tmp_path / f"call{suffix}")
    content = path.read_text(encoding="utf-8")
    if suffix == ".json":
        data = json.loads(content)
        assert [d["item_id"] for d in data] == [f"item_{i}" for i in range(1, 7)]
        assert data[3]["interrupted"] is True
        assert data[3]["audio_end_ms"] == 900
        assert data[0]["started_at"] == "2026-01-02T03:04:05"
        assert data[3]["completed_at"] is None
    elif suffix == ".md":
        assert content.startswith("# Transcript\n\n**User:** What's the weather?")
    else:
        assert content.startswith("User: What's the weather?\nAssistant: It is 21 degrees")


def test_a_turns_copy_is_a_snapshot() -> None:
    class Tagged(Turn):
        pass

    turn = Tagged(item_id="item_1", role="assistant", text="Hello", response_id="resp_1")
    snapshot = copy.copy(turn)
    assert type(snapshot) is Tagged
    assert snapshot == turn
    assert snapshot is not turn
    turn.text += ", world"
    turn.status = "completed"
    assert (snapshot.text, snapshot.status) == ("Hello", "in_progress")
