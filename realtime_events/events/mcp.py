"""Server events about listing an MCP server's tools (GA): ``mcp_list_tools.*``."""

from __future__ import annotations

from typing import ClassVar, Literal

from ._base import ServerEvent


class McpListToolsInProgressEvent(ServerEvent):
    """``mcp_list_tools.in_progress``: the server is listing an MCP server's tools."""

    canonical_type: ClassVar[str] = "mcp_list_tools.in_progress"

    type: Literal["mcp_list_tools.in_progress"]
    event_id: str
    item_id: str


class McpListToolsCompletedEvent(ServerEvent):
    """``mcp_list_tools.completed``: the tools are listed in the ``mcp_list_tools`` item."""

    canonical_type: ClassVar[str] = "mcp_list_tools.completed"

    type: Literal["mcp_list_tools.completed"]
    event_id: str
    item_id: str


class McpListToolsFailedEvent(ServerEvent):
    """``mcp_list_tools.failed``: listing an MCP server's tools failed."""

    canonical_type: ClassVar[str] = "mcp_list_tools.failed"

    type: Literal["mcp_list_tools.failed"]
    event_id: str
    item_id: str
