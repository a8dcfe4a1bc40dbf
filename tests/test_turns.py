"""Turns: ``ask`` and ``expect_reply`` wait for the whole answer, tool round trips included.

A turn whose response is lost to a reconnect or a restart fails at once with the
connection's error; one whose request was not acknowledged yet keeps waiting for
the answer of the new server session. Those run against a plain ``websockets``
server written here, whose first server session loses the response.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import socket
import threading
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from realtime_events import (
    ConnectionClosedError,
    ReconnectPolicy,
    Session,
    SessionClosedError,
    SyncSession,
    signals,
)
from realtime_events.supervisor import RESTART_REASON
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


# -- a response lost to a reconnect or a restart ----------------------------------------

JSON = dict[str, Any]
QUICK = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=3)
LOST = Literal["drop", "drop-unacked", "hang", "ignore"]

# The peer's own log is not ours: keep it out of the captured records.
peer_logger = logging.getLogger("test_turns.peer")
peer_logger.propagate = False


class LosingPeer:
    """A plain GA ``websockets`` server whose first server session loses a response.

    What the first session does with ``response.create``: ``drop`` starts the
    response, streams a delta and drops the TCP connection (no close frame);
    ``drop-unacked`` drops it on reading the request, before acknowledging it;
    ``hang`` starts the response and never finishes it; ``ignore`` never
    answers. Later sessions answer :attr:`ANSWER`. Each connection's client
    events are kept in :attr:`received`; :attr:`asked` is set once the first
    session has read a ``response.create``.
    """

    ANSWER = "The new server session answers."

    def __init__(self, lost: LOST) -> None:
        self.lost = lost
        self.received: list[list[JSON]] = []
        self.asked = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def handle(self, connection: ServerConnection) -> None:
        with self._lock:
            number = len(self.received) + 1
            log: list[JSON] = []
            self.received.append(log)
        session = {"type": "realtime", "object": "realtime.session", "id": f"sess_{number}"}

        def send(kind: str, **fields: Any) -> None:
            connection.send(json.dumps({"type": kind, "event_id": self._id("event"), **fields}))

        send("session.created", session=session)
        answered: set[str | None] = set()  # a request that arrives twice is answered once
        with contextlib.suppress(ConnectionClosed):
            for frame in connection:
                event = json.loads(frame)
                log.append(event)
                kind = event["type"]
                if kind == "session.update":
                    send("session.updated", session={**session, **event["session"]})
                elif kind == "conversation.item.create":
                    item = {**event["item"], "object": "realtime.item", "status": "completed"}
                    send("conversation.item.added", previous_item_id=None, item=item)
                    send("conversation.item.done", previous_item_id=None, item=item)
                elif kind == "response.create" and number == 1:
                    self.asked.set()
                    if self._lose(connection, send):
                        return
                elif kind == "response.create" and event.get("event_id") not in answered:
                    answered.add(event.get("event_id"))
                    self._answer(send)

    def _lose(self, connection: ServerConnection, send: Any) -> bool:
        """Lose the first session's response; True when the connection was dropped."""
        if self.lost == "ignore":
            return False
        if self.lost != "drop-unacked":
            send("response.created", response=self._response("in_progress"))
        if self.lost == "hang":
            return False
        if self.lost == "drop":
            send("response.output_text.delta", response_id="resp_lost", item_id="item_lost",
                 output_index=0, content_index=0, delta="I was about to")  # fmt: skip
        # No close frame, no goodbye: the client sees the connection end (1006).
        connection.socket.shutdown(socket.SHUT_RDWR)
        return True

    def _response(self, status: str, **fields: Any) -> JSON:
        response_id = "resp_lost" if status == "in_progress" else self._id("resp")
        return {"object": "realtime.response", "id": response_id, "status": status, **fields}

    def _answer(self, send: Any) -> None:
        response = self._response("in_progress")
        response["id"] = self._id("resp")
        send("response.created", response=response)
        item = {
            "id": self._id("item"),
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": self.ANSWER}],
        }
        at = {"response_id": response["id"], "output_index": 0}
        send("response.output_item.added", **at, item={**item, "content": []})
        send("conversation.item.added", previous_item_id=None, item={**item, "content": []})
        send("response.output_text.delta", **at, item_id=item["id"], content_index=0,
             delta=self.ANSWER)  # fmt: skip
        send("response.output_item.done", **at, item=item)
        send("conversation.item.done", previous_item_id=None, item=item)
        send("response.done", response={**response, "status": "completed", "output": [item]})


@contextlib.contextmanager
def losing(lost: LOST) -> Iterator[tuple[LosingPeer, str]]:
    """Serve a :class:`LosingPeer` on loopback in a thread; yield it and its URL."""
    peer = LosingPeer(lost)
    server = serve(peer.handle, "127.0.0.1", 0, compression=None, logger=peer_logger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer, f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v1/realtime"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def creates(received: list[JSON]) -> int:
    return sum(event["type"] == "response.create" for event in received)


def create_ids(received: list[JSON]) -> list[str]:
    return [event["event_id"] for event in received if event["type"] == "response.create"]


async def test_a_turn_lost_to_a_dropped_connection_fails_at_once(anyio_backend: str) -> None:
    with losing("drop") as (peer, url):
        session = Session(url=url, output_modalities=["text"], reconnect=QUICK)
        with anyio.fail_after(60):
            async with session:
                # A timeout far longer than the test's bound: only the loss can end it.
                with pytest.raises(ConnectionClosedError) as lost:
                    await session.ask("Tell me a story.", timeout=3600)
                assert not session.turns.held
                reply = await session.ask("Again, please.", timeout=30)
    assert lost.value.code == 1006
    assert reply.text == LosingPeer.ANSWER
    assert len(peer.received) == 2
    # The lost response is not asked for again on the new session: only the new turn's.
    assert creates(peer.received[1]) == 1


async def test_a_request_lost_before_it_was_acknowledged_keeps_the_turn(
    anyio_backend: str,
) -> None:
    # The drop races the request's write (the peer drops on reading it): run it
    # enough times for the write to end on either side of the drop.
    for _ in range(10):
        with losing("drop-unacked") as (peer, url):
            session = Session(url=url, output_modalities=["text"], reconnect=QUICK)
            with anyio.fail_after(60):
                async with session:
                    reply = await session.ask("Tell me a story.", timeout=30)
        # Sent again on the new server session, which answered it: the turn got the answer.
        assert reply.text == LosingPeer.ANSWER
        (lost,) = create_ids(peer.received[0])
        # That request and only it, once: never by both the connection's retry
        # and the sequencer.
        assert create_ids(peer.received[1]) == [lost]


async def test_a_response_the_handlers_see_after_the_loss_is_not_taken_as_live(
    anyio_backend: str,
) -> None:
    # The handlers are behind when the connection drops: the lost server
    # session's response.created reaches them after the reconnect. It says the
    # request was acknowledged, and died: the request fails, the turn fails, and
    # nothing is asked again on the new server session.
    with losing("drop") as (peer, url):
        session = Session(url=url, output_modalities=["text"], reconnect=QUICK)
        reconnected = anyio.Event()
        behind = True

        async def lag(event: Any) -> None:
            nonlocal behind
            if behind:  # the first user item: hold the handlers until the reconnect
                behind = False
                await reconnected.wait()

        def on_reconnected(sender: Any, **_: Any) -> None:
            reconnected.set()

        signals.reconnected.connect(on_reconnected, sender=session)
        session.on("conversation.item.done", lag)
        with anyio.fail_after(60):
            async with session:
                turn = session.expect_reply()
                await session.conversation.item.create(
                    {"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": "Tell me a story."}]}
                )  # fmt: skip
                request = await session.response.create()
                with pytest.raises(ConnectionClosedError) as lost:
                    await request.done()
                with pytest.raises(ConnectionClosedError):
                    await turn.wait(timeout=3600)
                assert request.response_id == "resp_lost"
                reply = await session.ask("Again, please.", timeout=30)
                assert not session.response.active
    assert lost.value.code == 1006
    assert reply.text == LosingPeer.ANSWER
    # Only the new turn's request went to the new server session.
    assert creates(peer.received[1]) == 1


async def test_a_turn_lost_to_a_restart_fails_at_once(anyio_backend: str) -> None:
    with losing("hang") as (peer, url):
        session = Session(url=url, output_modalities=["text"], reconnect=False)
        with anyio.fail_after(60):
            async with session:
                turn = session.expect_reply()
                # Listening before sending: the event may come before a wait_for would start.
                started = anyio.Event()
                session.once("response.created", lambda _: started.set())
                await session.send_text("Tell me a story.")
                await started.wait()
                await session.restart()
                with pytest.raises(ConnectionClosedError) as lost:
                    await turn.wait(timeout=3600)
                reply = await session.ask("Again, please.", timeout=30)
    assert (lost.value.code, lost.value.reason) == (1000, RESTART_REASON)
    assert reply.text == LosingPeer.ANSWER
    assert [creates(received) for received in peer.received] == [1, 1]


async def test_a_restart_before_the_request_was_acknowledged_keeps_the_turn(
    anyio_backend: str,
) -> None:
    with losing("ignore") as (peer, url):
        session = Session(url=url, output_modalities=["text"], reconnect=False)
        with anyio.fail_after(60):
            async with session:
                turn = session.expect_reply()
                await session.send_text("Tell me a story.")
                assert await anyio.to_thread.run_sync(peer.asked.wait, 30)
                await session.restart()
                reply = await turn.wait(timeout=30)
    assert reply.text == LosingPeer.ANSWER
    assert [creates(received) for received in peer.received] == [1, 1]
