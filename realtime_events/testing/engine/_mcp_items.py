"""The MCP items a client may create, validated field by field as the real server does.

GA's ``conversation.item.create`` takes every MCP item kind: the answer to an
approval request (``mcp_approval_response``), and also the records of what a
server session did, ``mcp_list_tools``, ``mcp_approval_request`` and
``mcp_call``, which a client sends to restore a conversation in a new server
session. The fields, and which of them are required, are the API's (the
official SDK's ``ConversationItemParam``); a mistake is answered with the
real server's error naming the field.

A created record is history, not an action: an ``mcp_call`` runs nothing (its
output or error is what the model reads), and an ``mcp_approval_request`` the
client created was not asked by this server session, so answering it runs
nothing either. Beta has no MCP items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._constants import JSON
from ._errors import (
    bad_value,
    get_object,
    get_str,
    key_set,
    missing,
    objects,
    only,
    require_int,
    require_list,
    require_str,
    wrong_type,
)
from ._items import Item

#: The MCP item kinds ``conversation.item.create`` takes (GA).
MCP_ITEM_TYPES = ("mcp_approval_response", "mcp_list_tools", "mcp_call", "mcp_approval_request")

_KEYS = {
    "mcp_approval_response": key_set("id type approval_request_id approve reason"),
    "mcp_list_tools": key_set("id type server_label tools"),
    "mcp_approval_request": key_set("id type server_label name arguments"),
    "mcp_call": key_set("id type server_label name arguments output error approval_request_id"),
}
_TOOL_KEYS = key_set("name input_schema annotations description")
#: The kinds of an ``mcp_call``'s error, and the fields each has besides ``type``.
_ERROR_KEYS = {
    "protocol_error": ("code", "message"),
    "tool_execution_error": ("message",),
    "http_error": ("code", "message"),
}


def parse_mcp_item(obj: Mapping[str, Any], p: str, new_id: Callable[[str], str]) -> Item:
    """An MCP item a client described under ``p``; ``type`` is one of :data:`MCP_ITEM_TYPES`."""
    kind = require_str(obj, "type", f"{p}.type")
    only(obj, _KEYS[kind], p)
    if kind == "mcp_approval_response":
        return _approval_response(obj, p, new_id)
    if kind == "mcp_list_tools":
        label = require_str(obj, "server_label", f"{p}.server_label")
        item_id = get_str(obj, "id", f"{p}.id") or new_id("mcpl")
        return Item(item_id, kind, server_label=label, tools=_tools(obj, p))
    # An approval request or a call names the id the server gave it, the API requires.
    item_id = require_str(obj, "id", f"{p}.id")
    item = Item(
        item_id,
        kind,
        server_label=require_str(obj, "server_label", f"{p}.server_label"),
        name=require_str(obj, "name", f"{p}.name"),
        arguments=require_str(obj, "arguments", f"{p}.arguments"),
    )
    if kind == "mcp_call":
        item.output = get_str(obj, "output", f"{p}.output")
        item.error = _error(obj.get("error"), f"{p}.error")
        item.approval_request_id = get_str(obj, "approval_request_id", f"{p}.approval_request_id")
    return item


def _approval_response(obj: Mapping[str, Any], p: str, new_id: Callable[[str], str]) -> Item:
    """The client's answer to an approval request: approved or not, and why."""
    request_id = require_str(obj, "approval_request_id", f"{p}.approval_request_id")
    approve = obj.get("approve")
    if approve is None:
        raise missing(f"{p}.approve")
    if not isinstance(approve, bool):
        raise wrong_type(f"{p}.approve", "a boolean", approve)
    item_id = get_str(obj, "id", f"{p}.id") or new_id("item")
    item = Item(item_id, "mcp_approval_response", approval_request_id=request_id)
    item.approve, item.reason = approve, get_str(obj, "reason", f"{p}.reason")
    return item


def _tools(obj: Mapping[str, Any], p: str) -> list[JSON]:
    """A listing's tools: each with its name and input schema, as the server listed them."""
    tools = require_list(obj, "tools", f"{p}.tools")
    listed: list[JSON] = []
    for where, tool in objects(tools, f"{p}.tools"):
        only(tool, _TOOL_KEYS, where)
        require_str(tool, "name", f"{where}.name")
        if "input_schema" not in tool or tool["input_schema"] is None:
            raise missing(f"{where}.input_schema")
        get_object(tool["input_schema"], f"{where}.input_schema")
        if tool.get("annotations") is not None:
            get_object(tool["annotations"], f"{where}.annotations")
        get_str(tool, "description", f"{where}.description")
        listed.append(dict(tool))
    return listed


def _error(value: Any, p: str) -> JSON | None:
    """A call's error: a protocol, tool execution or HTTP error, with its message."""
    if value is None:
        return None
    error = get_object(value, p)
    kind = require_str(error, "type", f"{p}.type")
    if kind not in _ERROR_KEYS:
        raise bad_value(f"{p}.type", kind, tuple(_ERROR_KEYS))
    fields = _ERROR_KEYS[kind]
    only(error, key_set(" ".join(("type", *fields))), p)
    parsed: JSON = {"type": kind}
    if "code" in fields:
        parsed["code"] = require_int(error, "code", f"{p}.code")
    parsed["message"] = require_str(error, "message", f"{p}.message")
    return parsed
