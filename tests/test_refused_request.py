"""A server that refuses the request (an error, then close 4000) ends the session: no retry.

The real server answers a request it cannot serve (a retired protocol, a
transcription session that names a model) with an ``error`` event and a close
with code 4000. Reconnecting sends the same request again, so the default
policy treats 4000 as final instead of retrying it 20 times. The peer is a
plain ``websockets`` server in a thread, written here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import pytest
from websockets.sync.server import ServerConnection, serve

from realtime_events import (
    ConnectionClosedError,
    ConnectionFailedError,
    ReconnectPolicy,
    Session,
    SessionClosedError,
)

pytestmark = pytest.mark.anyio

ERROR = {
    "type": "error",
    "event_id": "event_1",
    "error": {
        "type": "invalid_request_error",
        "code": "beta_api_shape_disabled",
        "message": "The Realtime Beta API is no longer supported.",
        "param": None,
        "event_id": None,
    },
}


@contextmanager
def refusing(code: int) -> Iterator[tuple[str, list[int]]]:
    """A server that sends ``ERROR`` and closes with ``code``; yields its URL and connection log."""
    connections: list[int] = []

    def handler(connection: ServerConnection) -> None:
        connections.append(code)
        connection.send(json.dumps(ERROR))
        connection.close(code, "invalid_request_error.beta_api_shape_disabled")

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}", connections
        finally:
            server.shutdown()
            thread.join(5)


async def test_close_4000_is_final_under_the_default_policy() -> None:
    assert 4000 in ReconnectPolicy().final_codes
    with refusing(4000) as (url, connections):
        session = Session(url=url)
        errors: list[str] = []
        session.on("error", lambda event: errors.append(event.error.code))
        # Refused before the session was configured (SessionClosedError) or after
        # (ConnectionClosedError): which depends on how the frames and the close race.
        with (
            anyio.fail_after(20),
            pytest.raises((ConnectionClosedError, SessionClosedError)) as closed,
        ):
            await session.run()
    assert "4000" in str(closed.value)
    assert connections == [4000]  # connected once, never again
    # The server's reason is told: to the handlers, or in the error that ends the run.
    assert errors == ["beta_api_shape_disabled"] or "beta_api_shape_disabled" in str(closed.value)


async def test_another_application_code_is_still_retried() -> None:
    policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=2)
    with refusing(4001) as (url, connections):
        session = Session(url=url, reconnect=policy)
        with anyio.fail_after(20), pytest.raises(ConnectionFailedError, match="after 2 attempts"):
            await session.run()
    assert len(connections) == 3  # the first connection and two attempts
