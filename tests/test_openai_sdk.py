"""The official openai SDK, as a client, holds a full conversation with LocalRealtimeServer.

Every frame the server sends is validated by the SDK's own pydantic union for
the dialect, so the local server stays faithful to what real clients expect.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from openai.types.beta.realtime.realtime_server_event import (
    RealtimeServerEvent as BetaServerEvent,
)
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from pydantic import TypeAdapter

from realtime_events.audio import chunks, encode_base64, read_wav, silence
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio

AUDIO = Path(__file__).parent / "audio"
GA = TypeAdapter[Any](RealtimeServerEvent)
BETA = TypeAdapter[Any](BetaServerEvent)
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's realtime client is asyncio-only


@pytest.fixture
async def server() -> AsyncIterator[LocalRealtimeServer]:
    model = (
        ScriptedModel()
        .hears(AUDIO / "hello_there.wav", "hello there")
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
        .when("hello")
        .say("Hi there! How can I help?")
    )
    async with LocalRealtimeServer(model=model) as server:
        yield server


class Client:
    """An SDK connection whose every received frame is checked by the SDK's models."""

    def __init__(self, connection: Any, adapter: TypeAdapter[Any]) -> None:
        self.connection = connection
        self.adapter = adapter
        self.types: list[str] = []

    async def until(self, event_type: str) -> Any:
        while True:
            raw = await self.connection.recv_bytes()
            event = self.adapter.validate_json(raw)  # raises on any unfaithful frame
            self.types.append(event.type)
            if event.type == event_type:
                return event


async def test_sdk_holds_a_full_ga_conversation(server: LocalRealtimeServer) -> None:
    client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
    async with client.realtime.connect(model="gpt-realtime") as connection:
        sdk = Client(connection, GA)
        await sdk.until("session.created")
        await connection.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER_TOOL]}
        )
        updated = await sdk.until("session.updated")
        assert updated.session.tools[0].name == "get_weather"

        # A text turn.
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            }
        )
        await connection.response.create()
        done = await sdk.until("response.done")
        assert done.response.status == "completed"
        assert "Hi there" in json.dumps(done.response.model_dump())

        # A function call, answered, then the model's answer.
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "weather?"}],
            }
        )
        await connection.response.create()
        call = await sdk.until("response.function_call_arguments.done")
        assert call.name == "get_weather"
        assert json.loads(call.arguments) == {"city": "Paris"}
        await sdk.until("response.done")
        await connection.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"city": "Paris", "temp_c": 21}),
            }
        )
        await connection.response.create()
        done = await sdk.until("response.done")
        assert "21 degrees in Paris" in json.dumps(done.response.model_dump())

        # An audio turn: a real speech recording, server VAD, audio out.
        await connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["audio"],
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
            }
        )
        await sdk.until("session.updated")
        pcm, rate = read_wav(AUDIO / "hello_there.wav")
        assert rate == 24000
        for chunk in chunks(pcm + silence(800), ms=100):
            await connection.input_audio_buffer.append(audio=encode_base64(chunk))
        await sdk.until("input_audio_buffer.speech_started")
        await sdk.until("input_audio_buffer.speech_stopped")
        heard = await sdk.until("conversation.item.input_audio_transcription.completed")
        assert heard.transcript == "hello there"
        done = await sdk.until("response.done")
        assert "response.output_audio.delta" in sdk.types
        assistant = next(item for item in done.response.output if item.type == "message")

        # The server's rules, with its error codes.
        await connection.response.cancel()
        error = await sdk.until("error")
        assert error.error.code == "response_cancel_not_active"
        await connection.conversation.item.truncate(
            item_id=assistant.id, content_index=0, audio_end_ms=600_000
        )
        error = await sdk.until("error")
        assert "already shorter than" in error.error.message
        await connection.conversation.item.truncate(
            item_id=assistant.id, content_index=0, audio_end_ms=200
        )
        truncated = await sdk.until("conversation.item.truncated")
        assert truncated.audio_end_ms == 200


async def test_sdk_beta_dialect_text_turn(server: LocalRealtimeServer) -> None:
    client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
    async with client.beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        sdk = Client(connection, BETA)
        await sdk.until("session.created")
        await connection.session.update(session={"modalities": ["text"]})
        await sdk.until("session.updated")
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            }
        )
        await connection.response.create()
        done = await sdk.until("response.done")
        assert done.response.status == "completed"
        assert "response.text.delta" in sdk.types  # beta names on the wire
