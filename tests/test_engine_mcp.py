"""The engine's MCP tools on fake servers: listing, calls, failures, approvals.

Every event is validated by the official SDK's server event union, and
checked for fields it doesn't know, through the engine tests' client.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from test_engine import Client, Event, error_of, of_type, one, types

from realtime_events.testing.models import ScriptedModel


def docs_tool(approval: Any = "never", label: str = "docs", **extra: Any) -> dict[str, Any]:
    return {
        "type": "mcp",
        "server_label": label,
        "server_url": "https://mcp.example/sse",
        "require_approval": approval,
        **extra,
    }


class Searches:
    """The fake search tool's result, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[Mapping[str, Any]] = []

    def __call__(self, arguments: Mapping[str, Any]) -> str:
        self.calls.append(arguments)
        return f"Found 3 pages about {arguments.get('q')}."


def mcp_model(searches: Searches) -> ScriptedModel:
    return (
        ScriptedModel()
        .mcp_tool("docs", "search", result=searches, description="Search the docs.")
        .mcp_tool("docs", "broken", error="the index is offline")
        .mcp_tool("docs", "hidden", result="never listed")
        .when("broken")
        .call_mcp("docs", "broken")
        .when("search")
        .call_mcp("docs", "search", q="realtime events")
        .when(tool_output="search")
        .say("{output}")
        .when(tool_output="broken")
        .say("The search failed.")
        .otherwise("OK.")
    )


def ask(client: Client, text: str) -> list[Event]:
    client.say(text)
    return client.turn({"type": "response.create"})


def connect(approval: Any = "never", **extra: Any) -> tuple[Client, Searches, list[Event]]:
    searches = Searches()
    client = Client("ga", mcp_model(searches))
    client.configure(output_modalities=["text"])
    listed = client.configure(tools=[docs_tool(approval, **extra)])
    return client, searches, listed


def test_configuring_an_mcp_server_lists_its_tools() -> None:
    _, _, events = connect(allowed_tools=["search", "broken"])
    assert types(events) == [
        "session.updated",
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "conversation.item.done",
    ]
    item = one(events, "conversation.item.done")["item"]
    assert item["type"] == "mcp_list_tools"
    assert item["server_label"] == "docs"
    assert [tool["name"] for tool in item["tools"]] == ["search", "broken"]
    assert item["tools"][0]["description"] == "Search the docs."
    assert one(events, "mcp_list_tools.completed")["item_id"] == item["id"]


def test_a_server_is_listed_once_and_an_unknown_one_fails() -> None:
    client, _, _ = connect()
    again = client.configure(tools=[docs_tool(), docs_tool(label="elsewhere")])
    assert types(again)[1:] == [
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.failed",
        "conversation.item.done",
    ]
    assert one(again, "conversation.item.done")["item"]["server_label"] == "elsewhere"
    assert one(again, "conversation.item.done")["item"]["tools"] == []


def test_the_model_calls_an_mcp_tool_and_answers_with_its_output() -> None:
    client, searches, _ = connect()
    events = ask(client, "search the docs")
    call_events = [e for e in events if e["type"].startswith("response.mcp_call")]
    kinds = [e["type"] for e in call_events]
    assert kinds[-3:] == [
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
    ]
    assert set(kinds[:-3]) == {"response.mcp_call_arguments.delta"}
    deltas = of_type(events, "response.mcp_call_arguments.delta")
    assert "".join(d["delta"] for d in deltas) == '{"q": "realtime events"}'
    assert all((len(d["delta"]) + len(d["obfuscation"])) % 16 == 0 for d in deltas)
    assert searches.calls == [{"q": "realtime events"}]
    call, answer = [e["item"] for e in of_type(events, "response.output_item.done")]
    assert call["type"] == "mcp_call"
    assert (call["server_label"], call["name"]) == ("docs", "search")
    assert call["output"] == "Found 3 pages about realtime events."
    assert call["error"] is None
    assert call["approval_request_id"] is None
    # The model goes on in the same response with what the server ran.
    assert answer["content"][0]["text"] == "Found 3 pages about realtime events."
    assert [e["output_index"] for e in of_type(events, "response.output_item.added")] == [0, 1]
    assert len(of_type(events, "response.done")) == 1


def test_a_failing_mcp_tool_gives_failed_with_its_error() -> None:
    client, _, _ = connect()
    events = ask(client, "try the broken tool")
    assert one(events, "response.mcp_call.failed")
    assert not of_type(events, "response.mcp_call.completed")
    call = of_type(events, "response.output_item.done")[0]["item"]
    assert call["error"] == {"type": "tool_execution_error", "message": "the index is offline"}
    assert call["output"] is None
    answer = of_type(events, "response.output_item.done")[1]["item"]
    assert answer["content"][0]["text"] == "The search failed."


def test_required_approval_asks_and_an_approved_call_runs() -> None:
    client, searches, _ = connect(approval="always")
    events = ask(client, "search the docs")
    request = one(events, "response.output_item.done")["item"]
    assert request["type"] == "mcp_approval_request"
    assert (request["server_label"], request["name"]) == ("docs", "search")
    assert request["arguments"] == '{"q": "realtime events"}'
    assert one(events, "response.done")["response"]["status"] == "completed"
    assert not of_type(events, "response.mcp_call.in_progress")
    assert searches.calls == []
    approval = {
        "type": "conversation.item.create",
        "item": {
            "type": "mcp_approval_response",
            "approval_request_id": request["id"],
            "approve": True,
        },
    }
    created = client.send(approval)
    assert one(created, "conversation.item.done")["item"]["approve"] is True
    events = client.drain()
    assert one(events, "response.mcp_call.completed")
    call = of_type(events, "response.output_item.done")[0]["item"]
    assert call["approval_request_id"] == request["id"]
    assert searches.calls == [{"q": "realtime events"}]
    answer = of_type(events, "response.output_item.done")[1]["item"]
    assert answer["content"][0]["text"] == "Found 3 pages about realtime events."


def test_a_denied_call_never_runs() -> None:
    client, searches, _ = connect(approval={"never": {"tool_names": ["broken"]}})
    events = ask(client, "search the docs")
    request = one(events, "response.output_item.done")["item"]
    assert request["type"] == "mcp_approval_request"
    denial = {
        "type": "conversation.item.create",
        "item": {
            "type": "mcp_approval_response",
            "approval_request_id": request["id"],
            "approve": False,
            "reason": "not now",
        },
    }
    assert one(client.send(denial), "conversation.item.done")["item"]["reason"] == "not now"
    assert client.engine.next_response() is None
    assert searches.calls == []
    # A tool the filter lets through runs without asking.
    assert one(ask(client, "try the broken tool"), "response.mcp_call.failed")


def test_an_approval_response_is_checked() -> None:
    client, _, _ = connect(approval="always")
    error = error_of(
        client.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "mcp_approval_response", "approval_request_id": "mcpr_1"},
            }
        )
    )
    assert (error["code"], error["param"]) == ("missing_required_parameter", "item.approve")
    beta = Client("beta")
    error = error_of(
        beta.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "mcp_approval_response",
                    "approval_request_id": "mcpr_1",
                    "approve": True,
                },
            }
        )
    )
    assert error["code"] == "invalid_value"


def test_cancelling_during_the_arguments_never_runs_the_call() -> None:
    client, searches, _ = connect()
    client.say("search the docs")
    client.send({"type": "response.create"})
    run = client.engine.next_response()
    assert run is not None
    stream = iter(run)
    events: list[Event] = []
    while not of_type(events, "response.mcp_call_arguments.delta"):
        events.append(next(stream))
    client.send({"type": "response.cancel"})
    events += client.check(list(stream))
    assert one(events, "response.mcp_call_arguments.done")
    assert not of_type(events, "response.mcp_call.in_progress")
    assert searches.calls == []
    assert one(events, "response.done")["response"]["status"] == "cancelled"
