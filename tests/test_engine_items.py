"""The local server takes every MCP item the API takes in ``conversation.item.create``.

GA's ``conversation.item.create`` accepts ``mcp_list_tools``,
``mcp_approval_request`` and ``mcp_call`` items besides approval responses
(the official SDK's ``ConversationItemParam``): a client restoring a
conversation in a new server session sends them. Through the engine: each is
announced as the SDK's server events describe it and kept in the
conversation; a created call runs nothing and the model reads its output; each
field is checked with the real server's errors; beta has none of them. End to
end: a ``Session`` restarted against ``LocalRealtimeServer`` replays its MCP
items into the new server session without an error event.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai.types.realtime.conversation_item_param import ConversationItemParam
from pydantic import TypeAdapter

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import Client, Event, error_of, one, types

from realtime_events import Session
from realtime_events.events import Event as SessionEvent
from realtime_events.testing import LocalRealtimeServer
from realtime_events.testing.models import ScriptedModel

#: What the API takes in ``conversation.item.create`` (GA), per the SDK.
ACCEPTED: TypeAdapter[Any] = TypeAdapter(ConversationItemParam)
TIMEOUT = 30

LISTING = {
    "id": "mcpl_1",
    "type": "mcp_list_tools",
    "server_label": "docs",
    "tools": [
        {
            "name": "search",
            "input_schema": {"type": "object"},
            "description": "Search the docs.",
            "annotations": {"read_only": True},
        }
    ],
}
REQUEST = {
    "id": "mcpr_1",
    "type": "mcp_approval_request",
    "server_label": "docs",
    "name": "search",
    "arguments": '{"q": "realtime"}',
}
APPROVAL = {
    "id": "item_1",
    "type": "mcp_approval_response",
    "approval_request_id": "mcpr_1",
    "approve": True,
    "reason": "fine",
}
CALL = {
    "id": "mcp_1",
    "type": "mcp_call",
    "server_label": "docs",
    "name": "search",
    "arguments": '{"q": "realtime"}',
    "approval_request_id": "mcpr_1",
    "output": "Three pages.",
}
FAILED_CALL = {
    "id": "mcp_2",
    "type": "mcp_call",
    "server_label": "docs",
    "name": "search",
    "arguments": "{}",
    "error": {"type": "protocol_error", "code": -32602, "message": "Unknown tool: search"},
}
ITEMS: list[dict[str, Any]] = [LISTING, REQUEST, APPROVAL, CALL, FAILED_CALL]
ITEM_IDS = ["listing", "approval request", "approval response", "call", "failed call"]


class Searches:
    """The fake search tool, counting its calls: a created call must not run it."""

    def __init__(self) -> None:
        self.calls: list[Mapping[str, Any]] = []

    def __call__(self, arguments: Mapping[str, Any]) -> str:
        self.calls.append(arguments)
        return "Three pages."


def searcher(searches: Searches) -> ScriptedModel:
    return (
        ScriptedModel()
        .mcp_tool("docs", "search", result=searches, description="Search the docs.")
        .when("search")
        .call_mcp("docs", "search", q="realtime")
        .when(tool_output="search")
        .say("I found {output}")
        .otherwise("Still here.")
    )


def create(item: Mapping[str, Any]) -> Event:
    return {"type": "conversation.item.create", "item": dict(item)}


def the_full_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` as the server renders it: every field of its kind, unset ones null."""
    nulls: dict[str, dict[str, Any]] = {
        "mcp_call": {"output": None, "error": None, "approval_request_id": None},
        "mcp_approval_response": {"reason": None},
    }
    return {**nulls.get(str(item["type"]), {}), **item}


# -- through the engine -------------------------------------------------------------


def test_the_test_items_are_what_the_api_takes() -> None:
    for item in ITEMS:
        ACCEPTED.validate_python(item)


@pytest.mark.parametrize("item", ITEMS, ids=ITEM_IDS)
def test_each_mcp_item_is_announced_and_kept_as_sent(item: dict[str, Any]) -> None:
    client = Client("ga", searcher(Searches()))
    events = client.send(create(item))
    assert types(events) == ["conversation.item.added", "conversation.item.done"]
    assert one(events, "conversation.item.done")["item"] == the_full_item(item)
    assert client.engine.conversation == [the_full_item(item)]
    retrieved = client.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
    assert one(retrieved, "conversation.item.retrieved")["item"] == the_full_item(item)


def test_a_listing_without_an_id_gets_one() -> None:
    client = Client("ga")
    listing = {key: value for key, value in LISTING.items() if key != "id"}
    item = one(client.send(create(listing)), "conversation.item.done")["item"]
    assert item["id"].startswith("mcpl_")
    assert item["tools"] == LISTING["tools"]


def test_a_created_call_runs_nothing_and_the_model_reads_its_output() -> None:
    searches = Searches()
    client = Client("ga", searcher(searches))
    client.configure(output_modalities=["text"])
    client.say("search the docs")
    for item in (REQUEST, APPROVAL, CALL):
        client.send(create(item))
    # Approving a request this server session never asked starts nothing.
    assert client.engine.next_response() is None
    events = client.turn({"type": "response.create"})
    assert searches.calls == []
    assert not [kind for kind in types(events) if kind.startswith("response.mcp_call")]
    answer = one(events, "response.output_item.done")["item"]
    assert answer["content"][0]["text"] == "I found Three pages."


def test_a_failed_call_is_read_as_its_error() -> None:
    model = ScriptedModel().when(tool_output="search").say("It failed: {message}")
    client = Client("ga", model)
    client.configure(output_modalities=["text"])
    client.say("search the docs")
    client.send(create(FAILED_CALL))
    events = client.turn({"type": "response.create"})
    answer = one(events, "response.output_item.done")["item"]
    assert answer["content"][0]["text"] == "It failed: Unknown tool: search"


def test_items_keep_their_place_and_their_ids_are_unique() -> None:
    client = Client("ga")
    client.send(create(CALL))
    client.send({**create(REQUEST), "previous_item_id": "root"})
    assert [item["id"] for item in client.engine.conversation] == ["mcpr_1", "mcp_1"]
    error = error_of(client.send(create(CALL)))
    assert (error["code"], error["param"]) == ("item_already_exists", "item.id")


def _without(item: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name != key}


def _tool(**fields: Any) -> dict[str, Any]:
    return {**LISTING, "tools": [{"name": "search", "input_schema": {}, **fields}]}


BAD_ITEMS: list[tuple[str, dict[str, Any], str, str]] = [
    ("call without id", _without(CALL, "id"), "missing_required_parameter", "item.id"),
    ("call without name", _without(CALL, "name"), "missing_required_parameter", "item.name"),
    (
        "call without arguments",
        _without(CALL, "arguments"),
        "missing_required_parameter",
        "item.arguments",
    ),
    (
        "call without server",
        _without(CALL, "server_label"),
        "missing_required_parameter",
        "item.server_label",
    ),
    ("call name a number", {**CALL, "name": 7}, "invalid_type", "item.name"),
    ("call output an object", {**CALL, "output": {"a": 1}}, "invalid_type", "item.output"),
    (
        "call approval id a number",
        {**CALL, "approval_request_id": 1},
        "invalid_type",
        "item.approval_request_id",
    ),
    ("call with approve", {**CALL, "approve": True}, "unknown_parameter", "item.approve"),
    ("call error a string", {**CALL, "error": "boom"}, "invalid_type", "item.error"),
    (
        "call error of no kind",
        {**CALL, "error": {"type": "timeout", "message": "late"}},
        "invalid_value",
        "item.error.type",
    ),
    (
        "protocol error without code",
        {**CALL, "error": {"type": "protocol_error", "message": "no"}},
        "missing_required_parameter",
        "item.error.code",
    ),
    (
        "http error code a string",
        {**CALL, "error": {"type": "http_error", "code": "500", "message": "down"}},
        "invalid_type",
        "item.error.code",
    ),
    (
        "execution error without message",
        {**CALL, "error": {"type": "tool_execution_error"}},
        "missing_required_parameter",
        "item.error.message",
    ),
    (
        "execution error with code",
        {**CALL, "error": {"type": "tool_execution_error", "message": "no", "code": 1}},
        "unknown_parameter",
        "item.error.code",
    ),
    ("request without id", _without(REQUEST, "id"), "missing_required_parameter", "item.id"),
    (
        "request without server",
        _without(REQUEST, "server_label"),
        "missing_required_parameter",
        "item.server_label",
    ),
    ("request with output", {**REQUEST, "output": "x"}, "unknown_parameter", "item.output"),
    (
        "listing without tools",
        _without(LISTING, "tools"),
        "missing_required_parameter",
        "item.tools",
    ),
    ("listing tools an object", {**LISTING, "tools": {}}, "invalid_type", "item.tools"),
    ("listing tool a string", {**LISTING, "tools": ["search"]}, "invalid_type", "item.tools[0]"),
    (
        "tool without name",
        {**LISTING, "tools": [{"input_schema": {}}]},
        "missing_required_parameter",
        "item.tools[0].name",
    ),
    (
        "tool without schema",
        {**LISTING, "tools": [{"name": "search"}]},
        "missing_required_parameter",
        "item.tools[0].input_schema",
    ),
    (
        "tool schema a string",
        _tool(input_schema="object"),
        "invalid_type",
        "item.tools[0].input_schema",
    ),
    ("tool annotations a list", _tool(annotations=[]), "invalid_type", "item.tools[0].annotations"),
    ("tool of unknown key", _tool(server="docs"), "unknown_parameter", "item.tools[0].server"),
    (
        "listing without server",
        _without(LISTING, "server_label"),
        "missing_required_parameter",
        "item.server_label",
    ),
    (
        "approval with server",
        {**APPROVAL, "server_label": "docs"},
        "unknown_parameter",
        "item.server_label",
    ),
    (
        "message with approve",
        {"type": "message", "role": "user", "content": [], "approve": True},
        "unknown_parameter",
        "item.approve",
    ),
]


@pytest.mark.parametrize(
    ("item", "code", "param"),
    [case[1:] for case in BAD_ITEMS],
    ids=[case[0] for case in BAD_ITEMS],
)
def test_each_field_is_checked_with_the_real_servers_error(
    item: dict[str, Any], code: str, param: str
) -> None:
    client = Client("ga")
    error = error_of(client.send(create(item)))
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert param.removeprefix("item.") in error["message"] or code == "invalid_value"
    assert client.engine.conversation == []  # nothing was added


@pytest.mark.parametrize("item", ITEMS, ids=ITEM_IDS)
def test_beta_has_no_mcp_items(item: dict[str, Any]) -> None:
    client = Client("beta")
    error = error_of(client.send(create(item)))
    assert (error["code"], error["param"]) == ("invalid_value", "item.type")
    assert "'function_call_output'" in error["message"]
    assert "mcp" not in error["message"].replace(f"'{item['type']}'", "")


def test_ga_lists_every_item_kind_it_takes() -> None:
    error = error_of(Client("ga").send(create({"type": "reasoning"})))
    assert error["param"] == "item.type"
    for kind in ("message", "mcp_list_tools", "mcp_call", "mcp_approval_request"):
        assert f"'{kind}'" in error["message"]


# -- a restart against the local server -----------------------------------------------

MCP_TOOL = {
    "type": "mcp",
    "server_label": "docs",
    "server_url": "https://mcp.example/sse",
    "require_approval": "always",
}


def mcp_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The MCP items of a conversation but the tools' listing, which each session makes."""
    return [i for i in items if i["type"].startswith("mcp_") and i["type"] != "mcp_list_tools"]


@pytest.mark.anyio
async def test_a_restart_replays_mcp_items_into_the_local_server(anyio_backend: str) -> None:
    searches = Searches()
    async with LocalRealtimeServer(model=searcher(searches)) as server:
        session = Session(url=server.url, output_modalities=["text"], config={"tools": [MCP_TOOL]})
        errors: list[SessionEvent] = []
        session.on("error", errors.append)
        with anyio.fail_after(TIMEOUT):
            async with session:
                asked = await session.ask("search the docs", timeout=TIMEOUT)
                request = next(i for i in asked.items if i.type == "mcp_approval_request")
                async with session.stream("response.done") as dones:
                    await session.conversation.item.approve_mcp(request, reason="fine")
                    await dones.receive()  # the approved call ran, and the model answered
                await session.restart()
                reply = await session.ask("Still there?", timeout=TIMEOUT)
        first, second = server.connections
    assert errors == []  # the new server session took every replayed item
    assert reply.text == "Still here."
    assert searches.calls == [{"q": "realtime"}]  # the replayed call did not run again
    before, after = first.engine.conversation, second.engine.conversation
    kept = mcp_items(before)
    assert [item["type"] for item in kept] == [
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
    ]
    assert kept[2]["output"] == "Three pages."
    # The new server session holds them as the old one did: ids, fields and order.
    assert mcp_items(after) == kept
    replayed = [
        event["item"]
        for event in second.received
        if event["type"] == "conversation.item.create" and event["item"]["type"] != "message"
    ]
    for item in replayed:
        ACCEPTED.validate_python(item)
    echoes = [e for e in second.sent_events if e["type"] == "conversation.item.done"]
    assert {item["id"] for item in kept} <= {e["item"]["id"] for e in echoes}
    assert not [e for e in second.sent_events if e["type"] == "error"]
