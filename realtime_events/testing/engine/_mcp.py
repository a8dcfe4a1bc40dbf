"""MCP tools: listing a configured server's tools, approvals, and calls, on fake servers.

The MCP servers are fake. No MCP server is ever contacted: each server label
maps to a small table of :class:`~realtime_events.testing.models.McpTool`
(its tools, and what a call of each gives), written by the test, usually
with :meth:`~realtime_events.testing.models.ScriptedModel.mcp_tool`. A server
the session configures but the table does not have fails to list its tools,
as an unreachable server would.

What the real server does around them is what this module does: when
``session.update`` configures an MCP server, its tools are listed in an
``mcp_list_tools`` item (``mcp_list_tools.in_progress``, then ``completed``
or ``failed``); when the model calls a tool, the call runs unless
``require_approval`` asks for the client's approval first, in which case an
``mcp_approval_request`` item ends the response and the call runs once the
client creates an ``mcp_approval_response`` item approving it (a denied call
never runs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..models import McpCall, McpTool
from ._constants import JSON
from ._conversation import Conversation
from ._items import Item

#: MCP's JSON-RPC code for a call of a tool the server does not have.
_UNKNOWN_TOOL = -32602


@dataclass(frozen=True, slots=True)
class Approved:
    """An MCP call the client approved: it runs, and its item names the approval request."""

    call: McpCall
    approval_request_id: str


class McpHost(Protocol):
    """What the MCP part of the engine uses of it."""

    @property
    def new_id(self) -> Callable[[str], str]:
        """The engine's id factory."""
        ...

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...


def mcp_config(tools: Iterable[Mapping[str, Any]], server_label: str) -> Mapping[str, Any] | None:
    """The MCP tool configuration of ``server_label`` among ``tools``, if configured."""
    return next(
        (t for t in tools if t.get("type") == "mcp" and t.get("server_label") == server_label),
        None,
    )


def _named(value: Any) -> frozenset[str] | None:
    """Tool names from a filter: a list of names, or ``{"tool_names": [...]}``; None for none."""
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    if isinstance(value, Mapping) and isinstance(value.get("tool_names"), list):
        return frozenset(str(v) for v in value["tool_names"])
    return None


def needs_approval(config: Mapping[str, Any], tool: str) -> bool:
    """Whether ``require_approval`` asks the client before ``tool`` runs (by default it does)."""
    rule = config.get("require_approval")
    if rule is None or rule == "always":
        return True
    if rule == "never":
        return False
    if isinstance(rule, Mapping):
        never = _named(rule.get("never"))
        if never is not None and tool in never:
            return False
        always = _named(rule.get("always"))
        return always is None or tool in always
    return True


class McpServers:
    """The fake MCP servers of one session: tool listing, pending approvals, calls."""

    def __init__(
        self,
        host: McpHost,
        conversation: Conversation,
        servers: Mapping[str, Sequence[McpTool]],
    ) -> None:
        self._host = host
        self._conversation = conversation
        self._servers = servers
        self._listed: set[str] = set()
        self._pending: dict[str, McpCall] = {}  # approval request id -> the call it asks for

    def list_new(self, tools: Iterable[Mapping[str, Any]]) -> list[JSON]:
        """List the tools of each MCP server in ``tools`` not listed yet in this session."""
        events: list[JSON] = []
        for config in tools:
            label = config.get("server_label")
            if config.get("type") != "mcp" or not isinstance(label, str):
                continue
            if label in self._listed:
                continue
            self._listed.add(label)
            events += self._list(label, config)
        return events

    def _list(self, label: str, config: Mapping[str, Any]) -> list[JSON]:
        """One server's listing: the item, ``in_progress``, ``completed`` or ``failed``, done."""
        host = self._host
        item = Item(host.new_id("mcpl"), "mcp_list_tools", server_label=label, tools=[])
        previous = self._conversation.append(item)
        events = [
            host.event("conversation.item.added", previous_item_id=previous, item=item.render("ga"))
        ]
        events.append(host.event("mcp_list_tools.in_progress", item_id=item.id))
        known = self._servers.get(label)
        if known is None:
            events.append(host.event("mcp_list_tools.failed", item_id=item.id))
        else:
            allowed = _named(config.get("allowed_tools"))
            item.tools = [t.listing() for t in known if allowed is None or t.name in allowed]
            events.append(host.event("mcp_list_tools.completed", item_id=item.id))
        events.append(
            host.event("conversation.item.done", previous_item_id=previous, item=item.render("ga"))
        )
        return events

    def await_approval(self, request_id: str, call: McpCall) -> None:
        """An ``mcp_approval_request`` for ``call`` was sent: remember it for the answer."""
        self._pending[request_id] = call

    def pending(self, request_id: str) -> bool:
        """Whether an approval request of that id awaits its answer."""
        return request_id in self._pending

    def answered(self, item: Item) -> Approved | None:
        """An ``mcp_approval_response`` arrived: the approved call to run, None if denied."""
        call = self._pending.pop(item.approval_request_id or "", None)
        if call is None or not item.approve:
            return None
        return Approved(call, item.approval_request_id or "")

    def run(self, call: McpCall) -> tuple[str | None, JSON | None]:
        """Run ``call`` on its fake server: ``(output, None)``, or ``(None, error)``."""
        tool = next(
            (t for t in self._servers.get(call.server_label, ()) if t.name == call.name), None
        )
        if tool is None:
            message = f"Unknown tool: {call.name}"
            return None, {"type": "protocol_error", "code": _UNKNOWN_TOOL, "message": message}
        if tool.error is not None:
            return None, {"type": "tool_execution_error", "message": tool.error}
        if callable(tool.result):
            try:
                arguments = json.loads(call.arguments_json())
            except ValueError:
                arguments = {}
            return tool.result(arguments if isinstance(arguments, dict) else {}), None
        return tool.result, None
