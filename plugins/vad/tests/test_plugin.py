"""The VAD plugin against the local Realtime server: turns, gating, resampling, barge-in.

Every test drives a real session over loopback. What the client sent is read
from ``server.connection.received``; the user's speech is the repository's
recordings, and the scripted model recognises them (``model.hears``), so a
reply also proves which audio the server got.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest

from realtime_events import Event, Session, signals
from realtime_events.audio import PCM16, Resampler, read_wav, resample
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events_vad import VAD, PlaybackTracker

pytestmark = pytest.mark.anyio

AUDIO = Path(__file__).resolve().parents[3] / "tests" / "audio"
TRUTH: dict[str, dict[str, Any]] = json.loads((AUDIO / "recordings.json").read_text())
HELLO = read_wav(AUDIO / "hello_there.wav")[0]
WEATHER = read_wav(AUDIO / "weather_paris.wav")[0]
STOP = read_wav(AUDIO / "stop.wav")[0]
# About 20 s of assistant audio: long enough to be interrupted at any pace.
LONG_REPLY = " ".join(["Here is a long and winding answer that goes on for a while."] * 5)
SHORT_REPLY = "Here is a short answer of about three seconds."


def silence(ms: float) -> bytes:
    return bytes(PCM16.bytes_for_ms(ms))


def model(reply: str = LONG_REPLY) -> ScriptedModel:
    return (
        ScriptedModel()
        .hears(AUDIO / "hello_there.wav", "hello there")
        .hears(AUDIO / "weather_paris.wav", "what is the weather in Paris")
        .hears(AUDIO / "stop.wav", "stop")
        .when("weather")
        .say("It is sunny in Paris.")
        .when("stop")
        .say("Stopping.")
        .otherwise(reply)
    )


class Log:
    """Every plugin event and every error event the session dispatched."""

    def __init__(self, session: Session) -> None:
        self.events: list[Event] = []
        self.errors: list[Event] = []
        session.on("vad.*", self.events.append)
        session.on("error", self.errors.append)

    def of(self, name: str) -> list[Any]:
        return [event for event in self.events if event.type == name]


def sent(server: LocalRealtimeServer, kind: str) -> list[dict[str, Any]]:
    return [event for event in server.connection.received if event["type"] == kind]


def appended(server: LocalRealtimeServer) -> bytes:
    return b"".join(base64.b64decode(e["audio"]) for e in sent(server, "input_audio_buffer.append"))


def user_said(session: Session) -> list[str | None]:
    """The transcripts of the user's audio items, in conversation order."""
    return [
        part.transcript
        for item in session.conversation.items
        if item.role == "user"
        for part in item.content or []
    ]


async def push_chunks(vad: VAD, pcm: bytes, rate: int = 24000, ms: int = 20) -> None:
    """Push audio as a microphone delivers it: ``ms`` at a time."""
    step = 2 * (rate * ms // 1000)
    for start in range(0, len(pcm), step):
        await vad.push(pcm[start : start + step], sample_rate=rate)


async def microphone(pcm: bytes, rate: int, ms: int = 20) -> AsyncIterator[bytes]:
    """An async stream of ``ms`` chunks, as a microphone library delivers them."""
    step = 2 * (rate * ms // 1000)
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]


async def barrier(session: Session) -> None:
    """Return once the server has handled everything sent so far (a session.update round trip)."""
    async with session.stream("session.updated") as updates:
        await session.update()
        await updates.receive(timeout=10)


@asynccontextmanager
async def vad_session(
    mode: str,
    *,
    reply: str = LONG_REPLY,
    pace: float = 0.0,
    dialect: str = "ga",
    session_options: dict[str, Any] | None = None,
    server_options: dict[str, Any] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[LocalRealtimeServer, Session, VAD, Log]]:
    # Input transcription shows, in the conversation, which recording the server got.
    config = {"input_audio_transcription": {"model": "whisper-1"}, **(session_options or {})}
    local = LocalRealtimeServer(model=model(reply), pace=pace, **(server_options or {}))
    async with local as server:
        session = Session(url=server.url, dialect=dialect, **config)  # type: ignore[arg-type]
        vad = session.use(VAD(mode, **options))  # type: ignore[arg-type]
        log = Log(session)
        async with session:
            yield server, session, vad, log


async def until_audio(session: Session, start: Callable[[], Any], ms: float) -> str:
    """Run ``start`` and wait until an assistant item has received ``ms`` of audio; its id."""
    with anyio.fail_after(20):
        async with session.stream("response.output_audio.delta") as deltas:
            await start()
            async for delta in deltas:
                if session.conversation.audio_received_ms(delta.item_id) >= ms:
                    return str(delta.item_id)
    raise AssertionError("the session ended before the audio arrived")


async def until_done(session: Session, start: Callable[[], Any], response_id: str) -> Any:
    """Run ``start`` and wait for ``response.done`` of ``response_id``; return it."""
    with anyio.fail_after(20):
        async with session.stream("response.done") as dones:
            await start()
            async for done in dones:
                if done.response.id == response_id:
                    return done
    raise AssertionError("the session ended before the response finished")


# -- client mode: whole turns -------------------------------------------------------


async def test_client_mode_takes_whole_turns() -> None:
    async with vad_session("client") as (server, session, vad, log):
        replies = []
        for turn in (silence(500) + WEATHER + silence(800), STOP + silence(800)):
            async with session.stream("response.done") as dones:
                await push_chunks(vad, turn)
                replies.append(await dones.receive(timeout=10))
            # The speaker played the whole reply before the user spoke again.
            item_id = replies[-1].response.output[0].id
            vad.playback.played(item_id, 0, session.conversation.audio_received_ms(item_id))
        await barrier(session)

    assert sent(server, "session.update")[0]["session"]["audio"]["input"]["turn_detection"] is None
    assert len(sent(server, "input_audio_buffer.commit")) == 2
    assert len(sent(server, "response.create")) == 2
    texts = [r.response.output[0].content[0].transcript for r in replies]
    assert texts == ["It is sunny in Paris.", "Stopping."]
    starts, stops = log.of("vad.speech_started"), log.of("vad.speech_stopped")
    # Times count the audio pushed: the second recording starts 500 + 2902 + 800 ms in.
    for start, stop, name, offset in zip(starts, stops, ("weather_paris.wav", "stop.wav"),
                                         (500, 4202), strict=True):  # fmt: skip
        assert abs(start.audio_start_ms - offset - TRUTH[name]["speech_start_ms"]) <= 100
        assert abs(stop.audio_end_ms - offset - TRUTH[name]["speech_end_ms"]) <= 100
        assert start.source == stop.source == "client"
        assert start.probability > 0.5
        assert stop.probability > 0.5
    # All audio was sent, but each turn holds only its speech, pre-roll and hangover:
    # the silence before it was cleared from the server's buffer when speech began.
    assert len(appended(server)) >= len(silence(500) + WEATHER + silence(800) + STOP)
    committed = [event.audio_ms for event in log.of("vad.committed")]
    assert committed == [
        stop.detected_ms - (start.audio_start_ms - 300)
        for start, stop in zip(starts, stops, strict=True)
    ]
    assert log.of("vad.interrupted") == []  # nothing was playing: no barge-in
    assert log.errors == []


async def test_silence_alone_never_commits() -> None:
    async with vad_session("client") as (server, session, vad, log):
        await push_chunks(vad, silence(3000))
        await vad.flush()
        await barrier(session)
    assert sent(server, "input_audio_buffer.commit") == []
    assert sent(server, "response.create") == []
    assert len(appended(server)) == len(silence(3000))
    assert log.events == []


@pytest.mark.parametrize("rate", [8000, 16000])
async def test_input_at_other_rates_is_resampled(rate: int) -> None:
    pcm = resample(HELLO + silence(600), 24000, rate)
    async with vad_session("client", reply="Hi!") as (server, session, vad, log):
        async with session.stream("response.done") as dones:
            await vad.feed(microphone(pcm, rate), sample_rate=rate)  # pushes, then flushes
            reply = await dones.receive(timeout=10)
        await barrier(session)

    # What was sent is the stream converted to 24 kHz, sample for sample.
    assert appended(server) == Resampler(rate, 24000).process(pcm)
    assert len(sent(server, "input_audio_buffer.commit")) == 1
    assert reply.response.output[0].content[0].transcript == "Hi!"
    assert user_said(session) == ["hello there"]
    start, stop = log.of("vad.speech_started")[0], log.of("vad.speech_stopped")[0]
    assert abs(start.audio_start_ms - TRUTH["hello_there.wav"]["speech_start_ms"]) <= 100
    assert abs(stop.audio_end_ms - TRUTH["hello_there.wav"]["speech_end_ms"]) <= 100
    assert log.errors == []


async def test_odd_and_empty_chunks_are_forwarded_intact() -> None:
    audio = HELLO + silence(700)
    async with vad_session("client", reply="Hi!") as (server, session, vad, log):
        for start in range(0, len(audio), 333):
            await vad.push(audio[start : start + 333])
            await vad.push(b"")
        await vad.push(b"\x00")  # completes the last dangling byte
        await vad.flush()
        await barrier(session)
    assert appended(server) == audio + b"\x00\x00"[: (len(audio) % 2)]
    assert len(sent(server, "input_audio_buffer.commit")) == 1
    assert all(len(base64.b64decode(e["audio"])) <= 4800
               for e in sent(server, "input_audio_buffer.append"))  # fmt: skip
    assert log.errors == []


async def test_commits_under_100ms_are_cleared_instead() -> None:
    t = np.arange(PCM16.bytes_for_ms(50) // 2) / 24000
    blip = (np.sin(2 * np.pi * 440 * t) * 3000).astype("<i2").tobytes()
    async with vad_session("gated", preroll_ms=0, min_speech_ms=30, min_silence_ms=30) as (
        server,
        session,
        vad,
        log,
    ):
        await push_chunks(vad, silence(1000) + blip + silence(1000))
        await barrier(session)
    assert sent(server, "input_audio_buffer.commit") == []
    assert sent(server, "response.create") == []
    assert len(sent(server, "input_audio_buffer.clear")) == 1
    [discarded] = log.of("vad.discarded")
    assert 0 < discarded.audio_ms < 100
    assert log.errors == []


# -- gated mode: only speech and its pre-roll are sent --------------------------------


async def test_gated_mode_sends_only_speech_and_preroll() -> None:
    audio = silence(1000) + WEATHER + silence(1500) + HELLO + silence(1500)
    async with vad_session("gated", reply="Okay.") as (server, session, vad, log):
        async with session.stream("response.done") as dones:
            await push_chunks(vad, audio)
            await dones.receive(timeout=10)
            await dones.receive(timeout=10)
        await barrier(session)

    starts, stops = log.of("vad.speech_started"), log.of("vad.speech_stopped")
    assert len(starts) == len(stops) == 2
    expected = b"".join(
        audio[PCM16.bytes_for_ms(max(0, start.audio_start_ms - 300)) :
              PCM16.bytes_for_ms(stop.detected_ms)]
        for start, stop in zip(starts, stops, strict=True)
    )  # fmt: skip
    got = appended(server)
    assert got == expected
    assert len(got) < len(audio) // 2
    assert len(sent(server, "input_audio_buffer.commit")) == 2
    assert len(sent(server, "response.create")) == 2
    committed = [event.audio_ms for event in log.of("vad.committed")]
    assert sum(committed) == PCM16.duration_ms(len(got))
    assert user_said(session) == ["what is the weather in Paris", "hello there"]
    assert log.errors == []


# -- memory: hours of silence ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["gated", "client"])
async def test_memory_stays_flat_over_ten_minutes_of_silence(mode: str) -> None:
    rng = np.random.default_rng(3)
    # One second of a quiet noise floor (-62 dBFS), repeated: steady background.
    second = (rng.standard_normal(24000) * 26).astype("<i2").tobytes()
    chunk = PCM16.bytes_for_ms(20)
    peaks: dict[str, int] = {}
    async with vad_session(mode, reply="Hi!") as (server, session, vad, log):
        capacity = vad.ring_capacity
        for _ in range(600):
            for start in range(0, len(second), chunk):
                await vad.push(second[start : start + chunk])
                for name, size in vad.buffer_sizes().items():
                    peaks[name] = max(peaks.get(name, 0), size)
        async with session.stream("response.done") as dones:
            await push_chunks(vad, HELLO + silence(700))
            await dones.receive(timeout=10)
        await barrier(session)

    assert peaks["ring"] <= capacity < PCM16.bytes_for_ms(2000)
    assert peaks["pending"] < PCM16.bytes_for_ms(400)
    assert peaks["segmenter"] < PCM16.bytes_for_ms(20)
    assert peaks["odd"] <= 1
    assert peaks["playback_items"] == 0
    assert log.of("vad.speech_started")[0].audio_start_ms == pytest.approx(
        600_000 + TRUTH["hello_there.wav"]["speech_start_ms"], abs=100
    )
    [committed] = log.of("vad.committed")
    if mode == "gated":
        assert len(appended(server)) < PCM16.bytes_for_ms(3000)
    else:
        # Long silences were cleared from the server's buffer as they grew:
        # the turn carries at most max_idle_ms of them.
        assert len(sent(server, "input_audio_buffer.clear")) >= 50
        start, stop = log.of("vad.speech_started")[0], log.of("vad.speech_stopped")[0]
        assert committed.audio_ms == stop.detected_ms - (start.audio_start_ms - 300)
    assert user_said(session) == ["hello there"]
    assert log.errors == []


# -- barge-in ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_barge_in_truncates_at_the_measured_position(dialect: str) -> None:
    async with vad_session("client", pace=0.25, dialect=dialect) as (server, session, vad, log):
        item_id = await until_audio(session, lambda: vad.push(HELLO), 1000)
        response_id = session.response.active_id
        assert response_id is not None
        # The speaker reports what it played: 300 ms as bytes, then 400 ms as a number.
        vad.playback.played(item_id, 0, bytes(PCM16.bytes_for_ms(300)))
        vad.playback.played(item_id, 0, 400.0)
        done = await until_done(session, lambda: vad.push(HELLO), response_id)
        await barrier(session)

    assert done.response.status == "cancelled"
    assert sent(server, "response.cancel") == [
        {"type": "response.cancel", "response_id": response_id, "event_id": sent(
            server, "response.cancel")[0]["event_id"]}
    ]  # fmt: skip
    [truncate] = sent(server, "conversation.item.truncate")
    assert (truncate["item_id"], truncate["audio_end_ms"]) == (item_id, 700)
    assert session.conversation.truncated_at(item_id) == 700
    [interrupted] = log.of("vad.interrupted")
    assert (interrupted.item_id, interrupted.audio_end_ms) == (item_id, 700)
    assert interrupted.measured is True
    assert interrupted.deleted is False
    assert vad.playback.is_interrupted(item_id)
    assert log.errors == []


async def test_barge_in_estimates_from_the_wall_clock() -> None:
    # pace 0.25: audio arrives four times faster than it plays.
    async with vad_session("client", pace=0.25) as (server, session, vad, log):
        item_id = await until_audio(session, lambda: vad.push(HELLO), 1000)
        response_id = session.response.active_id
        assert response_id is not None
        await until_done(session, lambda: vad.push(HELLO), response_id)
        received = session.conversation.audio_received_ms(item_id)
        await barrier(session)

    [truncate] = sent(server, "conversation.item.truncate")
    [interrupted] = log.of("vad.interrupted")
    assert interrupted.measured is False
    assert truncate["audio_end_ms"] == interrupted.audio_end_ms
    # Played for the wall time since the first delta: more than nothing, and (the
    # audio arriving faster than it plays) at most what was received.
    assert 0 < interrupted.audio_end_ms <= received
    assert log.errors == []


async def test_estimate_is_clamped_to_the_audio_received() -> None:
    # pace 3: audio arrives three times slower than it would play, so the wall
    # clock runs ahead of the audio and the estimate must be clamped.
    async with vad_session("client", reply=SHORT_REPLY, pace=3.0) as (server, session, vad, log):
        item_id = await until_audio(session, lambda: vad.push(HELLO), 300)
        response_id = session.response.active_id
        assert response_id is not None
        before = session.conversation.audio_received_ms(item_id)
        await until_done(session, lambda: vad.push(HELLO), response_id)
        after = session.conversation.audio_received_ms(item_id)
        await barrier(session)

    [interrupted] = log.of("vad.interrupted")
    assert interrupted.measured is False
    assert before <= interrupted.audio_end_ms <= after
    assert sent(server, "conversation.item.truncate")[0]["audio_end_ms"] == interrupted.audio_end_ms
    assert log.errors == []  # never "Audio content of ... is already shorter than ..."


async def test_measured_position_is_clamped_to_the_audio_received() -> None:
    async with vad_session("client", pace=0.25) as (_, session, vad, log):
        item_id = await until_audio(session, lambda: vad.push(HELLO), 500)
        response_id = session.response.active_id
        assert response_id is not None
        before = session.conversation.audio_received_ms(item_id)
        vad.playback.played(item_id, 0, 60_000.0)  # an application reporting too much
        await until_done(session, lambda: vad.push(HELLO), response_id)
        after = session.conversation.audio_received_ms(item_id)
        await barrier(session)

    [interrupted] = log.of("vad.interrupted")
    assert interrupted.measured is True
    assert before <= interrupted.audio_end_ms <= after
    assert log.errors == []


async def test_nothing_played_deletes_instead_of_truncating_at_zero() -> None:
    async with vad_session("client", pace=0.25) as (server, session, vad, log):
        vad.playback.cleared()  # the application reports playback: nothing played yet
        item_id = await until_audio(session, lambda: vad.push(HELLO), 500)
        response_id = session.response.active_id
        assert response_id is not None
        async with session.stream("conversation.item.deleted") as deleted:
            await until_done(session, lambda: vad.push(HELLO), response_id)
            assert (await deleted.receive(timeout=10)).item_id == item_id
        await barrier(session)

    assert sent(server, "conversation.item.truncate") == []
    assert [e["item_id"] for e in sent(server, "conversation.item.delete")] == [item_id]
    [interrupted] = log.of("vad.interrupted")
    assert (interrupted.item_id, interrupted.audio_end_ms) == (item_id, 0)
    assert interrupted.deleted is True
    assert interrupted.measured is True
    assert item_id not in session.conversation
    assert log.errors == []


async def test_barge_in_off_changes_nothing() -> None:
    off = vad_session("client", reply=SHORT_REPLY, pace=0.25, barge_in=False)
    async with off as (server, session, vad, log):
        async with session.stream("response.done") as dones:
            await until_audio(session, lambda: vad.push(HELLO), 500)
            await vad.push(HELLO)  # while the reply plays
            done = await dones.receive(timeout=20)
        await barrier(session)

    assert done.response.status == "completed"
    for kind in ("response.cancel", "conversation.item.truncate", "conversation.item.delete"):
        assert sent(server, kind) == []
    assert log.of("vad.interrupted") == []
    # The second turn was still taken: its response waited for the first.
    assert len(sent(server, "response.create")) == 2
    assert log.errors == []


async def test_text_responses_are_never_truncated() -> None:
    async with vad_session("client", reply="Just text.",
                           session_options={"output_modalities": ["text"]}) as (
        server, session, vad, log,
    ):  # fmt: skip
        async with session.stream("response.done") as dones:
            await push_chunks(vad, HELLO + silence(700))
            await dones.receive(timeout=10)
            await push_chunks(vad, HELLO + silence(700))
            await dones.receive(timeout=10)
        await barrier(session)

    for kind in ("response.cancel", "conversation.item.truncate", "conversation.item.delete"):
        assert sent(server, kind) == []
    assert vad.playback.playing() == []
    assert log.errors == []


async def test_barge_in_on_a_multi_message_model_cuts_the_preamble_and_deletes_the_answer() -> None:
    # gpt-realtime-2 speaks a preamble message, then the answer, in one response. The
    # user speaks during the preamble: it is cut where it was played, and the answer,
    # already arriving but never played, is deleted, not left in the model's memory.
    multi = {"session_defaults": {"model": "gpt-realtime-2"}}
    async with vad_session("client", pace=0.25, server_options=multi) as (
        server, session, vad, log,
    ):  # fmt: skip
        with anyio.fail_after(20):
            async with session.stream("response.output_audio.delta") as deltas:
                await vad.push(HELLO)
                preamble = (await deltas.receive()).item_id
                async for delta in deltas:
                    if delta.item_id != preamble:
                        answer = delta.item_id
                        break
        response_id = session.response.active_id
        assert response_id is not None
        assert [item.id for item in session.conversation.response_items(response_id)] == [
            preamble, answer,
        ]  # fmt: skip
        vad.playback.played(preamble, 0, 200.0)
        async with session.stream("conversation.item.deleted") as deleted:
            done = await until_done(session, lambda: vad.push(HELLO), response_id)
            assert (await deleted.receive(timeout=10)).item_id == answer
        await barrier(session)

    assert done.response.status == "cancelled"
    truncates = [
        (e["item_id"], e["audio_end_ms"]) for e in sent(server, "conversation.item.truncate")
    ]
    assert truncates == [(preamble, 200)]
    assert [e["item_id"] for e in sent(server, "conversation.item.delete")] == [answer]
    cuts = [(e.item_id, e.audio_end_ms, e.deleted) for e in log.of("vad.interrupted")]
    assert cuts == [(preamble, 200, False), (answer, 0, True)]
    assert answer not in session.conversation
    assert session.conversation.truncated_at(preamble) == 200
    assert log.errors == []


# -- server mode ---------------------------------------------------------------------------


async def test_server_mode_truncates_and_leaves_the_cancel_to_the_server() -> None:
    async with vad_session("server", pace=0.25) as (server, session, vad, log):
        assert vad.session_config() == {}
        item_id = await until_audio(session, lambda: push_chunks(vad, HELLO), 1000)
        response_id = session.response.active_id
        assert response_id is not None
        vad.playback.played(item_id, 0, 650.0)
        done = await until_done(session, lambda: push_chunks(vad, HELLO), response_id)
        await barrier(session)

    assert vad.turn_detection() is not None
    assert done.response.status == "cancelled"
    assert done.response.status_details.reason == "turn_detected"
    assert sent(server, "response.cancel") == []  # interrupt_response: the server cancels
    [truncate] = sent(server, "conversation.item.truncate")
    assert (truncate["item_id"], truncate["audio_end_ms"]) == (item_id, 650)
    [interrupted] = log.of("vad.interrupted")
    assert interrupted.source == "server"
    starts = log.of("vad.speech_started")
    assert [e.source for e in starts] == ["server", "server"]
    assert all(e.item_id for e in starts)
    # Server mode forwards everything (the server decides what is speech).
    assert sent(server, "input_audio_buffer.commit") == []
    assert log.errors == []


async def test_server_mode_cancels_when_the_server_does_not_interrupt() -> None:
    detection = {"type": "server_vad", "interrupt_response": False, "create_response": True}
    async with vad_session("server", pace=0.25,
                           session_options={"turn_detection": detection}) as (
        server, session, vad, log,
    ):  # fmt: skip
        item_id = await until_audio(session, lambda: push_chunks(vad, HELLO), 1000)
        response_id = session.response.active_id
        assert response_id is not None
        vad.playback.played(item_id, 0, 500.0)
        done = await until_done(session, lambda: push_chunks(vad, HELLO), response_id)
        await barrier(session)

    detection_now = vad.turn_detection()
    assert detection_now is not None
    assert detection_now["interrupt_response"] is False
    assert done.response.status_details.reason == "client_cancelled"
    assert [e["response_id"] for e in sent(server, "response.cancel")] == [response_id]
    assert sent(server, "conversation.item.truncate")[0]["audio_end_ms"] == 500
    assert log.errors == []


# -- the plugin itself -------------------------------------------------------------------------


def test_plugin_shape() -> None:
    from realtime_events.plugins import available, load

    assert available()["vad"] == "realtime_events_vad:VAD"
    vad = load("vad", mode="gated", preroll_ms=200)
    assert isinstance(vad, VAD)
    assert vad.session_config() == {"turn_detection": None}
    with pytest.raises(ValueError, match="mode"):
        VAD("push-to-talk")  # type: ignore[arg-type]
    tracker = PlaybackTracker()
    assert VAD(playback=tracker).playback is tracker


async def test_push_before_attach_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"session\.use"):
        await VAD().push(silence(20))


# -- offline replay ----------------------------------------------------------------------


def _recording(path: Path) -> Path:
    """A recorded assistant audio reply that the user talks over (server VAD)."""
    ids = {"response_id": "resp_1", "output_index": 0}
    part = {**ids, "item_id": "item_a", "content_index": 0}
    audio = base64.b64encode(silence(500)).decode()
    events: list[dict[str, Any]] = [
        {"type": "session.created", "session": {"id": "sess_1"}},
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}},
        {
            "type": "response.output_item.added",
            **ids,
            "item": {"id": "item_a", "type": "message", "role": "assistant", "content": []},
        },
        {"type": "response.content_part.added", **part, "part": {"type": "audio"}},
        {"type": "response.output_audio.delta", **part, "delta": audio},
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "item_u"},
        {"type": "response.done", "response": {"id": "resp_1", "status": "cancelled"}},
    ]
    with path.open("w", encoding="utf-8") as file:
        for n, event in enumerate(events):
            data = json.dumps({"event_id": f"evt_{n}", **event})
            file.write(json.dumps({"t": 0.0, "dir": "recv", "data": data}) + "\n")
    return path


@pytest.mark.parametrize("played_ms", [0.0, 200.0], ids=["nothing-played", "some-played"])
async def test_barge_in_during_a_replay_sends_nothing_and_raises_nothing(
    tmp_path: Path, played_ms: float
) -> None:
    detection = {"type": "server_vad", "interrupt_response": False}
    session = Session(url="ws://127.0.0.1:9", turn_detection=detection)
    vad = session.use(VAD("server"))
    log = Log(session)
    failures: list[BaseException] = []

    def failed(sender: Any, *, error: BaseException, **_: Any) -> None:
        failures.append(error)

    signals.handler_failed.connect(failed, sender=session)

    @session.on("response.output_audio.delta")
    def report(event: Any) -> None:
        if played_ms:
            vad.playback.played(event.item_id, 0, played_ms)

    assert await session.replay(_recording(tmp_path / "barge_in.jsonl")) == 7
    assert failures == []
    [interrupted] = log.of("vad.interrupted")
    assert (interrupted.item_id, interrupted.audio_end_ms) == ("item_a", int(played_ms))
    assert interrupted.deleted is (played_ms == 0)
    assert vad.playback.is_interrupted("item_a")
    assert vad.buffer_sizes()["deferred_deletes"] == 0
