"""The official SDK, as a client of the local server, validates today's GA behaviours by its union.

A gpt-realtime-2 session with an MCP server: the preamble and answer
messages, the tool listing, an approval and the call it lets run. Every
frame is validated by the SDK's own ``RealtimeServerEvent`` union.
"""

from __future__ import annotations

from typing import Any

import pytest
from openai import AsyncOpenAI
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from pydantic import TypeAdapter

from realtime_events.testing import LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio

GA = TypeAdapter[Any](RealtimeServerEvent)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's realtime client is asyncio-only


class Frames:
    """Every frame received, each validated by the SDK's union."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.seen: list[Any] = []

    async def until(self, event_type: str) -> Any:
        while True:
            event = GA.validate_json(await self.connection.recv_bytes())
            self.seen.append(event)
            if event.type == event_type:
                return event

    def types(self) -> list[str]:
        return [event.type for event in self.seen]


async def test_sdk_validates_multi_message_responses_and_mcp_approvals() -> None:
    model = (
        ScriptedModel()
        .mcp_tool("docs", "search", result="Three pages.")
        .when("search")
        .call_mcp("docs", "search", q="events")
        .when(tool_output="search")
        .say("I found {output}")
        .otherwise("Hello!")
    )
    defaults = {"model": "gpt-realtime-2", "output_modalities": ["text"]}
    async with LocalRealtimeServer(model=model, session_defaults=defaults) as server:
        client = AsyncOpenAI(api_key="sk-local", websocket_base_url=server.base_url)
        async with client.realtime.connect(model="gpt-realtime-2") as connection:
            frames = Frames(connection)
            created = await frames.until("session.created")
            assert created.session.model == "gpt-realtime-2"
            tool = {
                "type": "mcp",
                "server_label": "docs",
                "server_url": "https://mcp.example/sse",
                "require_approval": "always",
            }
            await connection.session.update(
                session={"type": "realtime", "tools": [tool], "reasoning": {"effort": "low"}}
            )
            listed = await frames.until("mcp_list_tools.completed")
            done = await frames.until("conversation.item.done")
            assert done.item.id == listed.item_id
            assert [t.name for t in done.item.tools] == ["search"]

            await connection.conversation.item.create(
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "hello"}],
                }
            )
            await connection.response.create()
            response = (await frames.until("response.done")).response
            texts = [item.content[0].text for item in response.output]
            assert texts == ["Let me think.", "Hello!"]

            await connection.conversation.item.create(
                item={
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "search please"}],
                }
            )
            await connection.response.create()
            response = (await frames.until("response.done")).response
            request = response.output[-1]
            assert request.type == "mcp_approval_request"
            await connection.conversation.item.create(
                item={
                    "type": "mcp_approval_response",
                    "approval_request_id": request.id,
                    "approve": True,
                }
            )
            response = (await frames.until("response.done")).response
            call, answer = response.output
            assert call.type == "mcp_call"
            assert call.output == "Three pages."
            assert call.approval_request_id == request.id
            assert answer.content[0].text == "I found Three pages."
            assert "response.mcp_call.completed" in frames.types()
