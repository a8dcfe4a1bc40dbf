"""LocalRealtimeServer: built where no event loop runs, and what it reads of a connection's URL."""

from __future__ import annotations

from typing import Literal

import anyio
import anyio.to_thread
import pytest
from anyio.from_thread import start_blocking_portal

from realtime_events import ConnectionClosedError, Session
from realtime_events.sync import SyncSession
from realtime_events.testing import LocalRealtimeServer, ScriptedModel


def model() -> ScriptedModel:
    return ScriptedModel().when("hello").say("Hi from the local server.")


def test_built_before_any_loop_then_served_from_a_thread(
    anyio_backend: Literal["asyncio", "trio"],
) -> None:
    server = LocalRealtimeServer(model=model())  # plain code: no event loop runs here
    with (
        start_blocking_portal(anyio_backend) as portal,
        portal.wrap_async_context_manager(server),
        SyncSession(url=server.url, output_modalities=["text"], backend=anyio_backend) as bot,
        bot.stream("response.done") as dones,
    ):
        bot.send_text("hello")
        done = dones.receive(timeout=30)
    assert done.response.text == "Hi from the local server."


@pytest.mark.anyio
async def test_built_on_a_thread_without_a_loop_then_entered(anyio_backend: str) -> None:
    server = await anyio.to_thread.run_sync(lambda: LocalRealtimeServer(model=model()))
    async with server, Session(url=server.url, output_modalities=["text"]) as session:
        await session.send_text("hello")
        done = await session.wait_for("response.done", timeout=30)
    assert done.response.text == "Hi from the local server."
    # Entered again after it stopped: a new listener, new primitives.
    async with server:
        assert server.connections[-1].websocket.closed


@pytest.mark.anyio
async def test_a_refused_url_ends_a_session_with_the_servers_error(anyio_backend: str) -> None:
    # A transcription session named a model: the real server's error, then close 4000.
    async with LocalRealtimeServer(model=model()) as server:
        session = Session(url=server.url, query={"intent": "transcription"}, reconnect=False)
        errors: list[str] = []
        session.on("error", lambda event: errors.append(event.error.message))
        # The server refuses right after the handshake, racing the session.update
        # that opens the session: read first or not, the close ends the run as a
        # ConnectionClosedError with its code (ClosedBeforeOpenError when first).
        with anyio.fail_after(30), pytest.raises(ConnectionClosedError) as closed:
            await session.run()
    refusal = "You must not provide a model parameter for transcription sessions."
    assert errors == [refusal]
    assert closed.value.code == 4000
    assert str(closed.value).count("code 4000") == 1
    assert refusal in str(closed.value)
    assert "model=gpt-realtime" in server.connection.request.path
    assert [event["type"] for event in server.connection.sent_events] == ["error"]
