"""One function call the model made, and the output string it gets back.

A :class:`ToolCall` is created when the plugin first sees a call (from
whichever event carries it first) and is filled in as it runs; the plugin's
events (``tools.call_started``, ``tools.call_finished``,
``tools.batch_finished``) carry it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import pydantic_core

from .errors import ToolError, ToolInterruptedError

__all__ = ["CallStatus", "ToolCall", "error_output", "result_output"]

#: ``pending`` (seen, not started), ``running``, ``done`` (its output was sent).
CallStatus = Literal["pending", "running", "done"]


@dataclass(eq=False)
class ToolCall:
    """A function call: what the model asked for, and how it went."""

    call_id: str
    name: str
    #: The arguments as the model sent them: a JSON string, possibly invalid.
    arguments: str
    response_id: str | None = None
    item_id: str | None = None
    status: CallStatus = "pending"
    #: What the function returned (None until it returned, or if it failed).
    result: Any = None
    #: Why the call failed: a :class:`ToolError`, or the exception the function raised.
    error: BaseException | None = None
    #: The string sent back to the model as the ``function_call_output``.
    output: str | None = None
    #: Seconds from start to answer.
    duration: float | None = None
    _started_at: float | None = field(default=None, repr=False)
    _scope: anyio.CancelScope | None = field(default=None, repr=False)
    _interrupted: bool = field(default=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the call is done and returned a result."""
        return self.status == "done" and self.error is None

    @property
    def interrupted(self) -> bool:
        """True when the call was cancelled because the user interrupted its response."""
        return isinstance(self.error, ToolInterruptedError)

    def interrupt(self) -> None:
        """Cancel the call because its response was interrupted (no-op once it finished)."""
        if self.status == "done":
            return
        self._interrupted = True
        if self._scope is not None:
            self._scope.cancel()


def result_output(result: Any) -> str:
    """Serialize a function's result for the model: strings as they are, the rest as JSON.

    Pydantic models, dataclasses, dicts, lists, enums, dates and primitives are
    JSON; anything else falls back to ``str()``.
    """
    if isinstance(result, str):
        return result
    return pydantic_core.to_json(result, fallback=str).decode()


def error_output(call: ToolCall, error: BaseException) -> str:
    """The ``{"error": "..."}`` JSON the model reads when a call failed."""
    if isinstance(error, ToolError):
        message = str(error) or type(error).__name__
    else:
        detail = f": {error}" if str(error) else ""
        message = f"{call.name} failed: {type(error).__name__}{detail}"
    return json.dumps({"error": message}, ensure_ascii=False)
