"""Plugins: discovery through entry points, attaching from any thread, and what is checked first.

A plugin declares the protocols it applies to (``protocols``); a session of
another protocol refuses it before anything is configured or attached. Its
``session_config`` hook is told the protocol and the session's own fields when
it asks for them. A plugin whose ``attach`` raises is not left attached. Each
is shown over loopback against the local server, on asyncio and trio.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import anyio.to_thread
import pytest

from realtime_events import (
    PluginNotApplicableError,
    PluginNotFoundError,
    Session,
    UnknownEventError,
)
from realtime_events.plugin_host import PluginHost
from realtime_events.plugins import PROTOCOLS, available, declared_protocols, load
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


class Probe:
    """A plugin that records what the session asked of it, and in which order."""

    events: tuple[str, ...] = ("probe.seen",)

    def __init__(self, name: str = "probe", *, fail: bool = False, **fields: Any) -> None:
        self.name = name
        self.fields = fields
        self.fail = fail
        self.calls: list[str] = []
        self.ran = anyio.Event()  # set when the session runs its task

    def attach(self, session: Session) -> None:
        self.calls.append("attach")
        if self.fail:
            raise RuntimeError("this probe refuses to attach")

    def session_config(self) -> Mapping[str, Any]:
        self.calls.append("session_config")
        return self.fields

    async def run(self, session: Session) -> None:
        self.ran.set()


class LiveOnly(Probe):
    protocols = ("live",)
    protocol_hints = {"realtime": "Use the probe on Session(protocol='live')."}


class Told(Probe):
    """A probe whose hook asks for the protocol and the session's own fields."""

    def __init__(self, name: str = "told", **fields: Any) -> None:
        super().__init__(name, **fields)
        self.told: list[tuple[str, dict[str, Any]]] = []

    def session_config(  # type: ignore[override]
        self, *, protocol: str, config: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        self.calls.append("session_config")
        self.told.append((protocol, dict(config)))
        return self.fields


class Keywords(Probe):
    """A probe whose hook takes any keyword: it is told everything."""

    def __init__(self) -> None:
        super().__init__("keywords")
        self.told: dict[str, Any] = {}

    def session_config(self, **context: Any) -> Mapping[str, Any]:
        self.told = context
        return {}


def test_a_plugin_applies_to_both_protocols_unless_it_says_otherwise() -> None:
    assert declared_protocols(Probe) == PROTOCOLS == ("realtime", "live")
    assert declared_protocols(LiveOnly) == ("live",)
    with pytest.raises(TypeError, match="tuple of protocol names"):
        declared_protocols(type("Bad", (), {"protocols": "live"})())
    with pytest.raises(ValueError, match="one or more of"):
        declared_protocols(type("Bad", (), {"protocols": ("webrtc",)})())
    with pytest.raises(ValueError, match="one or more of"):
        declared_protocols(type("Bad", (), {"protocols": ()})())


@pytest.mark.anyio
async def test_a_plugin_for_another_protocol_is_refused_before_anything_changes(
    anyio_backend: str,
) -> None:
    async with LocalRealtimeServer() as server:
        session = Session(url=server.url, voice="marin")
        before = session.session_config()
        plugin = LiveOnly(instructions="Only on Live.")
        with pytest.raises(PluginNotApplicableError) as caught:
            session.use(plugin)
        refusal = caught.value
        assert (refusal.plugin, refusal.protocol, refusal.supported) == (
            "probe",
            "realtime",
            ("live",),
        )
        message = str(refusal)
        assert (
            "'probe' plugin does not apply to a Realtime session (protocol='realtime')" in message
        )
        assert "Use the probe on Session(protocol='live')." in message  # its own hint
        assert plugin.calls == []  # neither configured nor attached
        assert session.plugins == {}
        assert session.session_config() == before
        # Without a hint, the message still says what to do.
        hintless = type("Hintless", (Probe,), {"protocols": ("live",)})()
        with pytest.raises(
            PluginNotApplicableError, match="use it on a session with protocol='live'"
        ):
            session.use(hintless)
        async with session:
            await session.wait_for("session.updated", timeout=10)
        assert not plugin.ran.is_set()
        assert not hintless.ran.is_set()
    [update] = [e["session"] for e in server.connection.received if e["type"] == "session.update"]
    assert "instructions" not in update


@pytest.mark.anyio
async def test_session_config_is_told_the_protocol_and_own_fields_before_attach(
    anyio_backend: str,
) -> None:
    async with LocalRealtimeServer() as server:
        session = Session(url=server.url, voice="marin")
        told = Told(instructions="Be brief.")
        session.use(told)
        # Checked before it attached, with what a plugin needs to know to answer.
        assert told.calls[:2] == ["session_config", "attach"]
        assert told.told[0] == ("realtime", {"voice": "marin"})
        old = Probe("old", output_modalities=["text"])  # a hook that takes nothing still works
        session.use(old)
        keywords = session.use(Keywords())
        assert session.session_config()["instructions"] == "Be brief."
        assert keywords.told["protocol"] == "realtime"
        assert keywords.told["config"] == {"voice": "marin"}
        with pytest.raises(TypeError):  # the session's fields are read-only to a plugin
            keywords.told["config"]["voice"] = "cedar"
        async with session:
            await session.wait_for("session.updated", timeout=10)
        assert set(map(repr, told.told)) == {repr(("realtime", {"voice": "marin"}))}
    [update] = [e["session"] for e in server.connection.received if e["type"] == "session.update"]
    assert update["instructions"] == "Be brief."
    assert update["output_modalities"] == ["text"]


@pytest.mark.anyio
async def test_a_plugin_whose_attach_raises_is_not_left_attached(anyio_backend: str) -> None:
    async with LocalRealtimeServer() as server:
        session = Session(url=server.url, voice="marin")
        first = session.use(Probe("first"))
        before = session.session_config()
        broken = Probe("broken", fail=True, instructions="Never sent.")
        with pytest.raises(RuntimeError, match="refuses to attach"):
            session.use(broken)
        assert broken.calls == ["session_config", "attach"]
        assert list(session.plugins) == ["first"]
        assert session.session_config() == before
        # Its name is free again, for a plugin that attaches.
        fixed = session.use(Probe("broken"))
        assert session.plugins == {"first": first, "broken": fixed}
        async with session:
            await session.wait_for("session.updated", timeout=10)
            with anyio.fail_after(10):
                await first.ran.wait()
                await fixed.ran.wait()
        assert not broken.ran.is_set()  # no task of the session's run is the refused plugin's
        # Refused while the session runs, too: the running session is not harmed.
        async with session:
            with pytest.raises(RuntimeError, match="refuses to attach"):
                session.use(Probe("late", fail=True))
            assert list(session.plugins) == ["first", "broken"]
            assert session.state == "open"
    updates = [e["session"] for e in server.connection.received if e["type"] == "session.update"]
    assert updates
    assert all("instructions" not in update for update in updates)


class Names:
    """Declared event names as a session keeps them: declare, read, and forget."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.undeclared: list[tuple[str, ...]] = []

    def declare(self, *names: str) -> None:
        self.names.update(names)

    def declared(self) -> frozenset[str]:
        return frozenset(self.names)

    def undeclare(self, *names: str) -> None:
        self.undeclared.append(names)
        self.names.difference_update(names)


class Greeter(Probe):
    events = ("greeter.hello", "greeter.*")


def test_a_plugin_whose_attach_raises_takes_back_the_names_it_added() -> None:
    session = Session(url="ws://127.0.0.1:9/v1/realtime")
    names = Names("greeter.hello")  # the application declared this one itself
    host = PluginHost(
        session,
        admit=lambda config: None,
        declare=names.declare,
        declared=names.declared,
        undeclare=names.undeclare,
    )
    broken = Greeter("greeter", fail=True)
    with pytest.raises(RuntimeError, match="refuses to attach"):
        host.attach(broken, {})
    assert broken.calls == ["session_config", "attach"]  # it was declared, then attach raised
    assert names.undeclared == [("greeter.*",)]  # what it added, not what was there before
    assert names.names == {"greeter.hello"}
    assert host.plugins == {}
    # A fixed plugin of the same name attaches, and keeps its names.
    fixed = host.attach(Greeter("greeter"), {})
    assert host.plugins == {"greeter": fixed}
    assert names.names == {"greeter.hello", "greeter.*"}
    assert names.undeclared == [("greeter.*",)]


def test_without_a_way_to_undeclare_a_failed_attach_leaves_the_names() -> None:
    session = Session(url="ws://127.0.0.1:9/v1/realtime")
    names = Names()
    host = PluginHost(session, admit=lambda config: None, declare=names.declare)
    with pytest.raises(RuntimeError, match="refuses to attach"):
        host.attach(Greeter("greeter", fail=True), {})
    assert names.names == {"greeter.hello", "greeter.*"}
    assert host.plugins == {}


def test_a_session_forgets_the_names_of_a_plugin_whose_attach_raised() -> None:
    session = Session(url="ws://127.0.0.1:9/v1/realtime")
    session.declare("greeter.hello")  # the application's own
    with pytest.raises(RuntimeError, match="refuses to attach"):
        session.use(Greeter("greeter", fail=True))
    with pytest.raises(UnknownEventError):
        session.on("greeter.bye", lambda event: None)  # the failed plugin's pattern is gone
    session.on("greeter.hello", lambda event: None)  # the application's name stays
    session.use(Greeter("greeter"))
    session.on("greeter.bye", lambda event: None)  # the fixed plugin's pattern holds
