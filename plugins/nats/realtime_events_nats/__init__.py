"""Session workers, commands, event fan-out and failover for realtime-events, on NATS JetStream.

Runs on asyncio only (nats-py is asyncio-only); used on trio it raises
:class:`AsyncioOnlyError`. The core realtime-events stays on both.

::

    # a worker process (or: realtime-events worker --nats URL --capacity 10 --app mybot:make)
    await Worker(make_session, nats="nats://127.0.0.1:4222", capacity=10).run()

    # a web backend, a telephony webhook, a dashboard
    async with Client("nats://127.0.0.1:4222") as client:
        session_id = await client.start({"caller": "+33..."})
        await client.send_text(session_id, "Hello")
        async for event in client.follow(session_id): ...

See docs/scaling.md for the deployment and its guarantees.
"""

from __future__ import annotations

from .client import Client
from .commands import Commands
from .errors import (
    AsyncioOnlyError,
    CommandError,
    CommandRefusedError,
    CommandTimeoutError,
    InvalidJobError,
    NatsPluginError,
    NatsUnavailableError,
    UnknownCommandError,
    UnknownSessionError,
)
from .fanout import DEFAULT_EVENTS, Selection
from .jetstream import Limits
from .layout import Layout
from .running import Factory, Job
from .wire import Checkpoint, LeaseRecord
from .worker import Worker

__all__ = [
    "DEFAULT_EVENTS",
    "AsyncioOnlyError",
    "Checkpoint",
    "Client",
    "CommandError",
    "CommandRefusedError",
    "CommandTimeoutError",
    "Commands",
    "Factory",
    "InvalidJobError",
    "Job",
    "Layout",
    "LeaseRecord",
    "Limits",
    "NatsPluginError",
    "NatsUnavailableError",
    "Selection",
    "UnknownCommandError",
    "UnknownSessionError",
    "Worker",
]

__version__ = "0.1.0"
