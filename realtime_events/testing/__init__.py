"""The testing kit: a local Realtime server, scripted models, and pytest fixtures.

Test a bot without an API key or a network::

    from realtime_events import Session
    from realtime_events.testing import LocalRealtimeServer, ScriptedModel

    model = ScriptedModel().when("hello").say("Hi there!")
    async with LocalRealtimeServer(model=model) as server:
        async with Session(url=server.url) as session:
            await session.send_text("hello")
            done = await session.wait_for("response.done", timeout=5)

With pytest, the ``realtime_server`` and ``realtime_session`` fixtures do the
setup (see :mod:`realtime_events.testing.pytest_plugin`).
"""

from .calls import LocalCall, LocalCalls
from .engine import IdFactory, RealtimeEngine, ResponseRun
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
from .server import Faults, LocalRealtimeServer, ServerConnection

__all__ = [
    "Call",
    "DemoModel",
    "Faults",
    "IdFactory",
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
