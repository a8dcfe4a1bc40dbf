"""The mirror replays images and MCP items into a new server session (issue 15).

After a reconnect or ``session.restart()``, the mirror replays the conversation
with ``conversation.item.create``. Images (``input_image`` parts) and the MCP
items the API takes there (approval requests and responses, finished calls) are
replayed as they were; every replayed item is checked against the official
SDK's ``ConversationItemParam``, the shape the API accepts. Not replayed:
``mcp_list_tools`` (the new server session lists the tools itself), an MCP call
that had not finished, and images on beta, which has no image input.

End to end, images run against the local server (which accepts ``input_image``
items) and MCP items against a plain ``websockets`` server whose frames the
SDK's models build (``_multi_message_peer``); both restart the session.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai.types import realtime as sdk
from openai.types.realtime.conversation_item_param import ConversationItemParam
from pydantic import TypeAdapter

from realtime_events import Session
from realtime_events.audio import PCM16
from realtime_events.events import Event
from realtime_events.events.names import Dialect
from realtime_events.resources import image_message
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _components import components, server_event
from _multi_message_peer import TIMEOUT, MultiMessagePeer, frame, text

pytestmark = pytest.mark.anyio

JSON = dict[str, Any]
#: The shape the API takes in ``conversation.item.create`` (GA), per the SDK.
ACCEPTED: TypeAdapter[Any] = TypeAdapter(ConversationItemParam)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode("ascii")
QUESTION = "What is in this picture?"


def replayed_items(received: list[JSON]) -> list[JSON]:
    """The items a connection got with ``conversation.item.create``, in order."""
    return [event["item"] for event in received if event["type"] == "conversation.item.create"]


def check_accepted(items: list[JSON]) -> None:
    """Every item has a shape the API takes in ``conversation.item.create``."""
    for item in items:
        ACCEPTED.validate_python(item)


# -- images, against the local server -----------------------------------------------


async def test_an_image_survives_a_restart_where_it_stood(anyio_backend: str) -> None:
    model = ScriptedModel().otherwise("I see it.")
    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, output_modalities=["text"])
        errors: list[Event] = []
        session.on("error", errors.append)
        with anyio.fail_after(TIMEOUT):
            async with session:
                await session.send_image(PNG, text=QUESTION, detail="low")
                await session.ask("Describe it, please.", timeout=TIMEOUT)
                mirrored = [item.id for item in session.conversation.items]
                await session.restart()
                # The new server session holds the image: ask it for its copy.
                image_id = mirrored[0] or ""
                await session.conversation.item.retrieve(image_id)
                retrieved = await session.wait_for("conversation.item.retrieved")
                reply = await session.ask("And now?", timeout=TIMEOUT)
        first, fresh = (connection.received for connection in server.connections)
    assert reply.text == "I see it."
    assert errors == []  # the new server session took every replayed item
    replayed = replayed_items(fresh)
    assert [item["id"] for item in replayed[: len(mirrored)]] == mirrored
    image = replayed[0]
    # The image and its text, in their order, with the detail asked for: as first sent.
    assert image["content"] == [
        {"type": "input_image", "image_url": DATA_URL, "detail": "low"},
        {"type": "input_text", "text": QUESTION},
    ]
    assert image["content"] == replayed_items(first)[0]["content"]
    check_accepted(replayed)
    parts = retrieved.item.content or []
    assert [(part.type, part.image_url) for part in parts] == [
        ("input_image", DATA_URL),
        ("input_text", None),
    ]


# -- MCP items, against a plain websockets server --------------------------------------

LISTING = {
    "id": "mcpl_1",
    "type": "mcp_list_tools",
    "server_label": "docs",
    "tools": [{"name": "search", "input_schema": {"type": "object"}}],
}
REQUEST = {
    "id": "mcpr_1",
    "type": "mcp_approval_request",
    "server_label": "docs",
    "name": "search",
    "arguments": '{"q": "realtime"}',
}
CALL = {
    "id": "mcp_1",
    "type": "mcp_call",
    "server_label": "docs",
    "name": "search",
    "arguments": '{"q": "realtime"}',
    "approval_request_id": "mcpr_1",
    "output": "Three pages found.",
}
FAILED_CALL = {
    "id": "mcp_2",
    "type": "mcp_call",
    "server_label": "docs",
    "name": "search",
    "arguments": "{}",
    "error": {"type": "tool_execution_error", "message": "The tool timed out."},
}
UNFINISHED_CALL = {
    "id": "mcp_3",
    "type": "mcp_call",
    "server_label": "docs",
    "name": "search",
    "arguments": '{"q": "more"}',
}


def announce(*items: JSON) -> list[JSON]:
    """The server adds ``items`` to the conversation (GA: added, then done)."""
    frames: list[JSON] = []
    previous: str | None = None
    for item in items:
        for model, kind in (
            (sdk.ConversationItemAdded, "conversation.item.added"),
            (sdk.ConversationItemDone, "conversation.item.done"),
        ):
            frames.append(frame(model, kind, previous_item_id=previous, item=item))
        previous = item["id"]
    return frames


async def push(session: Session, peer: MultiMessagePeer, *items: JSON) -> None:
    """The server adds ``items``; return once the session has seen the last one done."""
    async with session.stream("conversation.item.done") as dones:
        await peer.push(*announce(*items))
        while (await dones.receive()).item.id != items[-1]["id"]:
            pass


async def test_mcp_items_survive_a_restart_as_the_api_takes_them(anyio_backend: str) -> None:
    with MultiMessagePeer().running() as peer:
        peer.respond(text("Here is what I found."))
        peer.respond(text("Still here."))
        session = Session(url=peer.url, model="gpt-realtime-2", output_modalities=["text"])
        with anyio.fail_after(TIMEOUT):
            async with session:
                await session.send_text("Search the docs.", respond=False)
                await push(session, peer, LISTING, REQUEST)
                await session.conversation.item.approve_mcp(REQUEST["id"], reason="fine")
                await push(session, peer, CALL, FAILED_CALL, UNFINISHED_CALL)
                await session.ask("What did you find?", timeout=TIMEOUT)
                mirrored = [item.id for item in session.conversation.items]
                before = len(peer.received)
                await session.restart()
                # A round trip: the peer has read the whole replay once it answers.
                await session.ask("Still there?", timeout=TIMEOUT)
        # The replay, without the new message that followed it.
        fresh = [i for i in replayed_items(peer.received[before:]) if i["id"] in mirrored]
    kinds = {item["id"]: item["type"] for item in fresh}
    assert "mcpl_1" not in kinds  # the new server session lists the tools itself
    assert "mcp_3" not in kinds  # it had not finished: it died with the old session
    approval = next(item for item in fresh if item["type"] == "mcp_approval_response")
    # Replayed in the mirror's order, ids kept.
    assert [item["id"] for item in fresh] == [i for i in mirrored if i in kinds]
    mcp = {i for i, kind in kinds.items() if kind.startswith("mcp")}
    assert mcp == {"mcpr_1", approval["id"], "mcp_1", "mcp_2"}
    by_id = {item["id"]: item for item in fresh}
    assert by_id["mcpr_1"] == REQUEST
    assert by_id["mcp_1"] == CALL
    assert by_id["mcp_2"] == FAILED_CALL
    assert approval == {
        "id": approval["id"],
        "type": "mcp_approval_response",
        "approval_request_id": "mcpr_1",
        "approve": True,
        "reason": "fine",
    }
    check_accepted(fresh)


# -- what each dialect takes ----------------------------------------------------------


def announced(dialect: Dialect, item: JSON) -> list[Event]:
    kinds = ["conversation.item.created"] if dialect == "beta" else ["conversation.item.added"]
    return [server_event(kind, item=item, previous_item_id=None) for kind in kinds]


async def test_beta_replays_an_image_message_as_its_text_and_no_mcp_item() -> None:
    async with components("beta") as parts:
        message = {"id": "item_img", **image_message(PNG, text=QUESTION)}
        await parts.feed(*announced("beta", message))
        await parts.feed(*announced("beta", REQUEST))
        replayed = parts.conversation.replayable()
    assert replayed == [
        {
            "id": "item_img",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": QUESTION}],
        }
    ]


async def test_an_image_alone_and_a_system_message() -> None:
    async with components("ga") as parts:
        alone = {"id": "item_alone", **image_message(PNG)}
        system = {
            "id": "item_sys",
            "type": "message",
            "role": "system",
            "content": [{"type": "input_text", "text": "Be brief."}],
        }
        await parts.feed(*announced("ga", alone), *announced("ga", system))
        replayed = parts.conversation.replayable()
    assert [item["content"] for item in replayed] == [
        [{"type": "input_image", "image_url": DATA_URL}],
        [{"type": "input_text", "text": "Be brief."}],
    ]
    check_accepted(replayed)


async def test_an_echo_without_the_image_data_keeps_what_was_sent() -> None:
    # A server that announces the item without its image_url must not cost the image.
    async with components("ga") as parts:
        await parts.conversation.item.create(image_message(PNG, text=QUESTION, detail="high"))
        (sent,) = parts.sent
        item = sent.model_dump(exclude_none=True)["item"]
        echo = {**item, "content": [{"type": "input_image"}, item["content"][1]]}
        await parts.feed(*announced("ga", echo))
        (replayed,) = parts.conversation.replayable()
    assert replayed["content"][0] == {
        "type": "input_image",
        "image_url": DATA_URL,
        "detail": "high",
    }


async def test_an_item_goes_right_after_the_item_it_follows_wherever_that_stands() -> None:
    def added(item_id: str, previous: str | None) -> Event:
        content = [{"type": "input_text", "text": item_id}]
        item = {"id": item_id, "type": "message", "role": "user", "content": content}
        return server_event("conversation.item.added", item=item, previous_item_id=previous)

    async with components("ga") as parts:
        await parts.feed(added("a", None), added("b", "a"), added("c", "b"))
        await parts.feed(added("x", "a"))  # after an item in the middle
        await parts.feed(added("d", "c"), added("e", "unknown"), added("f", None))
        assert [item.id for item in parts.conversation] == ["a", "x", "b", "c", "d", "e", "f"]
        assert parts.conversation.previous_id("b") == "x"


async def test_a_denial_is_replayed_as_one() -> None:
    async with components("ga") as parts:
        await parts.conversation.item.deny_mcp("mcpr_1")
        (sent,) = parts.sent
        denial = sent.model_dump(exclude_none=True)["item"]
        await parts.feed(*announced("ga", REQUEST), *announced("ga", denial))
        # A later copy that omits the answer keeps it: False is an answer.
        later = {key: value for key, value in denial.items() if key != "approve"}
        await parts.feed(server_event("conversation.item.done", item=later, previous_item_id=None))
        replayed = parts.conversation.replayable()
    assert replayed[1] == {
        "id": denial["id"],
        "type": "mcp_approval_response",
        "approval_request_id": "mcpr_1",
        "approve": False,
    }
    check_accepted(replayed)


# -- deltas -----------------------------------------------------------------------


def text_of(item: Any) -> str:
    """The text of an item's first content part."""
    return str(item.content[0].text)


@pytest.mark.anyio
async def test_deltas_extend_the_mirror_and_leave_a_text_read_earlier_as_it_was(
    anyio_backend: str,
) -> None:
    # The mirror extends the text in place where nothing else holds it: a string
    # a reader kept must still read as it did.
    item = {"id": "item_1", "type": "message", "role": "assistant", "content": []}
    function = {"id": "item_2", "type": "function_call", "call_id": "call_1", "name": "f"}
    at = {"response_id": "resp_1", "output_index": 0}
    async with components() as c:
        await c.feed(
            server_event("response.output_item.added", **at, item=item),
            server_event("response.output_item.added", **at, item=function),
        )
        words = [f"w{n} " for n in range(200)]
        kept: list[str] = []
        arguments_kept: list[str] = []
        for n, word in enumerate(words):
            await c.feed(
                server_event(
                    "response.output_text.delta",
                    **at,
                    item_id="item_1",
                    content_index=0,
                    delta=word,
                ),
                server_event(
                    "response.function_call_arguments.delta",
                    **at,
                    item_id="item_2",
                    call_id="call_1",
                    delta=word,
                ),
            )
            if n in (0, 99):
                kept.append(text_of(c.conversation.get("item_1")))
                arguments_kept.append(str(c.conversation.get("item_2").arguments))  # type: ignore[union-attr]
        message = c.conversation.get("item_1")
        assert text_of(message) == "".join(words)
        assert message is not None
        assert message.content is not None
        assert "text" in message.content[0].model_fields_set
        call = c.conversation.get("item_2")
        assert call is not None
        assert call.arguments == "".join(words)
    assert kept == [words[0], "".join(words[:100])]
    assert arguments_kept == [words[0], "".join(words[:100])]


@pytest.mark.anyio
async def test_deltas_reach_their_part_across_interleaved_parts_and_newer_copies(
    anyio_backend: str,
) -> None:
    # The mirror keeps the part the last delta went to: deltas that alternate
    # between items, parts and kinds, and an item placed again with parts of its
    # own, must each still land where they belong.
    one = {"id": "item_1", "type": "message", "role": "assistant", "content": []}
    two = {"id": "item_2", "type": "message", "role": "assistant", "content": []}
    at = {"response_id": "resp_1", "output_index": 0}

    def delta(kind: str, item_id: str, index: int, word: str) -> Event:
        return server_event(kind, **at, item_id=item_id, content_index=index, delta=word)

    text, transcript = "response.output_text.delta", "response.output_audio_transcript.delta"
    async with components() as c:
        await c.feed(
            server_event("response.output_item.added", **at, item=one),
            server_event("response.output_item.added", **at, item=two),
        )
        await c.feed(
            delta(text, "item_1", 0, "a"),
            delta(text, "item_2", 0, "b"),
            delta(text, "item_1", 1, "c"),
            delta(transcript, "item_1", 1, "d"),
            delta(text, "item_1", 0, "e"),
            delta(text, "item_1", 0, "f"),
        )
        first = c.conversation.get("item_1")
        assert first is not None
        assert first.content is not None
        assert [(p.text, p.transcript) for p in first.content] == [("aef", None), ("c", "d")]
        # A newer copy with its own parts replaces the mirror's: later deltas extend it.
        newer = {**one, "content": [{"type": "output_text", "text": "server"}]}
        await c.feed(
            server_event("conversation.item.retrieved", item=newer),
            delta(text, "item_1", 0, "!"),
        )
        first = c.conversation.get("item_1")
        assert first is not None
        assert first.content is not None
        assert first.content[0].text == "server!"
        second = c.conversation.get("item_2")
        assert second is not None
        assert second.content is not None
        assert second.content[0].text == "b"
        await c.feed(server_event("conversation.item.deleted", item_id="item_1"))
        await c.feed(delta(text, "item_1", 0, "gone"), delta(text, "item_2", 0, "c"))
        assert c.conversation.get("item_1") is None
        second = c.conversation.get("item_2")
        assert second is not None
        assert second.content is not None
        assert second.content[0].text == "bc"


@pytest.mark.anyio
async def test_audio_is_counted_per_part_exactly_whatever_the_padding(anyio_backend: str) -> None:
    # Chunks of 4800, 4801 and 4802 bytes: base64 without padding, with "==" and with "=".
    chunks = [bytes(range(256)) * 18 + bytes(n) for n in (192, 193, 194)]
    item = {"id": "item_1", "type": "message", "role": "assistant", "content": []}
    at = {"response_id": "resp_1", "output_index": 0, "item_id": "item_1"}
    async with components() as c:
        await c.feed(server_event("response.output_item.added", **at, item=item))
        for index, chunk in [(0, chunks[0]), (1, chunks[1]), (0, chunks[2]), (1, chunks[0])]:
            delta = base64.b64encode(chunk).decode("ascii")
            await c.feed(
                server_event("response.output_audio.delta", **at, content_index=index, delta=delta)
            )
        # Deltas for an item the mirror does not hold are not counted.
        stray = base64.b64encode(chunks[0]).decode("ascii")
        await c.feed(
            server_event(
                "response.output_audio.delta",
                **{**at, "item_id": "gone"},
                content_index=0,
                delta=stray,
            )
        )
        conversation = c.conversation
        first, second = len(chunks[0]) + len(chunks[2]), len(chunks[1]) + len(chunks[0])
        assert conversation.audio_received_bytes("item_1") == first + second
        assert conversation.audio_received_ms("item_1", 0) == PCM16.duration_ms(first)
        assert conversation.audio_received_ms("item_1", 1) == PCM16.duration_ms(second)
        assert conversation.audio_received_ms("item_1", 2) == 0
        assert conversation.audio_received_bytes("gone") == 0
