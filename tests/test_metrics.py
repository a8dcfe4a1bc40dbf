"""Metrics: latency, usage, interruptions and reconnects, measured over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import ReconnectPolicy, Session, signals
from realtime_events.audio import read_wav, silence
from realtime_events.metrics import KEEP_RESPONSES, ResponseMetrics
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

pytestmark = pytest.mark.anyio

AUDIO = Path(__file__).parent / "audio"
LONG = " ".join(["This is a long answer that goes on and on."] * 20)


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    model = (
        ScriptedModel()
        .when("hello")
        .say("Hi there, nice to meet you!")
        .when("story")
        .say(LONG)
        .otherwise("Okay.")
    )
    async with LocalRealtimeServer(model=model) as server:
        yield server


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_a_text_turn_is_measured_from_the_request(
    server: LocalRealtimeServer, dialect: Any
) -> None:
    session = Session(url=server.url, dialect=dialect, output_modalities=["text"])
    metrics = session.metrics  # built into every session
    published: list[Any] = []
    session.on("metrics.response", published.append)
    async with session, session.stream("metrics.response") as records:
        await session.send_text("hello")
        done = await session.wait_for("response.done", timeout=10)
        event = await records.receive(timeout=10)
    record = metrics.last
    assert isinstance(record, ResponseMetrics)
    assert record.trigger == "request"
    assert record.response_id == done.response.id
    assert record.status == "completed"
    assert record.time_to_first_text is not None
    assert record.time_to_first_text > 0
    assert record.time_to_first_audio is None
    assert record.time_to_first_delta == record.time_to_first_text
    assert record.time_to_created is not None
    assert 0 < record.time_to_created <= record.time_to_first_text <= record.total_time
    usage = done.response.usage
    assert usage is not None
    assert usage.output_tokens
    assert (record.input_tokens, record.output_tokens, record.total_tokens) == (
        usage.input_tokens,
        usage.output_tokens,
        usage.total_tokens,
    )
    assert metrics.total_tokens == usage.total_tokens
    assert metrics.response_count == 1
    assert metrics.interruptions == 0
    # Published on the bus: the record's fields as attributes, and the record itself.
    assert published == [event]
    assert event.metrics is record
    assert event.time_to_first_text == record.time_to_first_text
    assert event.output_tokens == usage.output_tokens


async def test_a_spoken_turn_is_measured_from_the_end_of_speech(
    server: LocalRealtimeServer,
) -> None:
    session = Session(url=server.url, turn_detection={"type": "server_vad"})
    metrics = session.metrics  # built into every session
    pcm, rate = read_wav(AUDIO / "hello_there.wav")
    assert rate == 24000
    async with session, session.stream("response.done") as dones:
        await session.send_audio(pcm + silence(1000))
        await dones.receive(timeout=10)
    record = metrics.last
    assert record is not None
    assert record.trigger == "speech"
    assert record.time_to_first_audio is not None
    assert record.time_to_first_audio > 0
    assert record.status == "completed"


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_first_deltas_are_timed_in_and_out_of_the_conversation(
    server: LocalRealtimeServer, dialect: Any
) -> None:
    # The mirror hands metrics the deltas that may be a response's first: a spoken
    # answer in the conversation, then a text answer out of it, then one more in it.
    session = Session(url=server.url, dialect=dialect)
    first: dict[str, float] = {}

    def stamp(event: Any) -> None:
        first.setdefault(event.response_id, anyio.current_time())

    session.on("response.output_audio.delta", stamp)
    session.on("response.output_text.delta", stamp)
    async with session:
        spoken = await session.ask("hello", timeout=10)
        await session.response.create(conversation="none", output_modalities=["text"])
        aside = await session.wait_for("response.done", timeout=10)
        again = await session.ask("story", timeout=10)
    records = {record.response_id: record for record in session.metrics.responses}
    spoken_id, again_id = spoken.responses[-1].id, again.responses[-1].id
    assert list(records) == [spoken_id, aside.response.id, again_id]
    for response_id in (spoken_id, again_id):
        record = records[response_id]
        assert record.time_to_first_audio is not None
        assert 0 < record.time_to_first_audio <= record.total_time
        assert record.time_to_first_text is None  # a transcript is not text
    record = records[aside.response.id]
    assert aside.response.conversation_id in (None, "none")
    assert record.time_to_first_audio is None
    assert record.time_to_first_text is not None
    assert 0 < record.time_to_first_text <= record.total_time
    assert set(first) == set(records)


async def test_cancelled_responses_count_as_interruptions(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url)
    metrics = session.metrics  # built into every session

    @session.on("response.output_audio.delta", once=True)
    async def barge_in(event: Any) -> None:
        await session.response.cancel()

    async with session, session.stream("response.done") as dones:
        await session.send_text("tell me a story")
        done = await dones.receive(timeout=10)
        assert done.response.status == "cancelled"
        await session.send_text("hello")
        await dones.receive(timeout=10)
    first, second = metrics.responses
    assert first.interrupted
    assert first.reason == "client_cancelled"
    assert first.time_to_first_audio is not None
    assert not second.interrupted
    assert metrics.interruptions == 1
    assert metrics.summary()["interruptions"] == 1
    assert metrics.summary()["responses"] == 2


async def test_reconnects_are_counted(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, reconnect=ReconnectPolicy(initial_delay=0.01))
    metrics = session.metrics  # built into every session
    back = anyio.Event()
    signals.reconnected.connect(lambda *_, **__: back.set(), sender=session, weak=False)
    async with session:
        await server.connection.drop()
        with anyio.fail_after(10):
            await back.wait()
        assert metrics.reconnects == 1
        assert metrics.reconnect_time > 0
        async with session.stream("response.done") as dones:
            await session.send_text("hello")
            await dones.receive(timeout=10)
    assert metrics.response_count == 1
    assert metrics.responses[0].trigger == "request"


async def test_the_session_s_metrics_keep_the_newest_records(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    metrics = session.metrics
    assert metrics.keep == KEEP_RESPONSES
    metrics.keep = 2  # configured on the session's own, before it runs
    ids: list[str | None] = []
    async with session, session.stream("response.done") as dones:
        for _ in range(3):
            await session.send_text("hello")
            ids.append((await dones.receive(timeout=10)).response.id)
    assert [record.response_id for record in metrics.responses] == ids[1:]
    assert metrics.response_count == 3  # the totals count every response
    kept = [record.total_time for record in metrics.responses]
    assert metrics.summary()["mean_total_time"] == sum(kept) / len(kept)
    metrics.keep = 1  # lowered later: the newest stays
    assert [record.response_id for record in metrics.responses] == ids[2:]
    assert metrics.last is not None
    assert metrics.last.response_id == ids[2]


class RecordingTracer:
    """Anything with OpenTelemetry's ``start_span`` shape is a tracer here."""

    def __init__(self) -> None:
        self.spans: list[RecordingSpan] = []

    def start_span(self, name: str, **kwargs: Any) -> RecordingSpan:
        span = RecordingSpan(name, kwargs)
        self.spans.append(span)
        return span


class RecordingSpan:
    def __init__(self, name: str, kwargs: dict[str, Any]) -> None:
        self.name = name
        self.kwargs = kwargs
        self.end_time: int | None = None

    def end(self, end_time: int | None = None) -> None:
        self.end_time = end_time


async def test_one_span_per_response_with_a_tracer(server: LocalRealtimeServer) -> None:
    tracer = RecordingTracer()
    session = Session(url=server.url, output_modalities=["text"])
    session.metrics.tracer = tracer
    async with session:
        await session.send_text("hello")
        done = await session.wait_for("response.done", timeout=10)
    (span,) = tracer.spans
    assert span.name == "realtime.response"
    attributes = span.kwargs["attributes"]
    assert attributes["realtime.response.id"] == done.response.id
    assert attributes["realtime.response.status"] == "completed"
    assert attributes["gen_ai.usage.output_tokens"] == done.response.usage.output_tokens  # type: ignore[union-attr]
    assert attributes["realtime.response.time_to_first_text_ms"] > 0
    assert span.end_time is not None
    assert span.kwargs["start_time"] <= span.end_time


async def test_with_opentelemetry_when_installed(server: LocalRealtimeServer) -> None:
    sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
    export = pytest.importorskip("opentelemetry.sdk.trace.export")
    in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
    exporter = in_memory.InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(export.SimpleSpanProcessor(exporter))
    session = Session(url=server.url, output_modalities=["text"])
    session.metrics.tracer = provider.get_tracer("test")
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
    (span,) = exporter.get_finished_spans()
    assert span.name == "realtime.response"
    assert span.attributes["realtime.response.status"] == "completed"


async def test_a_record_is_published_only_to_a_receiver(server: LocalRealtimeServer) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    assert not session.listens_for("metrics.response")  # nothing would receive it
    async with session:
        await session.send_text("hello")
        await session.wait_for("response.done", timeout=10)
        assert session.metrics.response_count == 1  # recorded all the same
        seen: list[Any] = []
        session.on("metrics.*", seen.append)
        assert session.listens_for("metrics.response")
        async with session.stream("metrics.response") as records:
            await session.send_text("again")
            event = await records.receive(timeout=10)
    assert session.metrics.response_count == 2
    assert seen == [event]
    assert event.metrics is session.metrics.last
