"""pytest fixtures for testing code built on realtime-events (registered via ``pytest11``).

- ``realtime_server``: a running :class:`LocalRealtimeServer` (its model is the
  ``realtime_model`` fixture: override that one to script the conversation).
- ``realtime_session``: a :class:`Session` connected to it, closed after the test.
- ``live_session``: a ``Session(protocol="live")`` connected to the same
  server's Live endpoint (started, so open), closed after the test.

The fixtures are async and run under anyio's pytest plugin, so mark tests with
``@pytest.mark.anyio`` (and parametrize ``anyio_backend`` for trio)::

    @pytest.fixture
    def realtime_model():
        return ScriptedModel().when("hello").say("Hi!")

    @pytest.mark.anyio
    async def test_greets(realtime_session):
        await realtime_session.send_text("hello")
        done = await realtime_session.wait_for("response.done", timeout=5)

    @pytest.mark.anyio
    async def test_relays(live_session):
        async with live_session.stream("session.output_transcript.delta") as said:
            await live_session.live.session.commentary.append("Hi!")
            first = await said.receive()
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ..session import Session
from .models import DemoModel, Model
from .server import LocalRealtimeServer


@pytest.fixture
def realtime_model() -> Model:
    """The model behind ``realtime_server``: the demo model unless a test overrides it."""
    return DemoModel()


@pytest.fixture
async def realtime_server(
    anyio_backend: object, realtime_model: Model
) -> AsyncIterator[LocalRealtimeServer]:
    """A local Realtime server on 127.0.0.1 for the duration of one test."""
    async with LocalRealtimeServer(model=realtime_model) as server:
        yield server


@pytest.fixture
async def realtime_session(realtime_server: LocalRealtimeServer) -> AsyncIterator[Session]:
    """A session connected to ``realtime_server`` (GA dialect, text output)."""
    session = Session(url=realtime_server.url, output_modalities=["text"])
    async with session:
        yield session


@pytest.fixture
async def live_session(realtime_server: LocalRealtimeServer) -> AsyncIterator[Session]:
    """A Live session (``gpt-live-1``) on ``realtime_server``, answered by ``realtime_model``."""
    session = Session(protocol="live", url=realtime_server.live_url)
    async with session:
        yield session
