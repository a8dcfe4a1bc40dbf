"""A Live sideband: a second WebSocket to a running session, on Session and on the local server.

A primary Live session talks (a real recording, a delegated tool call) while
``Session(protocol="live", attach=id)`` sees its transcript, its reflected
input audio, and answers the delegation through the sideband; the official
SDK's ``client.live.sideband.connect()`` does the same (asyncio only), every
frame validated by the SDK's sideband union. A sideband dropped re-attaches to
the same id, never sending ``session.start``; an unknown id ends with a clear
error, also from an independent peer (a plain ``websockets`` server).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai.types.live import ConnectServerEvent
from pydantic import TypeAdapter
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from realtime_events import LiveSessionGoneError, Session, signals
from realtime_events.audio import read_wav, silence
from realtime_events.errors import InvalidConfigError, RealtimeError
from realtime_events.live import (
    LiveDelegationCreatedEvent,
    LiveInputAudioReflectedEvent,
    LiveInputTranscriptDeltaEvent,
    LiveOutputTranscriptDeltaEvent,
)
from realtime_events.reconnect import ReconnectPolicy
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events.testing.live import ACKNOWLEDGEMENT, LIVE_PATH

SIDEBAND = TypeAdapter[Any](ConnectServerEvent)
WEATHER = Path(__file__).parent / "audio" / "weather_paris.wav"
HEARD = "What's the weather in Paris?"
ANSWER = "It is 21 degrees in Paris."
TIMEOUT = 20.0
KEY = "sk-local"


def weather_model() -> ScriptedModel:
    """Delegates weather questions to the client, reads the result back, greets otherwise."""
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


async def eventually(check: Callable[[], bool]) -> None:
    """Return once ``check()`` holds (the server registers a sideband after its handshake)."""
    with anyio.fail_after(TIMEOUT):
        while True:
            if check():
                return
            await anyio.sleep(0.01)


def primary(server: LocalRealtimeServer) -> Session:
    return Session(
        protocol="live",
        url=server.live_url,
        config={"delegation": {"type": "client"}},
        reconnect=False,
    )


def sideband(server: LocalRealtimeServer, session_id: str, **kwargs: Any) -> Session:
    kwargs.setdefault("reconnect", False)
    return Session(protocol="live", url=server.live_url, attach=session_id, **kwargs)


# ----------------------------------------------------------- Session as sideband


@pytest.mark.anyio
async def test_a_sideband_sees_the_conversation_and_answers_the_delegation() -> None:
    async with LocalRealtimeServer(model=weather_model()) as server, primary(server) as talker:
        session_id = talker.live.session_id
        assert session_id is not None
        watcher = sideband(server, session_id)
        heard: list[str] = []
        reflected: list[bytes] = []
        delegated: list[str] = []

        @watcher.live.on("session.input_transcript.delta")
        def on_heard(event: LiveInputTranscriptDeltaEvent) -> None:
            heard.append(event.delta)

        @watcher.live.on("session.input_audio.append")
        def on_audio(event: LiveInputAudioReflectedEvent) -> None:
            reflected.append(event.audio_bytes)

        @watcher.live.on("session.delegation.created")
        async def on_delegated(event: LiveDelegationCreatedEvent) -> None:
            delegated.append(event.delegation.id)
            await watcher.live.session.commentary.append(
                json.dumps({"city": "Paris", "temp_c": 21}), delegation_id=event.delegation.id
            )

        async with watcher:
            assert watcher.state == "open"
            assert watcher.live.attach == watcher.live.session_id == session_id
            async with watcher.live.stream("session.output_transcript.delta") as seen:
                audio = recording()
                await talker.send_audio(audio)
                said = ""
                with anyio.fail_after(TIMEOUT):
                    async for delta in seen:
                        assert isinstance(delta, LiveOutputTranscriptDeltaEvent)
                        said += delta.delta
                        if said.endswith(ANSWER):
                            break
            assert said == ACKNOWLEDGEMENT + " " + ANSWER
            assert "".join(heard) == HEARD
            assert b"".join(reflected) == audio  # sideband-only, as the primary appended it
            assert len(delegated) == 1
            # What a sideband may not send is refused before it is written.
            with pytest.raises(RealtimeError, match="not for a sideband"):
                await watcher.send_audio(b"\0\0")
            with pytest.raises(RealtimeError, match=r"session\.start is not for a sideband"):
                await watcher.send({"type": "session.start", "session": {"model": "gpt-live-1"}})
        # Closing the sideband leaves the session it watched running.
        assert talker.state == "open"
        [connection] = server.live_connections
        assert not connection.engine.closed
    # The primary never saw the sideband-only reflection; the sideband sent no start.
    assert "session.input_audio.append" not in {e["type"] for e in connection.sent_events}
    assert connection.received[0]["type"] == "session.start"
    answers = [e for e in connection.received if e["type"] == "session.commentary.append"]
    assert answers == []  # the answer went through the sideband, not the primary


@pytest.mark.anyio
async def test_a_dropped_sideband_reattaches_to_the_same_session() -> None:
    async with LocalRealtimeServer(model=weather_model()) as server, primary(server) as talker:
        session_id = talker.live.session_id
        assert session_id is not None
        policy = ReconnectPolicy(initial_delay=0.01, jitter=0)
        async with sideband(server, session_id, reconnect=policy) as watcher:
            [connection] = server.live_connections
            await eventually(lambda: bool(connection.sidebands))
            first = connection.sidebands[0]
            reattached = anyio.Event()

            def on_reconnected(session: Session, **_: Any) -> None:
                reattached.set()

            signals.reconnected.connect(on_reconnected, sender=watcher)
            await first.websocket.abort()
            with anyio.fail_after(TIMEOUT):
                await reattached.wait()
            assert watcher.live.session_ids == [session_id]
            [second] = connection.sidebands
            assert second is not first
            async with watcher.live.stream("session.output_transcript.delta") as seen:
                await talker.live.session.commentary.append("Your train leaves at nine.")
                said = ""
                with anyio.fail_after(TIMEOUT):
                    async for delta in seen:
                        said += delta.delta
                        if said.endswith("nine."):
                            break
            assert said.endswith("Your train leaves at nine.")
            # Once the session ends, the sideband's run ends with it.
            await talker.close()
            await eventually(lambda: watcher.state == "closed")
    assert second.received == []  # re-attached: no session.start, nothing else sent


@pytest.mark.anyio
async def test_a_sideband_whose_session_is_gone_ends_with_a_clear_error() -> None:
    async with LocalRealtimeServer(model=weather_model()) as server, primary(server) as talker:
        session_id = talker.live.session_id
        assert session_id is not None
        with pytest.raises(LiveSessionGoneError, match="live_unknown") as refused:
            async with sideband(server, "live_unknown"):
                pass  # pragma: no cover - never open
        assert refused.value.status == 404
        # The default policy would retry a vanished session 20 times: the first 404 ends it.
        watcher = sideband(server, session_id, reconnect=True)
        with pytest.raises(LiveSessionGoneError, match=f"{session_id}' is not running") as gone:
            await cut_off_as_its_session_ends(server, watcher)
        assert gone.value.status == 404


async def cut_off_as_its_session_ends(server: LocalRealtimeServer, watcher: Session) -> None:
    """Run ``watcher`` until the session it watches ends while its connection is cut off."""
    async with watcher:
        [connection] = server.live_connections
        await eventually(lambda: bool(connection.sidebands))
        # The session ends while its sideband is cut off: re-attaching finds nothing.
        connection.engine.close("expired")
        await connection.sidebands[0].websocket.abort()
        await eventually(lambda: watcher.state == "closed")


def test_a_sideband_takes_no_start_configuration() -> None:
    with pytest.raises(InvalidConfigError, match="instructions= is not for a sideband"):
        Session(protocol="live", attach="live_1", instructions="Be brief.")
    with pytest.raises(InvalidConfigError, match="attach= is a Live sideband"):
        Session(attach="live_1")
    session = Session(protocol="live", attach="live 1", url="ws://127.0.0.1:9/v1/live/sessions")
    assert session.url == "ws://127.0.0.1:9/v1/live/sessions/live%201/attach"


# -------------------------------------------------------------- independent peer


@contextmanager
def refusing_peer() -> Iterator[tuple[str, list[str]]]:
    """A plain ``websockets`` server answering every handshake with the API's 404."""
    paths: list[str] = []
    body = json.dumps({"error": {"message": "Session not found", "code": "not_found"}})

    def refuse(connection: ServerConnection, request: Request) -> Response:
        paths.append(request.path)
        return connection.respond(404, body)

    def handler(connection: ServerConnection) -> None:  # pragma: no cover - never upgraded
        connection.close()

    with serve(handler, "127.0.0.1", 0, process_request=refuse) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}/v1/live/sessions", paths
        finally:
            server.shutdown()
            thread.join(5)


@pytest.mark.anyio
async def test_an_unknown_session_on_an_independent_peer_is_a_clear_error() -> None:
    with refusing_peer() as (url, paths):
        session = Session(protocol="live", url=url, attach="live_gone", reconnect=True)
        with pytest.raises(LiveSessionGoneError, match="Session not found") as refused:
            async with session:
                pass  # pragma: no cover - never open
        assert refused.value.session_id == "live_gone"
    assert paths == ["/v1/live/sessions/live_gone/attach"]


# ------------------------------------------------------------- the official SDK


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_the_sdks_sideband_watches_a_session_and_answers_its_delegation(
    anyio_backend: str,
) -> None:
    from openai import AsyncOpenAI

    model = weather_model()
    async with (
        LocalRealtimeServer(model=model, api_key=KEY) as server,
        Session(
            protocol="live",
            url=server.live_url,
            api_key=KEY,
            config={"delegation": {"type": "client"}},
            reconnect=False,
        ) as talker,
    ):
        session_id = talker.live.session_id
        assert session_id is not None
        client = AsyncOpenAI(api_key=KEY, websocket_base_url=server.base_url)
        async with client.live.sideband.connect(session_id=session_id) as connection:
            seen: list[Any] = []

            async def until(kind: str) -> Any:
                with anyio.fail_after(TIMEOUT):
                    while True:
                        event = SIDEBAND.validate_json(await connection.recv_bytes())
                        seen.append(event)
                        if event.type == kind:
                            return event

            [live] = server.live_connections
            await eventually(lambda: bool(live.sidebands))
            async with talker.live.stream("session.output_transcript.delta") as spoken:
                await talker.send_audio(recording())
                created = await until("session.delegation.created")
                await connection.session.commentary.append(
                    content=json.dumps({"city": "Paris", "temp_c": 21}),
                    delegation_id=created.delegation.id,
                )
                said = ""
                with anyio.fail_after(TIMEOUT):
                    async for delta in spoken:
                        said += delta.delta
                        if said.endswith(ANSWER):
                            break
            await until("session.commentary.appended")
            kinds = {event.type for event in seen}
            assert {"session.input_audio.append", "session.input_transcript.delta"} <= kinds
            # A command only the primary may send is answered with an error, to the sideband.
            await connection.send({"type": "session.input_audio.append", "audio": "AAAA"})
            error = await until("error")
            assert "not allowed on a sideband" in error.error.message
        assert said == ACKNOWLEDGEMENT + " " + ANSWER
    assert "error" not in {e["type"] for e in live.sent_events}
    assert live.request.path == LIVE_PATH
