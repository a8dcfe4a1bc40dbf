"""The local server speaks Live at the official SDK's path, beside Realtime on the same port.

The official SDK's ``client.live.connect()`` (asyncio only) holds a whole
conversation with it, every frame it receives validated by the SDK's own Live
``ServerEvent`` union, while its Realtime client talks to the same server;
``Session(protocol="live")`` and a Realtime ``Session`` share it on both
backends. The Live connection's pacing, wall time, closing and faults (drop,
session cap, a malformed frame) are checked with a client independent of this
library: the plain ``websockets`` client, on a thread.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import pytest
from openai.types.live import ServerEvent
from openai.types.realtime import RealtimeServerEvent
from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from realtime_events import Session
from realtime_events.audio import PCM16, chunks, read_wav, silence
from realtime_events.recording import Recorder, read_recording
from realtime_events.testing import Faults, LiveEngine, LocalRealtimeServer, Model, ScriptedModel
from realtime_events.testing.connection import TICK_SECONDS
from realtime_events.testing.live import ACKNOWLEDGEMENT, LIVE_PATH

LIVE = TypeAdapter[Any](ServerEvent)
RESPONSES = TypeAdapter[Any](ResponseStreamEvent)
REALTIME = TypeAdapter[Any](RealtimeServerEvent)
WEATHER = Path(__file__).parent / "audio" / "weather_paris.wav"
HEARD = "What's the weather in Paris?"
TIMEOUT = 20.0
KEY = "sk-local"
T = TypeVar("T")


def weather_model() -> ScriptedModel:
    """Delegates weather questions, reads the result back, greets otherwise."""
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
        .otherwise("Hello there!")
    )
    return model.hears(WEATHER, HEARD)


def recording() -> bytes:
    """The spoken question, then a second of silence so that the turn ends."""
    pcm, rate = read_wav(WEATHER)
    assert rate == 24000
    return pcm + silence(1000)


def check(event: Any) -> Any:
    """``event`` (a frame or a dict) parsed by the SDK's Live union, a backend's stream too."""
    parsed = (
        LIVE.validate_json(event) if isinstance(event, str | bytes) else LIVE.validate_python(event)
    )
    if parsed.type == "response.event":
        RESPONSES.validate_python(parsed.event.model_dump())
    return parsed


# ------------------------------------------------------------ the official SDK


class SdkLive:
    """The SDK's Live connection, every frame received validated and kept."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.seen: list[Any] = []

    async def until(self, kind: str) -> Any:
        with anyio.fail_after(TIMEOUT):
            while True:
                event = check(await self.connection.recv_bytes())
                self.seen.append(event)
                if event.type == kind:
                    return event

    async def said(self, ending: str) -> str:
        """The output transcript from now until it ends with ``ending``."""
        said = ""
        while not said.endswith(ending):
            said += (await self.until("session.output_transcript.delta")).delta
        return said


async def realtime_text_turn(connection: Any, text: str) -> Any:
    """A Realtime text turn through the SDK's Realtime client; its ``response.done``."""
    await connection.conversation.item.create(
        item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    )
    await connection.response.create(response={"output_modalities": ["text"]})
    with anyio.fail_after(TIMEOUT):
        while True:
            event = REALTIME.validate_json(await connection.recv_bytes())
            if event.type == "response.done":
                return event


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDK's Live client is asyncio-only
async def test_the_sdk_holds_a_live_conversation_while_its_realtime_client_shares_the_server(
    anyio_backend: str,
) -> None:
    from openai import AsyncOpenAI

    history = [
        {"role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Bonjour"}]},
    ]
    async with LocalRealtimeServer(model=weather_model(), api_key=KEY) as server:
        client = AsyncOpenAI(api_key=KEY, websocket_base_url=server.base_url)
        async with (
            client.live.connect() as connection,
            client.realtime.connect(model="gpt-realtime") as realtime,
        ):
            live = SdkLive(connection)
            await connection.session.start(
                session={
                    "model": "gpt-live-1",
                    "instructions": "Speak English.",
                    "input": history,
                    "delegation": {"type": "client"},
                }
            )
            started = await live.until("session.started")
            assert started.session.model == "gpt-live-1"
            assert [item.role for item in started.session.input] == ["developer", "user"]

            # Realtime on the same server, between two Live steps.
            done = await realtime_text_turn(realtime, "hello")
            assert done.response.output[0].content[0].text == "Hello there!"

            # Text: commentary without a delegation is relayed aloud.
            await connection.session.commentary.append(
                content="Your train leaves at nine.", delegation_id=None
            )
            assert await live.said("Your train leaves at nine.") == "Your train leaves at nine."

            # Audio: a real recording, the turn found by the server, a delegation to the client.
            for chunk in chunks(recording(), PCM16.bytes_for_ms(100)):
                await connection.session.input_audio.append(audio=base64.b64encode(chunk).decode())
            created = await live.until("session.delegation.created")
            assert created.delegation.target == "client"
            assert await live.said(ACKNOWLEDGEMENT) == ACKNOWLEDGEMENT
            await connection.session.commentary.append(
                content=json.dumps({"city": "Paris", "temp_c": 18}),
                delegation_id=created.delegation.id,
                event_id="evt_result",
            )
            appended = await live.until("session.commentary.appended")
            assert appended.client_event_id == "evt_result"
            # The answer continues the turn its acknowledgement began, after a space.
            assert await live.said("It is 18 degrees in Paris.") == " It is 18 degrees in Paris."

            # The Realtime client is still served while the Live one is open.
            done = await realtime_text_turn(realtime, "weather?")
            assert done.response.output[0].type == "function_call"

            await connection.session.close(event_id="bye")
            closed = await live.until("session.closed")
            assert (closed.reason, closed.client_event_id) == ("close_requested", "bye")
            # The session is over: the server closes the socket, cleanly.
            with anyio.fail_after(TIMEOUT), pytest.raises(ConnectionClosedOK) as ended:
                await connection.recv_bytes()
            assert ended.value.rcvd is not None
            assert ended.value.rcvd.code == 1000

    seen = live.seen
    assert seen[0].type == "session.started"
    assert seen[-1].type == "session.closed"
    heard = "".join(e.delta for e in seen if e.type == "session.input_transcript.delta")
    assert heard == HEARD
    said = "".join(e.delta for e in seen if e.type == "session.output_transcript.delta")
    # Each turn of the model reads as one text (the user's turn came between the two).
    assert said == f"Your train leaves at nine.{ACKNOWLEDGEMENT} It is 18 degrees in Paris."
    audio = b"".join(
        base64.b64decode(e.delta) for e in seen if e.type == "session.output_audio.delta"
    )
    assert PCM16.duration_ms(audio) > 1000  # the answers were spoken, not only written
    assert closed.usage.seconds == int(PCM16.duration_ms(audio) // 1000)
    [connected] = server.live_connections
    assert connected.path == LIVE_PATH
    assert connected.engine.closed
    sent = [e["type"] for e in connected.received]
    assert sent[0] == "session.start"
    assert sent[-1] == "session.close"
    assert [c.path for c in server.connections] == ["/v1/realtime?model=gpt-realtime"]


# ---------------------------------------------------- Session, on both backends


@pytest.mark.anyio
async def test_a_live_and_a_realtime_session_share_the_server_at_once(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model=weather_model()) as server:
        live = Session(protocol="live", url=server.live_url, reconnect=False)
        realtime = Session(url=server.url, output_modalities=["text"], reconnect=False)
        async with live, realtime, live.stream("session.output_transcript.delta") as deltas:
            await live.live.session.commentary.append("Your train leaves at nine.")
            await realtime.send_text("hello")
            done = await realtime.wait_for("response.done", timeout=TIMEOUT)
            said = ""
            with anyio.fail_after(TIMEOUT):
                async for delta in deltas:
                    said += delta.delta
                    if said.endswith("nine."):
                        break
        assert said == "Your train leaves at nine."
        assert done.response.text == "Hello there!"
        assert server.live_connection.path == LIVE_PATH
        assert server.live_connection.received[0]["type"] == "session.start"
        assert server.connection.path.startswith("/v1/realtime")
        assert len(server.live_connections) == len(server.connections) == 1


@pytest.fixture
def realtime_model() -> Model:
    """The model behind the pytest plugin's ``realtime_server`` in this module."""
    return weather_model()


@pytest.mark.anyio
async def test_the_live_session_fixture_talks_to_the_model_fixture(live_session: Session) -> None:
    async with live_session.stream("session.input_transcript.delta") as heard:
        await live_session.send_audio(recording())
        created = await live_session.wait_for("session.delegation.created", timeout=TIMEOUT)
        user = ""
        with anyio.fail_after(TIMEOUT):
            while user != HEARD:
                user += (await heard.receive()).delta
    assert created.delegation.target == "client"
    assert live_session.live.pending_delegations == [created.delegation.id]


# ------------------------------------------- a plain websockets client, on a thread


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run a blocking call of the plain client on a worker thread."""
    return await anyio.to_thread.run_sync(lambda: fn(*args))


def open_live(
    server: LocalRealtimeServer, *, start: bool = True, **headers: str
) -> ClientConnection:
    """A plain websockets client on the server's Live path, started (``session.started`` read)."""
    ws = connect(
        server.live_url,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
        additional_headers=headers,
        proxy=None,
        legacy=True,  # held across calls from the test's worker threads, not in one with block
    )
    if start:
        send(ws, type="session.start", session={"model": "gpt-live-1"})
        started = check(ws.recv(timeout=TIMEOUT))
        assert started.type == "session.started"
    return ws


def send(ws: ClientConnection, **event: Any) -> None:
    ws.send(json.dumps(event))


def until_closed(ws: ClientConnection) -> tuple[list[str], int]:
    """Every frame until the server ends the connection, and its close code (1006 if none)."""
    frames: list[str] = []
    try:
        while True:
            frame = ws.recv(timeout=TIMEOUT)
            assert isinstance(frame, str)
            frames.append(frame)
    except ConnectionClosed as exc:
        return frames, exc.rcvd.code if exc.rcvd is not None else 1006
    finally:
        ws.close()


async def until_ended(engine: LiveEngine) -> None:
    """Wait (a generous bound) for the server to end the session behind ``engine``."""
    with anyio.fail_after(TIMEOUT):
        # The engine is the server's own state, with no event to wait on: look until it ends.
        while not engine.closed:  # noqa: ASYNC110
            await anyio.sleep(0.01)


@pytest.mark.anyio
async def test_session_close_gets_session_closed_then_a_clean_close(anyio_backend: str) -> None:
    async with LocalRealtimeServer() as server:
        ws = await off_loop(open_live, server)
        send(ws, type="session.close", event_id="bye")
        frames, code = await off_loop(until_closed, ws)
    [closed] = [check(frame) for frame in frames]
    assert (closed.type, closed.reason, closed.client_event_id) == (
        "session.closed",
        "close_requested",
        "bye",
    )
    assert code == 1000


@pytest.mark.anyio
async def test_speech_is_paced_by_its_audio(anyio_backend: str) -> None:
    pace = 0.5
    sentence = "One two three four five six seven eight nine ten."
    async with LocalRealtimeServer(pace=pace) as server:
        ws = await off_loop(open_live, server)
        asked = anyio.current_time()
        send(ws, type="session.commentary.append", content=sentence, delegation_id=None)
        said, played_ms = "", 0.0
        while not said.endswith(sentence):
            event = check(await off_loop(ws.recv, TIMEOUT))
            # Each audio delta is followed by a wait of its playing time (times pace) before
            # the next event goes out: a lower bound on when this one arrived, which load
            # only adds to.
            assert (anyio.current_time() - asked) * 1000 >= played_ms * pace
            if event.type == "session.output_transcript.delta":
                said += event.delta
            elif event.type == "session.output_audio.delta":
                played_ms += PCM16.duration_ms(base64.b64decode(event.delta))
        await off_loop(ws.close)
    assert played_ms > 1000  # the bound was checked over a second of speech at least


@pytest.mark.anyio
async def test_wall_time_reaches_the_live_session(anyio_backend: str) -> None:
    async with LocalRealtimeServer() as server:
        ws = await off_loop(open_live, server)
        engine = server.live_connection.engine
        with anyio.fail_after(TIMEOUT):  # no audio was sent: only the ticks move its timeline
            while engine.now_ms() < 3 * TICK_SECONDS * 1000:  # noqa: ASYNC110
                await anyio.sleep(TICK_SECONDS)
        await off_loop(ws.close)


@pytest.mark.anyio
async def test_other_live_paths_are_refused_and_the_api_key_is_checked(anyio_backend: str) -> None:
    async with LocalRealtimeServer(api_key=KEY) as server:
        base = f"ws://{server.host}:{server.port}"

        def status(url: str, key: str) -> tuple[int, Any]:
            headers = {"Authorization": f"Bearer {key}"}
            with pytest.raises(InvalidStatus) as refused:
                connect(url, open_timeout=TIMEOUT, additional_headers=headers, proxy=None)
            response = refused.value.response
            return response.status_code, json.loads(response.body or b"{}")

        code, body = await off_loop(status, server.live_url, "sk-wrong")
        assert (code, body["error"]["code"]) == (401, "invalid_api_key")
        code, body = await off_loop(status, f"{base}/v1/live/sessions/sess_1/attach", KEY)
        assert (code, body["error"]["code"]) == (404, "not_found")
        assert "/v1/live/sessions/sess_1/attach" in body["error"]["message"]
        ws = await off_loop(lambda: open_live(server, Authorization=f"Bearer {KEY}"))
        await off_loop(ws.close)
    assert len(server.live_connections) == 1
    assert server.connections == []


@pytest.mark.anyio
async def test_a_live_recording_is_replayed_to_a_live_client(
    anyio_backend: str, tmp_path: Path
) -> None:
    engine = LiveEngine(model=ScriptedModel().otherwise("Hi."))
    commands = [
        {"type": "session.start", "session": {"model": "gpt-live-1"}},
        {"type": "session.commentary.append", "content": "Hello there.", "delegation_id": None},
    ]
    recorder = Recorder(tmp_path / "live.jsonl")
    for command in commands:
        recorder.write("send", json.dumps(command))
        for event in engine.receive(json.dumps(command)):
            recorder.write("recv", json.dumps(event))
    run = engine.next_response()
    assert run is not None
    for event in run:
        recorder.write("recv", json.dumps(event))
    recorder.close()
    recorded = [json.loads(f.data) for f in read_recording(recorder.path) if f.direction == "recv"]

    async with LocalRealtimeServer(replay=recorder.path) as server:
        # A replay answers no one: its frames go out as recorded, session.start or not.
        ws = await off_loop(lambda: open_live(server, start=False))
        frames, code = await off_loop(until_closed, ws)
    assert [json.loads(frame) for frame in frames] == recorded
    assert [check(frame).type for frame in frames][:2] == [
        "session.started",
        "session.commentary.appended",
    ]
    assert code == 1000
    assert len(server.live_connections) == 1


# ------------------------------------------------------------------------ faults


@pytest.mark.anyio
async def test_a_dropped_live_connection_ends_its_session_as_lost(anyio_backend: str) -> None:
    async with LocalRealtimeServer(faults=Faults(drop_after=1)) as server:
        ws = await off_loop(open_live, server)  # session.started: the one event before the drop
        send(ws, type="session.commentary.append", content="Hello.", delegation_id=None)
        frames, code = await off_loop(until_closed, ws)
        assert (frames, code) == ([], 1006)  # TCP cut, no close frame
        await until_ended(server.live_connection.engine)
        assert server.live_connection.sent == 1
        assert server.live_connection.engine.close("expired") == []  # ended once, already


@pytest.mark.anyio
async def test_a_drop_on_demand_and_a_client_gone_both_end_the_session(anyio_backend: str) -> None:
    async with LocalRealtimeServer() as server:
        ws = await off_loop(open_live, server)
        await server.live_connection.drop()
        frames, code = await off_loop(until_closed, ws)
        assert (frames, code) == ([], 1006)
        await until_ended(server.live_connection.engine)

        ws = await off_loop(open_live, server)
        ws.socket.shutdown(socket.SHUT_RDWR)  # the client vanishes without a close frame
        await until_ended(server.live_connections[1].engine)
        await off_loop(ws.close)


@pytest.mark.anyio
async def test_the_session_cap_ends_a_live_session_as_expired(anyio_backend: str) -> None:
    faults = Faults(session_cap=0.3, cap_close_code=1001)
    async with LocalRealtimeServer(faults=faults) as server:
        ws = await off_loop(open_live, server)
        frames, code = await off_loop(until_closed, ws)
    [closed] = [check(frame) for frame in frames]
    assert (closed.type, closed.reason) == ("session.closed", "expired")
    assert closed.session.model == "gpt-live-1"
    assert code == 1001
    assert server.live_connection.engine.closed


@pytest.mark.anyio
async def test_the_malformed_frame_fault_cuts_a_live_event_short(anyio_backend: str) -> None:
    async with LocalRealtimeServer(faults=Faults(malformed_after=1)) as server:
        ws = await off_loop(open_live, server)
        send(ws, type="session.instructions.append", content="Be brief.", delegation_id=None)
        malformed = await off_loop(ws.recv, TIMEOUT)
        ack = check(await off_loop(ws.recv, TIMEOUT))
        await off_loop(ws.close)
    assert isinstance(malformed, str)
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed)
    assert malformed.startswith('{"type": "session.output_transcript.delta"')
    assert ack.type == "session.instructions.appended"
