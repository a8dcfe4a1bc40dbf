"""What the plugin's tests share: the local model server, clients, and waiting for events."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio

from realtime_events.testing import LocalRealtimeServer
from realtime_events_nats import Client, Limits

sys.path.insert(0, str(Path(__file__).parent))

from nats_app import RecallModel

#: Generous bounds: the machine may be loaded; nothing here waits this long when all is well.
WAIT = 30.0
#: The lease TTL of the tests' deployments (the workers are started with the same).
LIMITS = Limits(lease_ttl=2.0)


@asynccontextmanager
async def model_server() -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(model=RecallModel()) as server:
        yield server


def client(url: str) -> Client:
    return Client(url, limits=LIMITS, timeout=WAIT)


async def turns(client: Client, session_id: str, count: int) -> list[tuple[str, str]]:
    """The first ``count`` message items of a session, as (role, text), as a follower sees them."""
    seen: list[tuple[str, str]] = []
    with anyio.fail_after(WAIT):
        async for event in client.follow(session_id, ["conversation.item.done"]):
            item: Any = getattr(event, "item", None)
            if item is not None and item.type == "message":
                seen.append((item.role, item.text))
            if len(seen) >= count:
                break
    return seen
