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

This module exports what an application is written with: the sessions and
their settings, what they hand back (:class:`Reply`, :class:`Turn`,
:class:`EventStream`), the event base classes with the :mod:`.events` and
:mod:`.signals` modules, client secrets, call control (:class:`Calls`), and
every exception. The layers
underneath are public in their own modules, which plugins and tools import:
:mod:`.connection` (``WebSocket``, ``connect``), :mod:`.events` (every model,
``parse_server_event``), :mod:`.conversation` (``Conversation``,
``heard_text``), :mod:`.turns` (``Hold``), :mod:`.responses`, :mod:`.metrics`,
:mod:`.plugins`, :mod:`.recording`, :mod:`.audio` and :mod:`.testing`.
"""

from . import events, signals
from .auth import ClientSecret, azure_from_env, create_client_secret, create_client_secret_sync
from .calls import Calls
from .dispatch import EventStream
from .endpoint import Endpoint
from .errors import (
    AuthenticationError,
    CallError,
    CallNotFoundError,
    ClientSecretError,
    ClosedBeforeOpenError,
    ConnectionClosedError,
    ConnectionFailedError,
    HandshakeRejectedError,
    InsecureKeyError,
    InvalidConfigError,
    InvalidEventError,
    InvalidFrameError,
    LiveSessionGoneError,
    PluginNotApplicableError,
    PluginNotFoundError,
    RealtimeError,
    RecordingError,
    ServerError,
    SessionClosedError,
    UnknownEventError,
    WebhookError,
)
from .events import ClientEvent, Event, PluginEvent, ServerEvent, UnknownServerEvent
from .reconnect import ReconnectPolicy
from .run_hooks import SessionState
from .session import Session
from .sync import SyncSession
from .turns import Reply, Turn

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "CallError",
    "CallNotFoundError",
    "Calls",
    "ClientEvent",
    "ClientSecret",
    "ClientSecretError",
    "ClosedBeforeOpenError",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "Endpoint",
    "Event",
    "EventStream",
    "HandshakeRejectedError",
    "InsecureKeyError",
    "InvalidConfigError",
    "InvalidEventError",
    "InvalidFrameError",
    "LiveSessionGoneError",
    "PluginEvent",
    "PluginNotApplicableError",
    "PluginNotFoundError",
    "RealtimeError",
    "ReconnectPolicy",
    "RecordingError",
    "Reply",
    "ServerError",
    "ServerEvent",
    "Session",
    "SessionClosedError",
    "SessionState",
    "SyncSession",
    "Turn",
    "UnknownEventError",
    "UnknownServerEvent",
    "WebhookError",
    "__version__",
    "azure_from_env",
    "create_client_secret",
    "create_client_secret_sync",
    "events",
    "signals",
]
