"""Plugin discovery through entry points, and attaching plugins from any thread."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
import pytest

from realtime_events import PluginNotFoundError, Session
from realtime_events.plugins import available, load
from realtime_events.testing import LocalRealtimeServer, ScriptedModel


def test_the_first_party_plugins_are_discoverable() -> None:
    installed = available()
    assert installed["tools"] == "realtime_events_tools:Tools"
    assert installed["transcript"] == "realtime_events_transcript:Transcript"
    assert installed["vad"] == "realtime_events_vad:VAD"


def test_a_missing_plugin_names_the_distribution_to_install() -> None:
    with pytest.raises(PluginNotFoundError, match="realtime-events-nonesuch") as caught:
        load("nonesuch")
    assert "tools" in str(caught.value)  # and says what is installed


def test_plugins_by_name_and_options() -> None:
    session = Session(url="ws://127.0.0.1:9/", plugins=["transcript", "tools"])
    assert list(session.plugins) == ["transcript", "tools"]
    vad = session.use("vad", mode="client")
    assert vad.mode == "client"
    assert session.session_config()["turn_detection"] is None  # contributed by the plugin
    with pytest.raises(ValueError, match="already attached"):
        session.use("tools")


@pytest.mark.anyio
async def test_a_plugin_attached_from_another_thread_works(anyio_backend: str) -> None:
    model = ScriptedModel().when("hello").say("Hi!")
    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, output_modalities=["text"])
        # Bots often build their session on a framework's worker thread.
        transcript: Any = await anyio.to_thread.run_sync(session.use, "transcript")
        async with session:
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)
    assert transcript.text() == "User: hello\nAssistant: Hi!"
