"""SyncSession: a Session driven from plain threads, against a server on its own loop thread."""

from __future__ import annotations

import functools
import gc
import operator
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from realtime_events import ConnectionFailedError, Session, SessionClosedError
from realtime_events.errors import RealtimeError
from realtime_events.events import ResponseDoneEvent
from realtime_events.sync import BlockingProxy, SyncSession, _Portal
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

BACKENDS = ["asyncio", "trio"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def server(backend: str) -> Iterator[LocalRealtimeServer]:
    """A LocalRealtimeServer on a loop thread of its own, like any remote server."""
    model = ScriptedModel().when("hello").say("Hi there, nice to meet you!").otherwise("Okay.")
    with start_blocking_portal(backend) as portal:
        server = portal.call(functools.partial(LocalRealtimeServer, model=model))
        with portal.wrap_async_context_manager(server):
            yield server


def user_texts(server: LocalRealtimeServer) -> list[str]:
    return [
        event["item"]["content"][0]["text"]
        for event in list(server.connection.received)
        if event["type"] == "conversation.item.create"
    ]


def test_conversation_from_the_main_thread(server: LocalRealtimeServer, backend: Any) -> None:
    deltas: list[str] = []
    threads: set[int] = set()
    with SyncSession(url=server.url, output_modalities=["text"], backend=backend) as s:

        @s.on("response.output_text.delta")
        def collect(event: Any) -> None:
            threads.add(threading.get_ident())
            deltas.append(event.delta)

        with s.stream("response.done") as dones:
            s.send_text("hello")
            done = dones.receive(timeout=10)
        assert done.response.status == "completed"
        assert "".join(deltas) == "Hi there, nice to meet you!"
        assert threads == {s.thread_id}
        assert threading.get_ident() not in threads
        # The typed helpers block and return what the session returns.
        items = s.conversation.items
        assert [item.role for item in items] == ["user", "assistant"]
        request = s.response.create()
        finished = request.done()
        assert finished.response.status == "completed"
        assert s.response.active is False
        # Asked from this thread, answered on the loop's.
        assert not s.listens_for("metrics.response")
        with s.stream("metrics.*"):
            assert s.listens_for("metrics.response")
    assert s.closed
    assert s.session.closed


def test_sends_from_many_threads_all_arrive_in_per_thread_order(
    server: LocalRealtimeServer, backend: Any
) -> None:
    per_thread, count = 8, 25
    with SyncSession(url=server.url, backend=backend) as s:
        start = threading.Barrier(per_thread)

        def worker(n: int) -> None:
            start.wait()
            for i in range(count):
                s.conversation.item.create(
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": f"t{n}-{i}"}],
                    }
                )

        with s.stream("conversation.item.done") as done_items:
            threads = [threading.Thread(target=worker, args=(n,)) for n in range(per_thread)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for _ in range(per_thread * count):
                done_items.receive(timeout=10)
        texts = user_texts(server)
        assert sorted(texts) == sorted(f"t{n}-{i}" for n in range(per_thread) for i in range(count))
        for n in range(per_thread):
            mine = [t for t in texts if t.startswith(f"t{n}-")]
            assert mine == [f"t{n}-{i}" for i in range(count)]
        assert len(s.conversation.items) == per_thread * count


def test_wait_for_from_a_thread_and_close_from_another(
    server: LocalRealtimeServer, backend: Any
) -> None:
    s = SyncSession(Session(url=server.url, output_modalities=["text"]), backend=backend).start()
    got: list[Any] = []
    waiting = threading.Event()

    def waiter() -> None:
        waiting.set()
        got.append(s.wait_for("response.done", timeout=10))

    thread = threading.Thread(target=waiter)
    with s.stream("response.created") as created:
        thread.start()
        waiting.wait()
        # The waiter registers on the loop thread; by the time a response exists it is
        # registered, since response.done comes after response.created.
        s.send_text("hello")
        created.receive(timeout=10)
    thread.join(timeout=10)
    assert got[0].type == "response.done"

    # A thread blocked waiting sees SessionClosedError when another closes the session.
    failures: list[BaseException] = []
    registered = threading.Event()

    def seen(event: Any) -> bool:
        registered.set()  # the waiter is registered: it sees events
        return False

    def blocked() -> None:
        try:
            s.wait_for("*", where=seen, timeout=30)
        except BaseException as exc:
            failures.append(exc)

    blocker = threading.Thread(target=blocked)
    blocker.start()
    while not registered.is_set():
        s.send_text("ping", respond=False)
        registered.wait(0.05)
    closer = threading.Thread(target=s.close)
    closer.start()
    closer.join(timeout=15)
    blocker.join(timeout=15)
    assert not closer.is_alive()
    assert not blocker.is_alive()
    assert isinstance(failures[0], SessionClosedError)
    assert s.closed
    assert s.wait_closed(0)
    with pytest.raises(SessionClosedError):
        s.send_text("too late")
    s.close()  # twice is fine


def test_handlers_run_in_order_and_can_close_the_session(
    server: LocalRealtimeServer, backend: Any
) -> None:
    order: list[str] = []
    s = SyncSession(url=server.url, output_modalities=["text"], backend=backend)
    with s:
        s.on("response.done", lambda e: order.append("first"))

        def register_late() -> None:
            s.on("response.done", lambda e: order.append("second"))

        thread = threading.Thread(target=register_late)
        thread.start()
        thread.join()

        @s.on("response.done")
        def third(event: Any) -> None:
            order.append("third")
            # Blocking calls are refused on the loop thread, with a clear reason...
            try:
                s.send_text("from a handler")
            except RealtimeError as exc:
                order.append("refused" if "handler" in str(exc) else repr(exc))
            # ...but close is fine: it is carried out by another thread.
            s.close()

        s.send_text("hello")
        assert s.wait_closed(timeout=10)
    assert order == ["first", "second", "third", "refused"]


def test_a_failed_start_stops_the_loop_thread(backend: Any) -> None:
    before = threading.active_count()
    s = SyncSession(url="ws://127.0.0.1:9/v1/realtime", backend=backend, open_timeout=2)
    with pytest.raises(ConnectionFailedError):
        s.start()
    assert threading.active_count() == before
    assert s.closed


def test_a_stream_ends_when_another_thread_closes_the_session(
    server: LocalRealtimeServer, backend: Any
) -> None:
    s = SyncSession(url=server.url, output_modalities=["text"], backend=backend).start()
    seen: list[str] = []
    with s.stream("*") as events:
        s.send_text("hello", respond=False)
        for event in events:
            seen.append(event.type)
            if event.type == "conversation.item.done":
                threading.Thread(target=s.close).start()
    assert "conversation.item.done" in seen
    assert s.wait_closed(timeout=10)
    assert s.closed


class Counter:
    """A helper the facade was never told about: async methods and plain attributes."""

    def __init__(self) -> None:
        self.count = 0
        self.thread: int | None = None

    async def add(self, n: int) -> int:
        self.thread = threading.get_ident()
        self.count += n
        return self.count

    async def child(self) -> Counter:
        return Counter()


def test_objects_with_async_methods_are_proxied_and_plain_values_are_not(
    server: LocalRealtimeServer, backend: Any
) -> None:
    with SyncSession(url=server.url, output_modalities=["text"], backend=backend) as s:
        counter = BlockingProxy(Counter(), s._portal)
        assert counter.add(2) == 2
        assert counter.thread == s.thread_id  # run on the loop thread
        child = counter.child()
        assert isinstance(child, BlockingProxy)
        assert child.add(5) == 5
        assert counter.count == 2
        # The session's own helpers, by the same rule.
        assert isinstance(s.conversation.item, BlockingProxy)
        request = s.response.create()
        assert isinstance(request, BlockingProxy)
        done = request.done()
        assert isinstance(done, ResponseDoneEvent)
        assert s.response.current is None
        items = s.conversation.items
        assert isinstance(items, list)
        assert items
        assert not any(isinstance(item, BlockingProxy) for item in items)


def test_a_call_s_own_runtime_error_is_not_taken_for_a_closed_session(
    server: LocalRealtimeServer, backend: Any
) -> None:
    def fails() -> None:
        raise RuntimeError("This portal is not running")  # anyio's words, from the call

    with SyncSession(url=server.url, backend=backend) as s:
        with pytest.raises(RuntimeError, match="not running") as caught:
            s.call(fails)
        assert not isinstance(caught.value, SessionClosedError)
        s.send_text("still open", respond=False)
        assert not s.closed


def test_a_call_that_reaches_a_stopped_loop_says_the_session_closed(backend: Any) -> None:
    # The state a thread sees when it took the portal just before another closed it.
    state = _Portal()
    with start_blocking_portal(backend) as portal:
        state.open(portal)
        assert state.call(operator.add, 1, 2) == 3
        state.stop(portal)
        with pytest.raises(SessionClosedError):
            state.call(operator.add, 1, 2)
        state.stop(portal)  # twice is fine


def _stop_amid_calls(backend: str, callers: int) -> tuple[list[str], list[BaseException]]:
    """Stop a portal while ``callers`` threads hand it calls; the warnings, the odd errors."""
    state = _Portal()
    unexpected: list[BaseException] = []
    ready = threading.Barrier(callers + 1)

    def caller() -> None:
        ready.wait()
        while True:
            try:
                state.call(operator.add, 1, 2)
            except SessionClosedError:
                return
            except BaseException as exc:
                unexpected.append(exc)
                return

    gc.collect()  # earlier tests' garbage warns on its own account, not here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        with start_blocking_portal(backend) as portal:
            state.open(portal)
            threads = [threading.Thread(target=caller) for _ in range(callers)]
            for thread in threads:
                thread.start()
            ready.wait()
            time.sleep(0.002)
            state.stop(portal)
        for thread in threads:
            thread.join(timeout=15)
        assert not any(thread.is_alive() for thread in threads)
        gc.collect()  # an unawaited coroutine warns when it is collected
    return [str(w.message) for w in caught if w.category is RuntimeWarning], unexpected


def test_no_call_reaches_the_loop_once_its_stop_began(backend: Any) -> None:
    # A call that slipped in as the loop's task group closed was refused there,
    # and on trio its coroutine was left unawaited: a RuntimeWarning in about one
    # stop in ten with 16 threads calling.
    for _ in range(40):
        assert _stop_amid_calls(backend, callers=16) == ([], [])


def test_calls_racing_a_close_fail_only_with_session_closed(
    server: LocalRealtimeServer, backend: Any
) -> None:
    s = SyncSession(url=server.url, backend=backend).start()
    callers = 4
    unexpected: list[BaseException] = []
    answered = [0] * callers
    ready = threading.Barrier(callers + 1)

    def caller(n: int) -> None:
        ready.wait()
        while True:
            try:
                s.response.active  # noqa: B018 - a blocking read on the loop thread
            except SessionClosedError:
                return
            except BaseException as exc:
                unexpected.append(exc)
                return
            answered[n] += 1

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    ready.wait()
    s.close()
    for thread in threads:
        thread.join(timeout=15)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert s.closed


def test_once_runs_for_the_first_matching_event_only(
    server: LocalRealtimeServer, backend: Any
) -> None:
    firsts: list[str] = []
    with SyncSession(url=server.url, output_modalities=["text"], backend=backend) as s:

        @s.once("response.output_text.delta")
        def first(event: Any) -> None:
            firsts.append(event.delta)

        s.ask("hello", timeout=10)
        s.ask("again", timeout=10)
    assert len(firsts) == 1
    assert "Hi there, nice to meet you!".startswith(firsts[0])
