"""WebSocket connections: websockets' Sans-I/O protocol driven by anyio byte streams.

websockets implements the protocol (handshake, framing, control frames, the close
handshake) without doing any I/O. This package adds the I/O with anyio, so the same
code runs on asyncio and trio. :class:`WebSocket` serves both sides: :func:`connect`
opens a client connection, and :mod:`realtime_events.testing` accepts server ones.
"""

from .websocket import (
    DEFAULT_MAX_SIZE,
    READ_SIZE,
    SEND_PIECE,
    Message,
    WebSocket,
    accept,
    connect,
)

__all__ = ["DEFAULT_MAX_SIZE", "READ_SIZE", "SEND_PIECE", "Message", "WebSocket", "accept", "connect"]
