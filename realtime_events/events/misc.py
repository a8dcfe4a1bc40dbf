"""Server events with no wire prefix of their own: ``error`` and ``rate_limits.updated``."""

from __future__ import annotations

from typing import ClassVar, Literal

from ._base import ServerEvent
from .payloads import ErrorDetail, RateLimit


class ErrorEvent(ServerEvent):
    """``error``: the server reports a problem; most errors leave the session open.

    ``error.event_id`` is the client event that caused it, when there is one.
    """

    canonical_type: ClassVar[str] = "error"

    type: Literal["error"]
    event_id: str
    error: ErrorDetail


class RateLimitsUpdatedEvent(ServerEvent):
    """``rate_limits.updated``: the current rate limits, sent as each response begins."""

    canonical_type: ClassVar[str] = "rate_limits.updated"

    type: Literal["rate_limits.updated"]
    event_id: str
    rate_limits: list[RateLimit]
