"""Turns: ``ask`` and ``expect_reply`` wait for the whole answer, tool round trips included."""

from __future__ import annotations

import functools
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

from realtime_events import Session, SessionClosedError, SyncSession
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events_tools import Tools

pytestmark = pytest.mark.anyio

AUDIO = Path(__file__).parent / "audio"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def weather_model() -> ScriptedModel:
    return (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("In {city} it is {temp_c} degrees.")
        .otherwise("Hello to you too.")
    )


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(model_factory=weather_model) as server:
        yield server


def with_weather_tool(session: Session) -> Tools:
    tools = session.use(Tools())

    @tools.function
    async def get_weather(city: str) -> dict[str, Any]:
        """Current weather for a city."""
        await anyio.sleep(0.05)  # the answer must wait for the tool, not race it
        return {"city": city, "temp_c": 21}

    return tools


async def test_ask_returns_the_answer_after_the_tool_round_trip(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url)
    with_weather_tool(session)
    dones: list[Any] = []
    session.on("response.done", dones.append)
    async with session:
        reply = await session.ask("What's the weather in Paris?", timeout=20)
    assert reply.text == "In Paris it is 21 degrees."
    assert str(reply) == reply.text
    assert [item.type for item in reply.items] == ["function_call", "message"]
    assert len(reply.responses) == 2 == len(dones)  # the call, then the answer
    assert reply.status == "completed"
    total = sum(done.response.usage.total_tokens for done in dones)
    assert reply.usage.total_tokens == total > 0


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_ask_without_tools_is_one_response(server: LocalRealtimeServer, dialect: str) -> None:
    session = Session(url=server.url, dialect=dialect)  # type: ignore[arg-type]
    async with session:
        first = await session.ask("hello", timeout=20)
        second = await session.ask("hello again", timeout=20)
    assert first.text == second.text == "Hello to you too."
    assert len(first.responses) == len(second.responses) == 1
    assert first.responses[0].id != second.responses[0].id


async def test_an_unanswered_call_times_out_saying_what_is_missing(
    server: LocalRealtimeServer,
) -> None:
    # The model calls a tool that no plugin answers: the turn is not over.
    session = Session(url=server.url, config={"tools": [WEATHER_TOOL]})
    async with session:
        with pytest.raises(TimeoutError, match=r"within 1\.0 s: the model called get_weather"):
            await session.ask("What's the weather?", timeout=1.0)


async def test_expect_reply_follows_an_audio_turn(anyio_backend: str) -> None:
    model = weather_model().hears(AUDIO / "weather_paris.wav", "what is the weather in Paris")
    with wave.open(str(AUDIO / "weather_paris.wav"), "rb") as wav:
        pcm = wav.readframes(wav.getnframes())
    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, turn_detection=None)
        with_weather_tool(session)
        async with session:
            turn = session.expect_reply()
            await session.send_audio(pcm, commit=True, respond=True)
            reply = await turn.wait(timeout=20)
    assert reply.text == "In Paris it is 21 degrees."


async def test_a_turn_opened_late_ignores_the_response_before_it(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url)
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.created", timeout=20)
        turn = session.expect_reply()  # that response began before the turn did
        await session.wait_for("response.done", timeout=20)
        with pytest.raises(TimeoutError, match="no response started"):
            await turn.wait(timeout=0.3)
        await session.send_text("hello again")
        reply = await turn
    assert reply.text == "Hello to you too."


async def test_the_turn_fails_when_the_session_ends(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url)
    async with session:
        turn = session.expect_reply()
    with pytest.raises(SessionClosedError, match="ended before the reply"):
        await turn.wait(timeout=5)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_ask_never_misses_the_reply(backend: str) -> None:
    # From a thread, the turn is opened on the loop before the send: 20 of 20.
    with start_blocking_portal(backend) as portal:
        server = portal.call(functools.partial(LocalRealtimeServer, model_factory=weather_model))
        with (
            portal.wrap_async_context_manager(server),
            SyncSession(url=server.url, backend=backend) as sync,  # type: ignore[arg-type]
        ):
            # Tools made in this thread, then handed over: the loop thread owns them.
            tools = Tools()

            @tools.function
            def get_weather(city: str) -> dict[str, Any]:
                """Current weather for a city."""
                return {"city": city, "temp_c": 21}

            sync.use(tools)
            texts = [sync.ask("hello", timeout=20).text for _ in range(20)]
            weather = sync.ask("weather?", timeout=20)
            turn = sync.expect_reply()
            sync.send_text("hello")
            late = turn.wait(timeout=20)
            assert len(sync.conversation) == 2 * 22 + 2  # user and assistant, plus the tool's two
    assert texts == ["Hello to you too."] * 20
    assert weather.text == "In Paris it is 21 degrees."
    assert late.text == "Hello to you too."
