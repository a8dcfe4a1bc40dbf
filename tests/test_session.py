"""Session against the local server over loopback: handlers, waiters, streams and sending."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import anyio.abc
import pytest

from realtime_events import (
    ConnectionFailedError,
    InvalidConfigError,
    InvalidEventError,
    RealtimeError,
    ServerEvent,
    Session,
    SessionClosedError,
    UnknownServerEvent,
    signals,
)
from realtime_events.events import (
    Dialect,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputTextDeltaEvent,
)
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    model = ScriptedModel().when("hello").say("Hi there, nice to meet you!").otherwise("Okay.")
    async with LocalRealtimeServer(model=model) as server:
        yield server


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_design_example_runs_on_both_dialects(
    server: LocalRealtimeServer, dialect: Any
) -> None:
    session = Session("gpt-realtime", url=server.url, dialect=dialect, instructions="Be brief.")
    audio = bytearray()
    traced: list[str] = []

    @session.on("response.output_audio.delta")  # GA name, on either dialect
    async def play(event: ResponseOutputAudioDeltaEvent) -> None:
        audio.extend(event.audio)

    @session.on("response.*")
    def trace(event: ServerEvent) -> None:
        traced.append(event.type)

    async with session:
        await session.send_text("hello")
        done = await session.wait_for("response.done", timeout=10)
    assert isinstance(done, ResponseDoneEvent)
    assert done.response.status == "completed"
    assert len(audio) > 0
    assert len(audio) % 2 == 0
    assert traced[0] == "response.created"
    assert traced[-1] == "response.done"
    # event.type keeps the wire spelling of the dialect
    wire_audio = "response.output_audio.delta" if dialect == "ga" else "response.audio.delta"
    assert wire_audio in traced
    assert session.closed


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@pytest.mark.parametrize("spelling", ["response.output_text.delta", "response.text.delta"])
async def test_either_spelling_fires_exactly_once_on_either_dialect(
    server: LocalRealtimeServer, dialect: Any, spelling: str
) -> None:
    session = Session(url=server.url, dialect=dialect, output_modalities=["text"])
    deltas: list[str] = []
    session.on(spelling, lambda event: deltas.append(event.delta))
    async with session:
        await session.send_text("hello")
        done = await session.wait_for("response.done", timeout=10)
    assert "".join(deltas) == done.response.text
    assert deltas


async def test_handlers_run_in_order_one_event_at_a_time(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    log: list[tuple[str, str]] = []

    async def slow(event: ServerEvent) -> None:
        log.append(("slow-start", event.type))
        await anyio.sleep(0.001)
        log.append(("slow-end", event.type))

    def fast(event: ServerEvent) -> None:
        log.append(("fast", event.type))

    session.on("*", slow)
    session.on("*", fast)
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
    # For every event: slow starts, slow ends, fast runs; then the next event.
    assert len(log) % 3 == 0
    for i in range(0, len(log), 3):
        kinds = [entry[0] for entry in log[i : i + 3]]
        assert kinds == ["slow-start", "slow-end", "fast"]
        assert len({entry[1] for entry in log[i : i + 3]}) == 1


async def test_concurrent_handler_does_not_hold_the_order(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    release = anyio.Event()
    finished: list[str] = []

    @session.on("response.created", concurrent=True)
    async def blocked(event: ServerEvent) -> None:
        await release.wait()
        finished.append("blocked")

    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)  # not held up by `blocked`
        release.set()
        await anyio.wait_all_tasks_blocked()
    assert finished == ["blocked"]


async def test_a_raising_handler_is_reported_and_the_rest_still_run(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    failures: list[tuple[str, Exception]] = []
    after: list[str] = []

    @session.on("response.created")
    def broken(event: ServerEvent) -> None:
        raise RuntimeError("boom")

    session.on("response.created", lambda event: after.append(event.type))

    def on_failed(sender: Session, *, event: ServerEvent, error: Exception, **_: Any) -> None:
        failures.append((event.type, error))

    signals.handler_failed.connect(on_failed, sender=session)
    try:
        async with session:
            for _ in range(2):
                await session.send_text("hello")
                await session.wait_for("response.done", timeout=10)
    finally:
        signals.handler_failed.disconnect(on_failed, sender=session)
    assert after == ["response.created"] * 2
    assert [(kind, str(error)) for kind, error in failures] == [("response.created", "boom")] * 2


async def test_on_off_once_decorator_and_class_patterns(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    seen: list[str] = []

    def record(event: ServerEvent) -> None:
        seen.append(type(event).__name__)

    assert session.on(ResponseOutputTextDeltaEvent, record) is record
    assert session.on("response.done", record) is record  # one function, two events
    session.once("response.created", record)
    async with session:
        for _ in range(2):
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)
        assert session.off(record)
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
    assert seen.count("ResponseCreatedEvent") == 1
    assert seen.count("ResponseDoneEvent") == 2
    assert seen.count("ResponseOutputTextDeltaEvent") >= 2


async def test_wait_for_where_and_timeout(server: LocalRealtimeServer) -> None:
    async with Session(url=server.url, output_modalities=["text"]) as session:
        await session.send_text("hello")
        event = await session.wait_for(
            "response.output_item.done", where=lambda e: e.item.type == "message", timeout=10
        )
        assert event.item.role == "assistant"
        session.declare("never.happens")
        with pytest.raises(TimeoutError, match=r"no 'never.happens' event within 0.05 s"):
            await session.wait_for("never.happens", timeout=0.05)


async def test_stream_collects_events_and_ends_on_close(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    types: list[str] = []
    async with session, session.stream("response.*") as events:
        await session.send_text("hello")
        async for event in events:
            types.append(event.type)
            if event.type == "response.done":
                break
    assert types[0] == "response.created"
    assert types[-1] == "response.done"

    async with session, session.stream("*") as events:
        await session.close()
        remaining = [event async for event in events]  # ends instead of hanging
    assert all(isinstance(event, ServerEvent) for event in remaining)


async def test_waiters_get_a_clear_error_when_the_session_ends(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url)
    session.declare("never.happens")
    errors: list[BaseException] = []
    async with session:

        async def waiter() -> None:
            try:
                await session.wait_for("never.happens")
            except SessionClosedError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await server.connection.close(1000)
    assert len(errors) == 1
    assert session.closed


def configured_event(session: Session) -> anyio.Event:
    """An event set once the server confirmed the configuration (registered before connecting)."""
    configured = anyio.Event()
    session.on("session.updated", lambda event: configured.set(), once=True)
    return configured


async def test_server_normal_close_ends_run(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url)
    configured = configured_event(session)
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(session.run)
        await configured.wait()
        await server.connection.close(1000)
    assert session.closed


async def test_close_from_another_task_ends_run(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url)
    configured = configured_event(session)
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(session.run)
        await configured.wait()
        await session.close()
    assert session.closed


async def test_bad_frames_are_reported_and_the_session_keeps_running(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    invalid: list[Any] = []
    unknown: list[Any] = []
    delivered: list[ServerEvent] = []
    session.on(UnknownServerEvent, delivered.append)

    def on_invalid(sender: Session, **kwargs: Any) -> None:
        invalid.append(kwargs)

    def on_unknown(sender: Session, *, event: Any) -> None:
        unknown.append(event)

    signals.event_invalid.connect(on_invalid, sender=session)
    signals.event_unknown.connect(on_unknown, sender=session)
    try:
        async with session:
            await session.wait_for("session.updated", timeout=5)
            connection = server.connection
            await connection.send_raw("{not json")
            await connection.send_raw("[1, 2, 3]")
            await connection.send_raw(b"\x00\xff", binary=True)
            await connection.send_raw(json.dumps({"type": "brand.new_event", "x": 1}))
            await connection.send_raw(json.dumps({"type": "response.done", "event_id": 5}))
            # Still alive: a full turn works after the garbage.
            await session.send_text("hello")
            done = await session.wait_for("response.done", timeout=10)
            assert done.response.status == "completed"
    finally:
        signals.event_invalid.disconnect(on_invalid, sender=session)
        signals.event_unknown.disconnect(on_unknown, sender=session)
    assert len(invalid) == 4  # bad JSON, non-object, binary, known type with wrong fields
    assert invalid[3]["event"].validation_error is not None
    assert [event.type for event in unknown] == ["brand.new_event"]
    assert [event.type for event in delivered] == ["brand.new_event", "response.done"]
    assert delivered[0].model_extra == {"x": 1}


async def test_send_validates_locally_and_needs_a_running_session(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url)
    with pytest.raises(SessionClosedError):
        await session.send({"type": "input_audio_buffer.clear"})
    async with session:
        with pytest.raises(InvalidEventError, match="item_id"):
            await session.send({"type": "conversation.item.delete"})
        sent = await session.send({"type": "input_audio_buffer.clear"})
        assert sent.type == "input_audio_buffer.clear"
        await session.wait_for("input_audio_buffer.cleared", timeout=5)
    with pytest.raises(SessionClosedError):
        await session.send_text("too late")


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_configuration_is_sent_in_the_dialects_shape(
    server: LocalRealtimeServer, dialect: Dialect
) -> None:
    session = Session(url=server.url, dialect=dialect, voice="marin", output_modalities=["text"])
    async with session:
        updated = await session.wait_for("session.updated", timeout=5)
    sent = [e["session"] for e in server.connection.received if e["type"] == "session.update"]
    if dialect == "ga":
        assert sent[0]["type"] == "realtime"
        assert sent[0]["audio"]["output"]["voice"] == "marin"
        assert sent[0]["output_modalities"] == ["text"]
    else:
        assert sent[0]["voice"] == "marin"
        assert sent[0]["modalities"] == ["text"]
    assert session.server_session == updated.session


async def test_emit_reaches_handlers_after_the_current_event(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    order: list[str] = []
    session.declare("demo.*")

    @session.on("response.created")
    def announce(event: ResponseCreatedEvent) -> None:
        order.append("created")
        session.emit("demo.noticed", {"kind": "created"}, response_id=event.response.id)

    @session.on("demo.*")
    def noticed(event: Any) -> None:
        order.append(f"{event.type}:{event.kind}:{bool(event.response_id)}")

    session.on("response.output_item.added", lambda event: order.append("item"))
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
    assert order[:3] == ["created", "demo.noticed:created:True", "item"]


async def test_a_failed_first_connect_raises_the_error_itself(anyio_backend: str) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    session = Session(url=f"ws://127.0.0.1:{port}/v1/realtime")
    with pytest.raises(ConnectionFailedError):  # not an exception group
        async with session:
            pass
    assert session.closed
    with pytest.raises(SessionClosedError):
        await session.send_text("nobody listens")


async def test_emit_outside_handlers_is_bounded_while_handlers_are_stuck(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url)
    session.declare("demo.tick")
    release = anyio.Event()
    ticks: list[Any] = []

    async def stuck(event: Any) -> None:
        await release.wait()  # the dispatcher waits here

    session.on("response.created", stuck)
    session.on("demo.tick", ticks.append)
    async with session:
        await session.send_text("hello")
        await anyio.sleep(0.2)  # response.created is being handled, forever
        for i in range(1024):
            session.emit("demo.tick", n=i)
        with pytest.raises(RealtimeError, match="1024 emitted events already wait"):
            session.emit("demo.tick", n=1024)
        release.set()
        await session.wait_for("response.done", timeout=10)
    assert [tick.n for tick in ticks] == list(range(1024))  # none lost, none extra


class Contributes:
    """A plugin that contributes ``fields`` to the session configuration."""

    def __init__(self, name: str, **fields: Any) -> None:
        self.name = name
        self.fields = fields
        self.attached = False

    def attach(self, session: Session) -> None:
        self.attached = True

    def session_config(self) -> Mapping[str, Any]:
        return self.fields


async def test_an_update_is_checked_with_the_plugins_and_a_refused_one_changes_nothing(
    server: LocalRealtimeServer,
) -> None:
    detection = {"type": "semantic_vad", "eagerness": "low"}
    plugin = Contributes("vad", turn_detection=detection)
    session = Session(url=server.url, voice="marin", plugins=[plugin])
    async with session, session.stream("session.updated") as updates:
        # Each is fine alone; with the session's voice it makes a configuration the
        # API refuses, so it is refused before the session changes.
        with pytest.raises(InvalidConfigError, match="voice is not a setting"):
            await session.update(type="transcription")
        with pytest.raises(InvalidConfigError, match="voice"):
            await session.update(voice="nobody")
        bad = Contributes("bad", voice="nobody")
        with pytest.raises(InvalidConfigError, match="voice"):
            session.use(bad)
        with pytest.raises(InvalidConfigError, match="transcription session"):
            session.use(Contributes("kind", type="transcription"))
        with pytest.raises(InvalidConfigError):
            session.config = {"voice": "nobody"}
        assert session.config == {"voice": "marin"}
        assert list(session.plugins) == ["vad"]
        assert not bad.attached
        await session.update(voice="cedar")
        updated = await updates.receive(timeout=5)
        if updated.session.audio.output.voice != "cedar":  # the answer to the first update
            updated = await updates.receive(timeout=5)
        # Nothing refused went out: the server saw the opening update and this one.
        sent = [e["type"] for e in server.connection.received]
        assert sent == ["session.update", "session.update"]
    assert session.config == {"voice": "cedar"}
    assert session.session_config() == {"voice": "cedar", "turn_detection": detection}
    assert updated.session.audio.input.turn_detection.eagerness == "low"
