"""Per-response settings are checked before ``response.create`` goes out; ``Response.text``.

A typo in a per-response setting (``tool_chioce``, ``reasoning={"efort": ...}``)
used to reach the server, whose refusal came back as an ``error`` event, or,
for a key inside a known object, was silently ignored. It is now an
:class:`InvalidConfigError` raised by ``session.response.create()`` before
anything is sent or queued.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import InvalidConfigError, Session, SessionClosedError, signals
from realtime_events.events import ContentPart, ConversationItem, Response
from realtime_events.events.settings import Reasoning
from realtime_events.responses import KEEP_FINISHED, check_response_settings
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

sys.path.insert(0, str(Path(__file__).parent))  # the components' helpers sit next to the tests
from _components import components, response_created, response_done

pytestmark = pytest.mark.anyio

TIMEOUT = 20


# -- the check itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"tool_chioce": "auto"}, "tool_chioce", "did you mean 'tool_choice'"),
        ({"parallel_tool_call": True}, "parallel_tool_call", "did you mean 'parallel_tool_calls'"),
        ({"reasoning": {"efort": "low"}}, "reasoning.efort", "did you mean 'effort'"),
        ({"reasoning": {"effort": "hgh"}}, "reasoning.effort", "did you mean 'high'"),
        ({"prompt": {"version": "2"}}, "prompt", "the prompt's 'id'"),
        ({"prompt": {"id": "pmpt_1", "varibles": {}}}, "prompt.varibles", "'variables'"),
        ({"tool_choice": "auto-ish"}, "tool_choice", "did you mean 'auto'"),
        ({"tools": [{"type": "function"}]}, "tools.0.name", "the function's name"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls", "True or False"),
        ({"output_modalities": ["video"]}, "output_modalities", "'text', 'audio'"),
        ({"max_output_tokens": 0}, "max_output_tokens", "from 1 to 4096"),
        ({"turn_detection": None}, "turn_detection", "session.update()"),
        ({"truncation": "auto"}, "truncation", "session.update()"),
        ({"audio": {"input": {"format": "pcm16"}}}, "audio.input", "audio.output"),
        ({"audio": {"output": {"voice": "alloyy"}}}, "audio.output.voice", "'alloy'"),
    ],
)
def test_a_bad_per_response_setting_is_named(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidConfigError) as refused:
        check_response_settings(overrides)
    assert refused.value.field.startswith(field)
    assert words in str(refused.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"instructions": "Be brief.", "metadata": {"topic": "weather"}, "conversation": "none"},
        {"reasoning": Reasoning(effort="low"), "parallel_tool_calls": False},
        {"prompt": {"id": "pmpt_1", "version": "2", "variables": {"city": "Paris"}}},
        {"tool_choice": {"type": "function", "name": "get_weather"}, "tools": []},
        {"output_modalities": ["text"], "max_output_tokens": "inf"},
        {"audio": {"output": {"voice": "marin", "format": {"type": "audio/pcmu"}}}},
        {"modalities": ["text"], "temperature": 0.8, "max_response_output_tokens": 100},
        {"a_setting_of_a_newer_server": 1},  # unlike any known name: the server judges
    ],
)
def test_good_per_response_settings_pass(overrides: dict[str, Any]) -> None:
    check_response_settings(overrides)


# -- through a session over loopback -------------------------------------------------


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    model = ScriptedModel().otherwise("Okay.")
    async with LocalRealtimeServer(model=model) as server:
        yield server


def creates(server: LocalRealtimeServer) -> list[dict[str, Any]]:
    return [e for e in server.connection.received if e["type"] == "response.create"]


async def test_a_typo_is_refused_before_anything_is_sent(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    with anyio.fail_after(TIMEOUT):
        async with session:
            await session.send_text("hello", respond=False)
            with pytest.raises(InvalidConfigError, match="did you mean 'tool_choice'"):
                await session.response.create(tool_chioce="none")
            assert not session.response.active
            # While a response runs, a bad request is not queued either.
            running = await session.response.create(instructions="Be brief.")
            with pytest.raises(InvalidConfigError, match=r"reasoning\.effort"):
                await session.response.create(reasoning={"effort": "hgh"})
            assert session.response.pending == 0
            done = await running.done()
            # A round trip: everything the client sent has reached the server.
            await session.ask("and again", timeout=TIMEOUT)
            sent = creates(server)
    assert done.response.status == "completed"
    assert [event.get("response", {}).get("instructions") for event in sent] == ["Be brief.", None]


# -- Response.text ---------------------------------------------------------------------


def message(words: str, role: str = "assistant") -> ConversationItem:
    return ConversationItem(
        type="message", role=role, content=[ContentPart(type="output_text", text=words)]
    )


def test_response_text_is_one_line_per_assistant_message() -> None:
    call = ConversationItem(type="function_call", name="get_weather", arguments="{}")
    spoken = ConversationItem(
        type="message",
        role="assistant",
        content=[ContentPart(type="output_audio", transcript="It is sunny.")],
    )
    response = Response(output=[message("Let me check."), call, spoken, message("")])
    assert response.text == "Let me check.\nIt is sunny."
    assert Response(output=[message("Just one.")]).text == "Just one."
    assert Response(output=[call]).text == Response().text == ""


# -- what is made only when needed ------------------------------------------


async def test_a_queue_made_at_the_first_wait_ends_with_the_session_and_comes_back() -> None:
    async with components() as parts:
        responses = parts.responses
        assert responses.pending == 0
        await parts.feed(response_created("resp_1"))
        waiting = await responses.create(instructions="next")
        assert await responses.create(instructions="next") is waiting  # coalesced
        assert responses.pending == 1
        signals.send(signals.closed, parts.owner, error=None)
        with pytest.raises(SessionClosedError, match="before the response finished"):
            await waiting.done()
        assert responses.pending == 0
        # A new run queues again behind its active response, and sends in order.
        await parts.feed(response_created("resp_2"))
        again = await responses.create(instructions="again")
        assert responses.pending == 1
        await parts.feed(response_done("resp_2"))
        assert responses.pending == 0
        assert parts.sent[-1].model_dump()["response"]["instructions"] == "again"
        assert again.error is None


async def test_finished_responses_are_forgotten_oldest_first() -> None:
    async with components() as parts:
        for n in range(KEEP_FINISHED + 2):
            await parts.feed(response_created(f"resp_{n}"), response_done(f"resp_{n}"))
        assert await parts.responses.cancel("resp_0", wait=False) is None  # forgotten: sent
        kept = await parts.responses.cancel("resp_2", wait=False)
        assert kept is not None
        assert kept.response.id == "resp_2"
