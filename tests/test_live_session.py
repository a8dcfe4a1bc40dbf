"""Session(protocol="live") over real loopback sockets, on asyncio and trio.

The peer is a plain ``websockets`` server driving the local server's Live
engine (tests/_live_peer.py): a whole conversation (text history and
commentary, a real recording with server-side turn detection, a delegated
tool call answered once, close), a dropped connection whose next session
starts with the history in ``input``, a refused start; and a server replaying
frames built with the official SDK's Live models, which reach typed handlers.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai.types import live as sdk

from realtime_events import Session, SessionClosedError
from realtime_events.audio import read_wav, silence
from realtime_events.dispatch import EventStream
from realtime_events.errors import InvalidConfigError, RealtimeError, UnknownEventError
from realtime_events.live import (
    LiveDelegationCreatedEvent,
    LiveErrorEvent,
    LiveInfoEvent,
    LiveOutputTranscriptDeltaEvent,
    LiveSessionClosedEvent,
    LiveSessionStartedEvent,
    LiveSessionUsageUpdatedEvent,
)
from realtime_events.reconnect import ReconnectPolicy
from realtime_events.recording import read_recording, recording_protocol
from realtime_events.testing.live import ACKNOWLEDGEMENT, LIVE_PATH
from realtime_events.testing.models import ScriptedModel

sys.path.insert(0, str(Path(__file__).parent))
from _live_peer import LivePeer

AUDIO = Path(__file__).parent / "audio"
WEATHER = AUDIO / "weather_paris.wav"
HEARD = "What's the weather in Paris?"
TIMEOUT = 20


def weather_model() -> ScriptedModel:
    """Delegates weather questions to the client, reads the result back, relays the rest."""
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
        .otherwise("Hello there!")
    )
    return model.hears(WEATHER, HEARD)


def recording() -> bytes:
    pcm, rate = read_wav(WEATHER)
    assert rate == 24000
    return pcm + silence(1000)


def live(peer: LivePeer, **kwargs: Any) -> Session:
    kwargs.setdefault("reconnect", False)
    return Session(protocol="live", url=peer.url, **kwargs)


async def said_until(deltas: EventStream, ending: str) -> str:
    """The output transcript ``deltas`` until it ends with ``ending``."""
    said = ""
    with anyio.fail_after(TIMEOUT):
        async for delta in deltas:
            said += str(delta.delta)
            if said.endswith(ending):
                return said
    raise AssertionError(f"the transcript ended before {ending!r}: {said!r}")


# ------------------------------------------------------------- a conversation


@pytest.mark.anyio
async def test_a_whole_live_conversation_text_audio_a_delegation_answered_once_and_close() -> None:
    history = [
        {"role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Bonjour"}]},
    ]
    with LivePeer(weather_model).running() as peer:
        session = live(peer, instructions="Speak English.", voice="marin", config={
            "input": history, "delegation": {"type": "client"},
        })  # fmt: skip
        started: list[LiveSessionStartedEvent] = []
        delegations: list[LiveDelegationCreatedEvent] = []
        session.on("session.started", started.append)

        @session.on("session.delegation.created")
        async def answer(event: LiveDelegationCreatedEvent) -> None:
            delegations.append(event)
            await session.live.session.commentary.append(
                json.dumps({"city": "Paris", "temp_c": 21}), delegation_id=event.delegation.id
            )

        async with session:
            assert session.state == "open"
            assert session.live.session_id is not None
            # Text: commentary with no delegation is relayed aloud by the model.
            async with session.stream("session.output_transcript.delta") as said:
                await session.live.session.commentary.append("Your train leaves at nine.")
                heard = await said_until(said, "Your train leaves at nine.")
            assert heard == "Your train leaves at nine."

            # Audio: a real recording, turn detection on the server's side.
            async with (
                session.stream("session.input_transcript.delta") as inputs,
                session.stream("session.output_transcript.delta") as said,
            ):
                await session.send_audio(recording())
                answered = await said_until(said, "It is 21 degrees in Paris.")
                user = ""
                with anyio.fail_after(TIMEOUT):
                    while user != HEARD:
                        user += (await inputs.receive()).delta
            assert answered.startswith(ACKNOWLEDGEMENT)
            assert len(delegations) == 1
            assert session.live.pending_delegations == []
            assert session.live.metrics.time_to_first_audio is not None
            closed_events: list[LiveSessionClosedEvent] = []
            session.on("session.closed", closed_events.append)

        assert session.closed
        connection = peer.current
        assert connection.path == LIVE_PATH
        start = connection.received[0]
        assert start["type"] == "session.start"
        assert start["session"]["model"] == "gpt-live-1"
        assert start["session"]["audio"] == {"output": {"voice": "marin"}}
        assert start["session"]["instructions"] == "Speak English."
        assert start["session"]["input"] == history
        answers = [
            e for e in connection.received
            if e["type"] == "session.commentary.append" and e["delegation_id"] is not None
        ]  # fmt: skip
        assert [a["delegation_id"] for a in answers] == [delegations[0].delegation.id]
        assert connection.types()[-1] == "session.close"
        [closed] = closed_events
        assert closed.reason == "close_requested"
        assert session.live.metrics.usage == closed.usage
        assert isinstance(started[0], LiveSessionStartedEvent)
        assert started[0].session.id == session.live.session_id
        turns = [(t.role, t.text.strip()) for t in session.live.history.turns]
        assert ("user", HEARD) in turns
        role, text = turns[-1]  # the deltas of one side, as delivered, until the other speaks
        assert role == "assistant"
        assert text.startswith(ACKNOWLEDGEMENT)
        assert text.endswith("It is 21 degrees in Paris.")


@pytest.mark.anyio
async def test_usage_updates_reach_handlers_and_the_metrics() -> None:
    with LivePeer(weather_model).running() as peer:
        async with live(peer) as session:
            async with session.stream("session.usage.updated") as updates:
                await peer.advance(16_000)
                with anyio.fail_after(TIMEOUT):
                    usage = await updates.receive()
            assert isinstance(usage, LiveSessionUsageUpdatedEvent)
            assert session.live.metrics.usage == usage.usage
            assert session.live.metrics.context_usage_ratio is not None


# --------------------------------------------------------------- reconnection


@pytest.mark.anyio
async def test_a_dropped_session_starts_anew_with_the_history_and_the_answer_goes_once() -> None:
    with LivePeer(weather_model).running() as peer:
        session = live(peer, reconnect=ReconnectPolicy(initial_delay=0.01, jitter=0))
        created: list[LiveDelegationCreatedEvent] = []
        session.on("session.delegation.created", created.append)
        async with session:
            first = session.live.session_id
            async with session.stream("session.output_transcript.delta") as deltas:
                await session.send_audio(recording())
                with anyio.fail_after(TIMEOUT):
                    said = ""
                    while said.strip() != ACKNOWLEDGEMENT:
                        said += (await deltas.receive()).delta
            assert len(created) == 1
            async with session.stream("session.started") as starts:
                await peer.drop()
                with anyio.fail_after(TIMEOUT):
                    await starts.receive()
            assert session.live.session_id not in (None, first)
            assert session.live.session_ids == [first, session.live.session_id]
            # The delegation belonged to the lost session: answered in the new one, once.
            assert session.live.pending_delegations == [created[0].delegation.id]
            async with session.stream("session.output_transcript.delta") as relayed:
                sent = await session.live.session.commentary.append(
                    '{"city": "Paris", "temp_c": 19}', delegation_id=created[0].delegation.id
                )
                # With no delegation to answer, the model tells the user the content.
                assert await said_until(relayed, '"temp_c": 19}')
            assert sent.delegation_id is None  # type: ignore[attr-defined]
            assert session.live.pending_delegations == []

        old, new = peer.connections
        restart = new.received[0]
        assert restart["type"] == "session.start"
        carried = restart["session"]["input"]
        assert carried == [
            {"role": "user", "content": [{"type": "input_text", "text": HEARD}]},
            {"role": "assistant", "content": [{"type": "output_text", "text": ACKNOWLEDGEMENT}]},
        ]
        answers = [e for c in (old, new) for e in c.received if e["type"].endswith(".append")
                   and e["type"] != "session.input_audio.append"]  # fmt: skip
        assert answers == [
            {"type": "session.commentary.append",
             "content": '{"city": "Paris", "temp_c": 19}', "delegation_id": None},
        ]  # fmt: skip


@pytest.mark.anyio
async def test_a_refused_start_ends_the_session_with_the_servers_error() -> None:
    error = sdk.ErrorEvent(
        type="error",
        event_id="event_1",
        error=sdk.Error(code="model_not_found", message="No such model", type="invalid_request"),
    ).model_dump(exclude_unset=True)
    with LivePeer(script=[error]).running() as peer:
        session = live(peer, reconnect=True)
        errors: list[LiveErrorEvent] = []
        session.on("error", errors.append)
        with pytest.raises(SessionClosedError, match="model_not_found: No such model"):
            async with session:
                pass  # pragma: no cover - never open
        assert len(peer.connections) == 1  # refused: not tried again
        assert [c["type"] for c in peer.current.received] == ["session.start"]


# ------------------------------------------------- what Live does not have


@pytest.mark.anyio
async def test_realtime_helpers_are_refused_with_what_to_do_instead() -> None:
    with LivePeer(weather_model).running() as peer:
        async with live(peer) as session:
            with pytest.raises(RealtimeError, match="no response lifecycle"):
                await session.response.create()
            with pytest.raises(RealtimeError, match="no conversation items"):
                await session.conversation.item.create({"type": "message"})
            with pytest.raises(RealtimeError, match="nothing to commit"):
                await session.input_audio_buffer.commit()
            with pytest.raises(RealtimeError, match="commentary"):
                await session.send_text("hello")
            with pytest.raises(RealtimeError, match="no end event"):
                await session.ask("hello")
            with pytest.raises(RealtimeError, match="detects the end"):
                await session.send_audio(b"\0\0", commit=True)
            with pytest.raises(RealtimeError, match=r"session\.live\.metrics"):
                _ = session.metrics.responses
            with pytest.raises(Exception, match="unknown Live client event type"):
                await session.send({"type": "response.cancel"})
            with pytest.raises(InvalidConfigError, match="instructions"):
                await session.update(instructions="no")
            sent = await session.update(
                delegation={"type": "client", "acknowledgement_delay_ms": 0}
            )
            assert sent.type == "session.update"
        assert all(e["type"] != "response.cancel" for e in peer.current.received)
    realtime = Session(url="ws://127.0.0.1:9/v1/realtime")
    with pytest.raises(RealtimeError, match="speaks Realtime"):
        _ = realtime.live


def test_realtime_settings_live_has_no_place_for_are_refused_by_name() -> None:
    with pytest.raises(InvalidConfigError, match="turn detection is the server's"):
        Session(protocol="live", turn_detection={"type": "server_vad"})
    with pytest.raises(InvalidConfigError, match="one audio format"):
        Session(protocol="live", input_audio_format="pcm16", output_audio_format="g711_ulaw")
    with pytest.raises(InvalidConfigError, match="dialect"):
        Session(protocol="live", dialect="beta")
    session = Session(protocol="live", output_audio_format="g711_ulaw", api_key="sk-test")
    assert session.url == "wss://api.openai.com/v1/live/sessions"
    assert session.model == "gpt-live-1"
    assert session.endpoint.handshake_headers() == {"Authorization": "Bearer sk-test"}
    assert session.session_config()["audio"] == {"format": {"type": "audio/pcmu", "rate": 8000}}
    assert session.output_format.sample_rate == 8000
    assert "protocol=live" in repr(session)


def test_the_typo_check_knows_which_protocol_the_session_speaks() -> None:
    live_session = Session(protocol="live")
    live_session.on("session.started", print)
    live_session.on("session.output_transcript.*", print)
    with pytest.raises(UnknownEventError, match=r"did you mean 'session\.started'"):
        live_session.on("session.startd", print)
    with pytest.raises(UnknownEventError, match="an event of the Realtime protocol"):
        live_session.on("response.done", print)
    with pytest.raises(UnknownEventError, match="client event"):
        live_session.on("session.close", print)
    realtime = Session()
    with pytest.raises(UnknownEventError, match="an event of the Live protocol"):
        realtime.on("session.started", print)
    with pytest.raises(ValueError, match="server event of the Live protocol"):
        live_session.emit("session.closed")


# ------------------------------------------- SDK-built frames, record, replay


def sdk_frames() -> list[dict[str, Any]]:
    """Frames built with the official SDK's Live models, as a server would send them."""
    session = {
        "id": "sess_sdk", "model": "gpt-live-1", "instructions": "Be kind.",
        "expires_at": 1_700_003_600, "status": "active",
    }  # fmt: skip
    built = [
        sdk.SessionStartedEvent(type="session.started", event_id="e1", session=session),
        sdk.OutputTranscriptDeltaEvent(
            type="session.output_transcript.delta", event_id="e2", delta="Hi", start_ms=0,
            end_ms=120,
        ),
        sdk.DelegationCreatedEvent(
            type="session.delegation.created", event_id="e3",
            delegation={"id": "del_1", "target": "client", "type": "delegation"}, offset_ms=300,
        ),
        sdk.SessionUsageUpdatedEvent(
            type="session.usage.updated", event_id="e4", usage={"seconds": 2},
            context_window={"usage_ratio": 0.25},
        ),
        sdk.InfoEvent(type="info", event_id="e5", code="compacted", message="Context compacted"),
    ]  # fmt: skip
    return [frame.model_dump(exclude_unset=True) for frame in built]


@pytest.mark.anyio
async def test_sdk_built_frames_reach_typed_handlers_and_replay_from_a_recording(
    tmp_path: Path,
) -> None:
    frames = sdk_frames()
    path = tmp_path / "live.jsonl"
    with LivePeer(script=frames).running() as peer:
        session = live(peer, record=path)
        seen: list[Any] = []
        session.on("*", seen.append)
        last = anyio.Event()
        session.on("info", lambda event: last.set())  # registered before any frame comes
        async with session:
            with anyio.fail_after(TIMEOUT):
                await last.wait()
        assert seen[-1].code == "compacted"
    assert [type(e).__name__ for e in seen] == [
        "LiveSessionStartedEvent",
        "LiveOutputTranscriptDeltaEvent",
        "LiveDelegationCreatedEvent",
        "LiveSessionUsageUpdatedEvent",
        "LiveInfoEvent",
    ]
    delta = seen[1]
    assert isinstance(delta, LiveOutputTranscriptDeltaEvent)
    assert (delta.delta, delta.end_ms) == ("Hi", 120)
    assert session.live.history.pending == ["del_1"]

    assert recording_protocol(path) == "live"
    assert [f.direction for f in read_recording(path)].count("recv") == len(frames)
    replayed = Session(protocol="live")
    types: list[str] = []
    replayed.on("*", lambda event: types.append(type(event).__name__))
    assert await replayed.replay(path) == len(frames)
    assert types == [type(e).__name__ for e in seen]


# ------------------------------------------------ session.live's typed handlers


def info(code: str) -> dict[str, Any]:
    """An ``info`` frame, built by the SDK's model."""
    event = sdk.InfoEvent(type="info", event_id=f"event_{code}", code=code, message=code)
    frame: dict[str, Any] = event.model_dump(exclude_unset=True)
    return frame


@pytest.mark.anyio
async def test_session_live_handlers_share_the_sessions_dispatcher_and_its_order() -> None:
    started = sdk_frames()[0]
    with LivePeer(script=[started, info("first")]).running() as peer:
        session = live(peer)
        order: list[str] = []
        first = anyio.Event()
        session.on("info", lambda event: order.append(f"session {event.code}"))

        @session.live.on("info")
        def noted(event: LiveInfoEvent) -> None:
            order.append(f"live {event.code}")
            first.set()

        session.on("info", lambda event: order.append(f"session again {event.code}"))
        once: list[LiveInfoEvent] = []
        session.live.once("info", once.append)
        async with session:
            with anyio.fail_after(TIMEOUT):
                await first.wait()
            # wait_for sees only what comes after it starts: push until it has.
            waited: list[LiveInfoEvent] = []

            async def wait() -> None:
                waited.append(await session.live.wait_for("info", timeout=TIMEOUT))

            async with anyio.create_task_group() as group:
                group.start_soon(wait)
                with anyio.fail_after(TIMEOUT):
                    while not waited:
                        await peer.push(info("waited"))
            async with session.live.stream("info") as infos:
                await peer.push(info("streamed"))
                with anyio.fail_after(TIMEOUT):
                    while (streamed := await infos.receive()).code != "streamed":
                        pass
            assert session.off(noted, "info")
        assert order[:3] == ["session first", "live first", "session again first"]
        assert [event.code for event in once] == ["first"]
        assert isinstance(waited[0], LiveInfoEvent)
        assert waited[0].code == "waited"
        assert isinstance(streamed, LiveInfoEvent)
        with pytest.raises(UnknownEventError, match="an event of the Realtime protocol"):
            session.live.on("response.done", print)


def test_a_sync_session_speaks_live_from_another_thread() -> None:
    from realtime_events import SyncSession

    with LivePeer(weather_model).running() as peer:
        with SyncSession(protocol="live", url=peer.url, reconnect=False) as s:
            assert s.protocol == "live"
            typed: list[LiveOutputTranscriptDeltaEvent] = []
            s.live.on("session.output_transcript.delta", typed.append)
            with s.live.stream("session.output_transcript.delta") as said:
                s.live.session.commentary.append("See you soon.")
                heard = ""
                while heard != "See you soon.":
                    heard += said.receive(timeout=TIMEOUT).delta
            assert s.live.session_id is not None
            assert "".join(event.delta for event in typed) == heard
        assert peer.current.types()[-1] == "session.close"
