"""Restart on demand: a new server session with the context carried over (issue 15).

A session the server has stuck (every ``response.create`` failing with
``server_error``, livekit/agents #6040) is restarted by ``session.restart()``:
the same machinery as a reconnect (configuration and history replayed), no
attempt counted against the reconnect policy. The tests run against the local
server and against an independent peer, a plain ``websockets`` server in a
thread whose first server session fails every response.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from realtime_events import (
    ConnectionClosedError,
    ReconnectPolicy,
    Session,
    SessionClosedError,
    signals,
)
from realtime_events.events import ConversationItemAddedEvent, ResponseDoneEvent
from realtime_events.supervisor import RESTART_REASON
from realtime_events.sync import SyncSession
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio

JSON = dict[str, Any]
QUICK = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=3)

# The peer's own log is not ours: keep it out of the captured records.
peer_logger = logging.getLogger("test_restart.peer")
peer_logger.propagate = False


def record(signal: Any, session: Session) -> list[dict[str, Any]]:
    """The keyword arguments of every ``signal`` the session sends, in order."""
    seen: list[dict[str, Any]] = []
    signal.connect(lambda sender, **kwargs: seen.append(kwargs), sender=session, weak=False)
    return seen


def scripted() -> ScriptedModel:
    return ScriptedModel().when("hello").say("Hi there!").otherwise("Okay.")


def created_ids(received: list[JSON]) -> list[str]:
    """The ids of the items a connection received with ``conversation.item.create``."""
    return [e["item"]["id"] for e in received if e["type"] == "conversation.item.create"]


# -- an independent peer -------------------------------------------------------------


class StuckPeer:
    """A plain GA server whose first server session is stuck; later ones answer.

    ``stuck="fail"``: every response of the first session ends ``failed`` with a
    ``server_error``, as reported in livekit/agents #6040. ``stuck="hang"``: the
    first session starts each response and never finishes it. Each connection's
    client events are kept, in order, in :attr:`received`. With ``hold_second``,
    the second handshake is answered only once :attr:`release` is set, and
    :attr:`holding` tells that it arrived.
    """

    ANSWER = "A fresh session answers."

    def __init__(self, stuck: Literal["fail", "hang"], *, hold_second: bool = False) -> None:
        self.stuck = stuck
        self.received: list[list[JSON]] = []
        self.hold_second = hold_second
        self.holding = threading.Event()
        self.release = threading.Event()
        self._handshakes = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        with self._lock:
            self._handshakes += 1
            number = self._handshakes
        if number == 2 and self.hold_second:
            self.holding.set()
            self.release.wait(10)
        return None

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    def handle(self, connection: ServerConnection) -> None:
        with self._lock:
            number = len(self.received) + 1
            log: list[JSON] = []
            self.received.append(log)
        session = {
            "type": "realtime",
            "object": "realtime.session",
            "id": f"sess_{number}",
            "model": "gpt-realtime",
            "output_modalities": ["text"],
        }

        def send(kind: str, **fields: Any) -> None:
            connection.send(json.dumps({"type": kind, "event_id": self._id("event"), **fields}))

        send("session.created", session=session)
        with contextlib.suppress(ConnectionClosed):
            for frame in connection:
                event = json.loads(frame)
                log.append(event)
                kind = event["type"]
                if kind == "session.update":
                    session.update(event.get("session") or {})
                    send("session.updated", session=session)
                elif kind == "conversation.item.create":
                    item = {**event["item"], "object": "realtime.item", "status": "completed"}
                    send("conversation.item.added", previous_item_id=None, item=item)
                    send("conversation.item.done", previous_item_id=None, item=item)
                elif kind == "response.create":
                    self._respond(send, stuck=number == 1)

    def _respond(self, send: Any, *, stuck: bool) -> None:
        response: JSON = {"object": "realtime.response", "id": self._id("resp"), "output": []}
        send("response.created", response={**response, "status": "in_progress"})
        if stuck and self.stuck == "hang":
            return
        if stuck:
            error = {"type": "server_error", "code": None, "message": "The server had an error."}
            details = {"type": "failed", "error": error}
            send(
                "response.done",
                response={**response, "status": "failed", "status_details": details},
            )
            return
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
        part = {**at, "item_id": item["id"], "content_index": 0}
        send("response.output_text.delta", **part, delta=self.ANSWER)
        send("response.output_text.done", **part, text=self.ANSWER)
        send("response.output_item.done", **at, item=item)
        send("conversation.item.done", previous_item_id=None, item=item)
        send("response.done", response={**response, "status": "completed", "output": [item]})


@contextlib.contextmanager
def running(
    stuck: Literal["fail", "hang"], *, hold_second: bool = False
) -> Iterator[tuple[StuckPeer, str]]:
    """Serve a :class:`StuckPeer` on loopback in a thread; yield it and its URL."""
    peer = StuckPeer(stuck, hold_second=hold_second)
    server = serve(
        peer.handle,
        "127.0.0.1",
        0,
        process_request=peer.process_request,
        compression=None,
        logger=peer_logger,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer, f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v1/realtime"
    finally:
        peer.release.set()
        server.shutdown()
        thread.join(timeout=10)


async def test_a_session_stuck_on_server_errors_restarts_from_a_handler(
    anyio_backend: str,
) -> None:
    with running("fail") as (peer, url):
        session = Session(url=url, output_modalities=["text"])
        disconnected = record(signals.disconnected, session)
        reconnecting = record(signals.reconnecting, session)
        reconnected = record(signals.reconnected, session)
        restored = anyio.Event()
        signals.reconnected.connect(lambda *_, **__: restored.set(), sender=session, weak=False)
        failures: list[str] = []
        sessions: list[str | None] = []
        session.on("session.created", lambda event: sessions.append(event.session.id))

        @session.on("response.done")
        async def restart_when_stuck(event: ResponseDoneEvent) -> None:
            details = event.response.status_details
            if details is not None and details.error is not None:
                failures.append(details.error.type or "")
                if len(failures) == 2:  # the second server_error in a row: start afresh
                    await session.restart()

        with anyio.fail_after(20):
            async with session:
                for text in ("one", "two"):
                    await session.send_text(text, respond=False)
                    request = await session.response.create()
                    await request.done()  # the peer answers at once: wait on the request
                await restored.wait()
                mirrored = [item.id for item in session.conversation.items]
                reply = await session.ask("three", timeout=10)

    assert failures == ["server_error", "server_error"]
    assert reply.text == StuckPeer.ANSWER
    assert sessions == ["sess_1", "sess_2"]  # the new server session is announced
    assert len(peer.received) == 2
    # The new server session got the configuration first, then the history with its ids.
    fresh = peer.received[1]
    assert fresh[0]["type"] == "session.update"
    assert fresh[0]["session"]["output_modalities"] == ["text"]
    assert created_ids(fresh)[:2] == mirrored == created_ids(peer.received[0])
    # What it signalled: a close of our own, then attempt 0, which no policy counts.
    closed = disconnected[0]["error"]
    assert isinstance(closed, ConnectionClosedError)
    assert (closed.code, closed.reason) == (1000, RESTART_REASON)
    assert [d["will_reconnect"] for d in disconnected] == [True, False]  # then the close
    assert [(r["attempt"], r["delay"]) for r in reconnecting] == [(0, 0.0)]
    assert reconnected == [{"attempt": 0}]


async def test_a_response_in_flight_is_lost_with_the_old_session(anyio_backend: str) -> None:
    with running("hang") as (peer, url):
        session = Session(url=url, output_modalities=["text"], reconnect=False)
        with anyio.fail_after(20):
            async with session:
                await session.send_text("one", respond=False)
                request = await session.response.create()
                await request.created()  # waited on the request: the event may come first
                assert session.response.current is not None  # running
                await session.restart()
                with pytest.raises(ConnectionClosedError) as lost:
                    await request.done()
                assert not session.response.active
                reply = await session.ask("again", timeout=10)
    assert (lost.value.code, lost.value.reason) == (1000, RESTART_REASON)
    assert reply.text == StuckPeer.ANSWER
    assert len(peer.received) == 2


# -- against the local server ----------------------------------------------------------


async def test_restart_replays_the_history_quietly(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model=scripted()) as server:
        session = Session(url=server.url, output_modalities=["text"])
        announced: Counter[str] = Counter()

        @session.on("conversation.item.added")
        def count(event: ConversationItemAddedEvent) -> None:
            announced[event.item.id or ""] += 1

        with anyio.fail_after(20):
            async with session:
                first = await session.ask("hello", timeout=10)
                mirrored = [item.id for item in session.conversation.items]
                await session.restart()
                assert session.state == "open"
                second = await session.ask("and now?", timeout=10)
        assert len(server.connections) == 2
        fresh = server.connections[1].received
    assert (first.text, second.text) == ("Hi there!", "Okay.")
    assert fresh[0]["type"] == "session.update"
    assert created_ids(fresh)[:2] == mirrored  # the user's message and the answer, same ids
    assert len(announced) == 4
    assert set(announced.values()) == {1}  # replayed items are not announced again


async def test_restarts_count_against_no_reconnect_policy(anyio_backend: str) -> None:
    # One reconnect attempt allowed, and a connection never counts as healthy:
    # had the restarts counted, the drop at the end would end the session.
    policy = ReconnectPolicy(initial_delay=0.01, max_attempts=1, healthy_after=3600)
    async with LocalRealtimeServer(model=scripted()) as server:
        session = Session(url=server.url, output_modalities=["text"], reconnect=policy)
        reconnected = record(signals.reconnected, session)
        with anyio.fail_after(20):
            async with session:
                for _ in range(3):
                    await session.restart()
                back = anyio.Event()
                signals.reconnected.connect(lambda *_, **__: back.set(), sender=session, weak=False)
                await server.connection.drop()
                await back.wait()
                reply = await session.ask("hello", timeout=10)
        assert len(server.connections) == 5
    assert reply.text == "Hi there!"
    assert [r["attempt"] for r in reconnected] == [0, 0, 0, 1]


async def test_restart_works_with_reconnecting_off(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model=scripted()) as server:
        session = Session(url=server.url, output_modalities=["text"], reconnect=False)
        with anyio.fail_after(20):
            async with session:
                await session.send_text("hello", respond=False)
                await session.restart()
                reply = await session.ask("hello", timeout=10)
        assert len(server.connections) == 2
        assert len(created_ids(server.connections[1].received)) == 2  # replay + the new one
    assert reply.text == "Hi there!"


async def test_concurrent_restarts_share_one_new_session(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model=scripted()) as server:
        session = Session(url=server.url, reconnect=QUICK)
        reconnected = record(signals.reconnected, session)
        with anyio.fail_after(20):
            async with session:
                async with anyio.create_task_group() as group:
                    for _ in range(3):
                        group.start_soon(session.restart)
                assert session.state == "open"
        assert len(server.connections) == 2
    assert reconnected == [{"attempt": 0}]


async def test_restart_outside_a_run_is_refused(anyio_backend: str) -> None:
    session = Session(url="ws://127.0.0.1:9/v1/realtime")
    with pytest.raises(SessionClosedError, match="idle"):
        await session.restart()
    async with LocalRealtimeServer() as server:
        session = Session(url=server.url)
        async with session:
            pass
    with pytest.raises(SessionClosedError, match="closed"):
        await session.restart()


async def test_close_during_a_restart_ends_it(anyio_backend: str) -> None:
    # The new connection's handshake is held by the peer while close() comes.
    with running("fail", hold_second=True) as (peer, url):
        session = Session(url=url, close_timeout=1.0)
        outcome: list[BaseException] = []

        async def restart() -> None:
            try:
                await session.restart()
            except SessionClosedError as exc:
                outcome.append(exc)

        with anyio.fail_after(20):
            async with session, anyio.create_task_group() as group:
                group.start_soon(restart)
                await anyio.to_thread.run_sync(peer.holding.wait, 10)
                assert session.state == "reconnecting"
                await session.close()
    assert session.closed
    assert [str(exc) for exc in outcome] == ["the session ended during the restart"]


# -- SyncSession ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_session_restarts(backend: Literal["asyncio", "trio"]) -> None:
    with start_blocking_portal(backend) as portal:
        server = portal.call(functools.partial(LocalRealtimeServer, model=scripted()))
        with portal.wrap_async_context_manager(server):
            with SyncSession(url=server.url, output_modalities=["text"], backend=backend) as s:
                s.ask("hello", timeout=10)
                s.restart()
                assert s.state == "open"
                reply = s.ask("hello", timeout=10)
            assert len(server.connections) == 2
    assert reply.text == "Hi there!"
