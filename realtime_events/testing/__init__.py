"""The testing kit: a local Realtime server, scripted models, and pytest fixtures.

Test a bot without an API key or a network::

    from realtime_events import Session
    from realtime_events.testing import LocalRealtimeServer, ScriptedModel

    model = ScriptedModel().when("hello").say("Hi there!")
    async with LocalRealtimeServer(model=model) as server:
        async with Session(url=server.url) as session:
            await session.send_text("hello")
            done = await session.wait_for("response.done", timeout=5)

The same server speaks OpenAI's Live protocol at ``server.live_url`` (the
path the official SDK's ``client.live.connect()`` opens from
``websocket_base_url=server.base_url``), on a :class:`LiveEngine` per
connection.

With pytest, the ``realtime_server`` and ``realtime_session`` fixtures do the
setup (see :mod:`realtime_events.testing.pytest_plugin`).
"""

from .calls import LocalCall, LocalCalls
from .engine import IdFactory, RealtimeEngine, ResponseRun
from .live import LiveEngine
from .models import (
    Call,
    DemoModel,
    McpCall,
    McpTool,
    Model,
    ReplyContext,
    Say,
    ScriptedModel,
    ToolOutput,
)
from .server import Faults, LiveServerConnection, LocalRealtimeServer, ServerConnection

__all__ = [
    "Call",
    "DemoModel",
    "Faults",
    "IdFactory",
    "LiveEngine",
    "LiveServerConnection",
    "LocalCall",
    "LocalCalls",
    "LocalRealtimeServer",
    "McpCall",
    "McpTool",
    "Model",
    "RealtimeEngine",
    "ReplyContext",
    "ResponseRun",
    "Say",
    "ScriptedModel",
    "ServerConnection",
    "ToolOutput",
]
