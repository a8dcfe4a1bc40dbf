"""The Dispatcher on its own: order, once, concurrency, taps and emit, without any I/O."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from realtime_events.dispatch import NOT_RUNNING, Dispatcher, Matcher, current_dispatcher
from realtime_events.errors import SessionClosedError
from realtime_events.events import Event, PluginEvent, ResponseDoneEvent
from realtime_events.events.parse import parse_server_event

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _lifecycle import nothing_left_unclosed

pytestmark = pytest.mark.anyio

Failure = tuple[Event, Any, Exception]


def server_event(kind: str, **fields: Any) -> Event:
    """A server event parsed from its wire form, as the session's reader makes them."""
    return parse_server_event(json.dumps({"type": kind, "event_id": "evt_1", **fields}))


def done(response_id: str) -> Event:
    return server_event("response.done", response={"id": response_id, "status": "completed"})


def plugin_event(name: str, **fields: Any) -> Event:
    return PluginEvent.model_construct(type=name, **fields)


@asynccontextmanager
async def running() -> AsyncIterator[tuple[Dispatcher, list[Failure]]]:
    """A dispatcher whose concurrent handlers run in a task group; failures are collected."""
    failures: list[Failure] = []
    async with anyio.create_task_group() as task_group:

        def spawn(call: Callable[[], Coroutine[Any, Any, None]]) -> None:
            task_group.start_soon(call)

        dispatcher = Dispatcher(
            spawn=spawn, on_error=lambda event, handler, exc: failures.append((event, handler, exc))
        )
        dispatcher.reopen()  # as a session's run does when it starts
        token = current_dispatcher.set(dispatcher)
        try:
            yield dispatcher, failures
        finally:
            current_dispatcher.reset(token)
            dispatcher.close()


# -- order ------------------------------------------------------------------


async def test_handlers_run_in_registration_order_one_event_at_a_time() -> None:
    seen: list[tuple[str, str]] = []

    def first(event: Any) -> None:
        seen.append(("first", event.response.id))

    async def second(event: Any) -> None:
        await anyio.lowlevel.checkpoint()  # yields to the loop, yet holds the order
        seen.append(("second", event.response.id))

    def third(event: Any) -> None:
        seen.append(("third", event.response.id))

    async with running() as (dispatcher, failures):
        dispatcher.add("response.done", first)
        dispatcher.add(ResponseDoneEvent, second)
        dispatcher.add("response.*", third)
        dispatcher.add("session.created", lambda event: seen.append(("never", "")))
        await dispatcher.dispatch_many([done("a"), done("b")])
    assert seen == [
        ("first", "a"),
        ("second", "a"),
        ("third", "a"),
        ("first", "b"),
        ("second", "b"),
        ("third", "b"),
    ]
    assert failures == []


async def test_a_handler_registered_during_dispatch_sees_the_next_event() -> None:
    seen: list[str] = []

    async with running() as (dispatcher, _):

        def late(event: Any) -> None:
            seen.append(f"late {event.response.id}")

        def register(event: Any) -> None:
            seen.append(f"register {event.response.id}")
            if event.response.id == "a":
                dispatcher.add("response.done", late)

        dispatcher.add("response.done", register)
        await dispatcher.dispatch(done("a"))
        await dispatcher.dispatch(done("b"))
    assert seen == ["register a", "register b", "late b"]


async def test_one_handler_for_both_spellings_runs_once_per_event() -> None:
    seen: list[str] = []

    def handler(event: Any) -> None:
        seen.append(event.type)

    async with running() as (dispatcher, _):
        ga = dispatcher.add("response.output_audio.delta", handler)
        assert dispatcher.add("response.audio.delta", handler) is ga
        assert dispatcher.add("response.*", handler) is not ga  # another pattern: its own
        assert dispatcher.add("response.*", handler) is dispatcher.add("response.*", handler)
        delta = {"response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0}
        await dispatcher.dispatch(
            server_event("response.output_audio.delta", delta="AA==", **delta)
        )
        await dispatcher.dispatch(server_event("response.audio.delta", delta="AA==", **delta))
        # Removing by the other spelling removes it: the patterns are the same events.
        assert dispatcher.remove(handler, "response.audio.delta")
        assert dispatcher.handlers_for(server_event("response.done", response={})) != ()
    assert seen == ["response.output_audio.delta"] * 2 + ["response.audio.delta"] * 2


async def test_either_spelling_of_a_renamed_event_matches() -> None:
    seen: list[str] = []
    async with running() as (dispatcher, _):
        dispatcher.add("response.audio.delta", lambda event: seen.append(event.type))
        dispatcher.add("response.output_audio.delta", lambda event: seen.append("ga"))
        delta = {"response_id": "r", "item_id": "i", "output_index": 0, "content_index": 0}
        await dispatcher.dispatch(
            server_event("response.output_audio.delta", delta="AA==", **delta)
        )
        await dispatcher.dispatch(server_event("response.audio.delta", delta="AA==", **delta))
    assert seen == ["response.output_audio.delta", "ga", "response.audio.delta", "ga"]


# -- errors -----------------------------------------------------------------


async def test_a_raising_handler_is_reported_and_the_others_still_run() -> None:
    seen: list[str] = []

    def broken(event: Any) -> None:
        raise ValueError("broken handler")

    async def broken_async(event: Any) -> None:
        raise KeyError("broken async handler")

    async with running() as (dispatcher, failures):
        dispatcher.add("response.done", lambda event: seen.append("before"))
        dispatcher.add("response.done", broken)
        dispatcher.add("response.done", broken_async)
        dispatcher.add("response.done", lambda event: seen.append("after"))
        event = done("a")
        await dispatcher.dispatch(event)
    assert seen == ["before", "after"]
    assert [(e, h) for e, h, _ in failures] == [(event, broken), (event, broken_async)]
    assert isinstance(failures[0][2], ValueError)
    assert isinstance(failures[1][2], KeyError)


# -- once -------------------------------------------------------------------


async def test_once_runs_a_handler_for_one_event_only() -> None:
    seen: list[str] = []

    def handler(event: Any) -> None:
        seen.append(event.response.id)

    async with running() as (dispatcher, _):
        dispatcher.add("response.done", handler, once=True)
        await dispatcher.dispatch_many([done("a"), done("b")])
        assert dispatcher.handlers_for(done("c")) == ()
    assert seen == ["a"]


async def test_registering_a_handler_again_differently_is_refused() -> None:
    seen: list[str] = []

    def handler(event: Any) -> None:
        seen.append(event.response.id)

    async with running() as (dispatcher, _):
        permanent = dispatcher.add("response.done", handler)
        with pytest.raises(ValueError, match=r"already registered for 'response.done' with once"):
            dispatcher.add("response.done", handler, once=True)
        with pytest.raises(ValueError, match="concurrent=False"):
            dispatcher.add("response.done", handler, concurrent=True)
        await dispatcher.dispatch_many([done("a"), done("b")])
        assert dispatcher.handlers_for(done("c")) == (permanent,)
    assert seen == ["a", "b"]


async def test_a_once_handler_registered_twice_fires_once() -> None:
    seen: list[str] = []

    def handler(event: Any) -> None:
        seen.append(event.response.id)

    async with running() as (dispatcher, _):
        first = dispatcher.add("response.done", handler, once=True)
        assert dispatcher.add("response.done", handler, once=True) is first
        await dispatcher.dispatch_many([done("a"), done("b")])
        # Once it has fired, registering it again arms it again.
        dispatcher.add("response.done", handler, once=True)
        await dispatcher.dispatch_many([done("c"), done("d")])
    assert seen == ["a", "c"]


async def test_remove_unregisters_every_registration_of_a_handler() -> None:
    seen: list[str] = []

    def handler(event: Any) -> None:
        seen.append(event.type)

    async with running() as (dispatcher, _):
        dispatcher.add("response.done", handler)
        dispatcher.add("response.*", handler)
        assert dispatcher.remove(handler, "response.*")
        await dispatcher.dispatch(done("a"))
        assert dispatcher.remove(handler)
        assert not dispatcher.remove(handler)
        await dispatcher.dispatch(done("b"))
    assert seen == ["response.done"]


# -- concurrent -------------------------------------------------------------


async def test_concurrent_handlers_do_not_hold_the_order() -> None:
    seen: list[str] = []
    release = anyio.Event()

    async def slow(event: Any) -> None:
        seen.append(f"slow started {event.response.id}")
        await release.wait()
        seen.append(f"slow finished {event.response.id}")

    def fast(event: Any) -> None:
        seen.append(f"fast {event.response.id}")
        if event.response.id == "b":
            release.set()

    async with running() as (dispatcher, _):
        dispatcher.add("response.done", slow, concurrent=True)
        dispatcher.add("response.done", fast)
        await dispatcher.dispatch_many([done("a"), done("b")])
        # Both slow calls are still running (or about to start): the dispatcher did not wait.
        assert "slow finished a" not in seen
    assert seen[:2] == ["fast a", "fast b"]
    assert sorted(seen[2:]) == sorted(
        ["slow started a", "slow started b", "slow finished a", "slow finished b"]
    )


async def test_a_concurrent_handler_is_not_the_dispatcher_and_its_errors_are_reported() -> None:
    contexts: list[Dispatcher | None] = []

    async def handler(event: Any) -> None:
        contexts.append(current_dispatcher.get())
        raise RuntimeError("concurrent failure")

    async with running() as (dispatcher, failures):
        dispatcher.add("response.done", handler, concurrent=True, once=True)
        event = done("a")
        await dispatcher.dispatch_many([event, done("b")])
    assert contexts == [None]
    assert [(e, h) for e, h, _ in failures] == [(event, handler)]


# -- taps: wait_for ---------------------------------------------------------


async def test_wait_for_returns_the_next_matching_event_after_its_handlers() -> None:
    order: list[str] = []
    async with running() as (dispatcher, _):
        dispatcher.add("response.done", lambda event: order.append(f"handler {event.response.id}"))
        result: list[Any] = []

        async def waiter() -> None:
            event = await dispatcher.wait_for("response.done", where=lambda e: e.response.id == "b")
            order.append(f"waiter {event.response.id}")
            result.append(event)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await dispatcher.dispatch_many([done("a"), done("b"), done("c")])
    assert result[0].response.id == "b"
    assert order.index("handler b") < order.index("waiter b")


async def test_wait_for_times_out_and_leaves_no_tap_behind() -> None:
    async with running() as (dispatcher, _):
        with pytest.raises(TimeoutError):
            await dispatcher.wait_for("response.done", timeout=0.05)
        assert not dispatcher._taps


async def test_a_timeout_says_what_was_awaited_and_for_how_long() -> None:
    def is_final(event: Any) -> bool:
        return False

    async with running() as (dispatcher, _):
        with pytest.raises(TimeoutError) as caught:
            await dispatcher.wait_for("response.done", timeout=0.05)
        assert str(caught.value) == "no 'response.done' event within 0.05 s"
        with pytest.raises(TimeoutError) as caught:
            await dispatcher.wait_for("response.*", where=is_final, timeout=0.05)
        assert str(caught.value) == "no 'response.*' event matching where=is_final within 0.05 s"
        with pytest.raises(TimeoutError) as caught:
            await dispatcher.wait_for(ResponseDoneEvent, timeout=0.05)
        assert str(caught.value) == "no ResponseDoneEvent within 0.05 s"
        with pytest.raises(TimeoutError) as caught:
            await dispatcher.wait_for("*", timeout=0.05)
        assert str(caught.value) == "no event within 0.05 s"
        stream = dispatcher.open_stream("response.done", where=is_final)
        with pytest.raises(TimeoutError) as caught:
            await stream.receive(timeout=0.05)
        assert str(caught.value) == (
            "no 'response.done' event matching where=is_final on the stream within 0.05 s"
        )
        stream.close()


async def test_waiters_and_streams_refuse_to_start_before_the_session_runs() -> None:
    dispatcher = Dispatcher(spawn=lambda call: None, on_error=lambda *failure: None)
    with pytest.raises(SessionClosedError) as caught:
        await dispatcher.wait_for("response.done")
    assert str(caught.value) == NOT_RUNNING
    assert "async with session:" in NOT_RUNNING
    with pytest.raises(SessionClosedError, match="the session is not running"):
        dispatcher.open_stream("response.done")
    assert not dispatcher._taps
    dispatcher.reopen()
    stream = dispatcher.open_stream("response.done")
    dispatcher.close()
    # After a run: closed for a different reason, said as such.
    with pytest.raises(SessionClosedError, match=r"^the session is closed$"):
        await dispatcher.wait_for("response.done")
    assert [event async for event in stream] == []


async def test_a_stream_read_to_its_end_leaves_nothing_to_close() -> None:
    # Ending the iteration lets go of the stream: no close() needed after it.
    with nothing_left_unclosed():
        dispatcher = Dispatcher(spawn=lambda call: None, on_error=lambda *failure: None)
        dispatcher.reopen()
        stream = dispatcher.open_stream("response.done")
        dispatcher.close()
        assert [event async for event in stream] == []
        del stream, dispatcher


async def test_close_ends_waiters_with_the_reason() -> None:
    reason = ConnectionError("gone")
    caught: list[BaseException] = []
    async with running() as (dispatcher, _):

        async def waiter() -> None:
            try:
                await dispatcher.wait_for("response.done")
            except SessionClosedError as exc:
                caught.append(exc)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            dispatcher.close(reason)
        assert len(caught) == 1
        assert caught[0].__cause__ is reason
        with pytest.raises(SessionClosedError, match="the session ended: gone"):
            await dispatcher.wait_for("response.done")
        dispatcher.reopen()
        with pytest.raises(TimeoutError):
            await dispatcher.wait_for("response.done", timeout=0.01)


async def test_a_failing_where_is_reported_and_the_waiter_keeps_waiting() -> None:
    def where(event: Any) -> bool:
        if event.response.id == "a":
            raise ValueError("bad predicate")
        return True

    async with running() as (dispatcher, failures):
        got: list[Any] = []

        async def waiter() -> None:
            got.append(await dispatcher.wait_for("response.done", where=where))

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await dispatcher.dispatch_many([done("a"), done("b")])
    assert got[0].response.id == "b"
    assert len(failures) == 1
    assert failures[0][1] is where


# -- taps: streams ----------------------------------------------------------


async def test_a_blocking_stream_holds_the_dispatcher_until_it_is_read() -> None:
    async with running() as (dispatcher, _):
        stream = dispatcher.open_stream("response.done", buffer=1)
        dispatched = anyio.Event()

        async def dispatch() -> None:
            await dispatcher.dispatch_many([done("a"), done("b"), done("c")])
            dispatched.set()

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(dispatch)
            await anyio.wait_all_tasks_blocked()
            assert not dispatched.is_set()  # "b" waits for room behind "a"
            got = [(await stream.receive(timeout=5)).response.id for _ in range(3)]
        assert got == ["a", "b", "c"]
        stream.close()
        await dispatcher.dispatch(done("d"))  # a closed stream no longer takes events
        assert not dispatcher._taps


async def test_a_dropping_stream_keeps_the_newest_events_and_never_blocks() -> None:
    # nothing_left_unclosed: closing it once left the end it drops through open.
    with nothing_left_unclosed():
        async with running() as (dispatcher, _):
            stream = dispatcher.open_stream("response.done", buffer=2, overflow="drop_oldest")
            await dispatcher.dispatch_many([done(str(n)) for n in range(10)])
            got = [(await stream.receive(timeout=5)).response.id for _ in range(2)]
            assert got == ["8", "9"]
            stream.close()
            del stream


async def test_streams_end_when_the_dispatcher_closes() -> None:
    async with running() as (dispatcher, _):
        normal = dispatcher.open_stream("response.done")
        await dispatcher.dispatch(done("a"))
        dispatcher.close()
        assert [event.response.id async for event in normal] == ["a"]

        dispatcher.reopen()
        failed = dispatcher.open_stream("response.done")
        dispatcher.close(ConnectionError("gone"))
        with pytest.raises(SessionClosedError):
            await failed.receive(timeout=5)


async def test_a_stream_left_by_its_reader_is_discarded() -> None:
    async with running() as (dispatcher, _):
        stream = dispatcher.open_stream("response.done", buffer=1)
        stream._receive.close()  # the reader went away without closing the stream
        await dispatcher.dispatch_many([done("a"), done("b")])
        assert not dispatcher._taps


# -- emit from handlers -----------------------------------------------------


async def test_events_emitted_by_handlers_run_right_after_the_current_one() -> None:
    seen: list[str] = []

    async with running() as (dispatcher, _):

        def on_done(event: Any) -> None:
            seen.append(f"done {event.response.id}")
            dispatcher.emitted(plugin_event("demo.first", of=event.response.id))
            dispatcher.emitted(plugin_event("demo.second", of=event.response.id))

        def on_first(event: Any) -> None:
            seen.append(f"first {event.of}")
            # Emitted while draining: runs after what was already pending.
            dispatcher.emitted(plugin_event("demo.nested", of=event.of))

        dispatcher.declare("demo.*")
        dispatcher.add("response.done", on_done)
        dispatcher.add("demo.first", on_first)
        dispatcher.add("demo.second", lambda event: seen.append(f"second {event.of}"))
        dispatcher.add("demo.nested", lambda event: seen.append(f"nested {event.of}"))
        dispatcher.add("demo.*", lambda event: seen.append(f"any {event.type}"))
        await dispatcher.dispatch_many([done("a"), done("b")])
        assert not dispatcher.pending
    assert seen == [
        "done a",
        "first a",
        "any demo.first",
        "second a",
        "any demo.second",
        "nested a",
        "any demo.nested",
        "done b",
        "first b",
        "any demo.first",
        "second b",
        "any demo.second",
        "nested b",
        "any demo.nested",
    ]


# -- routing shared across dispatchers ---------------------------------------


async def test_dispatchers_registered_alike_share_one_routing_per_event_class() -> None:
    from realtime_events import routing

    seen: dict[str, list[str]] = {"a": [], "b": []}

    def build(label: str) -> Dispatcher:
        d = Dispatcher(spawn=lambda call: None, on_error=lambda *args: None)
        d.add("response.done", lambda event: seen[label].append("done"))
        d.add("response.*", lambda event: seen[label].append("prefix"))
        d.add("*", lambda event: seen[label].append("star"))
        return d

    first, second = build("a"), build("b")
    await first.dispatch(done("resp_shared"))
    routes = len(routing._ROUTES)
    await second.dispatch(done("resp_shared"))
    # The second dispatcher found the first one's routing: nothing was computed again.
    assert len(routing._ROUTES) == routes
    assert seen == {"a": ["done", "prefix", "star"], "b": ["done", "prefix", "star"]}
    assert Matcher.parse("response.done") is Matcher.parse("response.done")


async def test_a_change_in_one_dispatcher_leaves_the_others_routing_alone() -> None:
    calls: list[str] = []

    def build(label: str) -> tuple[Dispatcher, Callable[[Any], None]]:
        d = Dispatcher(spawn=lambda call: None, on_error=lambda *args: None)

        def handler(event: Any) -> None:
            calls.append(label)

        d.add("response.done", handler)
        return d, handler

    (first, first_handler), (second, _) = build("a"), build("b")
    await first.dispatch(done("resp_1"))
    assert first.remove(first_handler)
    await first.dispatch(done("resp_2"))
    await second.dispatch(done("resp_3"))
    first.add("response.done", first_handler)
    await first.dispatch(done("resp_4"))
    assert calls == ["a", "b", "a"]


async def test_the_shared_routing_tables_stay_bounded() -> None:
    from realtime_events import routing

    d = Dispatcher(spawn=lambda call: None, on_error=lambda *args: None)
    d.declare("bench.*")
    got: list[str] = []
    d.add("bench.*", lambda event: got.append(event.type))
    # Fresh names each time (plugin events share one class, keyed by name).
    for index in range(routing.MAX_ROUTES + 10):
        await d.dispatch(plugin_event(f"bench.e{index}"))
    assert len(got) == routing.MAX_ROUTES + 10
    assert len(routing._ROUTES) <= routing.MAX_ROUTES
    assert len(routing._MATCHES) <= routing.MAX_ROUTES
    assert len(d._cache) <= routing.MAX_ROUTES


@pytest.mark.anyio
async def test_a_live_event_that_fails_its_model_reaches_no_handler_of_its_name() -> None:
    from realtime_events.live import LiveOutputTranscriptDeltaEvent, parse_live_server_event

    seen: list[str] = []
    dispatcher = Dispatcher(
        spawn=lambda call: None, on_error=lambda *failure: None, protocol="live"
    )
    dispatcher.add("session.output_transcript.delta", lambda e: seen.append(type(e).__name__))
    dispatcher.add("*", lambda e: seen.append("*" + type(e).__name__))
    broken = parse_live_server_event('{"type": "session.output_transcript.delta", "delta": 3}')
    good = parse_live_server_event(
        '{"type": "session.output_transcript.delta", "event_id": "e", "delta": "Hi",'
        ' "start_ms": 0, "end_ms": 5}'
    )
    assert isinstance(good, LiveOutputTranscriptDeltaEvent)
    await dispatcher.dispatch(broken)
    await dispatcher.dispatch(good)
    assert seen == [
        "*UnknownServerEvent",
        "LiveOutputTranscriptDeltaEvent",
        "*LiveOutputTranscriptDeltaEvent",
    ]


# -- the core's registrations -------------------------------------------------


async def test_core_registrations_run_in_order_before_the_users() -> None:
    async with running() as (dispatcher, failures):
        seen: list[str] = []

        def core_done(event: Event) -> None:
            seen.append("core done")

        def core_any(event: Event) -> None:
            seen.append("core *")

        def user(event: Event) -> None:
            seen.append("user")

        dispatcher.add_core("response.done", core_done)
        dispatcher.add_core("*", core_any)
        first = dispatcher.add("response.done", user)
        # The users' duplicate check still holds beside the core's registrations.
        assert dispatcher.add("response.created", user) is not first
        assert dispatcher.add("response.done", user) is first
        with pytest.raises(ValueError, match="already registered"):
            dispatcher.add("response.done", user, once=True)
        await dispatcher.dispatch(done("resp_1"))
        assert seen == ["core done", "core *", "user"]
        assert failures == []


async def test_a_core_bound_method_is_called_reported_and_removed_as_registered() -> None:
    class Part:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def on_done(self, event: Event) -> None:
            self.seen.append(event.response.id)  # type: ignore[attr-defined]

        async def on_any(self, event: Event) -> None:
            if event.type == "response.created":
                raise RuntimeError("boom")

    async with running() as (dispatcher, failures):
        part, other = Part(), Part()
        dispatcher.add_core("response.done", part.on_done)
        dispatcher.add_core("*", part.on_any)
        await dispatcher.dispatch(done("resp_1"))
        await dispatcher.dispatch(server_event("response.created", response={}))
        assert part.seen == ["resp_1"]
        # A failure names the handler as registered: the part's bound method.
        [(_, handler, error)] = failures
        assert handler == part.on_any
        assert str(error) == "boom"
        # off() finds it as registered, and only for its own part.
        assert not dispatcher.remove(other.on_done)
        assert dispatcher.remove(part.on_done)
        await dispatcher.dispatch(done("resp_2"))
        assert part.seen == ["resp_1"]


async def test_a_core_registration_added_after_dispatch_began_is_routed() -> None:
    async with running() as (dispatcher, _):
        seen: list[str] = []
        dispatcher.add("response.done", lambda event: seen.append("user"))
        await dispatcher.dispatch(done("resp_1"))
        dispatcher.add_core("response.done", lambda event: seen.append("core"))
        await dispatcher.dispatch(done("resp_2"))
        assert seen == ["user", "user", "core"]


async def test_a_handler_removed_by_an_earlier_one_skips_the_event_in_progress() -> None:
    async with running() as (dispatcher, _):
        seen: list[str] = []

        def second(event: Event) -> None:
            seen.append("second")

        def first(event: Event) -> None:
            seen.append("first")
            dispatcher.remove(second)

        dispatcher.add_core("response.done", first)
        dispatcher.add("response.done", second)
        await dispatcher.dispatch(done("resp_1"))
        await dispatcher.dispatch(done("resp_2"))
        assert seen == ["first", "first"]


async def test_a_released_batch_lets_go_of_each_event_as_it_is_dispatched() -> None:
    async with running() as (dispatcher, _):
        batch: list[Any] = [done(f"resp_{index}") for index in range(4)]
        held: list[list[str]] = []

        def handler(event: Event) -> None:
            # What the batch still holds while this event's handlers run.
            held.append([e.response.id for e in batch])

        dispatcher.add("response.done", handler)
        await dispatcher.dispatch_many(batch, release=True)
        assert held == [
            ["resp_3", "resp_2", "resp_1"],
            ["resp_3", "resp_2"],
            ["resp_3"],
            [],
        ]
        assert batch == []


# -- listens_for ------------------------------------------------------------


@pytest.mark.anyio
async def test_listens_for_follows_handlers_patterns_and_taps(anyio_backend: str) -> None:
    async with running() as (dispatcher, _):
        dispatcher.declare("demo.*")
        assert not dispatcher.listens_for("demo.done")

        def handler(event: Event) -> None:
            pass

        dispatcher.add("demo.other", handler)
        assert not dispatcher.listens_for("demo.done")  # another name
        dispatcher.add("demo.*", handler)
        assert dispatcher.listens_for("demo.done")
        dispatcher.remove(handler, "demo.*")
        assert not dispatcher.listens_for("demo.done")
        dispatcher.add("*", handler)
        assert dispatcher.listens_for("demo.done")
        dispatcher.remove(handler)
        assert not dispatcher.listens_for("demo.done")

        # A waiter listens while it waits; a stream while it is open.
        async with anyio.create_task_group() as tg:
            tg.start_soon(dispatcher.wait_for, "demo.done")
            await wait_until(lambda: dispatcher.listens_for("demo.done"))
            tg.cancel_scope.cancel()
        assert not dispatcher.listens_for("demo.done")
        stream = dispatcher.open_stream("demo.*", where=None, buffer=4, overflow="block")
        assert dispatcher.listens_for("demo.done")
        stream.close()
        assert not dispatcher.listens_for("demo.done")
        # What emit refuses is refused here too: a typo says so.
        with pytest.raises(ValueError, match=r"unknown event name 'dmeo\.done'"):
            dispatcher.listens_for("dmeo.done")


async def wait_until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.lowlevel.checkpoint()


async def test_dispatchers_built_alike_share_core_registrations_each_on_its_own_parts() -> None:
    class Part:
        def __init__(self, name: str) -> None:
            self.name = name
            self.seen: list[str] = []

        def on_done(self, event: Event) -> None:
            self.seen.append(f"{self.name} {event.response.id}")  # type: ignore[attr-defined]

        def on_any(self, event: Event) -> None:
            if event.type == "response.created":
                raise RuntimeError(self.name)

    def build(label: str) -> tuple[Dispatcher, list[Part], list[Failure]]:
        failures: list[Failure] = []
        d = Dispatcher(spawn=lambda call: None, on_error=lambda *args: failures.append(args))
        parts = [Part(f"{label}1"), Part(f"{label}2")]
        for part in parts:
            d.add_core("response.done", part.on_done)
            d.add_core("*", part.on_any)
        return d, parts, failures

    (first, ours, our_failures), (second, theirs, their_failures) = build("a"), build("b")
    # The same registrations: the session holds none of its own for its parts' handlers.
    assert all(a is b for a, b in zip(first._registrations, second._registrations, strict=True))
    await first.dispatch(done("resp_1"))
    await second.dispatch(done("resp_2"))
    await second.dispatch(server_event("response.created", response={}))
    assert [part.seen for part in ours] == [["a1 resp_1"], ["a2 resp_1"]]
    assert [part.seen for part in theirs] == [["b1 resp_2"], ["b2 resp_2"]]
    # A failure names the bound method of the dispatcher's own part.
    assert our_failures == []
    assert [handler for _, handler, _ in their_failures] == [theirs[0].on_any, theirs[1].on_any]
    # off() in one dispatcher leaves the other's registration in place.
    assert first.remove(ours[0].on_done)
    await first.dispatch(done("resp_3"))
    await second.dispatch(done("resp_4"))
    assert [part.seen for part in ours] == [["a1 resp_1"], ["a2 resp_1", "a2 resp_3"]]
    assert theirs[0].seen == ["b1 resp_2", "b1 resp_4"]


async def test_the_duplicate_check_holds_across_a_run_start_and_built_alike_share_a_key() -> None:
    def handler(event: Event) -> None:
        pass

    def build() -> Dispatcher:
        d = Dispatcher(spawn=lambda call: None, on_error=lambda *args: None)
        d.add_core("response.done", lambda event: None)
        return d

    first, second = build(), build()
    registration = first.add("response.done", handler)
    second.add("response.done", handler)
    first.reopen()  # a run starts: the index is let go, and made again by the next add
    assert first.add("response.done", handler) is registration
    assert first.add("response.text.done", handler) is not registration
    with pytest.raises(ValueError, match="already registered"):
        first.add("response.done", handler, once=True)
    first.remove(first._registrations[-1].handler, "response.text.done")
    await first.dispatch(done("resp_1"))
    await second.dispatch(done("resp_1"))
    assert first._matchers is second._matchers  # one tuple: the key of their shared routes
