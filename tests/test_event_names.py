"""Event names are checked where they are registered: a typo speaks instead of never firing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from realtime_events import Session
from realtime_events.errors import SessionClosedError, UnknownEventError
from realtime_events.event_names import PROTOCOL_EVENTS, EventNames
from realtime_events.events import ResponseDoneEvent, UnknownServerEvent
from realtime_events.events.names import BETA_TO_GA
from realtime_events.metrics import Metrics
from realtime_events.plugins import declared_events, installed_events
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events_tools import Tools
from realtime_events_transcript import Transcript
from realtime_events_vad import VAD

pytestmark = pytest.mark.anyio


class Profanity:
    """A plugin of this test, not installed: its names exist once it is attached."""

    name = "profanity"
    events = ("profanity.detected", "profanity.text.*")

    def attach(self, session: Session) -> None:
        self.session = session
        session.on("response.output_text.delta", self.check)

    def check(self, event: Any) -> None:
        if "darn" in event.delta:
            self.session.emit("profanity.detected", item_id=event.item_id)
            self.session.emit("profanity.text.masked", delta=event.delta.replace("darn", "****"))


def nothing(event: Any) -> None:
    """A handler that is never meant to run."""


# -- refusing unknown names ---------------------------------------------------------


def test_a_misspelled_name_is_refused_with_a_suggestion() -> None:
    session = Session(url="ws://127.0.0.1:9")
    with pytest.raises(UnknownEventError) as caught:

        @session.on("respons.done")
        def on_done(event: Any) -> None: ...

    message = str(caught.value)
    assert message.startswith("unknown event name 'respons.done': did you mean 'response.done'?")
    assert "session.declare" in message
    assert isinstance(caught.value, ValueError)
    with pytest.raises(
        UnknownEventError, match=re.escape("did you mean 'response.output_audio.delta'")
    ):
        session.on("response.output_audio.delt", nothing)
    with pytest.raises(
        UnknownEventError, match=re.escape("did you mean 'input_audio_buffer.speech_started'")
    ):
        session.once("input_audio_buffer.speech_startd", nothing)


async def test_wait_for_and_stream_check_the_name_before_anything_else() -> None:
    session = Session(url="ws://127.0.0.1:9")
    # The typo is the mistake to report, even though the session is not running either.
    with pytest.raises(UnknownEventError, match=re.escape("did you mean 'response.done'")):
        await session.wait_for("respons.done", timeout=1)
    with pytest.raises(UnknownEventError, match=re.escape("did you mean 'response.done'")):
        async with session.stream("respons.done"):
            pass
    with pytest.raises(SessionClosedError, match="the session is not running"):
        await session.wait_for("response.done", timeout=1)


def test_every_protocol_name_pattern_and_class_is_accepted() -> None:
    session = Session(url="ws://127.0.0.1:9")
    for name in PROTOCOL_EVENTS:
        session.on(name, nothing)
    for beta, ga in BETA_TO_GA.items():
        assert beta in PROTOCOL_EVENTS
        assert ga in PROTOCOL_EVENTS
    for pattern in ("*", "response.*", "response.audio.*", "conversation.item.*", "tools.*"):
        session.on(pattern, nothing)
    session.on(ResponseDoneEvent, nothing)
    session.on(UnknownServerEvent, nothing)


def test_a_pattern_must_match_some_name() -> None:
    session = Session(url="ws://127.0.0.1:9")
    with pytest.raises(UnknownEventError) as caught:
        session.on("respons.*", nothing)
    assert str(caught.value).startswith(
        "the pattern 'respons.*' matches no known event name: did you mean 'response.*'?"
    )
    with pytest.raises(UnknownEventError, match="matches no known event name"):
        session.on("responses.done.*", nothing)


def test_a_client_event_is_refused_for_what_it_is() -> None:
    session = Session(url="ws://127.0.0.1:9")
    with pytest.raises(UnknownEventError, match=re.escape("'response.create' is a client event")):
        session.on("response.create", nothing)


# -- declaring names ------------------------------------------------------------------


def test_a_plugin_declares_its_names_when_it_is_attached() -> None:
    session = Session(url="ws://127.0.0.1:9")
    with pytest.raises(UnknownEventError):
        session.on("profanity.detected", nothing)
    session.use(Profanity())
    session.on("profanity.detected", nothing)
    session.on("profanity.*", nothing)
    session.on("profanity.text.masked", nothing)  # under a declared pattern
    session.on("profanity.text.*", nothing)
    with pytest.raises(UnknownEventError, match=re.escape("did you mean 'profanity.detected'")):
        session.on("profanity.detectd", nothing)


def test_an_application_declares_its_own_names() -> None:
    session = Session(url="ws://127.0.0.1:9")
    with pytest.raises(UnknownEventError, match=re.escape("session.declare")):
        session.on("app.order_placed", nothing)
    session.declare("app.order_placed", "app.payment.*")
    session.on("app.order_placed", nothing)
    session.on("app.payment.refunded", nothing)
    session.on("app.*", nothing)
    # A server event newer than the library is declared the same way.
    session.declare("response.reasoning.delta")
    session.on("response.reasoning.delta", nothing)
    with pytest.raises(ValueError, match="would accept every typo"):
        session.declare("*")
    with pytest.raises(ValueError, match=re.escape("not 'app.*.done'")):
        session.declare("app.*.done")
    with pytest.raises(TypeError):
        session.declare("")


def test_names_of_installed_plugins_are_known_before_they_are_attached() -> None:
    declared = set(installed_events())
    assert {"transcript.updated", "tools.call_finished", "vad.interrupted"} <= declared
    session = Session(url="ws://127.0.0.1:9")
    session.on("transcript.turn_completed", nothing)  # a handler first, the plugin later
    session.use(Transcript())
    with pytest.raises(
        UnknownEventError, match=re.escape("did you mean 'transcript.turn_completed'")
    ):
        session.on("transcript.turn_complete", nothing)


def test_every_first_party_plugin_declares_names_of_its_own() -> None:
    for plugin, prefix in ((Tools, "tools."), (Transcript, "transcript."), (VAD, "vad.")):
        names = declared_events(plugin)
        assert names
        assert all(name.startswith(prefix) for name in names)
    assert declared_events(Metrics) == ("metrics.response",)
    # Every session has metrics, so its event is known on every session.
    Session(url="ws://127.0.0.1:9").on("metrics.response", nothing)


def test_a_plugin_with_malformed_events_is_refused() -> None:
    class Broken:
        name = "broken"
        events = "broken.happened"  # a string, not a tuple of names

        def attach(self, session: Session) -> None: ...

    with pytest.raises(TypeError, match="events must be a tuple"):
        Session(url="ws://127.0.0.1:9").use(Broken())


def test_the_name_set_on_its_own() -> None:
    names = EventNames()
    assert names.known("response.done")
    assert names.known("response.audio.delta")
    assert not names.known("myapp.thing")
    names.declare("response.text.delta", "myapp.*")
    # A renamed event is declared in both spellings.
    assert {"response.text.delta", "response.output_text.delta", "myapp.*"} <= names.declared
    assert names.known("myapp.thing")


# -- emitting -------------------------------------------------------------------------


def test_emitting_an_undeclared_name_is_refused_with_a_suggestion() -> None:
    session = Session(url="ws://127.0.0.1:9")
    session.use(Profanity())
    with pytest.raises(UnknownEventError) as caught:
        session.emit("profanity.detectd")
    message = str(caught.value)
    assert message.startswith("unknown event name 'profanity.detectd' emitted: did you mean")
    assert "`events` attribute" in message
    with pytest.raises(ValueError, match="is a server event of the Realtime protocol"):
        session.emit("response.done")
    # A declared name passes the check: what remains is that nothing runs yet.
    with pytest.raises(SessionClosedError):
        session.emit("profanity.detected")


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    model = ScriptedModel().when("swear").say("Well, darn it.").otherwise("Okay.")
    async with LocalRealtimeServer(model=model) as server:
        yield server


async def test_a_declared_plugin_event_reaches_its_handlers(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    session.use(Profanity())
    masked: list[str] = []
    session.on("profanity.text.masked", lambda event: masked.append(event.delta))
    async with session, session.stream("profanity.detected") as detected:
        await session.send_text("swear")
        event = await detected.receive(timeout=10)
    assert event.type == "profanity.detected"
    assert any("****" in delta for delta in masked)


# ------------------------------------------------------------- per protocol


def test_a_live_session_knows_live_names_and_says_when_a_name_is_realtimes() -> None:
    from realtime_events.event_names import LIVE_PROTOCOL_EVENTS, protocol_events

    names = EventNames("live")
    assert protocol_events("live") == LIVE_PROTOCOL_EVENTS
    assert "session.started" in LIVE_PROTOCOL_EVENTS
    assert "session.started" not in PROTOCOL_EVENTS
    for name in ("session.started", "error", "session.updated", "decision.*", "transport.*"):
        names.check(name)
    with pytest.raises(UnknownEventError, match="an event of the Realtime protocol"):
        names.check("response.output_audio.delta")
    with pytest.raises(UnknownEventError, match="no Live server event"):
        names.check("nothing.like.it")
    with pytest.raises(UnknownEventError, match="matches no known event name"):
        names.check("conversation.*")
    with pytest.raises(UnknownEventError, match="client event"):
        names.check("session.input_audio.mute")
    with pytest.raises(ValueError, match="server event of the Live protocol"):
        names.check_emit("session.closed")
    names.declare("bot.said")
    names.check_emit("bot.said")
    with pytest.raises(ValueError, match="protocol must be"):
        EventNames("rtc")  # type: ignore[arg-type]


def test_a_realtime_session_says_when_a_name_is_lives() -> None:
    names = EventNames()
    with pytest.raises(UnknownEventError, match="an event of the Live protocol"):
        names.check("session.delegation.created")
    names.check("response.done")


def test_sessions_declaring_alike_share_nothing_they_could_change_for_each_other() -> None:
    first, second = EventNames(), EventNames()
    first.declare("bot.said")
    assert first.known("bot.said")
    assert not second.known("bot.said")
    second.declare("bot.said", "bot.extra.*")
    first.undeclare("bot.said")
    assert not first.known("bot.said")
    assert second.known("bot.said")
    assert second.known("bot.extra.one")
    assert second.declared == frozenset({"bot.said", "bot.extra.*"})
    # A bad name raises; the names before it are declared all the same.
    with pytest.raises(ValueError, match="every typo"):
        first.declare("bot.first", "*", "bot.after")
    assert first.known("bot.first")
    assert not first.known("bot.after")
    assert not second.known("bot.first")
