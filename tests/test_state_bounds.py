"""What a process hosting thousands of sessions needs: they can be collected, and stay small.

Every piece of state that grows with events has a bound that follows from the
protocol (an entry lives until its response or connection ends) or a fixed
cap. Each test drives many events and checks the size stays bounded; the
state components are built from plain callables, so most need no connection.
"""

from __future__ import annotations

import gc
import json
import sys
import weakref
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import Session, signals
from realtime_events.audio import PCM16
from realtime_events.conversation import MAX_UNCONFIRMED
from realtime_events.dispatch import current_dispatcher
from realtime_events.errors import ConnectionClosedError
from realtime_events.events import ClientEvent
from realtime_events.metrics import KEEP_RESPONSES, MAX_IN_FLIGHT
from realtime_events.responses import KEEP_FINISHED
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events_tools import Tools
from realtime_events_tools.delivery import KEEP_ANSWERED, Delivery
from realtime_events_tools.plugin import KEEP_FINISHED_CALLS
from realtime_events_transcript import Transcript
from realtime_events_vad import VAD

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _components import (
    components,
    error,
    response_created,
    response_done,
    server_event,
)

pytestmark = pytest.mark.anyio

MANY = 1000
TIMEOUT = 30  # a hang guard, not a timing expectation


def write_recording(path: Path, events: list[dict[str, Any]]) -> Path:
    """A recording of ``events`` received from a server, as ``Session(record=...)`` writes."""
    with path.open("w", encoding="utf-8") as file:
        for n, event in enumerate(events):
            data = json.dumps({"event_id": f"evt_{n}", **event})
            file.write(json.dumps({"t": n / 1000, "dir": "recv", "data": data}) + "\n")
    return path


def assistant_audio_turn(n: int, *, speech: bool = False) -> list[dict[str, Any]]:
    """A response with one assistant audio item (one delta), a function call, and its done."""
    response_id, item_id, call_item = f"resp_{n}", f"item_a{n}", f"item_c{n}"
    ids = {"response_id": response_id, "output_index": 0}
    events: list[dict[str, Any]] = [
        {
            "type": "response.created",
            "response": {"id": response_id, "status": "in_progress", "output": []},
        },
        {
            "type": "response.output_item.added",
            **ids,
            "item": {"id": item_id, "type": "message", "role": "assistant", "content": []},
        },
        {
            "type": "response.content_part.added",
            **ids,
            "item_id": item_id,
            "content_index": 0,
            "part": {"type": "audio"},
        },
        {
            "type": "response.output_audio.delta",
            **ids,
            "item_id": item_id,
            "content_index": 0,
            "delta": "AAAAAAAAAAAA" * 100,
        },
    ]
    if speech:  # the user talks over the assistant: barge-in
        events.append(
            {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "u"}
        )
    call = {"id": call_item, "type": "function_call", "call_id": f"call_{n}", "name": "ping"}
    events += [
        {"type": "response.output_item.added", **ids, "item": {**call, "arguments": ""}},
        {
            "type": "response.function_call_arguments.done",
            **ids,
            "item_id": call_item,
            "call_id": f"call_{n}",
            "name": "ping",
            "arguments": "{}",
        },
        {"type": "response.output_item.done", **ids, "item": {**call, "arguments": "{}"}},
        {"type": "response.done", "response": {"id": response_id, "status": "completed"}},
    ]
    return events


def new_session(**options: Any) -> Session:
    """A session with every plugin attached and a user handler; it never connects."""
    tools = Tools()

    @tools.function
    def ping() -> str:
        """Answer pong."""
        return "pong"

    session = Session(url="ws://127.0.0.1:9", plugins=[tools, VAD(), Transcript()], **options)
    session.on("response.done", lambda event: None)
    return session


# -- collectable --------------------------------------------------------------------


async def test_sessions_and_their_plugins_are_collected_once_dropped(tmp_path: Path) -> None:
    recording = write_recording(
        tmp_path / "calls.jsonl",
        [{"type": "session.created", "session": {"id": "sess_1"}}]
        + [event for n in range(3) for event in assistant_audio_turn(n, speech=True)],
    )
    gc.collect()  # what earlier tests left behind is not this test's
    before = len(signals.event_sent.receivers), len(signals.disconnected.receivers)
    refs: list[weakref.ref[Any]] = []
    for n in range(200):
        session = new_session()
        if n % 4 == 0:
            assert await session.replay(recording) > 0  # offline, no connection
        refs += [weakref.ref(session), weakref.ref(session.conversation)]
        refs += [weakref.ref(session.response), weakref.ref(session.metrics)]
        refs += [weakref.ref(plugin) for plugin in session.plugins.values()]
    del session
    gc.collect()
    alive = [ref() for ref in refs if ref() is not None]
    assert alive == []
    # Nothing of theirs is left in the signals either.
    assert (len(signals.event_sent.receivers), len(signals.disconnected.receivers)) == before


async def test_lifecycle_signals_still_reach_the_components() -> None:
    async with components() as parts:
        await parts.feed(response_created("resp_1"))
        request = await parts.responses.create()  # queued behind resp_1
        assert parts.responses.pending == 1
        parts.disconnect()
        assert parts.responses.active_id is None
        signals.send(signals.closed, parts.owner, error=None)
        with pytest.raises(Exception, match="session ended"):
            await request.done()


# -- Responses: cancels -------------------------------------------------------------


async def test_cancels_are_forgotten_once_answered() -> None:
    async with components() as parts:
        responses = parts.responses

        def pending() -> tuple[int, int]:
            return len(responses._cancel_event_ids), len(responses._cancel_waiters)

        for n in range(MANY):  # confirmed by the cancelled response's response.done
            await parts.feed(response_created(f"resp_{n}"))
            await responses.cancel(wait=False)
            assert pending() == (1, 1)
            await parts.feed(response_done(f"resp_{n}", "cancelled"))
            assert pending() == (0, 0)
        for n in range(MANY):  # refused: the response had ended meanwhile
            await parts.feed(response_created(f"late_{n}"))
            await responses.cancel(wait=False)
            await parts.feed(response_done(f"late_{n}"))
            await parts.feed(error("response_cancel_not_active", parts.sent[-1].event_id))
            assert pending() == (0, 0)
        for n in range(MANY):  # refused otherwise: no such response
            await responses.cancel(f"resp_unknown_{n}", wait=False)
            await parts.feed(error("invalid_value", parts.sent[-1].event_id))
            assert pending() == (0, 0)
        for n in range(MANY):  # never answered: they end with the connection
            await responses.cancel(f"resp_lost_{n}", wait=False)
        assert pending() == (MANY, MANY)
        parts.disconnect()
        assert pending() == (0, 0)


async def test_a_cancel_outside_handlers_still_waits_for_its_answer() -> None:
    async with components() as parts:
        await parts.feed(response_created("resp_1"))
        result: list[Any] = []

        async def cancel() -> None:
            token = current_dispatcher.set(None)  # an application task, not a handler
            try:
                result.append(await parts.responses.cancel())
            finally:
                current_dispatcher.reset(token)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(cancel)
            await anyio.wait_all_tasks_blocked()
            assert result == []
            await parts.feed(response_done("resp_1", "cancelled"))
        assert result[0].response.status == "cancelled"


async def test_finished_responses_are_remembered_up_to_a_bound() -> None:
    async with components() as parts:
        responses = parts.responses
        for n in range(MANY):
            await parts.feed(response_created(f"resp_{n}"), response_done(f"resp_{n}"))
        assert len(responses._finished) == KEEP_FINISHED
        # A remembered response is answered at once, with its response.done...
        done = await responses.cancel(f"resp_{MANY - 1}", wait=False)
        assert done is not None
        assert done.response.id == f"resp_{MANY - 1}"
        assert parts.sent == []
        # ...a forgotten one is asked of the server, whose refusal answers it.
        assert await responses.cancel("resp_0", wait=False) is None
        assert [event.type for event in parts.sent] == ["response.cancel"]
        await parts.feed(error("response_cancel_not_active", parts.sent[-1].event_id))
        assert (len(responses._cancel_event_ids), len(responses._cancel_waiters)) == (0, 0)


async def test_a_refusal_naming_no_cancel_answers_them_all() -> None:
    async with components() as parts:
        responses = parts.responses
        for n in range(MANY):
            await responses.cancel(f"resp_{n}", wait=False)
        assert len(responses._cancel_event_ids) == MANY
        await parts.feed(error("response_cancel_not_active", None))
        assert (len(responses._cancel_event_ids), len(responses._cancel_waiters)) == (0, 0)


@pytest.mark.parametrize("disconnect_first", [True, False], ids=["disconnected", "closed"])
async def test_cancels_waiting_for_an_answer_end_with_the_session(disconnect_first: bool) -> None:
    async with components() as parts:
        responses = parts.responses
        await parts.feed(response_created("resp_1"))
        answers: list[Any] = []

        async def cancel() -> None:
            token = current_dispatcher.set(None)  # an application task: it waits
            try:
                answers.append(await responses.cancel())
            finally:
                current_dispatcher.reset(token)

        with anyio.fail_after(TIMEOUT):
            async with anyio.create_task_group() as task_group:
                for _ in range(3):
                    task_group.start_soon(cancel)
                await anyio.wait_all_tasks_blocked()
                assert answers == []
                # A session ends with disconnected then closed, or closed alone
                # when it ends between connections: either wakes every waiter.
                if disconnect_first:
                    parts.disconnect()
                signals.send(signals.closed, parts.owner, error=None)
        assert answers == [None, None, None]
        assert responses.current is None
        assert (len(responses._cancel_event_ids), len(responses._cancel_waiters)) == (0, 0)


# -- Conversation -------------------------------------------------------------------


async def test_audio_and_truncation_of_items_not_in_the_mirror_are_not_kept() -> None:
    async with components() as parts:
        for n in range(MANY):
            ids = {"response_id": "r", "output_index": 0, "item_id": f"item_{n}"}
            await parts.feed(
                server_event(
                    "response.output_audio.delta", **ids, content_index=0, delta="AAAA" * 10
                ),
                server_event(
                    "conversation.item.truncated",
                    item_id=f"item_{n}",
                    content_index=0,
                    audio_end_ms=10,
                ),
            )
        conversation = parts.conversation
        assert (len(conversation._audio_bytes), len(conversation._truncated)) == (0, 0)
        assert conversation.audio_received_ms("item_1") == 0


async def test_audio_counts_leave_with_the_items_the_mirror_forgets() -> None:
    async with components() as parts:
        conversation = parts.conversation
        conversation.history_limit = 3
        for n in range(MANY):
            item_id = f"item_{n}"
            ids = {"response_id": "r", "output_index": 0, "item_id": item_id}
            await parts.feed(
                server_event(
                    "response.output_item.added",
                    response_id="r",
                    output_index=0,
                    item={"id": item_id, "type": "message", "role": "assistant"},
                ),
                server_event(
                    "response.output_audio.delta", **ids, content_index=0, delta="AAAA" * 10
                ),
                server_event(
                    "conversation.item.truncated", item_id=item_id, content_index=0, audio_end_ms=1
                ),
            )
        assert len(conversation) == 3
        assert len(conversation._audio_bytes) == len(conversation._truncated) == 3
        assert conversation.audio_received_ms(f"item_{MANY - 1}") == PCM16.duration_ms(30)


def user_item(n: int) -> dict[str, Any]:
    text = {"type": "input_text", "text": f"message {n}"}
    return {"id": f"item_u{n}", "type": "message", "role": "user", "content": [text]}


async def test_unconfirmed_items_are_bounded_and_resent_once() -> None:
    async with components() as parts:
        conversation = parts.conversation
        for n in range(MANY):
            await conversation.item.create(user_item(n))
        assert len(conversation._unconfirmed) == MAX_UNCONFIRMED
        # The newest are kept: the oldest gave up their place.
        assert f"item_u{MANY - 1}" in conversation._unconfirmed
        assert "item_u0" not in conversation._unconfirmed

        written: list[ClientEvent] = []

        async def write(event: ClientEvent) -> None:
            written.append(event)
            signals.send(signals.event_sent, parts.owner, event=event)

        await conversation.restore(write)
        assert len(written) == MAX_UNCONFIRMED
        assert conversation._unconfirmed == {}
        written.clear()
        await conversation.restore(write)  # the next reconnect does not send them again
        assert written == []


async def test_a_restore_that_fails_part_way_sends_the_unconfirmed_items_again() -> None:
    async with components() as parts:
        conversation = parts.conversation
        for n in range(3):
            await conversation.item.create(user_item(n))

        async def broken(event: ClientEvent) -> None:
            raise ConnectionClosedError(1006, "lost during the restore")

        with pytest.raises(ConnectionClosedError):
            await conversation.restore(broken)
        written: list[ClientEvent] = []

        async def write(event: ClientEvent) -> None:
            written.append(event)

        await conversation.restore(write)
        ids = [event.item["id"] for event in written]  # type: ignore[attr-defined]
        assert ids == ["item_u0", "item_u1", "item_u2"]


# -- Metrics ------------------------------------------------------------------------


async def test_responses_that_never_finish_are_not_timed_forever(tmp_path: Path) -> None:
    created = [
        {"type": "response.created", "response": {"id": f"resp_{n}", "status": "in_progress"}}
        for n in range(MANY)
    ]
    session = Session(url="ws://127.0.0.1:9")
    await session.replay(write_recording(tmp_path / "created.jsonl", created))
    assert len(session.metrics._in_flight) == MAX_IN_FLIGHT
    assert f"resp_{MANY - 1}" in session.metrics._in_flight


async def test_metrics_keep_a_bounded_window_of_records(tmp_path: Path) -> None:
    turns = [
        event
        for n in range(MANY)
        for event in (
            {"type": "response.created", "response": {"id": f"resp_{n}", "status": "in_progress"}},
            {"type": "response.done", "response": {"id": f"resp_{n}", "status": "completed"}},
        )
    ]
    session = Session(url="ws://127.0.0.1:9")
    metrics = session.metrics
    await session.replay(write_recording(tmp_path / "turns.jsonl", turns))
    assert len(metrics.responses) == KEEP_RESPONSES
    assert metrics.response_count == MANY
    assert metrics.responses[-1].response_id == f"resp_{MANY - 1}"
    metrics.keep = 10
    assert [r.response_id for r in metrics.responses] == [
        f"resp_{n}" for n in range(MANY - 10, MANY)
    ]
    await session.replay(write_recording(tmp_path / "again.jsonl", turns))
    assert len(metrics.responses) == 10
    assert metrics.response_count == 2 * MANY


# -- Tools --------------------------------------------------------------------------


async def test_calls_replayed_offline_are_neither_run_nor_kept(tmp_path: Path) -> None:
    recording = write_recording(
        tmp_path / "calls.jsonl", [e for n in range(300) for e in assistant_audio_turn(n)]
    )
    session = new_session()
    tools = session.plugins["tools"]
    assert isinstance(tools, Tools)
    await session.replay(recording)
    assert tools.running == []
    assert (len(tools._calls), len(tools._batches)) == (0, 0)
    assert not tools._jobs


async def test_finished_and_answered_calls_are_remembered_up_to_a_bound() -> None:
    count = KEEP_FINISHED_CALLS + 44
    assert count > KEEP_ANSWERED
    model = ScriptedModel().when(tool_output=True).say("Done.")
    rule = model.when("many")
    for n in range(count):
        rule = rule.call("ping", n=n)
    tools = Tools()

    @tools.function
    def ping(n: int) -> int:
        """Echo a number."""
        return n

    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, output_modalities=["text"], plugins=[tools])
        async with session:
            with anyio.fail_after(TIMEOUT):
                async with session.stream("tools.batch_finished") as batches:
                    await session.send_text("many calls")
                    batch = await batches.receive()
            assert len(batch.calls) == count
            assert all(call.ok for call in batch.calls)
            assert len(tools._finished) <= KEEP_FINISHED_CALLS
            assert isinstance(tools._delivery, Delivery)  # the Realtime protocol's
            assert len(tools._delivery._answered) <= KEEP_ANSWERED
            assert (len(tools._calls), len(tools._batches)) == (0, 0)
            assert not tools._jobs
