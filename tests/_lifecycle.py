"""What the Session lifecycle tests share: their bounds, and signals caught as they come."""

from __future__ import annotations

from typing import Any

import anyio
from blinker import Signal

from realtime_events import Session

CLOSE_TIMEOUT = 1.0
SLACK = 3.0  # scheduling slack on a loaded machine: a bound, not a speed


def record(signal: Signal, session: Session) -> list[dict[str, Any]]:
    """The keyword arguments of every ``signal`` the session sends, in order."""
    seen: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    signal.connect(receive, sender=session, weak=False)
    return seen


def flag(signal: Signal, session: Session) -> anyio.Event:
    """An event set the first time the session sends ``signal``."""
    seen = anyio.Event()

    def receive(sender: Any, **kwargs: Any) -> None:
        seen.set()

    signal.connect(receive, sender=session, weak=False)
    return seen
