"""A Session as a transcription session: against the local server and a plain websockets peer.

The local server opens a transcription session for ``?intent=transcription``
and transcribes real speech (``tests/audio``); the peer, written here with
``websockets`` alone, plays a GA or beta transcription session as the SDK
models it (beta's ``transcription_session.update`` and ``.updated``), and a
2024 server's whisper-1 transcripts, which came without ``usage``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest
from openai.types.beta.realtime import TranscriptionSessionUpdate as SdkBetaTranscriptionUpdate
from openai.types.realtime import SessionUpdateEvent as SdkSessionUpdateEvent
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from realtime_events import InvalidConfigError, RealtimeError, Session
from realtime_events.audio import read_wav
from realtime_events.events import (
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    Dialect,
    ServerEvent,
    SessionUpdatedEvent,
    TranscriptionSessionUpdatedEvent,
)
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio

AUDIO = Path(__file__).parent / "audio"
RECORDINGS = json.loads((AUDIO / "recordings.json").read_text())
HELLO = "hello_there.wav"
PCM, RATE = read_wav(AUDIO / HELLO)
#: Enough trailing silence for server VAD to end the turn.
SILENCE = bytes(RATE * 2)  # one second of pcm16

CONFIG: dict[str, Any] = {
    "type": "transcription",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
}
COMPLETED = "conversation.item.input_audio_transcription.completed"


class Transcripts:
    """What a session's handlers got: transcripts, the server's answers to updates, responses.

    Registered before the session starts, so nothing can pass unseen; ``wait``
    for the n-th completed transcript, ``answered`` for the n-th answer.
    """

    def __init__(self, session: Session) -> None:
        self.deltas: list[str] = []
        self.completed: list[ConversationItemInputAudioTranscriptionCompletedEvent] = []
        self.answers: list[ServerEvent] = []
        self.responses: list[str] = []
        self._arrived = anyio.Event()
        session.on("conversation.item.input_audio_transcription.delta", self._delta)
        session.on(COMPLETED, self._completed)
        session.on("session.updated", self._answer)
        session.on("transcription_session.updated", self._answer)
        session.on("response.*", self._response)

    def _answer(self, event: ServerEvent) -> None:
        self.answers.append(event)
        self._arrived.set()

    def _delta(self, event: ConversationItemInputAudioTranscriptionDeltaEvent) -> None:
        self.deltas.append(event.delta or "")

    def _completed(self, event: ConversationItemInputAudioTranscriptionCompletedEvent) -> None:
        self.completed.append(event)
        self._arrived.set()

    def _response(self, event: ServerEvent) -> None:
        self.responses.append(event.type)

    async def wait(self, count: int) -> None:
        await self._until(lambda: len(self.completed) >= count)

    async def answered(self, count: int) -> ServerEvent:
        await self._until(lambda: len(self.answers) >= count)
        return self.answers[count - 1]

    async def _until(self, done: Callable[[], bool]) -> None:
        with anyio.fail_after(20):  # a generous bound, not a timing claim
            while not done():
                self._arrived = anyio.Event()
                await self._arrived.wait()


# -- the local server ----------------------------------------------------------------


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    model = ScriptedModel().hears(AUDIO / HELLO, RECORDINGS[HELLO]["text"])
    async with LocalRealtimeServer(model=model) as server:
        yield server


def query_of(server: LocalRealtimeServer) -> dict[str, list[str]]:
    return parse_qs(urlsplit(server.connection.request.path).query)


def received(server: LocalRealtimeServer) -> list[str]:
    return [event["type"] for event in server.connection.received]


async def test_real_speech_is_transcribed_and_reaches_the_handlers(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url, config=CONFIG)
    transcripts = Transcripts(session)
    async with session:
        await session.send_audio(PCM + SILENCE)
        await transcripts.wait(1)
        assert session.state == "open"
    # Asked for as the API wants it: the intent in the URL, no model there.
    assert query_of(server) == {"intent": ["transcription"]}
    assert session.model is None
    assert server.connection.engine.config.type == "transcription"
    update = server.connection.received[0]
    assert SdkSessionUpdateEvent.model_validate(update).session.type == "transcription"
    assert update["session"]["audio"]["input"]["transcription"]["model"] == "gpt-4o-transcribe"
    # What the speech said, in deltas and whole, and never a response.
    (completed,) = transcripts.completed
    assert completed.transcript == RECORDINGS[HELLO]["text"]
    assert "".join(transcripts.deltas) == completed.transcript
    assert completed.usage is not None
    assert transcripts.responses == []
    assert "response.create" not in received(server)
    # The server's side is a transcription session's.
    assert session.server_session is not None
    assert session.server_session.type == "transcription"
    assert session.server_config["input_audio_transcription"]["model"] == "gpt-4o-transcribe"


async def test_requests_for_a_response_are_refused_before_anything_is_sent(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url, config=CONFIG)
    transcripts = Transcripts(session)
    async with session:
        await transcripts.answered(1)
        before = list(received(server))
        calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("ask()", lambda: session.ask("hello", timeout=5)),
            ("send_text(respond=True)", lambda: session.send_text("hello")),
            ("send_audio(respond=True)", lambda: session.send_audio(PCM, respond=True)),
            ("send_image(respond=True)", lambda: session.send_image(b"\x89PNG", respond=True)),
        ]
        for what, call in calls:
            with pytest.raises(RealtimeError, match="never responds") as caught:
                await call()
            assert str(caught.value).startswith(what)
        with pytest.raises(RealtimeError, match="never responds"):
            session.expect_reply()
        # Audio alone is what a transcription session is for.
        await session.send_audio(PCM + SILENCE)
        await transcripts.wait(1)
    assert transcripts.responses == []
    assert before == ["session.update"]
    assert set(received(server)[1:]) == {"input_audio_buffer.append"}


async def test_an_update_is_checked_whole_and_a_refused_one_changes_nothing(
    server: LocalRealtimeServer,
) -> None:
    class Tools:
        name = "tools"

        def attach(self, session: Session) -> None:
            pass

        def session_config(self) -> Mapping[str, Any]:
            return {"tools": [{"type": "function", "name": "lookup"}]}

    session = Session(url=server.url, config=CONFIG)
    transcripts = Transcripts(session)
    async with session:
        await transcripts.answered(1)
        own = dict(session.config)
        for fields in ({"voice": "marin"}, {"type": "realtime"}):
            with pytest.raises(InvalidConfigError):
                await session.update(**fields)
            assert session.config == own
        with pytest.raises(InvalidConfigError, match="tools is not a setting"):
            session.use(Tools())
        assert session.plugins == {}
        assert received(server) == ["session.update"]  # nothing refused went out
        noise = {"type": "near_field"}
        sent = await session.update(input_audio_noise_reduction=noise)
        updated = await transcripts.answered(2)
    assert isinstance(updated, SessionUpdatedEvent)
    assert sent.type == "session.update"
    assert updated.session.type == "transcription"
    assert session.server_config["input_audio_noise_reduction"] == noise
    assert session.config == {**own, "input_audio_noise_reduction": noise}


def test_a_transcription_session_names_no_model_in_the_url() -> None:
    assert "intent=transcription" in Session(config=CONFIG).url
    assert "model=" not in Session(config=CONFIG).url
    assert "model=" not in Session(None, config=CONFIG).url
    with pytest.raises(InvalidConfigError, match="input_audio_transcription") as caught:
        Session("gpt-4o-transcribe", config=CONFIG)
    assert caught.value.field == "model"
    realtime = Session()
    assert "intent" not in realtime.url
    assert "model=gpt-realtime" in realtime.url


# -- a plain websockets peer ----------------------------------------------------------


class TranscriptionPeer:
    """A plain ``websockets`` server playing one transcription session per connection.

    GA or beta by the ``OpenAI-Beta`` header: it answers ``session.update``
    (GA) or ``transcription_session.update`` (beta) with ``session.updated`` or
    ``transcription_session.updated``, and each ``input_audio_buffer.commit``
    with ``committed`` and a completed transcript. With whisper-1 (its default)
    the transcript has no ``usage``, as 2024 servers sent it.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        self.paths.append(connection.request.path)
        beta = connection.request.headers.get("OpenAI-Beta") == "realtime=v1"
        session: dict[str, Any] = {"id": "sess_T1", "object": "realtime.transcription_session"}
        if not beta:
            session["type"] = "transcription"
        model = "whisper-1"
        count = 0

        def send(kind: str, **fields: Any) -> None:
            nonlocal count
            count += 1
            connection.send(json.dumps({"type": kind, "event_id": f"event_{count}", **fields}))

        send("session.created", session=session)
        try:
            for message in connection:
                event = json.loads(message)
                self.received.append(event)
                kind = event["type"]
                if kind in ("session.update", "transcription_session.update"):
                    config = event["session"]
                    audio_input = config.get("audio", {}).get("input", {})
                    asked = config.get("input_audio_transcription") or audio_input.get(
                        "transcription"
                    )
                    model = (asked or {}).get("model", model)
                    session.update(config)
                    updated = "transcription_session.updated" if beta else "session.updated"
                    send(updated, session=session)
                elif kind == "input_audio_buffer.commit":
                    item = f"item_{count}"
                    send("input_audio_buffer.committed", item_id=item, previous_item_id=None)
                    usage = {"type": "duration", "seconds": 1.1}
                    send(
                        COMPLETED,
                        item_id=item,
                        content_index=0,
                        transcript="hello there",
                        **({} if model == "whisper-1" else {"usage": usage}),
                    )
        except ConnectionClosed:
            pass

    def __enter__(self) -> TranscriptionPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def peer() -> Iterator[TranscriptionPeer]:
    with TranscriptionPeer() as peer:
        yield peer


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_either_dialect_configures_and_hears_a_transcription_session(
    peer: TranscriptionPeer, dialect: Dialect
) -> None:
    config = {**CONFIG, "input_audio_transcription": {"model": "gpt-4o-transcribe"}}
    session = Session(url=peer.url, dialect=dialect, config=config)
    transcripts = Transcripts(session)
    async with session:
        answer = await transcripts.answered(1)
        await session.send_audio(PCM, commit=True)
        await transcripts.wait(1)
    expected = SessionUpdatedEvent if dialect == "ga" else TranscriptionSessionUpdatedEvent
    assert type(answer) is expected
    (path,) = peer.paths
    assert parse_qs(urlsplit(path).query) == {"intent": ["transcription"]}
    update, *rest = peer.received
    if dialect == "ga":
        assert SdkSessionUpdateEvent.model_validate(update).session.type == "transcription"
    else:
        assert update["type"] == "transcription_session.update"
        assert "type" not in update["session"]  # beta tells the kinds apart by the event
        assert SdkBetaTranscriptionUpdate.model_validate(update).session.input_audio_transcription
    assert [event["type"] for event in rest][-1] == "input_audio_buffer.commit"
    # The server's answer, whichever event carried it, is the session's server side.
    assert session.server_config["input_audio_transcription"] == {"model": "gpt-4o-transcribe"}
    (completed,) = transcripts.completed
    assert completed.transcript == "hello there"
    assert completed.missing_fields == ()


async def test_a_lenient_parse_is_logged_once_per_event_type_and_missing_fields(
    peer: TranscriptionPeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime_events.session")
    whisper = {"input_audio_transcription": {"model": "whisper-1"}}
    session = Session(url=peer.url, config=CONFIG | whisper)
    transcripts = Transcripts(session)

    def lenient() -> list[logging.LogRecord]:
        return [record for record in caplog.records if "which its model documents" in record.msg]

    async with session:
        for count in (1, 2, 3):  # whisper-1, without usage: logged once, not per frame
            await session.send_audio(PCM[:4800], commit=True)
            await transcripts.wait(count)
        assert len(lenient()) == 1
        await session.update(input_audio_transcription={"model": "gpt-4o-transcribe"})
        await session.send_audio(PCM[:4800], commit=True)
        await transcripts.wait(4)
    assert [event.missing_fields for event in transcripts.completed] == [("usage",)] * 3 + [()]
    (record,) = lenient()  # a complete event logs nothing
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert COMPLETED in message
    assert "without usage" in message
