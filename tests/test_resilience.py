"""Failures users of other frameworks report, reproduced against the local server.

Each test names the situation it reproduces (see USERS.md): dropped sockets,
session caps, floods of bad frames, slow and raising handlers, hung closes,
leaked tasks, and the one-active-response rule.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_events import (
    ConnectionFailedError,
    ReconnectPolicy,
    ServerEvent,
    Session,
    SessionClosedError,
    signals,
)
from realtime_events.connection import READ_SIZE
from realtime_events.events import ResponseDoneEvent
from realtime_events.testing import Faults, LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio

FAST_RETRY = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)
STORY = " ".join(["Once upon a time there was a robot who counted the stars."] * 6)


def scripted() -> ScriptedModel:
    return (
        ScriptedModel()
        .when("story")
        .say(STORY)
        .when("recap")
        .say("You said hello, then asked for a story.")
        .otherwise("Hello to you too.")
    )


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(model_factory=scripted, pace=0.05) as server:
        yield server


class Signals:
    """Collects a session's lifecycle signals for assertions."""

    def __init__(self, session: Session) -> None:
        self.reconnected = anyio.Event()
        self.log: list[tuple[str, dict[str, Any]]] = []
        for name in ("disconnected", "reconnecting", "reconnected", "closed", "event_invalid"):
            signal = getattr(signals, name)
            signal.connect(self._receiver(name), sender=session, weak=False)

    def _receiver(self, name: str) -> Any:
        def receive(sender: Session, **kwargs: Any) -> None:
            self.log.append((name, kwargs))
            if name == "reconnected":
                self.reconnected.set()

        return receive

    def names(self) -> list[str]:
        return [name for name, _ in self.log]


async def test_drop_mid_response_reconnects_and_keeps_the_conversation(
    anyio_backend: str,
) -> None:
    model = scripted()
    async with LocalRealtimeServer(model=model, pace=0.05) as server:
        await _drop_and_continue(server, model)


async def _drop_and_continue(server: LocalRealtimeServer, model: ScriptedModel) -> None:
    session = Session(url=server.url, output_modalities=["audio"], reconnect=FAST_RETRY)
    seen = Signals(session)
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
        before = [item.id for item in session.conversation.items]

        async def drop_once(event: ServerEvent) -> None:
            session.off(drop_once)
            await server.connection.drop()  # no close frame: like a network failure

        session.on("response.output_audio.delta", drop_once)
        await session.send_text("tell me a story", respond=False)
        request = await session.response.create()
        with anyio.fail_after(10):
            await seen.reconnected.wait()
        with pytest.raises(Exception, match="1006"):
            await request.done()  # the cut response has a clear outcome

        await session.send_text("recap")
        done = await session.wait_for(
            "response.done", where=lambda e: e.response.status == "completed", timeout=10
        )
    assert "story" in done.response.text
    assert seen.names()[:3] == ["disconnected", "reconnecting", "reconnected"]
    second = server.connections[1]
    replayed = [e["item"] for e in second.received if e["type"] == "conversation.item.create"]
    # The conversation was replayed with its ids: the first turn, its reply, the new turn.
    assert [item.get("id") for item in replayed[:2]] == before
    assert [item.get("role") for item in replayed][:2] == ["user", "assistant"]
    # The model of the new server session saw the history when it answered "recap".
    history = json.dumps(model.contexts[-1].items)
    assert "hello" in history
    assert "tell me a story" in history


async def test_session_cap_close_1001_reconnects(anyio_backend: str) -> None:
    faults = Faults(session_cap=0.3)
    async with LocalRealtimeServer(model_factory=scripted, faults=faults) as server:
        session = Session(url=server.url, output_modalities=["text"], reconnect=FAST_RETRY)
        seen = Signals(session)
        errors: list[str] = []
        session.on("error", lambda event: errors.append(event.error.code))
        async with session:
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)
            server.faults = Faults()  # the next connection has no cap
            with anyio.fail_after(10):
                await seen.reconnected.wait()
            await session.send_text("recap")
            done = await session.wait_for("response.done", timeout=10)
    assert errors == ["session_expired"]
    assert done.response.status == "completed"
    first_close = next(kwargs for name, kwargs in seen.log if name == "disconnected")
    assert first_close["error"].code == 1001  # "going away", as the real server at its cap
    assert first_close["will_reconnect"]


async def test_renewal_happens_between_responses(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["audio"], renew_after=0.05)
    seen = Signals(session)
    async with session:
        await session.send_text("tell me a story")  # streams longer than renew_after
        done = await session.wait_for("response.done", timeout=20)
        with anyio.fail_after(10):
            await seen.reconnected.wait()
    assert done.response.status == "completed"  # not cut off by the renewal
    assert len(server.connections) >= 2
    assert server.connections[0].websocket.close_error is not None
    assert server.connections[0].websocket.close_error.code == 1000


async def test_flood_of_bad_frames_leaves_the_session_alive(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    seen = Signals(session)
    async with session:
        await session.wait_for("session.updated", timeout=5)
        for i in range(100):
            await server.broadcast_raw("{broken" + str(i))
            await server.broadcast_raw(json.dumps({"type": f"future.event_{i}"}))
            await server.broadcast_raw(b"\x00" * i, binary=True)
            await server.broadcast_raw(json.dumps({"type": "response.created"}))
        await session.send_text("hello")
        done = await session.wait_for("response.done", timeout=10)
    assert done.response.status == "completed"
    assert seen.names().count("event_invalid") == 300


async def test_slow_handler_backpressures_and_loses_nothing(server: LocalRealtimeServer) -> None:
    budget = 16 * 1024
    session = Session(url=server.url, output_modalities=["audio"], max_pending_bytes=budget)
    deltas: list[int] = []
    most_pending = 0

    async def slow(event: Any) -> None:
        nonlocal most_pending
        most_pending = max(most_pending, session.pending_bytes)
        deltas.append(len(event.delta))
        await anyio.sleep(0.002)

    session.on("response.output_audio.delta", slow)
    server.pace = 0.0  # the server sends as fast as it can
    async with session:
        await session.send_text("tell me a story")
        done = await session.wait_for("response.done", timeout=30)
    sent = [e for e in server.connection.sent_events if e["type"] == "response.output_audio.delta"]
    assert sent
    assert len(deltas) == len(sent)  # every delta delivered
    # The bound held: the reader waited instead of buffering (one read may overshoot).
    assert 0 < most_pending <= budget + READ_SIZE
    assert done.response.status == "completed"


async def test_close_is_bounded_when_the_server_never_answers(anyio_backend: str) -> None:
    from realtime_events.connection import accept

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def hung(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            accepted = await accept(stream)
            assert accepted is not None
            await anyio.sleep_forever()  # never reads: the close frame is never answered

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, hung)
        session = Session(url=f"ws://127.0.0.1:{port}/", close_timeout=0.2, reconnect=False)
        with anyio.fail_after(5):  # a hang guard, not a speed assertion
            async with session:
                pass
        assert session.closed
        task_group.cancel_scope.cancel()


def session_tasks() -> list[str]:
    """Names of running tasks the session started (the server's own are left out)."""
    names = [task.name or "" for task in anyio.get_running_tasks()]
    return [
        name
        for name in names
        if "realtime_events." in name and "realtime_events.testing" not in name
    ]


async def test_no_tasks_are_left_behind(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])

    async def slow_concurrent(event: ServerEvent) -> None:
        await anyio.sleep(30)  # still running when the session ends: must be cancelled

    session.on("response.created", slow_concurrent, concurrent=True)
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
        assert session_tasks()
    assert session_tasks() == []


async def test_api_key_stays_out_of_recordings_and_replay_works(
    tmp_path: Path, anyio_backend: str
) -> None:
    secret = "sk-secret-should-never-be-written"
    path = tmp_path / "run.jsonl"
    async with LocalRealtimeServer(model_factory=scripted, api_key=secret) as server:
        session = Session(url=server.url, api_key=secret, record=path, output_modalities=["text"])
        async with session:
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)
    recorded = path.read_text()
    assert secret not in recorded
    directions = {json.loads(line)["dir"] for line in recorded.splitlines()}
    assert directions == {"send", "recv"}

    # Offline: the recording through a fresh session's handlers.
    offline = Session(url="ws://unused.invalid")
    types: list[str] = []
    offline.on(ServerEvent, lambda event: types.append(event.type))  # not plugin events
    count = await offline.replay(path)
    assert count == len(types)
    assert types[0] == "session.created"
    assert "response.done" in types

    # Served: the local server plays the recording to a live session.
    async with LocalRealtimeServer(replay=path) as replayer:
        live = Session(url=replayer.url, reconnect=False)
        served: list[str] = []
        live.on(ServerEvent, lambda event: served.append(event.type))
        await live.run()  # ends with the recording (normal close)
    assert served == types


async def test_response_requests_queue_and_coalesce(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["audio"])
    async with session:
        await session.send_text("tell me a story", respond=False)
        first = await session.response.create()
        queued = [await session.response.create() for _ in range(3)]
        assert queued[0] is queued[1] is queued[2]  # equal requests coalesce
        done_first = await first.done()
        done_queued = await queued[0].done()
    creates = [e for e in server.connection.received if e["type"] == "response.create"]
    errors = [e for e in server.connection.sent_events if e["type"] == "error"]
    assert len(creates) == 2
    assert errors == []  # never "conversation_already_has_active_response"
    assert done_first.response.status == "completed"
    assert done_queued.response.status == "completed"


async def test_cancel_waits_for_the_server_and_is_harmless_after_done(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url, output_modalities=["audio"])
    async with session:
        await session.send_text("tell me a story", respond=False)
        request = await session.response.create()
        response_id = await request.created()
        cancelled = await session.response.cancel(response_id)
        assert isinstance(cancelled, ResponseDoneEvent)
        assert cancelled.response.status == "cancelled"
        again = await session.response.cancel(response_id)  # already finished: no error
        assert again is cancelled
        assert await session.response.cancel() is None  # nothing active
    errors = [e for e in server.connection.sent_events if e["type"] == "error"]
    assert errors == []


async def test_sends_during_a_failed_reconnect_fail_clearly(anyio_backend: str) -> None:
    stop = anyio.Event()
    server = LocalRealtimeServer(model_factory=scripted)

    async def run_server(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        async with server:
            task_status.started()
            await stop.wait()

    async with anyio.create_task_group() as task_group:
        await task_group.start(run_server)
        session = Session(
            url=server.url, reconnect=ReconnectPolicy(initial_delay=0.01, max_attempts=2)
        )
        refused: list[SessionClosedError] = []

        async def keep_sending() -> None:
            while True:
                await session.send_text("anyone there?")
                await anyio.sleep(0.01)

        async def talk() -> None:
            async with session:
                await session.wait_for("session.updated", timeout=5)
                stop.set()  # the server goes away for good
                try:
                    with anyio.fail_after(10):
                        await keep_sending()
                except SessionClosedError as exc:
                    refused.append(exc)
                    await anyio.sleep_forever()  # until the run's failure cancels the body

        # The run's failure ends the block, as itself.
        with pytest.raises(ConnectionFailedError, match="gave up reconnecting after 2"):
            await talk()
        assert session.closed
        assert refused  # the send said so, instead of hanging


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.text(max_size=64),
            st.dictionaries(
                st.sampled_from(["type", "event_id", "delta", "response", "item"]),
                st.one_of(
                    st.none(),
                    st.integers(),
                    st.text(max_size=8),
                    st.sampled_from(
                        [
                            "response.done",
                            "response.output_audio.delta",
                            "error",
                            "conversation.item.added",
                        ]
                    ),
                ),
            ),
        ),
        max_size=20,
    )
)
def test_arbitrary_frames_never_escape_the_dispatch_loop(
    frames: list[Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "frames.jsonl"
    with path.open("w") as file:
        for frame in frames:
            if isinstance(frame, bytes):
                record = {"t": 0, "dir": "recv", "data": frame.hex(), "binary": True}
            else:
                data = frame if isinstance(frame, str) else json.dumps(frame)
                record = {"t": 0, "dir": "recv", "data": data}
            file.write(json.dumps(record) + "\n")
    session = Session(url="ws://unused.invalid")
    seen: list[str] = []
    session.on("*", lambda event: seen.append(event.type))
    session.on("response.done", lambda event: event.response.status)  # typed access is safe
    count = anyio.run(session.replay, path)
    assert count == len(seen)


async def test_create_racing_a_server_vad_response_is_deferred_not_lost(
    anyio_backend: str,
) -> None:
    """livekit #6817, openai-agents #1466: a client request meets a VAD-started response."""
    from realtime_events.audio import chunks, read_wav, silence

    model = ScriptedModel().otherwise("Heard you.")
    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, output_modalities=["text"])
        requests: list[Any] = []

        @session.on("input_audio_buffer.speech_stopped")
        async def eager(event: Any) -> None:
            # The server already started its own response; we haven't seen it yet.
            requests.append(await session.response.create())

        errors: list[str] = []
        session.on("error", lambda event: errors.append(event.error.code))
        async with session:
            pcm, _rate = read_wav(Path(__file__).parent / "audio" / "hello_there.wav")
            for chunk in chunks(pcm + silence(800), ms=100):
                await session.input_audio_buffer.append(chunk)
            done = await requests_done(session, requests)
    assert errors == ["conversation_already_has_active_response"]  # seen, and handled
    assert done.response.status == "completed"
    creates = [e for e in server.connection.received if e["type"] == "response.create"]
    assert len(creates) == 2  # the deferred request was sent again after the first finished


async def requests_done(session: Session, requests: list[Any]) -> ResponseDoneEvent:
    with anyio.fail_after(20):
        while not requests:
            await session.wait_for("input_audio_buffer.speech_stopped")
        result: ResponseDoneEvent = await requests[0].done()
        return result


async def test_cancel_racing_response_done_is_harmless(anyio_backend: str) -> None:
    """berd #318, hash #9399: the cancel arrives after the server finished the response."""
    model = ScriptedModel().otherwise("Quick.")
    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, output_modalities=["text"])
        cancels: list[Any] = []

        @session.on("response.created", once=True)
        async def cancel_late(event: Any) -> None:
            # Holding the dispatcher lets the server finish the response (pace 0)
            # while its events wait in our buffer: the cancel then comes too late.
            await anyio.sleep(0.3)
            cancels.append(await session.response.cancel(event.response.id))

        async with session:
            await session.send_text("hi")
            done = await session.wait_for("response.done", timeout=10)
            follow_up = await session.response.create()
            second = await follow_up.done()
    assert cancels == [None]  # inside a handler the cancel is only sent
    assert done.response.status == "completed"
    assert second.response.status == "completed"  # the session is fine afterwards
    errors = [e["error"]["code"] for e in server.connection.sent_events if e["type"] == "error"]
    assert errors == ["response_cancel_not_active"]  # the race happened, and was harmless


async def test_history_limit_bounds_the_mirror_and_the_replay(anyio_backend: str) -> None:
    async with LocalRealtimeServer(model_factory=scripted) as server:
        session = Session(
            url=server.url, output_modalities=["text"], reconnect=FAST_RETRY, history_limit=2
        )
        seen = Signals(session)
        async with session:
            for text in ("hello", "recap"):
                await session.send_text(text)
                await session.wait_for("response.done", timeout=10)
            kept = [item.id for item in session.conversation.items]
            await server.connection.drop()
            with anyio.fail_after(10):
                await seen.reconnected.wait()
                # Sent is not yet received: the server reads the replay in its own task.
                while len(replayed_ids(server)) < len(kept):  # noqa: ASYNC110
                    await anyio.sleep(0.01)
    assert len(kept) == 2  # the second turn: its user message and the reply
    assert replayed_ids(server) == kept


def replayed_ids(server: LocalRealtimeServer) -> list[str]:
    """The ids of the items the server's second connection received with item.create."""
    return [
        e["item"]["id"]
        for e in server.connections[1].received
        if e["type"] == "conversation.item.create"
    ]
