"""OpenTelemetry: responses are traced on the global tracer provider, with nothing to wire up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from realtime_events import Session
from realtime_events.metrics import Metrics
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

otel_trace = pytest.importorskip("opentelemetry.trace")
sdk_trace = pytest.importorskip("opentelemetry.sdk.trace")
sdk_export = pytest.importorskip("opentelemetry.sdk.trace.export")
in_memory = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def exporter() -> Iterator[Any]:
    """An in-memory exporter on the process's global SDK provider (set once per process)."""
    provider = otel_trace.get_tracer_provider()
    if not isinstance(provider, sdk_trace.TracerProvider):
        provider = sdk_trace.TracerProvider()
        otel_trace.set_tracer_provider(provider)
    exporter = in_memory.InMemorySpanExporter()
    provider.add_span_processor(sdk_export.SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # later tests' spans are no longer kept


@pytest.fixture
async def server(anyio_backend: str) -> AsyncIterator[LocalRealtimeServer]:
    async with LocalRealtimeServer(model=ScriptedModel().otherwise("Okay.")) as server:
        yield server


async def turn(session: Session) -> str:
    """Run one text turn; return its response id."""
    async with session, session.stream("response.done") as dones:
        await session.send_text("hello")
        done = await dones.receive(timeout=10)
    assert done.response.id is not None
    return str(done.response.id)


def spans_of(exporter: Any, response_id: str) -> list[Any]:
    return [
        span
        for span in exporter.get_finished_spans()
        if span.attributes.get("realtime.response.id") == response_id
    ]


@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_a_turn_is_a_span_on_the_global_provider(
    exporter: Any, server: LocalRealtimeServer, dialect: Any
) -> None:
    session = Session(url=server.url, dialect=dialect, output_modalities=["text"])
    response_id = await turn(session)
    (span,) = spans_of(exporter, response_id)
    assert span.name == "realtime.response"
    assert span.instrumentation_scope.name == "realtime_events"
    assert span.attributes["realtime.response.status"] == "completed"
    assert span.attributes["gen_ai.usage.output_tokens"] > 0
    assert span.start_time <= span.end_time


async def test_tracing_is_turned_off_per_session_or_for_all(
    exporter: Any, server: LocalRealtimeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = Session(url=server.url, output_modalities=["text"])
    session.metrics.tracing = False
    assert spans_of(exporter, await turn(session)) == []
    assert session.metrics.response_count == 1  # still measured, only not traced

    monkeypatch.setattr(Metrics, "tracing", False)
    session = Session(url=server.url, output_modalities=["text"])
    assert spans_of(exporter, await turn(session)) == []


# A fresh process: the global provider is set once per process, here after the
# session was built, as an application that configures OpenTelemetry late does.
LATE_PROVIDER = textwrap.dedent(
    """
    import json, sys

    import anyio
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from realtime_events import Session
    from realtime_events.testing import LocalRealtimeServer

    async def main() -> None:
        async with LocalRealtimeServer() as server:
            session = Session(url=server.url, output_modalities=["text"])
            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            trace.set_tracer_provider(provider)
            async with session, session.stream("response.done") as dones:
                await session.send_text("hello")
                await dones.receive(timeout=10)
        print(json.dumps([span.name for span in exporter.get_finished_spans()]))

    anyio.run(main, backend=sys.argv[1])
    """
)


@pytest.mark.parametrize("disabled", [False, True], ids=["enabled", "OTEL_SDK_DISABLED"])
def test_a_provider_set_after_the_session_still_gets_its_spans(
    anyio_backend: str, disabled: bool
) -> None:
    env = {**os.environ, "OTEL_SDK_DISABLED": "true" if disabled else "false"}
    result = subprocess.run(
        [sys.executable, "-c", LATE_PROVIDER, anyio_backend],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    names = json.loads(result.stdout.strip().splitlines()[-1])
    assert names == ([] if disabled else ["realtime.response"])


def _last_json_line(script: str) -> Any:
    """Run ``script`` in a fresh process (the global provider is set once per process)."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_span_is_made_while_no_provider_would_record_it() -> None:
    script = """
        import json

        from opentelemetry import trace

        from realtime_events import metrics

        before = metrics._global_tracer()  # none set yet: a span would record nothing
        trace.set_tracer_provider(trace.NoOpTracerProvider())
        print(json.dumps([before is None, metrics._global_tracer() is None]))
        """
    assert _last_json_line(script) == [True, True]


def test_a_provider_set_later_is_followed() -> None:
    script = """
        import json

        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider

        from realtime_events import metrics

        before = metrics._global_tracer()
        trace.set_tracer_provider(TracerProvider())
        span = metrics._global_tracer().start_span("probe")
        print(json.dumps([before is None, span.is_recording()]))
        span.end()
        """
    assert _last_json_line(script) == [True, True]
