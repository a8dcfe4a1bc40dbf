"""When to reconnect, and how long to wait: the reconnect policy.

A connection that dies soon after it opened is no proof the server is back, so
failures count until a connection has *stayed* up (``healthy_after`` seconds
after it was configured): a server that accepts and drops every connection
meets a growing backoff and ``max_attempts``, not a storm. See
docs/reconnection.md for the defaults and what they ride out.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["ReconnectPolicy", "retry_after"]


@dataclass(frozen=True)
class ReconnectPolicy:
    """How to reconnect after an unexpected close: exponential backoff with jitter.

    The delay before attempt *n* is ``min(initial_delay * 2**(n-1), max_delay)``
    times a random factor in ``[1 - jitter, 1]``, and never less than a refusing
    server's ``Retry-After``. ``max_attempts=None`` retries forever. A handshake
    refused with 401/403 is never retried.

    The defaults wait 0.5, 1, 2, 4, then 8 s between attempts (less up to 25 %
    jitter) and give up after 20 failed attempts in a row: an outage of 101 to
    135 s is ridden out, with at most one attempt every 6 s once the backoff is
    at its cap.
    """

    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_attempts: int | None = 20
    jitter: float = 0.25
    #: Seconds a connection must stay up after it was configured before it counts
    #: as healthy, and the count of failed attempts starts again.
    healthy_after: float = 5.0
    #: Close codes that end the session instead of reconnecting (1000 always does).
    #: 4000 is the real server's close after an ``invalid_request_error`` (a retired
    #: protocol, a configuration it refuses): the same request would be refused again.
    final_codes: frozenset[int] = frozenset({1000, 1008, 4000})
    #: The longest ``Retry-After`` honoured, so a wrong header cannot stall a session.
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValueError("need 0 <= initial_delay <= max_delay")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_attempts is not None and self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0 (or None for no limit)")

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before reconnect attempt ``attempt`` (1-based)."""
        base = min(math.ldexp(self.initial_delay, attempt - 1), self.max_delay)
        delay = base * random.uniform(1 - self.jitter, 1)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay

    def min_outage(self) -> float:
        """The shortest outage (in seconds) that makes this policy give up; inf if none."""
        if self.max_attempts is None:
            return math.inf
        return sum(
            min(math.ldexp(self.initial_delay, n - 1), self.max_delay) * (1 - self.jitter)
            for n in range(1, self.max_attempts + 1)
        )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
