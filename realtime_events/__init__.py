"""realtime-events: typed, ordered event handling for the OpenAI Realtime API.

A :class:`Session` owns the WebSocket connection, parses every server event into
a typed model, and runs the handlers registered for it, in order::

    session = Session(model="gpt-realtime", instructions="Be brief.")

    @session.on("response.output_audio.delta")
    async def play(event):
        speaker.write(event.audio)

    async with session:
        await session.send_text("Hello!")
        await session.wait_for("response.done", timeout=30)

It runs on asyncio and trio (anyio), speaks the GA and beta dialects, and ships
a local Realtime server for tests in :mod:`realtime_events.testing`.
"""

from . import events, signals
from .auth import (
    ClientSecret,
    ClientSecretError,
    azure_from_env,
    create_client_secret,
    create_client_secret_sync,
)
from .connection import WebSocket, connect
from .conversation import Conversation
from .dispatch import EventStream
from .endpoint import Endpoint, InsecureKeyError
from .errors import (
    AuthenticationError,
    ConnectionClosedError,
    ConnectionFailedError,
    HandshakeRejectedError,
    InvalidConfigError,
    InvalidEventError,
    InvalidFrameError,
    RealtimeError,
    ServerError,
    SessionClosedError,
    UnknownEventError,
)
from .events import (
    ClientEvent,
    Event,
    ServerEvent,
    UnknownServerEvent,
    parse_client_event,
    parse_server_event,
)
from .events._base import PluginEvent
from .metrics import Metrics, ResponseMetrics
from .plugins import Plugin, PluginNotFoundError
from .reconnect import ReconnectPolicy
from .responses import ResponseRequest, Responses
from .session import Session
from .supervisor import SessionState
from .sync import SyncSession

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "ClientEvent",
    "ClientSecret",
    "ClientSecretError",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "Conversation",
    "Endpoint",
    "Event",
    "EventStream",
    "HandshakeRejectedError",
    "InsecureKeyError",
    "InvalidConfigError",
    "InvalidEventError",
    "InvalidFrameError",
    "Metrics",
    "Plugin",
    "PluginEvent",
    "PluginNotFoundError",
    "RealtimeError",
    "ReconnectPolicy",
    "ResponseMetrics",
    "ResponseRequest",
    "Responses",
    "ServerError",
    "ServerEvent",
    "Session",
    "SessionClosedError",
    "SessionState",
    "SyncSession",
    "UnknownEventError",
    "UnknownServerEvent",
    "WebSocket",
    "__version__",
    "azure_from_env",
    "connect",
    "create_client_secret",
    "create_client_secret_sync",
    "events",
    "parse_client_event",
    "parse_server_event",
    "signals",
]
