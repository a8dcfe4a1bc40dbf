"""Tools in a real session against the local server's scripted model, on asyncio and trio."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

from realtime_events import ReconnectPolicy, Session
from realtime_events.events import ResponseDoneEvent
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events_tools import ToolCall, ToolError, Tools

pytestmark = pytest.mark.anyio

TIMEOUT = 10  # a hang guard, not a timing expectation


@asynccontextmanager
async def running(
    model: ScriptedModel,
    tools: Tools,
    *,
    pace: float = 0.0,
    server_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[LocalRealtimeServer, Session]]:
    """A local server with ``model``, and a text session using ``tools`` connected to it."""
    options.setdefault("output_modalities", ["text"])
    async with LocalRealtimeServer(model=model, pace=pace, **(server_options or {})) as server:
        session = Session(url=server.url, **options)
        session.use(tools)
        async with session:
            yield server, session


def sent(server: LocalRealtimeServer, kind: str) -> list[dict[str, Any]]:
    """The client events of one type the server received, on its latest connection."""
    return [event for event in server.connection.received if event["type"] == kind]


def outputs(server: LocalRealtimeServer) -> dict[str, list[str]]:
    """The function outputs the server received on its latest connection, by call id."""
    return outputs_of(server.connection.received)


def outputs_of(received: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The function outputs among client events, by call id."""
    found: dict[str, list[str]] = {}
    for event in received:
        item = event.get("item") or {}
        if (
            event["type"] == "conversation.item.create"
            and item.get("type") == "function_call_output"
        ):
            found.setdefault(item["call_id"], []).append(item["output"])
    return found


def answer(done: ResponseDoneEvent) -> str:
    """The text the model said in a response."""
    return "".join(item.text for item in done.response.output or ())


async def turn(session: Session, text: str, responses: int = 2) -> list[ResponseDoneEvent]:
    """Say ``text`` and return that many ``response.done`` events: the call, then the answer."""
    with anyio.fail_after(TIMEOUT):
        async with session.stream("response.done") as dones:
            await session.send_text(text)
            return [await dones.receive() for _ in range(responses)]


def collect(session: Session, name: str) -> list[Any]:
    """Record the events called ``name`` as they are dispatched (plugin events: ``Any``)."""
    events: list[Any] = []
    session.on(name, events.append)
    return events


class Weather(BaseModel):
    city: str
    temp_c: int


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_a_call_is_answered_and_the_model_speaks_from_its_output(dialect: str) -> None:
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
    )
    tools = Tools()
    ran: list[str] = []

    @tools.function
    async def get_weather(city: str) -> Weather:
        """Current weather for a city."""
        ran.append(city)
        return Weather(city=city, temp_c=21)

    async with running(model, tools, dialect=dialect) as (server, session):
        finished = collect(session, "tools.call_finished")
        call_done, answered = await turn(session, "What's the weather?")

    assert answer(answered) == "It is 21 degrees in Paris."
    # Seen in three events (arguments.done, output_item.done, response.done): run once.
    assert ran == ["Paris"]
    [call_item] = [i for i in call_done.response.output or () if i.type == "function_call"]
    assert outputs(server) == {call_item.call_id: ['{"city":"Paris","temp_c":21}']}
    types = [e["type"] for e in server.connection.received]
    assert types.count("response.create") == 2
    assert types[-2:] == ["conversation.item.create", "response.create"]  # output, then reply
    [event] = finished
    assert event.call.ok
    assert event.result == Weather(city="Paris", temp_c=21)
    assert event.error is None
    assert event.duration >= 0
    assert server.connection.engine.session["tools"][0]["name"] == "get_weather"


async def test_parallel_calls_run_together_and_get_one_response_create() -> None:
    model = (
        ScriptedModel()
        .when("compare")
        .call("get_weather", city="Paris")
        .call("get_weather", city="Rome")
        .when(tool_output=True)
        .say("Compared.")
    )
    tools = Tools()
    started = 0
    both_running = anyio.Event()

    @tools.function
    async def get_weather(city: str) -> dict[str, Any]:
        """Current weather for a city."""
        nonlocal started
        started += 1
        if started == 2:
            both_running.set()
        await both_running.wait()  # only returns if the two calls run at the same time
        return {"city": city, "temp_c": 20}

    async with running(model, tools) as (server, session):
        batches = collect(session, "tools.batch_finished")
        call_done, answered = await turn(session, "compare Paris and Rome")

    assert answer(answered) == "Compared."
    assert len(outputs(server)) == 2
    types = [e["type"] for e in server.connection.received]
    assert types.count("response.create") == 2  # the user's turn, and one for the batch
    assert types[-3:] == ["conversation.item.create", "conversation.item.create", "response.create"]
    [batch] = batches
    assert batch.response_id == call_done.response.id
    assert sorted(json.loads(c.arguments)["city"] for c in batch.calls) == ["Paris", "Rome"]


async def test_calls_after_a_spoken_preamble_in_one_response_are_answered_once() -> None:
    # gpt-realtime-2 speaks a preamble, then calls, in the same response.
    model = (
        ScriptedModel()
        .when("compare")
        .call("get_weather", city="Paris")
        .call("get_weather", city="Rome")
        .when(tool_output=True)
        .say("Compared.")
    )
    tools = Tools()
    cities: list[str] = []

    @tools.function
    def get_weather(city: str) -> dict[str, Any]:
        """Current weather for a city."""
        cities.append(city)
        return {"city": city, "temp_c": 20}

    multi = {"session_defaults": {"model": "gpt-realtime-2"}}
    async with running(model, tools, server_options=multi, output_modalities=["audio"]) as (
        server,
        session,
    ):
        batches = collect(session, "tools.batch_finished")
        reply = await session.ask("compare Paris and Rome", timeout=TIMEOUT)

    called, answered = reply.responses
    assert answered.status == "completed"
    kinds = [(item.type, item.role) for item in called.output or ()]
    assert kinds == [("message", "assistant"), ("function_call", None), ("function_call", None)]
    assert sorted(cities) == ["Paris", "Rome"]
    assert sorted(map(len, outputs(server).values())) == [1, 1]  # each call answered once
    assert [e["type"] for e in server.connection.received].count("response.create") == 2
    [batch] = batches
    assert batch.response_id == called.id
    assert reply.messages[-1] == "Compared."
    assert len(reply.messages) == 2  # the preamble, then the answer


def _failing_tools() -> Tools:
    tools = Tools()

    @tools.function
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tools.function
    async def explode() -> None:
        """Always fails."""
        raise ValueError("boom")

    @tools.function
    def refuse(city: str) -> None:
        """Fails with a message for the model."""
        raise ToolError(f"no weather station in {city}")

    @tools.function(timeout=0.05)
    async def hang() -> None:
        """Never returns."""
        await anyio.sleep_forever()

    return tools


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (("nope", {}), "there is no tool named 'nope' (available: add, explode, hang, refuse)"),
        (("add", "{not json"), "the arguments for add are not valid JSON"),
        (("add", {"a": "x"}), "invalid arguments for add: a: Input should be a valid integer"),
        (("explode", {}), "explode failed: ValueError: boom"),
        (("refuse", {"city": "Atlantis"}), "no weather station in Atlantis"),
        (("hang", {}), "hang did not finish within 0.05 seconds"),
    ],
    ids=["unknown", "bad-json", "bad-arguments", "exception", "tool-error", "timeout"],
)
async def test_every_failure_is_answered_once_with_a_readable_error(
    call: tuple[str, Any], error: str
) -> None:
    name, arguments = call
    model = ScriptedModel().when("go").call(name, arguments).when(tool_output=True).say("{error}")
    async with running(model, _failing_tools()) as (server, session):
        _, answered = await turn(session, "go")

    [(_, [output])] = outputs(server).items()
    message = json.loads(output)["error"]
    assert message.startswith(error)
    assert answer(answered) == message  # the model read it
    assert len(sent(server, "response.create")) == 2


async def test_an_interrupted_call_is_cancelled_and_answered_once() -> None:
    model = (
        ScriptedModel()
        .when("look up")
        .call("lookup", key="a")
        .say("Let me look that up for you, this could take quite a while to finish.")
        .when("ping")
        .say("pong")
    )
    tools = Tools()
    cancelled = anyio.Event()

    @tools.function(cancel_on_interruption=True)
    async def lookup(key: str) -> str:
        """Slow lookup."""
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return "unreachable"

    # Real-time pacing keeps the response's speech going while the user interrupts.
    async with running(model, tools, pace=1.0, output_modalities=["audio"]) as (server, session):
        batches = collect(session, "tools.batch_finished")
        with anyio.fail_after(TIMEOUT):
            async with session.stream("tools.*") as events:
                await session.send_text("look up a")
                assert (await events.receive()).type == "tools.call_started"
                done = await session.response.cancel()  # what barge-in does
                assert done is not None
                assert done.response.status == "cancelled"
                finished = await events.receive()
                assert finished.type == "tools.call_finished"
                assert (await events.receive()).type == "tools.batch_finished"
        await cancelled.wait()
        server.connection.pace = 0.0  # no need to hear "pong" in real time
        # Only the user's new turn gets a response: nothing was asked for the batch.
        [pong] = await turn(session, "ping", responses=1)
        assert answer(pong) == "pong"

    assert finished.call.interrupted
    [(_, [output])] = outputs(server).items()
    assert json.loads(output)["error"] == (
        "the call to lookup was cancelled because the user interrupted; it did not complete"
    )
    assert len(sent(server, "response.create")) == 2  # "look up a" and "ping"
    assert len(batches) == 1


async def test_a_call_that_ignores_interruptions_finishes_and_gets_a_reply() -> None:
    model = (
        ScriptedModel()
        .when("book")
        .call("book_table", time="19:00")
        .say("Booking your table now, this takes a moment, please bear with me while I do it.")
        .when(tool_output="book_table")
        .say("Booked: {output}")
    )
    tools = Tools()
    release = anyio.Event()

    @tools.function  # cancel_on_interruption defaults to False: a booking must not stop halfway
    async def book_table(time: str) -> str:
        """Book a table."""
        await release.wait()
        return f"table at {time}"

    async with running(model, tools, pace=1.0, output_modalities=["audio"]) as (server, session):
        with anyio.fail_after(TIMEOUT):
            async with session.stream("response.done") as dones:
                async with session.stream("tools.call_started") as started:
                    await session.send_text("book a table")
                    await started.receive()
                await session.response.cancel()
                assert (await dones.receive()).response.status == "cancelled"
                server.connection.pace = 0.0  # no need to wait for the rest in real time
                release.set()
                booked = await dones.receive()

    assert answer(booked) == "Booked: table at 19:00"
    assert list(outputs(server).values()) == [["table at 19:00"]]


async def test_a_blocking_sync_tool_does_not_stall_the_session() -> None:
    model = (
        ScriptedModel()
        .when("slow")
        .call("blocking")
        .when(tool_output="blocking")
        .say("Finally: {output}")
        .when("ping")
        .say("pong")
    )
    tools = Tools()
    release = threading.Event()

    @tools.function
    def blocking() -> str:
        """Blocks its thread, like time.sleep or a synchronous HTTP call."""
        release.wait(TIMEOUT)
        return "released"

    async with running(model, tools) as (_server, session):
        with anyio.fail_after(TIMEOUT):
            async with session.stream("response.done") as dones:
                await session.send_text("slow")
                await dones.receive()  # the response that made the call
                # The tool is blocked in its thread; the session still serves a turn.
                await session.send_text("ping")
                pong = await dones.receive()
                assert answer(pong) == "pong"
                assert tools.running[0].name == "blocking"
                release.set()
                finally_ = await dones.receive()
    assert answer(finally_) == "Finally: released"


@pytest.mark.parametrize("hook", ["sync", "async"])
async def test_approval_lets_some_calls_run_and_rejects_others(hook: str) -> None:
    model = (
        ScriptedModel()
        .when("delete")
        .call("delete_file", path="notes.txt")
        .call("delete_file", path="/etc/passwd")
        .when(tool_output=True)
        .say("Done.")
    )
    asked: list[str] = []

    def decide(call: ToolCall) -> bool:
        path = json.loads(call.arguments)["path"]
        asked.append(path)
        return not path.startswith("/")

    async def decide_async(call: ToolCall) -> bool:
        await anyio.lowlevel.checkpoint()
        return decide(call)

    approve: Callable[[ToolCall], Any] = decide if hook == "sync" else decide_async
    tools = Tools(approve=approve)
    deleted: list[str] = []

    @tools.function(needs_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file."""
        deleted.append(path)
        return f"deleted {path}"

    async with running(model, tools) as (server, session):
        finished = collect(session, "tools.call_finished")
        await turn(session, "delete my files")

    assert sorted(asked) == ["/etc/passwd", "notes.txt"]
    assert deleted == ["notes.txt"]
    by_path = {json.loads(e.call.arguments)["path"]: e.call.output for e in finished}
    assert by_path["notes.txt"] == "deleted notes.txt"
    assert json.loads(by_path["/etc/passwd"]) == {
        "error": "the call to delete_file was rejected by the application"
    }
    assert len(sent(server, "response.create")) == 2


def has_tools(event: Any) -> bool:
    return bool(event.session.tools)


def has_no_tools(event: Any) -> bool:
    return not event.session.tools


async def test_tools_added_and_removed_at_runtime_are_sent_to_the_server() -> None:
    model = (
        ScriptedModel().when("stock").call("stock", sku="A1").when(tool_output=True).say("{output}")
    )
    tools = Tools()

    async with running(model, tools) as (server, session):
        with anyio.fail_after(TIMEOUT):
            async with session.stream("session.updated", where=has_tools) as updates:
                tools.add(
                    "stock",
                    {
                        "type": "object",
                        "properties": {"sku": {"type": "string"}},
                        "required": ["sku"],
                    },
                    lambda args: {"sku": args["sku"], "count": 3},
                    description="Units in stock.",
                )
                updated = await updates.receive()
        assert [t["name"] for t in updated.session.tools or ()] == ["stock"]
        _, answered = await turn(session, "stock of A1?")
        assert answer(answered) == '{"sku":"A1","count":3}'

        with anyio.fail_after(TIMEOUT):
            async with session.stream("session.updated", where=has_no_tools) as updates:
                tools.remove("stock")
                updated = await updates.receive()
        assert updated.session.tools == []
    assert len(sent(server, "session.update")) == 3  # on connect, after add, after remove


async def test_a_call_running_across_a_reconnect_is_answered_once() -> None:
    model = (
        ScriptedModel()
        .when("slow")
        .call("slow_lookup")
        .when(tool_output="slow_lookup")
        .say("Result: {output}")
    )
    tools = Tools()
    release = anyio.Event()

    @tools.function
    async def slow_lookup() -> str:
        """Slow."""
        await release.wait()
        return "42"

    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.01)
    async with running(model, tools, reconnect=policy) as (server, session):
        with anyio.fail_after(TIMEOUT):
            async with session.stream("response.done") as dones:
                async with session.stream("tools.call_started") as started:
                    await session.send_text("slow")
                    await started.receive()
                await dones.receive()
                first = server.connection
                # The tool finishes while the session notices the drop: its output
                # must reach the next connection, once, whichever comes first.
                await first.drop()
                release.set()
                answered = await dones.receive()

    assert answer(answered) == "Result: 42"
    assert not outputs_of(first.received)
    second = server.connection
    assert second is not first
    assert list(outputs_of(second.received).values()) == [["42"]]
    replayed = [
        e["item"]["type"] for e in second.received if e["type"] == "conversation.item.create"
    ]
    assert replayed.index("function_call") < replayed.index("function_call_output")
