"""The plugins on a Live session, over loopback, on asyncio and trio.

The transcript builds turns from the Live transcript deltas; the tools plugin
runs the function tools a Responses backend calls and answers each call once,
also when the connection drops mid-call (a plain ``websockets`` peer driving
the Live engine: tests/_live_peer.py); the VAD plugin declares it applies to
Realtime only, so a Live session refuses it before anything is configured or
attached, saying why and what to do. A plugin's configuration hook is told the
Live protocol before it attaches, and a plugin whose attach raises is not left
attached.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import PluginNotApplicableError, RealtimeError, Session
from realtime_events.audio import read_wav, silence
from realtime_events.reconnect import ReconnectPolicy
from realtime_events.testing import LocalRealtimeServer
from realtime_events.testing.models import ScriptedModel
from realtime_events_tools import Tools
from realtime_events_transcript import Transcript
from realtime_events_vad import VAD

sys.path.insert(0, str(Path(__file__).parent))
from _live_peer import LivePeer

AUDIO = Path(__file__).parent / "audio"
WEATHER = AUDIO / "weather_paris.wav"
HEARD = "What's the weather in Paris?"
TIMEOUT = 20


def recording() -> bytes:
    pcm, rate = read_wav(WEATHER)
    assert rate == 24000
    return pcm + silence(1000)


async def said_until(session: Session, ending: str, act: Any) -> str:
    """Run ``act()``, then collect the output transcript until it ends with ``ending``."""
    said = ""
    async with session.stream("session.output_transcript.delta") as deltas:
        await act()
        with anyio.fail_after(TIMEOUT):
            async for delta in deltas:
                said += str(delta.delta)
                if said.endswith(ending):
                    return said
    raise AssertionError(f"the transcript ended before {ending!r}: {said!r}")


# ---------------------------------------------------------------- transcript


def chatty_model() -> ScriptedModel:
    return ScriptedModel().when("weather").say("It is sunny in Paris.").hears(WEATHER, HEARD)


@pytest.mark.anyio
async def test_the_transcript_of_a_live_session_is_its_turns_in_order() -> None:
    async with LocalRealtimeServer(model=chatty_model()) as server:
        session = Session(protocol="live", url=server.live_url)
        transcript = session.use(Transcript())
        events: list[Any] = []
        session.on("transcript.*", events.append)
        async with session:
            await said_until(
                session, "It is sunny in Paris.", lambda: session.send_audio(recording())
            )
            await said_until(
                session,
                "Your train leaves at nine.",
                lambda: session.live.session.commentary.append("Your train leaves at nine."),
            )
            # Live deltas have no end: the assistant's turn is open until the session closes.
            assert [t.role for t in transcript] == ["user", "assistant"]
            assert not transcript[1].done

    user, assistant = transcript.turns
    assert (user.role, user.text.strip(), user.status) == ("user", HEARD, "completed")
    assert assistant.role == "assistant"
    # Two runs of speech, one turn: nothing of the user's came between them.
    assert assistant.text.strip().startswith("It is sunny in Paris.")
    assert assistant.text.strip().endswith("Your train leaves at nine.")
    assert assistant.status == "completed"
    assert user.modality == assistant.modality == "audio"
    assert transcript.get(user.item_id) is user
    assert transcript.text() == f"User: {user.text}\nAssistant: {assistant.text}"
    # Each turn: started once, its deltas join to its text, completed once, in order.
    for turn in transcript:
        mine = [e for e in events if e.turn.item_id == turn.item_id]
        assert mine[0].type == "transcript.turn_started"
        assert mine[-1].type == "transcript.turn_completed"
        assert mine[-1].turn.text == turn.text
        updates = [e for e in mine if e.type == "transcript.updated"]
        assert "".join(e.delta for e in updates) == turn.text
    starts = [e.turn.item_id for e in events if e.type == "transcript.turn_started"]
    assert starts == [user.item_id, assistant.item_id]
    assert session.live.history.turns[0].text == user.text  # the core's history agrees


@pytest.mark.anyio
async def test_a_live_turn_cut_by_a_lost_connection_is_interrupted_and_the_next_one_follows(
    tmp_path: Path,
) -> None:
    with LivePeer(chatty_model).running() as peer:
        saved = tmp_path / "call.json"
        session = Session(
            protocol="live",
            url=peer.url,
            reconnect=ReconnectPolicy(initial_delay=0.01, jitter=0),
        )
        transcript = session.use(Transcript(save_to=saved))
        interrupted: list[Any] = []
        session.on("transcript.turn_interrupted", interrupted.append)
        async with session:
            await said_until(session, "It is sunny", lambda: session.send_audio(recording()))
            async with session.stream("session.started") as starts:
                await peer.drop()
                with anyio.fail_after(TIMEOUT):
                    await starts.receive()
            await said_until(
                session,
                "Bye.",
                lambda: session.live.session.commentary.append("Bye."),
            )

    roles = [(t.role, t.status) for t in transcript]
    assert roles == [
        ("user", "completed"),
        ("assistant", "interrupted"),
        ("assistant", "completed"),
    ]
    assert [e.turn.item_id for e in interrupted] == [transcript[1].item_id]
    assert transcript[2].text.strip() == "Bye."
    assert '"interrupted": true' in saved.read_text()


# ----------------------------------------------------------------------- vad


@pytest.mark.anyio
async def test_vad_refuses_a_live_session_saying_why_and_leaves_nothing_attached() -> None:
    async with LocalRealtimeServer() as server:
        session = Session(protocol="live", url=server.live_url)
        before = session.session_config()
        # Any mode: the protocol is checked before the configuration it would make.
        for vad in (VAD(), VAD(mode="client")):
            with pytest.raises(PluginNotApplicableError) as caught:
                session.use(vad)
            refusal = caught.value
            assert (refusal.plugin, refusal.protocol, refusal.supported) == (
                "vad",
                "live",
                ("realtime",),
            )
            assert "'vad' plugin does not apply to a Live session" in str(refusal)
            assert "Turn detection and barge-in are the Live server's" in str(refusal)
            assert "session.send_audio" in str(refusal)
            with pytest.raises(RuntimeError, match="attach the plugin first"):
                await vad.push(b"\0\0")  # never attached
        assert session.plugins == {}
        assert session.session_config() == before
        async with session:  # the session is unharmed
            assert session.state == "open"
        assert "turn_detection" not in session.config
        assert "turn_detection" not in server.live_connection.received[0]["session"]
    # The same plugin is welcome on a Realtime session.
    assert isinstance(Session(url="ws://127.0.0.1:9/v1/realtime").use(VAD()), VAD)


class Probe:
    """A plugin that records what the session told its hook, and whether it attached."""

    def __init__(self, name: str = "probe", *, fail: bool = False, **fields: Any) -> None:
        self.name = name
        self.fields = fields
        self.fail = fail
        self.calls: list[str] = []
        self.told: list[tuple[str, dict[str, Any]]] = []

    def attach(self, session: Session) -> None:
        self.calls.append("attach")
        if self.fail:
            raise RuntimeError("this probe refuses to attach")

    def session_config(self, *, protocol: str, config: Mapping[str, Any]) -> Mapping[str, Any]:
        self.calls.append("session_config")
        self.told.append((protocol, dict(config)))
        return self.fields


class RealtimeOnly(Probe):
    protocols = ("realtime",)


@pytest.mark.anyio
async def test_a_plugin_is_told_the_live_protocol_before_it_attaches() -> None:
    delegation = {"type": "responses", "responses": {"model": "gpt-5.2"}}
    async with LocalRealtimeServer() as server:
        session = Session(protocol="live", url=server.live_url, config={"delegation": delegation})
        realtime_only = RealtimeOnly(instructions="Never sent.")
        with pytest.raises(PluginNotApplicableError, match="protocol='live'") as caught:
            session.use(realtime_only)
        assert "use it on a session with protocol='realtime'" in str(caught.value)
        assert realtime_only.calls == []  # neither configured nor attached

        probe = session.use(Probe(instructions="Speak English."))
        assert probe.calls[:2] == ["session_config", "attach"]
        assert probe.told[0] == ("live", {"delegation": delegation})

        broken = Probe("broken", fail=True, audio={"output": {"voice": "cedar"}})
        with pytest.raises(RuntimeError, match="refuses to attach"):
            session.use(broken)
        assert list(session.plugins) == ["probe"]
        async with session:
            assert session.state == "open"
            with pytest.raises(RuntimeError, match="refuses to attach"):
                session.use(Probe("late", fail=True))
            assert list(session.plugins) == ["probe"]
        start = server.live_connection.received[0]["session"]
        assert start["instructions"] == "Speak English."
        assert "audio" not in start
        assert {told for told, _ in probe.told} == {"live"}


# --------------------------------------------------------------------- tools


def weather_model() -> ScriptedModel:
    """Delegates weather questions, reads the tool's result back, relays the rest."""
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
        .otherwise("Hello there!")
    )
    return model.hears(WEATHER, HEARD)


def weather_tools(**options: Any) -> tuple[Tools, list[str]]:
    """Tools with ``get_weather``, and the cities it was asked about."""
    tools = Tools(**options)
    asked: list[str] = []

    @tools.function
    def get_weather(city: str) -> dict[str, Any]:
        """Current weather for a city."""
        asked.append(city)
        return {"city": city, "temp_c": 21}

    return tools, asked


@pytest.mark.anyio
async def test_the_backends_function_call_runs_once_and_its_answer_is_spoken() -> None:
    async with LocalRealtimeServer(model=weather_model()) as server:
        session = Session(protocol="live", url=server.live_url)
        tools, asked = weather_tools(backend_model="gpt-5.2")
        session.use(tools)
        finished: list[Any] = []
        session.on("tools.*", finished.append)
        delegation = session.session_config()["delegation"]
        assert delegation["type"] == "responses"
        assert delegation["responses"]["model"] == "gpt-5.2"
        assert [t["name"] for t in delegation["responses"]["tools"]] == ["get_weather"]
        async with session:
            said = await said_until(
                session, "It is 21 degrees in Paris.", lambda: session.send_audio(recording())
            )
        assert said.endswith("It is 21 degrees in Paris.")
        assert asked == ["Paris"]
        names = [e.type for e in finished]
        assert names == ["tools.call_started", "tools.call_finished", "tools.batch_finished"]
        call = finished[1].call
        assert call.ok
        assert call.output == '{"city":"Paris","temp_c":21}'
        assert finished[2].response_id.startswith("resp")


@pytest.mark.anyio
async def test_a_call_whose_session_was_lost_is_answered_once_in_the_next_one() -> None:
    release = anyio.Event()
    with LivePeer(weather_model).running() as peer:
        session = Session(
            protocol="live",
            url=peer.url,
            reconnect=ReconnectPolicy(initial_delay=0.01, jitter=0),
            config={"delegation": {"type": "responses", "responses": {"model": "gpt-5.2"}}},
        )
        tools = session.use(Tools())

        @tools.function
        async def get_weather(city: str) -> dict[str, Any]:
            """Current weather for a city."""
            await release.wait()
            return {"city": city, "temp_c": 21}

        finished: list[Any] = []
        session.on("tools.call_finished", finished.append)
        async with session:
            async with session.stream("tools.call_started") as started:
                await session.send_audio(recording())
                with anyio.fail_after(TIMEOUT):
                    await started.receive()
            first = session.live.session_id
            async with session.stream("session.started") as starts:
                await peer.drop()  # mid-call: the backend that made it is gone
                with anyio.fail_after(TIMEOUT):
                    await starts.receive()
            assert session.live.session_id != first

            async def answer() -> None:
                release.set()

            said = await said_until(session, "21}", answer)
            # Emitted before the answer was sent, so handled before its speech arrived.
            assert len(finished) == 1

        lost, fresh = peer.connections
        assert fresh.received[0]["session"]["delegation"]["responses"]["tools"][0]["name"] == (
            "get_weather"
        )
        # Answered once, in the new session, as context for the model to tell the user:
        # never as an output for a call the new session never made.
        for connection in (lost, fresh):
            assert "response.item.create" not in connection.types()
            assert "response.create" not in connection.types()
        answers = [e for e in fresh.received if e["type"] == "session.commentary.append"]
        assert len(answers) == 1
        assert answers[0]["delegation_id"] is None
        assert answers[0]["content"] == 'get_weather returned: {"city":"Paris","temp_c":21}'
        assert "21" in said
        assert len(finished) == 1


@pytest.mark.anyio
async def test_tools_refuse_a_live_delegation_that_cannot_call_functions() -> None:
    async with LocalRealtimeServer() as server:
        client = Session(protocol="live", url=server.live_url,
                         config={"delegation": {"type": "client"}})  # fmt: skip
        tools, _ = weather_tools()
        with pytest.raises(RealtimeError, match="cannot serve a 'client' delegation") as caught:
            client.use(tools)
        assert "handle session.delegation.created yourself" in str(caught.value)
        assert "tools" not in client.plugins
        assert tools.session is None  # refused before it attached
        assert client.session_config()["delegation"] == {"type": "client"}
        async with client:  # the session is unharmed, and sends its own delegation
            assert client.state == "open"
        assert server.live_connection.received[0]["session"]["delegation"] == {"type": "client"}

        bare = Session(protocol="live", url=server.live_url)
        with pytest.raises(RealtimeError, match=r"Tools\(backend_model="):
            bare.use(tools)
        assert "tools" not in bare.plugins
        assert tools.session is None
        tools.backend_model = "gpt-5.2"  # the same instance, configured, is taken
        assert bare.use(tools) is tools
        assert bare.plugins["tools"] is tools
        assert tools.session is bare
        async with bare:
            assert bare.state == "open"
        delegation = server.live_connection.received[0]["session"]["delegation"]
        assert delegation["responses"]["model"] == "gpt-5.2"
        assert [t["name"] for t in delegation["responses"]["tools"]] == ["get_weather"]


@pytest.mark.anyio
async def test_an_update_of_the_delegation_reaches_the_tools_contribution() -> None:
    # The tools plugin builds its delegation from the session's own: an update
    # must be checked and sent with the new one, not with the one it replaces.
    def backend(model: str) -> dict[str, Any]:
        return {"type": "responses", "responses": {"model": model}}

    async with LocalRealtimeServer() as server:
        session = Session(
            protocol="live", url=server.live_url, config={"delegation": backend("gpt-5.2")}
        )
        tools, _ = weather_tools()
        session.use(tools)
        async with session:
            await session.update(delegation=backend("gpt-5.4"))
            effective = session.session_config()["delegation"]
        updates = [e for e in server.live_connection.received if e["type"] == "session.update"]
    assert len(updates) == 1
    sent = updates[0]["session"]["delegation"]
    assert sent["responses"]["model"] == "gpt-5.4"
    assert [t["name"] for t in sent["responses"]["tools"]] == ["get_weather"]
    assert effective == sent
