"""WebSocket connections: websockets' Sans-I/O protocol driven by anyio byte streams.

websockets implements the protocol (handshake, framing, control frames, the close
handshake) without doing any I/O. This package adds the I/O with anyio, so the same
code runs on asyncio and trio. :class:`WebSocket` serves both sides: :func:`connect`
opens a client connection, and :mod:`realtime_events.testing` accepts server ones.

One idea per module: :mod:`.frames` splits received frames into messages without
I/O, :mod:`.websocket` is the connection, and :mod:`.handshake` opens it (client
and server side).
"""

from .handshake import accept, connect
from .websocket import DEFAULT_MAX_SIZE, Message, WebSocket
from .websocket import READ_SIZE as READ_SIZE
from .websocket import SEND_PIECE as SEND_PIECE

__all__ = ["DEFAULT_MAX_SIZE", "Message", "WebSocket", "accept", "connect"]
