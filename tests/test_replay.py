"""Replaying the conversation after a reconnect: faithful, and not announced twice.

A function call keeps its arguments from whichever event carried them, even
when the connection dropped before the call's item was done. The server's
echoes of restored items are absorbed by the mirror, so handlers of
``conversation.item.*`` run once per item however many reconnects happen.
The end-to-end tests run against a peer written here with plain
``websockets``, in a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from realtime_events import ReconnectPolicy, Session
from realtime_events.events import ClientEvent
from realtime_events.events.names import Dialect

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _components import Components, components, server_event

pytestmark = pytest.mark.anyio

DIALECTS = ["ga", "beta"]
TIMEOUT = 20  # a hang guard, not a timing expectation
ARGUMENTS = '{"city": "Paris"}'
CALL = {"id": "item_call", "type": "function_call", "call_id": "call_1", "name": "get_weather"}


def output(kind: str, **fields: Any) -> Any:
    return server_event(kind, response_id="resp_1", output_index=0, **fields)


def announced(dialect: Dialect, item: dict[str, Any], previous: str | None = None) -> list[Any]:
    """How a server announces a new item: ``created`` in beta, ``added`` then ``done`` in GA."""
    if dialect == "beta":
        return [server_event("conversation.item.created", item=item, previous_item_id=previous)]
    return [
        server_event(kind, item=item, previous_item_id=previous)
        for kind in ("conversation.item.added", "conversation.item.done")
    ]


def replayed_call(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    [call] = [payload for payload in payloads if payload["type"] == "function_call"]
    return call


# -- function calls: arguments from whichever event carried them --------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("last", ["delta", "arguments.done", "output_item.done"])
async def test_a_call_is_replayed_with_the_arguments_it_had(dialect: Dialect, last: str) -> None:
    async with components(dialect) as parts:
        await parts.feed(output("response.output_item.added", item={**CALL, "arguments": ""}))
        # GA announces the item at once; beta's conversation.item.created carries no arguments.
        await parts.feed(announced(dialect, {**CALL, "arguments": ""})[0])
        call = {"item_id": CALL["id"], "call_id": CALL["call_id"]}
        for delta in ('{"city": ', '"Paris"}'):
            await parts.feed(output("response.function_call_arguments.delta", **call, delta=delta))
        if last != "delta":
            name = {"name": CALL["name"]} if dialect == "ga" else {}  # beta never sends it
            await parts.feed(
                output("response.function_call_arguments.done", **call, arguments=ARGUMENTS, **name)
            )
        if last == "output_item.done":
            done = {**CALL, "arguments": ARGUMENTS, "status": "completed"}
            await parts.feed(output("response.output_item.done", item=done))
        # The connection drops here: what the next server session gets.
        replayed = replayed_call(parts.conversation.replayable())
    assert replayed == {**CALL, "arguments": ARGUMENTS}


async def test_arguments_known_from_done_events_alone_are_kept() -> None:
    async with components("beta") as parts:
        # No output_item.added or deltas seen (attached late): the done events fill the item.
        await parts.feed(*announced("beta", {**CALL, "arguments": ""}))
        done = {"item_id": CALL["id"], "call_id": CALL["call_id"], "arguments": ARGUMENTS}
        await parts.feed(output("response.function_call_arguments.done", **done))
        assert replayed_call(parts.conversation.replayable())["arguments"] == ARGUMENTS
        await parts.feed(output("response.output_item.done", item={**CALL, "arguments": ""}))
        assert replayed_call(parts.conversation.replayable())["arguments"] == ARGUMENTS


# -- echoes of restored items ---------------------------------------------------------


def message(item_id: str, role: str, text: str) -> dict[str, Any]:
    kind = "input_text" if role == "user" else "output_text"
    content = [{"type": kind, "text": text}]
    return {"id": item_id, "type": "message", "role": role, "content": content}


async def restore(parts: Components) -> list[dict[str, Any]]:
    """Restore the mirror into a list; return the item payloads written."""
    written: list[ClientEvent] = []

    async def write(event: ClientEvent) -> None:
        written.append(event)

    await parts.conversation.restore(write)
    return [event.item for event in written]  # type: ignore[attr-defined]


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_echoes_of_restored_items_are_absorbed_and_nothing_else_is(
    dialect: Dialect,
) -> None:
    async with components(dialect) as parts:
        conversation = parts.conversation
        user = message("item_u", "user", "hello")
        await parts.feed(*announced(dialect, user))
        await parts.feed(*announced(dialect, {**CALL, "arguments": ARGUMENTS}, "item_u"))
        before = [item.model_dump() for item in conversation.items]
        assert not any(conversation.absorb(event) for event in announced(dialect, user))

        # An item sent on the old connection and never confirmed: resent, not an echo.
        await conversation.item.create(message("item_new", "user", "are you there?"))
        payloads = await restore(parts)
        assert [p["id"] for p in payloads] == ["item_u", "item_call", "item_new"]

        echoes = [*announced(dialect, user), *announced(dialect, {**CALL, "arguments": "{}"})]
        assert [conversation.absorb(event) for event in echoes] == [True] * len(echoes)
        # The mirror keeps its own copies (the echo's "{}" does not replace the arguments).
        assert [item.model_dump() for item in conversation.items] == before
        # Once an item's last echo is in, later announcements of it are news again.
        assert not conversation.absorb(echoes[-1])
        # Neither the resent item's confirmation, nor other items, nor other events are echoes.
        confirmation = announced(dialect, message("item_new", "user", "are you there?"))
        assert not any(conversation.absorb(event) for event in confirmation)
        assert "item_new" not in conversation  # absorb changed nothing: dispatch will add it
        other = announced(dialect, message("item_other", "assistant", "hi"), "item_call")
        assert not any(conversation.absorb(event) for event in other)
        deleted = server_event("conversation.item.deleted", item_id="item_u")
        assert not conversation.absorb(deleted)
        assert len(conversation) == 2


async def test_each_restore_replaces_the_items_it_absorbs_echoes_of() -> None:
    async with components("ga") as parts:
        conversation = parts.conversation
        for n in range(3):
            await parts.feed(*announced("ga", message(f"item_{n}", "user", f"message {n}")))
        await restore(parts)
        await parts.feed(server_event("conversation.item.deleted", item_id="item_0"))
        assert [p["id"] for p in await restore(parts)] == ["item_1", "item_2"]
        [added, _] = announced("ga", message("item_0", "user", "message 0"))
        assert not conversation.absorb(added)
        [added, _] = announced("ga", message("item_2", "user", "message 2"))
        assert conversation.absorb(added)


async def test_a_truncated_item_is_replayed_alike_after_every_reconnect() -> None:
    words = "one two three four five six seven eight"
    async with components("ga") as parts:
        conversation = parts.conversation
        item = {"id": "item_a", "type": "message", "role": "assistant", "content": []}
        await parts.feed(output("response.output_item.added", item=item))
        part = {"item_id": "item_a", "content_index": 0}
        await parts.feed(output("response.content_part.added", **part, part={"type": "audio"}))
        audio = "AAAA" * 8000  # 24000 bytes: 500 ms of pcm16 at 24 kHz
        await parts.feed(output("response.output_audio.delta", **part, delta=audio))
        await parts.feed(output("response.output_audio_transcript.delta", **part, delta=words))
        await parts.feed(server_event("conversation.item.truncated", **part, audio_end_ms=250))
        heard: list[str] = []
        for _ in range(3):  # three reconnects, each echoing the replay
            [payload] = await restore(parts)
            heard.append(payload["content"][0]["text"])
            for echo in announced("ga", payload):
                assert conversation.absorb(echo)
    assert heard[0] == "one two three four five"  # half the audio: the word under way counts
    assert heard == [heard[0]] * 3


# -- end to end, against a peer of our own ------------------------------------------


class DroppingPeer:
    """A Realtime server that answers a turn with a function call and drops mid-call.

    The first connection announces the user's item, then streams a function
    call up to ``response.function_call_arguments.done`` and closes with 1011
    before ``response.output_item.done``. Each later connection announces the
    items the client replays, and the first ``drops`` of them close with 1011
    once the replay is in. Every client event is recorded per connection.
    """

    def __init__(self, dialect: Dialect, *, drops: int, replayed: int) -> None:
        self.dialect = dialect
        self.drops = drops
        self.replayed = replayed
        self.connections: list[list[dict[str, Any]]] = []
        self.settled = threading.Event()  # the last connection got the whole replay
        self.port = 0
        self._ids = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @contextmanager
    def running(self) -> Iterator[DroppingPeer]:
        ready = threading.Event()
        thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True)
        thread.start()
        if not ready.wait(TIMEOUT):
            raise RuntimeError("the peer did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            assert self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(TIMEOUT)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._serve, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            ready.set()
            await self._stop.wait()

    async def _send(self, ws: ServerConnection, kind: str, **fields: Any) -> None:
        await ws.send(json.dumps({"type": kind, "event_id": f"evt_{next(self._ids)}", **fields}))

    async def _announce(self, ws: ServerConnection, item: dict[str, Any], previous: Any) -> None:
        item = {**item, "object": "realtime.item", "status": "completed"}
        kinds = ["conversation.item.created"] if self.dialect == "beta" else []
        kinds = kinds or ["conversation.item.added", "conversation.item.done"]
        for kind in kinds:
            await self._send(ws, kind, item=item, previous_item_id=previous)

    async def _serve(self, ws: ServerConnection) -> None:
        index = len(self.connections)
        received: list[dict[str, Any]] = []
        self.connections.append(received)
        with contextlib.suppress(ConnectionClosed):  # the client may leave at any point
            await self._converse(ws, index, received)

    async def _converse(
        self, ws: ServerConnection, index: int, received: list[dict[str, Any]]
    ) -> None:
        last: str | None = None
        await self._send(ws, "session.created", session={"id": f"sess_{index}"})
        async for message in ws:
            event = json.loads(message)
            received.append(event)
            kind = event["type"]
            if kind == "session.update":
                await self._send(ws, "session.updated", session={"id": f"sess_{index}"})
            elif kind == "conversation.item.create":
                await self._announce(ws, event["item"], last)
                last = event["item"]["id"]
                creates = sum(e["type"] == "conversation.item.create" for e in received)
                if index and creates == self.replayed:
                    if index <= self.drops:
                        await ws.close(1011, "dropped after the replay")
                        return
                    self.settled.set()
            elif kind == "response.create" and index == 0:
                await self._call_and_drop(ws, last)
                return

    async def _call_and_drop(self, ws: ServerConnection, previous: str | None) -> None:
        ids = {"response_id": "resp_1", "output_index": 0}
        call = {"item_id": CALL["id"], "call_id": CALL["call_id"]}
        await self._send(ws, "response.created", response={"id": "resp_1", "status": "in_progress"})
        await self._send(ws, "response.output_item.added", **ids, item={**CALL, "arguments": ""})
        announce = (
            "conversation.item.added" if self.dialect == "ga" else "conversation.item.created"
        )
        item = {**CALL, "arguments": "", "object": "realtime.item", "status": "in_progress"}
        await self._send(ws, announce, item=item, previous_item_id=previous)
        for delta in ('{"city": ', '"Paris"}'):
            await self._send(
                ws, "response.function_call_arguments.delta", **ids, **call, delta=delta
            )
        name = {"name": CALL["name"]} if self.dialect == "ga" else {}
        await self._send(
            ws, "response.function_call_arguments.done", **ids, **call, arguments=ARGUMENTS, **name
        )
        await ws.close(1011, "dropped before response.output_item.done")


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_a_call_cut_off_is_replayed_whole_and_items_are_announced_once(
    dialect: Dialect,
) -> None:
    drops = 5
    peer = DroppingPeer(dialect, drops=drops, replayed=2)
    retry = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=50)
    announcements: Counter[tuple[str, str | None]] = Counter()
    with peer.running():
        session = Session(url=peer.url, dialect=dialect, reconnect=retry)

        @session.on("conversation.item.*")
        def count(event: Any) -> None:
            announcements[(event.type, event.item.id)] += 1

        async with session:
            await session.send_text("what is the weather in Paris?")
            settled = await anyio.to_thread.run_sync(peer.settled.wait, TIMEOUT)
            assert settled, "the peer never got the last replay"
            # The peer handles events in order: once this is answered, every echo was read.
            async with session.stream("session.updated") as updates:
                await session.update()
                await updates.receive(timeout=TIMEOUT)

    user_id = peer.connections[0][1]["item"]["id"]
    assert len(peer.connections) == drops + 2
    for received in peer.connections[1:]:
        replayed = [e["item"] for e in received if e["type"] == "conversation.item.create"]
        assert [item["id"] for item in replayed] == [user_id, CALL["id"]]
        assert replayed[1] == {**CALL, "arguments": ARGUMENTS}
    # Each item was announced as the first connection announced it, and never again.
    if dialect == "ga":
        expected = {
            ("conversation.item.added", user_id): 1,
            ("conversation.item.done", user_id): 1,
            ("conversation.item.added", CALL["id"]): 1,
        }
    else:
        expected = {
            ("conversation.item.created", user_id): 1,
            ("conversation.item.created", CALL["id"]): 1,
        }
    assert dict(announcements) == expected
