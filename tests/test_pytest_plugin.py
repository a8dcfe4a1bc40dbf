"""The pytest fixtures users get from the ``pytest11`` entry point, used as a user would."""

from __future__ import annotations

import pytest

from realtime_events import Session
from realtime_events.testing import LocalRealtimeServer, Model, ScriptedModel

pytestmark = pytest.mark.anyio


@pytest.fixture
def realtime_model() -> Model:
    """Overriding this fixture scripts the conversation of ``realtime_server``."""
    return ScriptedModel().when("ping").say("pong")


async def test_realtime_session_fixture(realtime_session: Session) -> None:
    await realtime_session.send_text("ping")
    done = await realtime_session.wait_for("response.done", timeout=10)
    assert done.response.text == "pong"


async def test_realtime_server_fixture(realtime_server: LocalRealtimeServer) -> None:
    async with Session(url=realtime_server.url, dialect="beta") as session:
        await session.send_text("ping")
        done = await session.wait_for("response.done", timeout=10)
    assert "response.create" in {e["type"] for e in realtime_server.connection.received}
    assert done.response.status == "completed"
