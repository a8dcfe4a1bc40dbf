"""The transcript of real sessions over loopback, on both dialects and both anyio backends."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import EventStream, Session, signals
from realtime_events.audio import read_wav
from realtime_events.events import Dialect
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events.testing.speech import synthesize
from realtime_events_transcript import Transcript, Turn

pytestmark = pytest.mark.anyio

AUDIO = Path(__file__).resolve().parents[3] / "tests" / "audio"
LONG = (
    "Once upon a time there was a little robot who loved to count the stars in the sky "
    "every single night until the morning came"
)
TRANSCRIBE = {"model": "gpt-4o-transcribe"}
_ids = itertools.count(1)


@pytest.fixture(params=["ga", "beta"])
def dialect(request: pytest.FixtureRequest) -> Dialect:
    return "beta" if request.param == "beta" else "ga"


class Watch:
    """Everything the transcript announced, and every handler that failed."""

    def __init__(self, session: Session) -> None:
        self.events: list[Any] = []
        self.failures: list[BaseException] = []
        session.on("transcript.*", self.events.append)
        self._session = session

    def on_failure(self, sender: Any, *, error: BaseException, **_: Any) -> None:
        self.failures.append(error)

    @contextmanager
    def failures_recorded(self) -> Iterator[None]:
        with signals.handler_failed.connected_to(self.on_failure, sender=self._session):
            yield

    def of(self, name: str, item_id: str) -> list[Any]:
        """The events ``transcript.<name>`` about one item, in order."""
        return [
            e for e in self.events if e.type == f"transcript.{name}" and e.turn.item_id == item_id
        ]

    def check_live_events(self, transcript: Transcript) -> None:
        """Deltas join to the final text; one turn_completed per finished turn."""
        for turn in transcript:
            completed = self.of("turn_completed", turn.item_id)
            assert len(completed) == (1 if turn.done else 0), turn
            assert len(self.of("turn_started", turn.item_id)) == 1
            if not turn.interrupted:
                deltas = "".join(e.delta for e in self.of("updated", turn.item_id))
                assert deltas == turn.text
            if completed:
                assert completed[0].turn.text == turn.text or turn.interrupted


@asynccontextmanager
async def serve(
    model: ScriptedModel, pace: float = 0.0, **options: Any
) -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(model=model, pace=pace, **options) as server:
        yield server


def events_of(session: Session, pattern: str) -> AbstractAsyncContextManager[EventStream]:
    """A stream of ``pattern`` events, roomy enough that nothing is ever dropped.

    ``drop_oldest`` hands events over without a checkpoint: with ``block``, closing
    a stream while the dispatcher is handing it an event crashes the session
    (ClosedResourceError in Dispatcher._feed_taps, reported to the lead).
    """
    return session.stream(pattern, buffer=100_000, overflow="drop_oldest")


async def until(events: EventStream, name: str, where: Callable[[Any], bool] = bool) -> Any:
    """The next ``name`` event on ``events`` that satisfies ``where``."""
    with anyio.fail_after(10):
        async for event in events:
            if event.type == name and where(event):
                return event
    raise AssertionError(f"the stream ended before {name}")


async def until_all(events: EventStream, names: set[str]) -> None:
    """Read ``events`` until one event of each name in ``names`` has come, in any order."""
    missing = set(names)
    with anyio.fail_after(10):
        async for event in events:
            missing.discard(event.type)
            if not missing:
                return
    raise AssertionError(f"the stream ended before {missing}")


def completed_role(role: str) -> Callable[[Any], bool]:
    return lambda event: event.turn.role == role


def raw(kind: str, **fields: Any) -> dict[str, Any]:
    """A server event written by hand, sent through the real transport."""
    return {"type": kind, "event_id": f"event_raw_{next(_ids)}", **fields}


def raw_item_events(
    dialect: Dialect, item: dict[str, Any], previous: str | None
) -> list[dict[str, Any]]:
    if dialect == "ga":
        return [
            raw("conversation.item.added", previous_item_id=previous, item=item),
            raw("conversation.item.done", previous_item_id=previous, item=item),
        ]
    return [raw("conversation.item.created", previous_item_id=previous, item=item)]


def roles(transcript: Transcript) -> list[str]:
    return [turn.role for turn in transcript]


# ----------------------------------------------------------------------- turns


async def test_text_turns(dialect: Dialect) -> None:
    model = ScriptedModel().when("hello").say("Hi there! How are you?").otherwise("Noted: {text}")
    async with serve(model) as server:
        session = Session(url=server.url, dialect=dialect, output_modalities=["text"])
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                await session.send_text("hello")
                await until(events, "transcript.turn_completed", completed_role("assistant"))
                await session.send_text("I am fine")
                await until(events, "transcript.turn_completed", completed_role("assistant"))

    assert transcript.text() == (
        "User: hello\nAssistant: Hi there! How are you?\n"
        "User: I am fine\nAssistant: Noted: I am fine"
    )
    turns = transcript.turns
    assert [t.item_id for t in turns] == [item.id for item in session.conversation.items]
    assert all(t.status == "completed" and t.modality == "text" for t in turns)
    assert all(t.completed_at is not None and t.started_at <= t.completed_at for t in turns)
    assert turns[1].response_id is not None
    assert list(transcript) == turns
    assert len(transcript) == 4
    assert transcript[0] is transcript.get(turns[0].item_id)
    assert len(watch.of("updated", turns[1].item_id)) > 1  # streamed, word by word
    watch.check_live_events(transcript)
    assert watch.failures == []


@pytest.mark.parametrize("vad", [False, True], ids=["manual", "server_vad"])
async def test_audio_turn_from_a_recording(dialect: Dialect, vad: bool) -> None:
    pcm, rate = read_wav(AUDIO / "hello_there.wav")
    assert rate == 24000
    model = ScriptedModel().hears(AUDIO / "hello_there.wav", "Hello there.")
    model.when("hello").say("Hi! Nice to hear you.")
    detection = {"type": "server_vad", "silence_duration_ms": 300} if vad else None
    async with serve(model) as server:
        session = Session(
            url=server.url,
            dialect=dialect,
            input_audio_transcription=TRANSCRIBE,
            turn_detection=detection,
        )
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                if vad:
                    # Trailing silence lets the server's VAD end the turn and answer it.
                    await session.send_audio(pcm + bytes(24000))
                else:
                    await session.send_audio(pcm, commit=True, respond=True)
                await until(events, "transcript.turn_completed", completed_role("assistant"))
                if not transcript[0].done:
                    await until(events, "transcript.turn_completed", completed_role("user"))

    user, assistant = transcript.turns
    assert (user.role, user.modality, user.text, user.status) == (
        "user",
        "audio",
        "Hello there.",
        "completed",
    )
    assert (assistant.role, assistant.modality, assistant.text) == (
        "assistant",
        "audio",
        "Hi! Nice to hear you.",
    )
    assert user.started_at <= assistant.started_at
    assert transcript.text() == "User: Hello there.\nAssistant: Hi! Nice to hear you."
    # gpt-4o-transcribe streams the user's words as deltas too.
    assert len(watch.of("updated", user.item_id)) > 1
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_a_late_user_transcript_goes_before_the_reply(dialect: Dialect) -> None:
    model = ScriptedModel().when("hello").say("Hi!").once().otherwise("Sure, tomorrow works.")
    async with serve(model) as server:
        session = Session(
            url=server.url,
            dialect=dialect,
            output_modalities=["text"],
            input_audio_transcription=TRANSCRIBE,
            turn_detection=None,
        )
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                await session.send_text("hello")
                await until(events, "transcript.turn_completed", completed_role("assistant"))

                # The user speaks; the server creates their item at commit, before
                # any response, but its transcript is slow to come.
                previous = session.conversation.items[-1].id
                item = {
                    "id": "item_spoken",
                    "object": "realtime.item",
                    "type": "message",
                    "status": "completed",
                    "role": "user",
                    "content": [{"type": "input_audio", "transcript": None}],
                }
                committed = raw(
                    "input_audio_buffer.committed", previous_item_id=previous, item_id="item_spoken"
                )
                await server.connection.send_events(
                    [committed, *raw_item_events(dialect, item, previous)]
                )
                await until(events, "transcript.turn_started", lambda e: e.turn.role == "user")
                await session.response.create()
                reply = await until(
                    events, "transcript.turn_completed", completed_role("assistant")
                )
                spoken = transcript.get("item_spoken")
                assert spoken is not None
                assert spoken.status == "in_progress"
                assert spoken.text == ""
                assert roles(transcript)[-2:] == ["user", "assistant"]

                # The transcript arrives after the answer was complete.
                kind = "conversation.item.input_audio_transcription"
                await server.connection.send_events(
                    [
                        raw(f"{kind}.delta", item_id="item_spoken", content_index=0, delta="Can"),
                        raw(
                            f"{kind}.delta",
                            item_id="item_spoken",
                            content_index=0,
                            delta=" we meet tomorrow?",
                        ),
                        raw(
                            f"{kind}.completed",
                            item_id="item_spoken",
                            content_index=0,
                            transcript="Can we meet tomorrow?",
                            usage={"type": "duration", "seconds": 1.4},
                        ),
                    ]
                )
                late = await until(events, "transcript.turn_completed", completed_role("user"))

    assert transcript.text() == (
        "User: hello\nAssistant: Hi!\nUser: Can we meet tomorrow?\nAssistant: Sure, tomorrow works."
    )
    assert [t.item_id for t in transcript][2:] == ["item_spoken", reply.turn.item_id]
    completions = [e.turn.item_id for e in watch.events if e.type == "transcript.turn_completed"]
    assert completions.index(reply.turn.item_id) < completions.index(late.turn.item_id)
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_a_transcription_the_session_did_not_announce_still_lands(dialect: Dialect) -> None:
    # The session shows no input transcription, so the user's audio turn completes
    # without words; a transcription that comes anyway, after the answer, fills it in.
    model = ScriptedModel().otherwise("Sure, tomorrow works.")
    async with serve(model) as server:
        session = Session(
            url=server.url, dialect=dialect, output_modalities=["text"], turn_detection=None
        )
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                item = {
                    "id": "item_unannounced",
                    "object": "realtime.item",
                    "type": "message",
                    "status": "completed",
                    "role": "user",
                    "content": [{"type": "input_audio", "transcript": None}],
                }
                committed = raw(
                    "input_audio_buffer.committed", previous_item_id=None, item_id=item["id"]
                )
                await server.connection.send_events(
                    [committed, *raw_item_events(dialect, item, None)]
                )
                await until(events, "transcript.turn_completed", completed_role("user"))
                await session.response.create()
                reply = await until(
                    events, "transcript.turn_completed", completed_role("assistant")
                )
                spoken = transcript.get("item_unannounced")
                assert spoken is not None
                assert (spoken.status, spoken.text) == ("completed", "")

                kind = "conversation.item.input_audio_transcription.completed"
                late = raw(
                    kind, item_id="item_unannounced", content_index=0, transcript="Tomorrow?"
                )  # whisper-1 sends no usage
                await server.connection.send_events([late])
                filled = await until(
                    events, "transcript.updated", lambda e: e.turn.item_id == "item_unannounced"
                )

    assert (filled.delta, filled.text) == ("Tomorrow?", "Tomorrow?")
    assert transcript.text() == "User: Tomorrow?\nAssistant: Sure, tomorrow works."
    assert [t.item_id for t in transcript] == ["item_unannounced", reply.turn.item_id]
    assert len(watch.of("turn_completed", "item_unannounced")) == 1
    assert watch.failures == []


async def test_each_message_of_a_response_is_a_turn(dialect: Dialect) -> None:
    # gpt-realtime-2 speaks a preamble, then the answer, in one response.
    model = ScriptedModel(preamble="Let me look.").otherwise("Here it is.")
    async with serve(model, session_defaults={"model": "gpt-realtime-2"}) as server:
        session = Session(url=server.url, dialect=dialect)
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session:
                reply = await session.ask("find it", timeout=10)
    [response] = reply.responses
    assert response.id is not None
    turns = transcript.response_turns(response.id)
    assert [(t.role, t.text, t.status, t.modality) for t in turns] == [
        ("assistant", "Let me look.", "completed", "audio"),
        ("assistant", "Here it is.", "completed", "audio"),
    ]
    assert transcript.text() == "User: find it\nAssistant: Let me look.\nAssistant: Here it is."
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_a_failed_transcription_keeps_the_turn(dialect: Dialect) -> None:
    async with serve(ScriptedModel()) as server:
        session = Session(url=server.url, dialect=dialect, input_audio_transcription=TRANSCRIBE)
        transcript = session.use(Transcript())
        async with session, events_of(session, "transcript.*") as events:
            async with events_of(session, "session.updated") as updates:
                await session.update()  # so the transcription setting is known to be on
                await until(updates, "session.updated")
            item = {
                "id": "item_noise",
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
            failed = raw(
                "conversation.item.input_audio_transcription.failed",
                item_id="item_noise",
                content_index=0,
                error={
                    "type": "transcription_error",
                    "code": "audio_unintelligible",
                    "message": "Audio was unintelligible.",
                },
            )
            await server.connection.send_events([*raw_item_events(dialect, item, None), failed])
            await until(events, "transcript.turn_completed")
    (turn,) = transcript.turns
    assert (turn.status, turn.error, turn.text) == ("failed", "Audio was unintelligible.", "")
    assert transcript.text() == "User: [inaudible]"


# --------------------------------------------------------------- interruptions


def words_started_before(text: str, ms: float) -> int:
    """How many words the local server's speech had begun by ``ms``."""
    return sum(1 for word in synthesize(text).words if word.start_ms < ms)


async def test_truncation_after_playback_keeps_what_was_heard(dialect: Dialect) -> None:
    model = ScriptedModel().when("story").say(LONG).when("short").say("Okay then.")
    async with serve(model) as server:
        session = Session(url=server.url, dialect=dialect, turn_detection=None)
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                await session.send_text("tell me a story")
                done = await until(events, "transcript.turn_completed", completed_role("assistant"))
                story = done.turn.item_id
                received = session.conversation.audio_received_ms(story)
                end_ms = int(received * 0.4)
                # The user stopped listening 40% of the way through the story.
                await session.conversation.item.truncate(story, audio_end_ms=end_ms)
                cut = await until(events, "transcript.turn_interrupted")

                await session.send_text("short")
                done = await until(events, "transcript.turn_completed", completed_role("assistant"))
                await session.conversation.item.truncate(done.turn.item_id, audio_end_ms=0)
                await until(events, "transcript.turn_interrupted")

    turn = transcript.get(story)
    assert turn is not None
    assert cut.turn.item_id == story
    assert cut.audio_end_ms == end_ms
    assert (turn.status, turn.interrupted, turn.audio_end_ms) == ("interrupted", True, end_ms)
    heard = turn.text.split()
    assert 0 < len(heard) < len(LONG.split())
    assert heard == LONG.split()[: len(heard)]  # whole words, from the start
    assert abs(len(heard) - words_started_before(LONG, end_ms)) <= 1
    assert cut.turn.text == turn.text
    # The turn completed once, in full, before the user cut it off.
    (completed,) = watch.of("turn_completed", story)
    assert completed.turn.text == LONG
    assert completed.turn.status == "completed"

    short = transcript[-1]
    assert (short.text, short.interrupted, short.audio_end_ms) == ("", True, 0)
    assert transcript.text().splitlines()[1:] == [
        f"Assistant: {turn.text} [interrupted]",
        "User: short",
        "Assistant: [interrupted]",
    ]
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_barge_in_while_streaming_trims_and_interrupts(dialect: Dialect) -> None:
    model = ScriptedModel().when("story").say(LONG)
    # Real-time pacing: the response is still streaming when the user barges in.
    async with serve(model, pace=1.0) as server:
        session = Session(url=server.url, dialect=dialect, turn_detection=None)
        transcript = session.use(Transcript())
        watch = Watch(session)
        deltas = 0

        @session.on("response.output_audio.delta")
        async def barge_in(event: Any) -> None:
            nonlocal deltas
            deltas += 1
            if deltas == 4:
                await session.response.cancel()
                await session.conversation.item.truncate(event.item_id, audio_end_ms=250)

        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                await session.send_text("tell me a story")
                done = await until(events, "transcript.turn_completed", completed_role("assistant"))

    turn = transcript.get(done.turn.item_id)
    assert turn is not None
    assert (turn.status, turn.audio_end_ms) == ("interrupted", 250)
    assert done.turn.status == "interrupted"
    heard = turn.text.split()
    assert 1 <= len(heard) < 6
    assert heard == LONG.split()[: len(heard)]
    assert len(watch.of("turn_completed", turn.item_id)) == 1
    assert len(watch.of("turn_interrupted", turn.item_id)) == 1
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_a_cancelled_response_marks_its_turn_interrupted(dialect: Dialect) -> None:
    model = ScriptedModel().when("story").say(LONG)
    async with serve(model, pace=1.0) as server:
        session = Session(url=server.url, dialect=dialect, turn_detection=None)
        transcript = session.use(Transcript())

        @session.on("response.output_audio.delta", once=True)
        async def stop(event: Any) -> None:
            await session.response.cancel()

        async with session, events_of(session, "transcript.*") as events:
            await session.send_text("tell me a story")
            done = await until(events, "transcript.turn_completed", completed_role("assistant"))

    turn = transcript[-1]
    assert done.turn.status == "interrupted"
    assert turn.interrupted
    assert turn.audio_end_ms is None  # not truncated: the text is what was generated
    assert LONG.startswith(turn.text)
    assert len(turn.text) < len(LONG)


async def test_an_unheard_item_deleted_after_barge_in_is_empty(dialect: Dialect) -> None:
    model = ScriptedModel().when("story").say(LONG)
    async with serve(model, pace=1.0) as server:
        session = Session(url=server.url, dialect=dialect, turn_detection=None)
        transcript = session.use(Transcript())

        @session.on("response.output_audio.delta", once=True)
        async def stop(event: Any) -> None:
            await session.response.cancel()
            await session.conversation.item.delete(event.item_id)

        async with session, events_of(session, "transcript.*") as events:
            await session.send_text("tell me a story")
            # Deleted, and cancelled: the two may be reported in either order.
            await until_all(events, {"transcript.turn_interrupted", "transcript.turn_completed"})

    turn = transcript[-1]
    assert (turn.role, turn.text, turn.status, turn.audio_end_ms) == (
        "assistant",
        "",
        "interrupted",
        0,
    )
    assert turn.item_id not in session.conversation
    assert transcript.text() == "User: tell me a story\nAssistant: [interrupted]"


# ----------------------------------------------------------------------- tools

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


async def tool_conversation(server: LocalRealtimeServer, session: Session) -> None:
    """Ask for the weather, answer the tool call, and let the model read it back."""
    async with events_of(session, "transcript.*") as events:
        await session.send_text("What's the weather in Paris?")
        call = await until(events, "transcript.turn_completed", completed_role("tool_call"))
        # The response may still be finishing: response.create waits for it.
        await session.conversation.item.create(
            {
                "type": "function_call_output",
                "call_id": call.turn.call_id,
                "output": json.dumps({"city": "Paris", "temp_c": 21}),
            }
        )
        await session.response.create()
        await until(events, "transcript.turn_completed", completed_role("assistant"))


def weather_model() -> ScriptedModel:
    return (
        ScriptedModel()
        .when("weather")
        .call("get_weather", city="Paris")
        .when(tool_output="get_weather")
        .say("It is {temp_c} degrees in {city}.")
    )


async def test_tool_calls_and_outputs_are_entries(dialect: Dialect) -> None:
    async with serve(weather_model()) as server:
        session = Session(
            url=server.url,
            dialect=dialect,
            output_modalities=["text"],
            config={"tools": [WEATHER_TOOL]},
        )
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session:
                await tool_conversation(server, session)

    _, call, output, answer = transcript.turns
    assert roles(transcript) == ["user", "tool_call", "tool_output", "assistant"]
    assert (call.item_type, call.name, call.status) == ("function_call", "get_weather", "completed")
    assert json.loads(call.arguments or "") == {"city": "Paris"}
    assert call.call_id is not None
    assert call.response_id is not None
    assert (output.item_type, output.call_id, output.name) == (
        "function_call_output",
        call.call_id,
        "get_weather",
    )
    assert json.loads(output.output or "") == {"city": "Paris", "temp_c": 21}
    assert answer.text == "It is 21 degrees in Paris."
    assert transcript.text() == (
        "User: What's the weather in Paris?\nAssistant: It is 21 degrees in Paris."
    )
    assert transcript.text(tools=True).splitlines()[1:3] == [
        f"Tool call: get_weather({call.arguments})",
        f"Tool output: {output.output}",
    ]
    watch.check_live_events(transcript)
    assert watch.failures == []


# --------------------------------------------------------------------- exports


@pytest.mark.parametrize("suffix", [".md", ".json", ".txt"])
async def test_exports_and_saving_at_close(dialect: Dialect, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"call{suffix}"
    async with serve(weather_model()) as server:
        session = Session(url=server.url, dialect=dialect, config={"tools": [WEATHER_TOOL]})
        transcript = session.use(Transcript(save_to=path))
        async with session:
            await tool_conversation(server, session)
            answer = transcript[-1]
            await session.conversation.item.truncate(answer.item_id, audio_end_ms=400)
            await session.wait_for("conversation.item.truncated", timeout=10)
            assert not path.exists()  # written when the session closes

    assert answer.interrupted
    text = transcript.text()
    assert text.startswith("User: What's the weather in Paris?\nAssistant: It is")
    assert text.endswith("[interrupted]")

    markdown = transcript.markdown(tools=True)
    assert markdown.startswith("# Transcript\n\n**User:** What's the weather in Paris?\n\n")
    assert '**Tool call:** `get_weather({"city": "Paris"})`' in markdown
    assert markdown.rstrip().endswith("*(interrupted)*")

    data = json.loads(transcript.json())
    assert data == transcript.to_dicts()
    assert [d["item_id"] for d in data] == [t.item_id for t in transcript]
    assert [d["role"] for d in data] == ["user", "tool_call", "tool_output", "assistant"]
    assert [d["interrupted"] for d in data] == [False, False, False, True]
    assert data[3]["audio_end_ms"] == 400
    for entry in data:
        assert datetime.fromisoformat(entry["started_at"]) <= datetime.fromisoformat(
            entry["completed_at"]
        )

    saved = path.read_text(encoding="utf-8")
    if suffix == ".json":
        assert json.loads(saved) == data
    elif suffix == ".md":
        assert saved == transcript.markdown()
    else:
        assert saved == text + "\n"


# ------------------------------------------------------- duplicates, reconnects


async def test_items_created_again_are_not_duplicated(dialect: Dialect) -> None:
    model = ScriptedModel().when("hello").say("Hi!")
    async with serve(model) as server:
        session = Session(url=server.url, dialect=dialect, output_modalities=["text"])
        transcript = session.use(Transcript())
        watch = Watch(session)
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                await session.send_text("hello")
                await until(events, "transcript.turn_completed", completed_role("assistant"))
                before = [(t.item_id, t.text, t.status) for t in transcript]
                # The same items announced again, as after a replay or a retrieve.
                again: list[dict[str, Any]] = []
                previous = None
                for item in session.conversation.items:
                    again += raw_item_events(dialect, item.model_dump(), previous)
                    previous = item.id
                again.append(raw("conversation.item.retrieved", item=item.model_dump()))
                await server.connection.send_events(again)
                await session.send_text("hello")
                await until(events, "transcript.turn_completed", completed_role("assistant"))

    assert [(t.item_id, t.text, t.status) for t in transcript][:2] == before
    assert len(transcript) == 4
    assert len({t.item_id for t in transcript}) == 4
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_a_reconnect_resumes_one_transcript(dialect: Dialect) -> None:
    pcm, _ = read_wav(AUDIO / "weather_paris.wav")
    model = ScriptedModel().hears(AUDIO / "weather_paris.wav", "What's the weather in Paris?")
    model.when("weather").say("Sunny and mild.").when("thanks").say("You're welcome!")
    async with serve(model) as server:
        session = Session(
            url=server.url,
            dialect=dialect,
            input_audio_transcription=TRANSCRIBE,
            turn_detection=None,
        )
        transcript = session.use(Transcript())
        watch = Watch(session)
        reconnected = anyio.Event()

        def on_reconnected(sender: Any, **_: Any) -> None:
            reconnected.set()

        with (
            watch.failures_recorded(),
            signals.reconnected.connected_to(on_reconnected, sender=session),
        ):
            async with session, events_of(session, "transcript.*") as events:
                await session.send_audio(pcm, commit=True, respond=True)
                await until(events, "transcript.turn_completed", completed_role("assistant"))
                before = [(t.item_id, t.role, t.text) for t in transcript]

                await server.connection.drop()
                with anyio.fail_after(10):
                    await reconnected.wait()
                await session.send_text("thanks")
                await until(events, "transcript.turn_completed", completed_role("assistant"))

    # The new server session got the conversation back, under the same ids.
    replayed = [
        e["item"].get("id")
        for e in server.connection.received
        if e["type"] == "conversation.item.create"
    ]
    assert replayed[:2] == [item_id for item_id, _, _ in before]
    assert [(t.item_id, t.role, t.text) for t in transcript][:2] == before
    assert transcript.text() == (
        "User: What's the weather in Paris?\nAssistant: Sunny and mild.\n"
        "User: thanks\nAssistant: You're welcome!"
    )
    assert transcript[0].modality == "audio"  # replayed as text, still the spoken turn
    watch.check_live_events(transcript)
    assert watch.failures == []


async def test_unknown_item_types_are_kept_as_generic_entries(dialect: Dialect) -> None:
    async with serve(ScriptedModel()) as server:
        session = Session(url=server.url, dialect=dialect)
        transcript = session.use(Transcript())
        watch = Watch(session)
        items: list[dict[str, Any]] = [
            {
                "id": "item_mcp",
                "type": "mcp_call",
                "status": "completed",
                "name": "search",
                "arguments": "{}",
                "output": "3 results",
                "server_label": "docs",
            },
            {"id": "item_future", "type": "hologram", "status": "completed", "shape": "cube"},
            {"type": "message", "role": "user", "content": []},  # no id: nothing to key
            {"id": "item_narrator", "type": "message", "role": "narrator", "content": []},
        ]
        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                sent: list[dict[str, Any]] = []
                for item in items:
                    sent += raw_item_events(dialect, item, None)
                await server.connection.send_events(sent)
                await until(
                    events, "transcript.turn_completed", lambda e: e.turn.item_id == "item_narrator"
                )

    mcp, future, narrator = transcript.turns
    assert (mcp.role, mcp.item_type, mcp.name, mcp.output, mcp.text) == (
        "other",
        "mcp_call",
        "search",
        "3 results",
        "3 results",
    )
    assert (future.role, future.item_type, future.status) == ("other", "hologram", "completed")
    assert narrator.role == "other"
    assert transcript.text() == ""
    assert [d["item_type"] for d in transcript.to_dicts()] == ["mcp_call", "hologram", "message"]
    assert watch.failures == []


async def test_the_entry_point_loads_the_plugin(dialect: Dialect) -> None:
    async with serve(ScriptedModel().when("hello").say("Hi!")) as server:
        session = Session(
            url=server.url, dialect=dialect, output_modalities=["text"], plugins=["transcript"]
        )
        transcript = session.plugins["transcript"]
        assert isinstance(transcript, Transcript)
        async with session:
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)
    assert transcript.text() == "User: hello\nAssistant: Hi!"


def test_a_transcript_follows_one_session() -> None:
    transcript = Transcript()
    Session(url="ws://127.0.0.1:1/").use(transcript)
    with pytest.raises(RuntimeError):
        Session(url="ws://127.0.0.1:1/").use(transcript)
    assert isinstance(Turn("item", "user"), Turn)


async def test_a_reply_cut_by_a_dropped_connection_ends_interrupted(dialect: Dialect) -> None:
    model = ScriptedModel().when("story").say(LONG).when("again").say("Where was I?")
    async with serve(model, pace=1.0) as server:
        session = Session(url=server.url, dialect=dialect, turn_detection=None)
        transcript = session.use(Transcript())
        watch = Watch(session)

        @session.on("response.output_audio.delta", once=True)
        async def drop(event: Any) -> None:
            await server.connection.drop()

        with watch.failures_recorded():
            async with session, events_of(session, "transcript.*") as events:
                await session.send_text("tell me a story")
                cut = await until(events, "transcript.turn_completed", completed_role("assistant"))
                await session.send_text("again")
                await until(events, "transcript.turn_completed", completed_role("assistant"))

    assert cut.turn.status == "interrupted"
    assert LONG.startswith(cut.turn.text)
    assert len(transcript) == 4
    assert transcript[-1].text == "Where was I?"
    watch.check_live_events(transcript)
    assert watch.failures == []
