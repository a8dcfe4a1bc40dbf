"""Responses with several assistant messages (gpt-realtime-2), end to end over loopback.

Newer models answer with a spoken preamble message, then the answer message, or
a preamble then a function call, all in one response. Frameworks that assumed
one message per response lost the second (livekit/agents #5684: only the first
message's audio played). Every test here runs a real session against a plain
``websockets`` server written for the tests (``_multi_message_peer``), whose
frames are built and validated by the official SDK's models, on both backends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from openai.types import realtime as sdk

from realtime_events import Session
from realtime_events.events import Event
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events.testing.models import DEFAULT_PREAMBLE
from realtime_events_tools import Tools
from realtime_events_transcript import Transcript
from realtime_events_vad import VAD

sys.path.insert(0, str(Path(__file__).parent))
from _multi_message_peer import (
    TIMEOUT,
    MultiMessagePeer,
    build_response,
    call,
    frame,
    speech,
    text,
)

pytestmark = pytest.mark.anyio

PREAMBLE = "Let me check that for you."
ANSWER = "It is sunny in Paris today."


@contextmanager
def running_peer(**options: Any) -> Iterator[MultiMessagePeer]:
    with MultiMessagePeer(**options).running() as peer:
        yield peer


@asynccontextmanager
async def connected(
    peer: MultiMessagePeer, *plugins: Any, **options: Any
) -> AsyncIterator[Session]:
    """A session on the peer, with ``plugins`` attached before it connects."""
    session = Session(url=peer.url, model="gpt-realtime-2", **options)
    for plugin in plugins:
        session.use(plugin)
    async with session:
        yield session


class Seen:
    """The events of some types that the session dispatched, in order."""

    def __init__(self, session: Session, *names: str) -> None:
        self.events: list[Event] = []
        for name in names:
            session.on(name, self.events.append)

    def types(self) -> list[str]:
        return [event.type for event in self.events]


# -- the mirror --------------------------------------------------------------------


async def test_the_mirror_keeps_every_item_of_a_response_in_order() -> None:
    with running_peer() as peer:
        peer.respond(speech(PREAMBLE, 300), speech(ANSWER, 500), text("Anything else?"))
        async with connected(peer) as session:
            reply = await session.ask("Weather in Paris?", timeout=TIMEOUT)
            response_id = peer.played[0].response_id
            mirror = session.conversation
            items = mirror.response_items(response_id)
            assert [item.id for item in items] == peer.played[0].item_ids
            # Each message has its own audio and transcript: none is lost or merged.
            assert [item.text for item in items] == [PREAMBLE, ANSWER, "Anything else?"]
            first, second, third = (item.id or "" for item in items)
            assert mirror.audio_received_ms(first) == pytest.approx(300)
            assert mirror.audio_received_ms(second) == pytest.approx(500)
            assert mirror.audio_received_ms(third) == 0
            assert mirror.response_of(second) == response_id
            # The user's message comes first, then the response's items in output order.
            user = mirror.items[0]
            assert user.role == "user"
            assert [i.id for i in mirror.items[1:]] == [first, second, third]
            assert mirror.previous_id(second) == first
    assert reply.messages == (PREAMBLE, ANSWER, "Anything else?")


async def test_a_replay_after_a_reconnect_keeps_every_message() -> None:
    with running_peer() as peer:
        peer.respond(speech(PREAMBLE, 200), speech(ANSWER, 200))
        async with connected(peer) as session:
            await session.ask("Weather in Paris?", timeout=TIMEOUT)
            replay = session.conversation.replayable()
    spoken = [p["content"][0]["text"] for p in replay if p.get("role") == "assistant"]
    assert spoken == [PREAMBLE, ANSWER]


# -- the sequencer and turns ---------------------------------------------------------


async def test_a_response_is_done_once_after_all_its_items() -> None:
    with running_peer() as peer:
        peer.respond(speech(PREAMBLE, 200), speech(ANSWER, 400))
        peer.respond(text("Second."))
        async with connected(peer) as session:
            seen = Seen(session, "response.output_item.done", "response.done")
            request = await session.response.create()
            queued = await session.response.create(instructions="again")
            done = await request.done()
            assert done.response.status == "completed"
            assert [item.id for item in done.response.output or ()] == peer.played[0].item_ids
            second = await queued.done()
            assert second.response.id == peer.played[1].response_id
            assert not session.response.active
    # Both items of the first were done before it was; each response was done once.
    done_item = "response.output_item.done"
    assert seen.types() == [done_item, done_item, "response.done", done_item, "response.done"]
    # The queued request went out only once, after the first response ended.
    assert peer.received_types("response.create") == ["response.create"] * 2


async def test_ask_returns_every_message_of_the_answer() -> None:
    with running_peer() as peer:
        peer.respond(speech(PREAMBLE, 200), speech(ANSWER, 300))
        async with connected(peer) as session:
            reply = await session.ask("Weather in Paris?", timeout=TIMEOUT)
    assert reply.text == f"{PREAMBLE}\n{ANSWER}"
    assert reply.messages == (PREAMBLE, ANSWER)
    assert len(reply.items) == 2
    assert len(reply.responses) == 1
    assert reply.usage.output_tokens == 20


async def test_a_response_reads_one_line_per_message_as_the_reply_does() -> None:
    # A preamble, a call and the answer: Response.text must not run them together.
    with running_peer() as peer:
        parts = (speech(PREAMBLE, 200), call("noop", "{}", "call_t1"), speech(ANSWER, 300))
        peer.respond_with(lambda previous: build_response("resp_lines", previous, parts))
        async with connected(peer) as session:
            done = await (await session.response.create()).done()
    assert done.response.text == f"{PREAMBLE}\n{ANSWER}"
    assert [item.type for item in done.response.output or ()] == [
        "message",
        "function_call",
        "message",
    ]


# -- metrics -------------------------------------------------------------------------


async def test_metrics_time_the_first_message_and_count_them_all() -> None:
    with running_peer() as peer:
        parts = (speech(PREAMBLE, 300), speech(ANSWER, 700), call("noop", "{}", "call_m1"))
        peer.respond_with(lambda previous: build_response("resp_metrics", previous, parts))
        async with connected(peer) as session:
            preamble, answer, _ = ids("resp_metrics", 3)
            first_delta: dict[str, float] = {}

            @session.on("response.output_audio.delta")
            def note(event: Any) -> None:
                first_delta.setdefault(event.item_id, time.perf_counter())

            async with session.stream("metrics.response") as records:
                await session.response.create()
                with anyio.fail_after(TIMEOUT):
                    published = await records.receive()
            record = published.metrics
    assert record.messages == 2  # the call is not a message
    assert record.audio_ms == pytest.approx(1000)  # both messages' audio
    assert record.output_tokens == 30
    assert record.time_to_first_audio is not None
    # The first audio is the preamble's (metrics sees each delta before this handler).
    first_audio_at = record.started_at + record.time_to_first_audio
    assert first_audio_at <= first_delta[preamble] < first_delta[answer]


# -- the transcript ---------------------------------------------------------------


def transcription(item_id: str, words: str) -> dict[str, Any]:
    """A late ``input_audio_transcription.completed`` for a user audio item."""
    return frame(
        sdk.ConversationItemInputAudioTranscriptionCompletedEvent,
        "conversation.item.input_audio_transcription.completed",
        item_id=item_id,
        content_index=0,
        transcript=words,
        usage={"type": "duration", "seconds": 1.5},
    )


async def speak(session: Session) -> Any:
    """Send a user audio turn (commit it) and return its reply."""
    turn = session.expect_reply()
    await session.input_audio_buffer.append(bytes(4800))
    await session.input_audio_buffer.commit()
    return await turn.wait(TIMEOUT)


async def test_the_transcript_has_a_turn_per_message_in_order() -> None:
    with running_peer() as peer:
        peer.respond(speech(PREAMBLE, 200), speech(ANSWER, 300))
        transcript = Transcript()
        async with connected(peer, transcript) as session:
            completed = Seen(session, "transcript.turn_completed")
            await session.ask("Weather in Paris?", timeout=TIMEOUT)
            response_id = peer.played[0].response_id
            turns = transcript.response_turns(response_id)
    assert [(t.role, t.text, t.status) for t in turns] == [
        ("assistant", PREAMBLE, "completed"),
        ("assistant", ANSWER, "completed"),
    ]
    lines = ["User: Weather in Paris?", f"Assistant: {PREAMBLE}", f"Assistant: {ANSWER}"]
    assert transcript.text() == "\n".join(lines)
    # Every turn completed exactly once: the second message is not lost, nor merged.
    finished = [event.turn.item_id for event in completed.events]  # type: ignore[attr-defined]
    assert sorted(finished) == sorted(turn.item_id for turn in transcript)
    assert len(finished) == 3


async def test_a_late_transcription_lands_on_its_turn_though_the_session_showed_none() -> None:
    # The server's session shows no transcription, yet transcripts arrive, after the
    # answers: evidence beats configuration, and each lands on its own user turn.
    with running_peer(transcription=False) as peer:
        peer.respond(speech(PREAMBLE, 200), speech(ANSWER, 300))
        peer.respond(speech("Anything else?", 200))
        transcript = Transcript()
        async with connected(peer, transcript) as session:
            updated = Seen(session, "transcript.updated")
            completed = Seen(session, "transcript.turn_completed")
            await speak(session)
            first = transcript[0]
            assert (first.role, first.text, first.done) == ("user", "", True)
            got = anyio.Event()
            session.on("transcript.updated", lambda event: got.set())
            await peer.push(transcription(first.item_id, "What is the weather in Paris?"))
            with anyio.fail_after(TIMEOUT):
                await got.wait()
            # That was evidence: the next user turn waits for its words.
            await speak(session)
            second = transcript[3]
            assert (second.role, second.done) == ("user", False)
            await peer.push(transcription(second.item_id, "Thanks."))
            with anyio.fail_after(TIMEOUT):
                while not second.done:
                    await session.wait_for("transcript.turn_completed", timeout=TIMEOUT)
    assert transcript.text() == (
        "User: What is the weather in Paris?\n"
        f"Assistant: {PREAMBLE}\nAssistant: {ANSWER}\n"
        "User: Thanks.\nAssistant: Anything else?"
    )
    assert first.status == second.status == "completed"
    late = [e for e in updated.events if e.turn.item_id == first.item_id]  # type: ignore[attr-defined]
    assert [e.text for e in late] == ["What is the weather in Paris?"]  # type: ignore[attr-defined]
    # Once per turn: the first was completed (empty) before its words came.
    finished = [e.turn.item_id for e in completed.events]  # type: ignore[attr-defined]
    assert finished.count(first.item_id) == finished.count(second.item_id) == 1


# -- barge-in ------------------------------------------------------------------------


@asynccontextmanager
async def until(
    session: Session, name: str, count: int = 1, item_id: str | None = None
) -> AsyncIterator[None]:
    """Run the block, then wait until ``count`` ``name`` events (of ``item_id``) were handled.

    The stream opens before the block, so no event the block causes is missed.
    """
    async with session.stream(name) as stream:
        yield
        seen = 0
        with anyio.fail_after(TIMEOUT):
            async for event in stream:
                item = getattr(event, "item", None)
                about = getattr(event, "item_id", None) or getattr(item, "id", None)
                seen += item_id is None or about == item_id
                if seen == count:
                    return


def ids(response_id: str, count: int) -> list[str]:
    """The ids of a scripted response's items (``build_response`` names them so)."""
    return [f"item_{response_id}_{index}" for index in range(count)]


def sent(peer: MultiMessagePeer, kind: str) -> list[dict[str, Any]]:
    """The client events of ``kind`` the peer received, without their event ids."""
    return [
        {k: v for k, v in e.items() if k not in ("type", "event_id")}
        for e in peer.received
        if e["type"] == kind
    ]


async def test_barge_in_truncates_the_message_playing_and_deletes_the_later_ones() -> None:
    # The preamble plays; the answer arrived whole, unheard; a third message has begun,
    # with no audio yet. The server's VAD cancels the response.
    with running_peer() as peer:
        parts = (speech(PREAMBLE, 1000), speech(ANSWER, 1000), speech("And more.", 500))
        peer.respond_with(
            lambda previous: build_response("resp_cut1", previous, parts).hold_from(
                "response.content_part.added", 2
            )
        )
        vad, transcript = VAD(), Transcript()
        async with connected(peer, vad, transcript) as session:
            interrupted = Seen(session, "vad.interrupted")
            preamble, answer, more = ids("resp_cut1", 3)
            async with until(session, "response.output_audio.delta", 10, answer):
                await session.response.create()
            vad.playback.played(preamble, 0, 400.0)
            async with session.stream("conversation.item.deleted") as deleted:
                await peer.barge_in()
                with anyio.fail_after(TIMEOUT):
                    gone = [(await deleted.receive()).item_id for _ in range(2)]
            assert gone == [answer, more]
            assert [item.id for item in session.conversation.response_items("resp_cut1")] == [
                preamble
            ]
            assert session.conversation.truncated_at(preamble) == 400
    assert sent(peer, "conversation.item.truncate") == [
        {"item_id": preamble, "content_index": 0, "audio_end_ms": 400}
    ]
    # Deleted once the response was done, not while it still wrote to them.
    assert sent(peer, "conversation.item.delete") == [{"item_id": answer}, {"item_id": more}]
    assert "response.cancel" not in peer.received_types()  # the server's VAD cancels
    cuts = [(e.item_id, e.deleted) for e in interrupted.events]  # type: ignore[attr-defined]
    assert cuts == [(preamble, False), (answer, True), (more, True)]
    # The transcript keeps what was heard: a share of the preamble, none of the rest.
    said = {turn.item_id: turn for turn in transcript}
    assert said[preamble].interrupted
    assert said[preamble].text
    assert PREAMBLE.startswith(said[preamble].text)
    assert said[preamble].text != PREAMBLE
    assert [(said[i].text, said[i].interrupted) for i in (answer, more)] == [("", True)] * 2


async def test_barge_in_during_the_answer_leaves_the_heard_preamble_alone() -> None:
    # The whole response arrived; the preamble was heard in full, the answer in part,
    # and the closing message not at all.
    with running_peer() as peer:
        parts = (speech(PREAMBLE, 1000), speech(ANSWER, 1000), speech("And more.", 500))
        peer.respond_with(lambda previous: build_response("resp_cut2", previous, parts))
        vad, transcript = VAD(), Transcript()
        async with connected(peer, vad, transcript) as session:
            preamble, answer, more = ids("resp_cut2", 3)
            request = await session.response.create()
            await request.done()
            vad.playback.played(preamble, 0, 1000.0)
            vad.playback.played(answer, 0, 300.0)
            async with session.stream("conversation.item.deleted") as deleted:
                await peer.barge_in()
                with anyio.fail_after(TIMEOUT):
                    gone = await deleted.receive()
            assert gone.item_id == more
    assert sent(peer, "conversation.item.truncate") == [
        {"item_id": answer, "content_index": 0, "audio_end_ms": 300}
    ]
    assert sent(peer, "conversation.item.delete") == [{"item_id": more}]
    assert "response.cancel" not in peer.received_types()  # nothing was running
    said = {turn.item_id: turn for turn in transcript}
    assert (said[preamble].text, said[preamble].status) == (PREAMBLE, "completed")
    assert said[answer].interrupted
    assert ANSWER.startswith(said[answer].text)
    assert said[answer].text != ANSWER
    assert (said[more].text, said[more].interrupted) == ("", True)
    assert transcript.text() == (
        f"Assistant: {PREAMBLE}\nAssistant: {said[answer].text} [interrupted]\n"
        "Assistant: [interrupted]"
    )


async def test_barge_in_between_messages_cancels_and_deletes_what_comes_after() -> None:
    # The preamble finished playing; the response goes on to the answer when the user
    # speaks. This server's VAD does not cancel: the client does, and the answer's first
    # frames, already on their way, arrive after the barge-in.
    with running_peer(interrupt_response=False, in_flight=6) as peer:
        parts = (speech(PREAMBLE, 500), speech(ANSWER, 1000))
        peer.respond_with(
            lambda previous: build_response("resp_cut3", previous, parts).hold_from(
                "response.output_item.added", 1
            )
        )
        vad, transcript = VAD(), Transcript()
        async with connected(peer, vad, transcript) as session:
            interrupted = Seen(session, "vad.interrupted")
            preamble, answer = ids("resp_cut3", 2)
            muted: list[bool] = []  # its late audio is not to be played

            @session.on("vad.interrupted")
            def check(event: Any) -> None:
                if event.item_id == answer:
                    muted.append(vad.playback.is_interrupted(answer))

            async with until(session, "conversation.item.done", 1, preamble):
                await session.response.create()
            vad.playback.played(preamble, 0, 500.0)
            async with session.stream("conversation.item.deleted") as deleted:
                await peer.barge_in()
                with anyio.fail_after(TIMEOUT):
                    gone = await deleted.receive()
            assert gone.item_id == answer
    assert [e["response_id"] for e in peer.received if e["type"] == "response.cancel"] == [
        "resp_cut3"
    ]
    # The preamble was heard in full: no truncate marks it interrupted.
    assert sent(peer, "conversation.item.truncate") == []
    assert sent(peer, "conversation.item.delete") == [{"item_id": answer}]
    cuts = [(e.item_id, e.deleted) for e in interrupted.events]  # type: ignore[attr-defined]
    assert cuts == [(None, False), (answer, True)]
    assert muted == [True]
    said = {turn.item_id: turn for turn in transcript}
    assert (said[preamble].text, said[preamble].status) == (PREAMBLE, "completed")
    assert (said[answer].text, said[answer].interrupted) == ("", True)


# -- tools -------------------------------------------------------------------------


async def test_calls_after_a_preamble_are_each_answered_once() -> None:
    # One response: a spoken preamble, then two calls. Then the answer.
    with running_peer() as peer:
        peer.respond(
            speech(PREAMBLE, 300),
            call("get_weather", '{"city": "Paris"}', "call_w"),
            call("get_time", '{"city": "Paris"}', "call_t"),
        )
        peer.respond(speech(ANSWER, 300))
        tools = Tools()
        ran: list[str] = []

        @tools.function
        def get_weather(city: str) -> dict[str, Any]:
            """The weather in a city."""
            ran.append(f"weather {city}")
            return {"sky": "sunny"}

        @tools.function
        def get_time(city: str) -> str:
            """The time in a city."""
            ran.append(f"time {city}")
            return "noon"

        async with connected(peer, tools) as session:
            finished = Seen(session, "tools.batch_finished")
            reply = await session.ask("Weather and time in Paris?", timeout=TIMEOUT)
    assert sorted(ran) == ["time Paris", "weather Paris"]
    outputs = [e["item"] for e in peer.received if e["type"] == "conversation.item.create"]
    answered = [(o["call_id"], o["output"]) for o in outputs if o["type"] == "function_call_output"]
    assert sorted(answered) == [("call_t", "noon"), ("call_w", '{"sky":"sunny"}')]
    # The question's response.create, then one follow-up for both calls.
    assert peer.received_types("response.create") == ["response.create"] * 2
    assert len(finished.events) == 1
    # The whole turn: the preamble, the calls, the answer.
    assert reply.messages == (PREAMBLE, ANSWER)
    assert reply.text == f"{PREAMBLE}\n{ANSWER}"
    kinds = [item.type for item in reply.items]
    assert kinds == ["message", "function_call", "function_call", "message"]
    assert len(reply.responses) == 2


# -- the local server's gpt-realtime-2 -----------------------------------------------


@asynccontextmanager
async def local(model: ScriptedModel, *plugins: Any) -> AsyncIterator[Session]:
    """A session on the local server's gpt-realtime-2 (the URL names it): a preamble first."""
    async with LocalRealtimeServer(model=model) as server:
        session = Session(url=server.url, model="gpt-realtime-2")
        for plugin in plugins:
            session.use(plugin)
        async with session:
            yield session


async def test_local_server_answers_in_two_messages_and_every_part_keeps_both() -> None:
    transcript = Transcript()
    async with local(ScriptedModel().otherwise("The answer."), transcript) as session:
        async with session.stream("metrics.response") as records:
            reply = await session.ask("Hello?", timeout=TIMEOUT)
            with anyio.fail_after(TIMEOUT):
                record = (await records.receive()).metrics
        [response] = reply.responses
        assert response.id is not None
        items = session.conversation.response_items(response.id)
    assert reply.messages == (DEFAULT_PREAMBLE, "The answer.")
    assert [item.text for item in items] == [DEFAULT_PREAMBLE, "The answer."]
    assert [turn.text for turn in transcript.response_turns(response.id)] == list(reply.messages)
    assert record.messages == 2
    assert record.audio_ms > 0


async def test_local_server_calls_a_tool_after_the_preamble() -> None:
    model = (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .call("get_weather", city="Lyon")
        .when(tool_output="get_weather")
        .say("Sunny in both.")
    )
    tools = Tools()
    cities: list[str] = []

    @tools.function
    def get_weather(city: str) -> dict[str, Any]:
        """The weather in a city."""
        cities.append(city)
        return {"city": city, "sky": "sunny"}

    async with local(model, tools) as session:
        reply = await session.ask("What is the weather?", timeout=TIMEOUT)
        outputs = [i for i in session.conversation.items if i.type == "function_call_output"]
    assert sorted(cities) == ["Lyon", "Paris"]
    assert len(outputs) == 2  # each call answered once
    assert reply.messages == (DEFAULT_PREAMBLE, "Sunny in both.")
    first = [item.type for item in reply.responses[0].output or ()]
    assert first == ["message", "function_call", "function_call"]
