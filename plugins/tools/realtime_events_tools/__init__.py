"""Function calling for realtime-events: typed tools that answer every call exactly once.

::

    from realtime_events import Session
    from realtime_events_tools import Tools

    session = Session(instructions="You are a helpful assistant.")
    tools = session.use(Tools())

    @tools.function
    async def get_weather(city: str) -> dict:
        '''Current weather for a city.'''
        return {"city": city, "temp_c": 21}

Events on the session bus: ``tools.call_started`` (``call``),
``tools.call_finished`` (``call``, ``result``, ``error``, ``duration``) and
``tools.batch_finished`` (``calls``, ``response_id``), one per response.
"""

from .calls import CallStatus, ToolCall, error_output, result_output
from .errors import (
    InvalidArgumentsError,
    ToolError,
    ToolInterruptedError,
    ToolRejectedError,
    ToolTimeoutError,
    UnknownToolError,
)
from .plugin import Approver, Tools
from .schema import FunctionSchema, function_schema
from .tool import Tool

__version__ = "0.1.0"

__all__ = [
    "Approver",
    "CallStatus",
    "FunctionSchema",
    "InvalidArgumentsError",
    "Tool",
    "ToolCall",
    "ToolError",
    "ToolInterruptedError",
    "ToolRejectedError",
    "ToolTimeoutError",
    "Tools",
    "UnknownToolError",
    "error_output",
    "function_schema",
    "result_output",
]
