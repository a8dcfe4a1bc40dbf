"""Why a call produced an error instead of a result; each message is written for the model.

Tools may raise :class:`ToolError` themselves to tell the model something
specific (``raise ToolError("no such city")``); any other exception is
reported with its type and message.
"""

from __future__ import annotations

__all__ = [
    "InvalidArgumentsError",
    "ToolError",
    "ToolInterruptedError",
    "ToolRejectedError",
    "ToolTimeoutError",
    "UnknownToolError",
]


class ToolError(Exception):
    """A call failed; ``str(error)`` is what the model reads in the ``error`` field."""


class UnknownToolError(ToolError):
    """The model called a function the session does not have."""


class InvalidArgumentsError(ToolError):
    """The arguments were not JSON, or did not fit the function's schema."""


class ToolTimeoutError(ToolError):
    """The function ran longer than its timeout."""


class ToolInterruptedError(ToolError):
    """The user interrupted the response that made the call, and the call was cancelled."""


class ToolRejectedError(ToolError):
    """The application's approval hook refused the call."""
