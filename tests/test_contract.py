"""The public API as the README's main example uses it, run as written against the local server."""

from __future__ import annotations

import pytest

from realtime_events import ServerEvent, Session
from realtime_events.events import Dialect, ResponseOutputAudioDeltaEvent
from realtime_events.testing import DemoModel, LocalRealtimeServer
from realtime_events_tools import Tools
from realtime_events_transcript import Transcript

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_the_design_example(anyio_backend: str, dialect: Dialect) -> None:
    async with LocalRealtimeServer(model=DemoModel()) as server:
        session = Session(
            model="gpt-realtime",
            url=server.url,
            dialect=dialect,
            instructions="You are a helpful assistant.",
        )
        tools = session.use(Tools())
        transcript = session.use(Transcript())
        speaker = bytearray()
        traced: list[str] = []

        @tools.function
        async def get_weather(city: str) -> dict[str, object]:
            """Current weather for a city."""
            return {"city": city, "temp_c": 21}

        @session.on("response.output_audio.delta")  # the beta name fires too
        async def play(event: ResponseOutputAudioDeltaEvent) -> None:
            speaker.extend(event.audio)  # bytes, decoded only when asked

        @session.on("response.*")
        def trace(event: ServerEvent) -> None:
            traced.append(event.type)

        async with session:
            await session.send_text("What's the weather in Paris?")
            done = await session.wait_for("response.done", timeout=30)  # the tool call
            output = done.response.output or []
            assert [item.type for item in output] == ["function_call"]
            answer = await session.wait_for("response.done", timeout=30)  # the answer
        assert answer.response.status == "completed"
        assert speaker  # the answer was spoken
        assert traced.count("response.done") == 2
        assert transcript.text() == (
            "User: What's the weather in Paris?\nAssistant: In Paris it is 21 degrees."
        )
