"""The local server's I/O layer speaks today's GA API, over real loopback sockets.

What reaches the engine besides frames: the URL's query (``?model=gpt-realtime-2``
answers with a preamble and an answer, ``?intent=transcription`` transcribes
and never responds, and a transcription session given a model is refused and
closed), wall time (server VAD's idle timeout fires on a silent client), the
fake MCP servers of ``mcp_servers=``, and keypad presses (``send_dtmf``). Each
is checked with a :class:`Session` on both backends, and with the official SDK
as the client, whose ``RealtimeServerEvent`` union validates every frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
import websockets
from openai import AsyncOpenAI
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from pydantic import TypeAdapter

from realtime_events import InvalidEventError, Session
from realtime_events.audio import chunks, encode_base64, read_wav, silence
from realtime_events.events import (
    FunctionTool,
    McpTool,
    Omittable,
    ServerEvent,
    ServerVad,
    TranscriptionSessionConfig,
    parse_client_event,
)
from realtime_events.events import (
    __all__ as events_all,
)
from realtime_events.events import settings as events_settings
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events.testing import McpTool as FakeMcpTool
from realtime_events.testing.connection import TICK_SECONDS
from realtime_events.testing.engine import audio_ms

AUDIO = Path(__file__).parent / "audio"
RECORDINGS: dict[str, dict[str, Any]] = json.loads((AUDIO / "recordings.json").read_text())
GA = TypeAdapter[Any](RealtimeServerEvent)
HELLO = "hello_there.wav"
MCP_TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example/sse",
    "require_approval": "never",
}
IDLE_MS = 300


def answers() -> ScriptedModel:
    return ScriptedModel().when("hello").say("Hi there!").otherwise("Are you still there?")


def hello_audio() -> bytes:
    pcm, rate = read_wav(AUDIO / HELLO)
    assert rate == 24000
    return pcm + silence(1000)


class Frames:
    """An SDK connection's frames, each validated by the SDK's own server event union."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.seen: list[Any] = []

    async def until(self, event_type: str) -> Any:
        while True:
            with anyio.fail_after(30):  # a generous bound, so a wrong server fails, not hangs
                frame = await self.connection.recv_bytes()
            event = GA.validate_json(frame)
            self.seen.append(event)
            if event.type == event_type:
                return event

    def types(self) -> list[str]:
        return [event.type for event in self.seen]


#: The SDK's realtime client, and the websockets client, run on asyncio only.
asyncio_only = pytest.mark.parametrize("anyio_backend", ["asyncio"])


def sdk(server: LocalRealtimeServer) -> AsyncOpenAI:
    return AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)


def sent_types(server: LocalRealtimeServer) -> list[str]:
    return [str(event["type"]) for event in server.connection.sent_events]


# ---------------------------------------------------------------- gpt-realtime-2


@pytest.mark.anyio
async def test_the_model_of_the_url_answers_with_a_preamble_then_the_answer(
    anyio_backend: str,
) -> None:
    async with LocalRealtimeServer(model=answers()) as server:
        session = Session("gpt-realtime-2", url=server.url, output_modalities=["text"])
        async with session:
            reply = await session.ask("hello", timeout=30)
            assert session.server_session is not None
            assert session.server_session.model == "gpt-realtime-2"
        # The default model of the URL answers in one message.
        async with Session(url=server.url, output_modalities=["text"]) as plain:
            single = await plain.ask("hello", timeout=30)
            assert plain.server_session is not None
            assert plain.server_session.model == "gpt-realtime"
    assert reply.messages == ("Let me think.", "Hi there!")
    (response,) = reply.responses
    assert [item.type for item in response.output or []] == ["message", "message"]
    assert single.messages == ("Hi there!",)


@pytest.mark.anyio
@asyncio_only
async def test_sdk_validates_gpt_realtime_2_chosen_by_the_url(anyio_backend: str) -> None:
    async with (
        LocalRealtimeServer(model=answers()) as server,
        sdk(server).realtime.connect(model="gpt-realtime-2") as connection,
    ):
        frames = Frames(connection)
        created = await frames.until("session.created")
        assert created.session.model == "gpt-realtime-2"
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            }
        )
        await connection.response.create()
        done = await frames.until("response.done")
    transcripts = [item.content[0].transcript for item in done.response.output]
    assert transcripts == ["Let me think.", "Hi there!"]
    assert frames.types().count("response.output_item.added") == 2


# ----------------------------------------------------------------- transcription


def transcription_session(server: LocalRealtimeServer) -> Session:
    return Session(
        None,  # a transcription session's URL has no model
        url=server.url,
        query={"intent": "transcription"},
        config={"type": "transcription"},
        input_audio_transcription={"model": "gpt-4o-transcribe"},
    )


@pytest.mark.anyio
async def test_a_transcription_session_of_the_url_transcribes_and_never_responds(
    anyio_backend: str,
) -> None:
    model = answers().hears(AUDIO / HELLO, RECORDINGS[HELLO]["text"])
    async with LocalRealtimeServer(model=model) as server:
        session = transcription_session(server)
        with anyio.fail_after(60):
            async with session:
                async with session.stream(
                    "conversation.item.input_audio_transcription.completed"
                ) as completed:
                    await session.send_audio(hello_audio())
                    heard = await completed.receive(timeout=30)
                # Asked anyway, it refuses: the error comes after everything before it.
                async with session.stream("error") as errors:
                    await session.send({"type": "response.create"})
                    refused = await errors.receive(timeout=30)
                assert session.server_session is not None
                assert session.server_session.type == "transcription"
        types = sent_types(server)
    assert heard.transcript == "hello there"
    assert refused.error.param == "type"
    assert "'response.create'" in refused.error.message
    assert "input_audio_buffer.speech_stopped" in types
    assert not [kind for kind in types if kind.startswith("response.")]
    assert model.contexts == []  # the model was never asked for a reply


@pytest.mark.anyio
@asyncio_only
async def test_sdk_validates_a_transcription_session_of_the_url(anyio_backend: str) -> None:
    model = answers().hears(AUDIO / HELLO, RECORDINGS[HELLO]["text"])
    async with LocalRealtimeServer(model=model) as server:
        query = {"intent": "transcription"}
        async with sdk(server).realtime.connect(extra_query=query) as connection:
            frames = Frames(connection)
            created = await frames.until("session.created")
            assert created.session.type == "transcription"
            await connection.session.update(
                session={
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
                }
            )
            await frames.until("session.updated")
            for chunk in chunks(hello_audio(), ms=100):
                await connection.input_audio_buffer.append(audio=encode_base64(chunk))
            heard = await frames.until("conversation.item.input_audio_transcription.completed")
            await connection.response.create()
            error = await frames.until("error")
    assert heard.transcript == "hello there"
    assert error.error.code == "invalid_value"
    assert not [kind for kind in frames.types() if kind.startswith("response.")]


@pytest.mark.anyio
@asyncio_only
async def test_a_transcription_url_with_a_model_is_refused_then_closed(
    anyio_backend: str,
) -> None:
    async with LocalRealtimeServer() as server:
        url = f"{server.url}?intent=transcription&model=gpt-realtime"
        async with websockets.connect(url) as client:
            error = GA.validate_json(await client.recv())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await client.recv()
    assert error.type == "error"
    assert error.error.message == (
        "You must not provide a model parameter for transcription sessions."
    )
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4000
    assert closed.value.rcvd.reason == "invalid_request_error"
    assert server.connection.sent_events[-1]["type"] == "error"


# ------------------------------------------------------------------ idle timeout


@pytest.mark.anyio
async def test_the_idle_timeout_fires_on_wall_time_alone(anyio_backend: str) -> None:
    detection = {"type": "server_vad", "idle_timeout_ms": IDLE_MS, "create_response": True}
    async with LocalRealtimeServer(model=answers()) as server:
        session = Session(url=server.url, output_modalities=["text"], turn_detection=detection)
        with anyio.fail_after(60):
            async with (
                session,
                session.stream("input_audio_buffer.timeout_triggered") as timeouts,
                session.stream("response.done") as dones,
            ):
                reply = await session.ask("hello", timeout=30)
                # No audio is sent: only the server's clock moves.
                timeout = await timeouts.receive(timeout=30)
                await dones.receive(timeout=30)  # the answer to "hello"
                nudge = await dones.receive(timeout=30)
        received = [event["type"] for event in server.connection.received]
    assert reply.messages == ("Hi there!",)
    assert timeout.audio_end_ms - timeout.audio_start_ms >= IDLE_MS
    assert nudge.response.text == "Are you still there?"
    assert "input_audio_buffer.append" not in received


@pytest.mark.anyio
async def test_in_real_time_the_idle_timeout_counts_the_answers_playback_once(
    anyio_backend: str,
) -> None:
    detection = {"type": "server_vad", "idle_timeout_ms": IDLE_MS, "create_response": False}
    model = (
        ScriptedModel().when("hello").say("Hi there! It is a fine day to talk about the weather.")
    )
    async with LocalRealtimeServer(model=model, pace=1) as server:
        session = Session(url=server.url, turn_detection=detection)
        with anyio.fail_after(60):
            async with session, session.stream("input_audio_buffer.timeout_triggered") as timeouts:
                await session.ask("hello", timeout=30)  # streamed as fast as it plays
                done = anyio.current_time()
                timeout = await timeouts.receive(timeout=30)
                silent = (anyio.current_time() - done) * 1000
        playback = sum(audio_ms(event) for event in server.connection.sent_events)
    assert playback > 4 * IDLE_MS
    assert timeout.audio_start_ms == round(playback)  # where the playback ended (no input audio)
    assert timeout.audio_end_ms - timeout.audio_start_ms >= IDLE_MS
    # The answer had played by its response.done: the timeout comes IDLE_MS after it. Counted
    # twice, the playback would be waited again first (a generous bound, not a measurement).
    assert silent < IDLE_MS + playback / 2


@pytest.mark.anyio
async def test_a_connection_ticks_only_while_an_idle_timeout_is_configured(
    anyio_backend: str,
) -> None:
    idle = {"type": "server_vad", "idle_timeout_ms": IDLE_MS, "create_response": False}
    async with LocalRealtimeServer(model=answers()) as server:
        session = Session(url=server.url, output_modalities=["text"])
        with anyio.fail_after(60):
            async with (
                session,
                session.stream("session.updated") as updates,
                session.stream("input_audio_buffer.cleared") as cleared,
                session.stream("input_audio_buffer.timeout_triggered") as timeouts,
            ):

                async def configure(**fields: Any) -> None:
                    await session.update(**fields)
                    await updates.receive(timeout=30)
                    # One more round trip: the server has acted on the update by its answer.
                    await session.send({"type": "input_audio_buffer.clear"})
                    await cleared.receive(timeout=30)

                await session.ask("hello", timeout=30)
                connection = server.connection
                assert not connection.ticking  # nothing needs the wall time

                await configure(turn_detection=idle)
                assert connection.ticking
                triggered = await timeouts.receive(timeout=30)  # the wall time counted
                assert triggered.audio_end_ms - triggered.audio_start_ms >= IDLE_MS

                await configure(turn_detection={"type": "server_vad", "idle_timeout_ms": None})
                while connection.ticking:  # noqa: ASYNC110 - the ticker ends at its next tick
                    await anyio.sleep(TICK_SECONDS)


@pytest.mark.anyio
@asyncio_only
async def test_sdk_validates_the_idle_timeout(anyio_backend: str) -> None:
    async with (
        LocalRealtimeServer(model=answers()) as server,
        sdk(server).realtime.connect(model="gpt-realtime") as connection,
    ):
        frames = Frames(connection)
        await frames.until("session.created")
        detection = {"type": "server_vad", "idle_timeout_ms": IDLE_MS}
        await connection.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["text"],
                "audio": {"input": {"turn_detection": detection}},
            }
        )
        await frames.until("session.updated")
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "hello"}],
            }
        )
        await connection.response.create()
        await frames.until("response.done")
        timeout = await frames.until("input_audio_buffer.timeout_triggered")
        committed = await frames.until("input_audio_buffer.committed")
        done = await frames.until("response.done")
    assert committed.item_id == timeout.item_id
    assert done.response.output[0].content[0].text == "Are you still there?"


# ----------------------------------------------------------------------------- MCP


def searcher() -> ScriptedModel:
    # The model has a "docs" server of its own: mcp_servers= replaces it.
    return (
        ScriptedModel()
        .mcp_tool("docs", "stale", result="never listed")
        .when("search")
        .call_mcp("docs", "search", q="events")
        .when(tool_output="search")
        .say("I found {output}")
    )


def docs_servers() -> dict[str, list[FakeMcpTool]]:
    return {"docs": [FakeMcpTool("search", "Search the docs.", result="Three pages.")]}


@pytest.mark.anyio
async def test_mcp_servers_of_the_server_list_and_run_their_tools(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model=searcher(), mcp_servers=docs_servers()) as server:
        session = Session(url=server.url, output_modalities=["text"], config={"tools": [MCP_TOOL]})
        listed: list[Any] = []
        session.on("mcp_list_tools.*", listed.append)  # the listing follows session.updated
        with anyio.fail_after(60):
            async with session:
                reply = await session.ask("search please", timeout=30)
    assert [event.type for event in listed] == [
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
    ]
    tools = [
        item["tools"]
        for item in (e.get("item", {}) for e in server.connection.sent_events)
        if item.get("type") == "mcp_list_tools"
    ]
    assert [tool["name"] for tool in tools[-1]] == ["search"]
    call = next(item for item in reply.items if item.type == "mcp_call")
    assert call.output == "Three pages."
    assert reply.messages == ("I found Three pages.",)


@pytest.mark.anyio
@asyncio_only
async def test_sdk_validates_mcp_servers_of_the_server(anyio_backend: str) -> None:
    async with (
        LocalRealtimeServer(model=searcher(), mcp_servers=docs_servers()) as server,
        sdk(server).realtime.connect(model="gpt-realtime") as connection,
    ):
        frames = Frames(connection)
        await frames.until("session.created")
        await connection.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "tools": [MCP_TOOL]}
        )
        done = await frames.until("conversation.item.done")
        assert [tool.name for tool in done.item.tools] == ["search"]
        await connection.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "search please"}],
            }
        )
        await connection.response.create()
        response = (await frames.until("response.done")).response
    call, answer = response.output
    assert (call.type, call.name, call.output) == ("mcp_call", "search", "Three pages.")
    assert answer.content[0].text == "I found Three pages."
    assert "response.mcp_call.completed" in frames.types()


# ---------------------------------------------------------------------------- DTMF


@pytest.mark.anyio
async def test_send_dtmf_reaches_the_session_as_typed_events(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model=answers()) as server:
        session = Session(url=server.url, output_modalities=["text"])
        with anyio.fail_after(60):
            async with session, session.stream("input_audio_buffer.dtmf_event_received") as keys:
                connection = await server.wait_for_connection()
                with pytest.raises(ValueError, match="DTMF"):
                    await connection.send_dtmf("1E")  # refused whole, before sending
                await connection.send_dtmf("12#")
                pressed = [await keys.receive(timeout=30) for _ in range(3)]
    assert [event.event for event in pressed] == ["1", "2", "#"]
    assert all(event.received_at > 0 for event in pressed)


@pytest.mark.anyio
@asyncio_only
async def test_sdk_validates_dtmf_events(anyio_backend: str) -> None:
    async with (
        LocalRealtimeServer() as server,
        sdk(server).realtime.connect(model="gpt-realtime") as connection,
    ):
        frames = Frames(connection)
        await frames.until("session.created")
        await server.connection.send_dtmf("*0")
        first = await frames.until("input_audio_buffer.dtmf_event_received")
        second = await frames.until("input_audio_buffer.dtmf_event_received")
    assert (first.event, second.event) == ("*", "0")


# --------------------------------------------------------- the events package


def test_the_events_package_exports_the_settings_and_the_transcription_config() -> None:
    assert set(events_settings.__all__) <= set(events_all)
    assert {"Omittable", "TranscriptionSessionConfig"} <= set(events_all)
    assert ServerVad().type == "server_vad"
    assert FunctionTool(name="f").type == "function"
    assert McpTool(server_label="docs").server_label == "docs"
    assert TranscriptionSessionConfig(type="transcription").type == "transcription"

    class AvatarReady(ServerEvent):
        """A plugin author's model of an event that a server sends without ``url`` at times."""

        type: Literal["session.avatar.ready"]
        url: Omittable[str] = None

    assert AvatarReady.omittable_fields == ("url",)
    assert AvatarReady.model_validate({"type": "session.avatar.ready"}).missing_fields == ("url",)


@pytest.mark.parametrize("event_type", ["transcription_session.update", "session.update"])
def test_a_session_that_is_no_object_is_named_as_the_field(event_type: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_client_event({"type": event_type, "session": 5})
    message = str(raised.value)
    assert message.startswith(f"invalid '{event_type}' client event: session: ")
    assert "session.TranscriptionSessionConfig" not in message
    assert "session.RealtimeSessionInfo" not in message
    assert "; " not in message  # one field at fault, named once
