"""After the opening handshake, against a plain ``websockets`` server (no project code).

The client connection lets go of the handshake's response, which websockets'
client parser would keep for as long as the connection lives, by handing the
frames to a fresh frame parser once the response is read. What follows the
handshake must read exactly as before: frames sent right behind the response,
fragmented messages and pings (which go through websockets' parser), and the
closing handshake.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from realtime_events.connection import connect

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _replaying import TIMEOUT, serving

pytestmark = pytest.mark.anyio


@contextmanager
def talking(seen: list[object], done: threading.Event) -> Iterator[str]:
    """A server that talks first, fragments, pings, echoes, and records how the client closed."""

    def handler(connection: ServerConnection) -> None:
        try:
            connection.send('{"n": 0}')  # right behind the 101 response
            connection.send(['{"n": ', "1, ", '"part": "fragmented"}'])
            seen.append(("pong", connection.ping().wait(TIMEOUT)))
            connection.send('{"n": 2}')
            for message in connection:  # echo until the client closes
                connection.send(message)
        except ConnectionClosed:
            pass
        seen.append(("closed", connection.close_code))
        done.set()

    with serving(handler) as url:
        yield url


async def test_frames_after_the_handshake_read_as_ever_without_the_response_kept(
    anyio_backend: str,
) -> None:
    seen: list[object] = []
    done = threading.Event()
    with talking(seen, done) as url:
        with anyio.fail_after(TIMEOUT):
            ws = await connect(url, ping_interval=None)
            # The parser reading frames now is the frame parser, not the client's
            # handshake parser that held the response.
            assert "response" not in ws.protocol.parser.gi_frame.f_locals  # type: ignore[attr-defined]
            got = [(await ws.recv()).data for _ in range(3)]
            await ws.send('{"n": 3}')
            got.append((await ws.recv()).data)
            await ws.close()
        # The server's thread records the close as it saw it.
        assert await anyio.to_thread.run_sync(done.wait, TIMEOUT)
    assert got == [
        b'{"n": 0}',
        b'{"n": 1, "part": "fragmented"}',
        b'{"n": 2}',
        b'{"n": 3}',
    ]
    assert seen == [("pong", True), ("closed", 1000)]
