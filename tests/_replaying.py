"""Plain ``websockets`` servers in a thread, for tests: no project code."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

TIMEOUT = 10.0


@contextmanager
def replaying(frames: Sequence[str | bytes]) -> Iterator[str]:
    """Serve ``frames`` (str: text, bytes: binary) to each client, then wait for it to leave."""

    def handler(connection: ServerConnection) -> None:
        try:
            for frame in frames:
                connection.send(frame)
            for _ in connection:  # the client's own events, until it closes
                pass
        except ConnectionClosed:
            pass

    with serving(handler) as url:
        yield url


@contextmanager
def serving(handler: Callable[[ServerConnection], None]) -> Iterator[str]:
    """Serve each client with ``handler`` in a thread; yield the server's ws:// URL."""
    server = serve(handler, "127.0.0.1", 0, compression=None, max_size=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
