"""Per-response latency, usage and interruption metrics, without a vendor.

:class:`Metrics` listens to a session through its public API (handlers and
signals) and records one :class:`ResponseMetrics` per ``response.done``:

- time to the first audio and the first text delta, measured from when the
  user stopped speaking (``input_audio_buffer.speech_stopped``) or, failing
  that, from when ``response.create`` was sent;
- the total time until ``response.done``, and its token usage;
- whether it was interrupted (``status == "cancelled"``).

A response may hold several assistant messages (``gpt-realtime-2`` speaks a
preamble, then the answer): the time to first audio is the first message's,
since that is when the user starts hearing something, and the per-response
totals (``messages``, ``audio_ms``, the usage) count every message.

It also counts reconnects and the time spent reconnecting. Every
:class:`~realtime_events.Session` builds one, ``session.metrics``, and that is
the one to read and configure. Each record is published as a
``metrics.response`` event (its fields are the record's, plus ``metrics``: the
record itself), so logging is one handler::

    @session.on("metrics.response")
    def log(event):
        print(f"{event.time_to_first_audio=:.3f}s {event.output_tokens=}")

Each response also becomes a ``realtime.response`` span when
``opentelemetry-api`` is installed (the ``otel`` extra): on OpenTelemetry's
global tracer provider, as other instrumented libraries do, so setting up the
SDK is all it takes, even after the session was created. Assigning
``session.metrics.tracer`` picks another tracer, or anything with the same
``start_span``. ``session.metrics.tracing = False`` turns spans off for one
session and ``Metrics.tracing = False`` for every session;
``OTEL_SDK_DISABLED=true`` turns the SDK off altogether.
"""

from __future__ import annotations

import importlib
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal

from . import signals
from .events import (
    ConversationItem,
    InputAudioBufferSpeechStoppedEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputTextDeltaEvent,
    Usage,
)

__all__ = ["Metrics", "ResponseMetrics", "Trigger"]

#: What started a response's clock: the end of the user's speech, a
#: ``response.create`` the client sent, or (neither seen) ``response.created`` itself.
Trigger = Literal["speech", "request", "created"]

#: How many responses may be timed at once. The server runs one response per
#: conversation at a time, plus out-of-band ones, and ends each with
#: ``response.done``; a response that never ends is dropped, oldest first.
MAX_IN_FLIGHT = 32

#: How many records :attr:`Metrics.responses` keeps by default, newest last. They
#: are the window :meth:`Metrics.summary` averages latencies over: a hundred turns
#: is the recent part of a long call, and the totals count every response anyway.
#: A record and its token usage take a few kilobytes, so a process hosting
#: thousands of sessions may want fewer: ``session.metrics.keep`` sets it.
KEEP_RESPONSES = 100


@dataclass(frozen=True, slots=True)
class ResponseMetrics:
    """What one response cost and how fast it came; times are in seconds.

    ``started_at``/``done_at`` come from :func:`time.perf_counter`. A time to
    first delta is None when the response had no output of that kind.
    """

    response_id: str | None
    status: str | None
    #: Why it ended early, if it did (``turn_detected``, ``client_cancelled``...).
    reason: str | None
    trigger: Trigger
    started_at: float
    done_at: float
    #: From the trigger to ``response.created``.
    time_to_created: float | None
    time_to_first_audio: float | None
    time_to_first_text: float | None
    #: From the trigger to ``response.done``.
    total_time: float
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cached_tokens: int | None
    usage: Usage | None
    #: How many assistant messages the response produced (a preamble and the
    #: answer are two); function calls and other items are not messages.
    messages: int = 0
    #: Milliseconds of audio received for the response, all its messages together.
    audio_ms: float = 0.0

    @property
    def time_to_first_delta(self) -> float | None:
        """The earlier of the time to first audio and to first text."""
        times = [t for t in (self.time_to_first_audio, self.time_to_first_text) if t is not None]
        return min(times) if times else None

    @property
    def interrupted(self) -> bool:
        """True when the response was cancelled (barge-in or ``response.cancel``)."""
        return self.status == "cancelled"


@dataclass(slots=True)
class _InFlight:
    trigger: Trigger
    started_at: float
    created_at: float
    first_audio_at: float | None = None
    first_text_at: float | None = None


#: The record's fields, which the ``metrics.response`` event carries.
_RECORD_FIELDS = tuple(f.name for f in fields(ResponseMetrics))


class Metrics:
    """Collects :class:`ResponseMetrics` for a session, and counts reconnects.

    Every Session builds its own, ``session.metrics``: configure that one, and
    do not attach another to the same session (each would record, publish and
    trace every response, so every response would count twice). What can be
    set, on ``session.metrics`` at any time:

    - ``tracer``: the tracer of this session's spans, in place of
      OpenTelemetry's global one (None, the default). Anything with
      OpenTelemetry's ``start_span(name, start_time=, attributes=)``, returning a
      span with ``end(end_time=)``, will do.
    - ``tracing``: False records no span for this session; assigned on the class,
      ``Metrics.tracing = False`` turns spans off for every session.
    - ``keep``: how many records :attr:`responses` holds (:data:`KEEP_RESPONSES`
      by default), which is the window :meth:`summary` averages over; the totals
      count every response whatever it is.
    """

    name = "metrics"
    #: The plugin event it emits, one per response.
    events = ("metrics.response",)
    #: Record a span per response (see the module's description).
    tracing = True

    def __init__(
        self,
        session: Any = None,
        *,
        tracer: Any = None,
        keep: int = KEEP_RESPONSES,
        on: Callable[[str, Callable[[Any], Any]], object] | None = None,
        relay: signals.Relay | None = None,
        mirror: Any = None,
    ) -> None:
        #: The tracer for this session's spans; None means OpenTelemetry's global one.
        self.tracer = tracer
        #: The most recent responses' metrics, oldest first (at most :attr:`keep`).
        self.responses: deque[ResponseMetrics] = deque(maxlen=keep)
        self.response_count = 0
        self.interruptions = 0
        self.reconnects = 0
        #: Seconds spent between losing a connection and having it back.
        self.reconnect_time = 0.0
        self.input_tokens = 0
        self.output_tokens = 0
        self.total_tokens = 0
        # A Session, typed Any so that this module, which session.py imports,
        # does not import it back.
        self._session: Any = None
        self._speech_stopped_at: float | None = None
        self._requested_at: float | None = None
        # Responses created and not done yet; a connection's end clears them.
        self._in_flight: dict[str, _InFlight] = {}
        self._lost_at: float | None = None
        if session is not None:
            self.attach(session, on=on, relay=relay, mirror=mirror)

    @property
    def keep(self) -> int:
        """How many records :attr:`responses` holds; assigning it keeps the newest."""
        maxlen = self.responses.maxlen
        assert maxlen is not None  # always built with one
        return maxlen

    @keep.setter
    def keep(self, keep: int) -> None:
        # A deque's bound is fixed when it is built: build another, from the newest.
        self.responses = deque(self.responses, maxlen=keep)

    def __repr__(self) -> str:
        return (
            f"<Metrics responses={self.response_count} interruptions={self.interruptions} "
            f"reconnects={self.reconnects} tokens={self.total_tokens}>"
        )

    def attach(
        self,
        session: Any,
        *,
        on: Callable[[str, Callable[[Any], Any]], object] | None = None,
        relay: signals.Relay | None = None,
        mirror: Any = None,
    ) -> None:
        """Register the handlers and signal receivers on ``session``.

        The session that builds its own metrics hands its fast path: ``on``
        registers a handler (``session.on`` by default), ``relay`` carries
        its signals (blinker, for ``session`` only, by default), and ``mirror``
        is its conversation, which hands over the deltas that may be a
        response's first (see :attr:`Conversation.first_delta`).
        """
        if self._session is not None:
            raise RuntimeError("this Metrics is already attached to a session")
        self._session = session
        # Every session builds its own Metrics without Session.use: declare here.
        session.declare(*self.events)
        register = session.on if on is None else on
        register("input_audio_buffer.speech_stopped", self._on_speech_stopped)
        register("response.created", self._on_created)
        if mirror is not None:
            # The mirror's handlers see every delta before ours would: a handler of
            # ours at each one was a call per delta for one clock reading per response.
            mirror.first_delta = self._on_first_delta
        else:
            register("response.output_audio.delta", self._on_audio)
            register("response.output_text.delta", self._on_text)
        register("response.done", self._on_done)
        # Through the relay, or weak receivers (bound methods): the session's
        # handlers keep this object alive exactly as long as the session.
        signals.follow(signals.event_sent, self._on_sent, sender=session, relay=relay)
        signals.follow(signals.disconnected, self._on_disconnected, sender=session, relay=relay)
        signals.follow(signals.reconnected, self._on_reconnected, sender=session, relay=relay)

    # -- totals ------------------------------------------------------------

    @property
    def last(self) -> ResponseMetrics | None:
        """The most recent response's metrics."""
        return self.responses[-1] if self.responses else None

    def summary(self) -> dict[str, Any]:
        """Counts, token totals, and mean latencies over the kept responses."""

        def mean(values: list[float | None]) -> float | None:
            present = [v for v in values if v is not None]
            return sum(present) / len(present) if present else None

        kept = list(self.responses)
        return {
            "responses": self.response_count,
            "interruptions": self.interruptions,
            "reconnects": self.reconnects,
            "reconnect_time": self.reconnect_time,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "mean_time_to_first_audio": mean([m.time_to_first_audio for m in kept]),
            "mean_time_to_first_text": mean([m.time_to_first_text for m in kept]),
            "mean_total_time": mean([m.total_time for m in kept]),
        }

    # -- clocks ------------------------------------------------------------

    def _on_speech_stopped(self, event: InputAudioBufferSpeechStoppedEvent) -> None:
        self._speech_stopped_at = time.perf_counter()

    def _on_sent(self, session: Any, *, event: Any, **_: Any) -> None:
        if getattr(event, "type", None) == "response.create":
            # The latest request: one the server refused (a response was active)
            # is sent again later, and the clock belongs to that second send.
            self._requested_at = time.perf_counter()

    def _on_created(self, event: ResponseCreatedEvent) -> None:
        now = time.perf_counter()
        trigger: Trigger
        # The end of speech wins over a request: what the user waits for starts
        # when they stop talking, even if the client then asks for the response.
        if self._speech_stopped_at is not None:
            trigger, started = "speech", self._speech_stopped_at
        elif self._requested_at is not None:
            trigger, started = "request", self._requested_at
        else:
            trigger, started = "created", now
        self._speech_stopped_at = self._requested_at = None
        if event.response.id is not None:
            in_flight = self._in_flight
            in_flight[event.response.id] = _InFlight(trigger, started, now)
            while len(in_flight) > MAX_IN_FLIGHT:
                del in_flight[next(iter(in_flight))]

    def _on_audio(self, event: ResponseOutputAudioDeltaEvent) -> None:
        # Only the first delta's time: the conversation mirror counts the audio.
        flight = self._in_flight.get(event.response_id)
        if flight is not None and flight.first_audio_at is None:
            flight.first_audio_at = time.perf_counter()

    def _on_text(self, event: ResponseOutputTextDeltaEvent) -> None:
        flight = self._in_flight.get(event.response_id)
        if flight is not None and flight.first_text_at is None:
            flight.first_text_at = time.perf_counter()

    def _on_first_delta(self, event: Any) -> None:
        # Any delta the mirror hands over; only audio and text start a clock.
        if isinstance(event, ResponseOutputAudioDeltaEvent):
            self._on_audio(event)
        elif isinstance(event, ResponseOutputTextDeltaEvent):
            self._on_text(event)

    def _on_done(self, event: ResponseDoneEvent) -> None:
        now = time.perf_counter()
        response = event.response
        flight = self._in_flight.pop(response.id or "", None)
        if flight is None:  # created before we attached, or before a reconnect
            flight = _InFlight("created", now, now)

        def since(t: float | None) -> float | None:
            return None if t is None else t - flight.started_at

        usage = response.usage
        details = usage.input_token_details if usage is not None else None
        record = ResponseMetrics(
            response_id=response.id,
            status=response.status,
            reason=response.status_details.reason if response.status_details else None,
            trigger=flight.trigger,
            started_at=flight.started_at,
            done_at=now,
            time_to_created=since(flight.created_at),
            time_to_first_audio=since(flight.first_audio_at),
            time_to_first_text=since(flight.first_text_at),
            total_time=now - flight.started_at,
            input_tokens=usage.input_tokens if usage else None,
            output_tokens=usage.output_tokens if usage else None,
            total_tokens=usage.total_tokens if usage else None,
            cached_tokens=details.cached_tokens if details else None,
            usage=usage,
            messages=sum(
                item.type == "message" and item.role in (None, "assistant")
                for item in response.output or ()
            ),
            audio_ms=self._audio_ms(response.output or ()) if flight.first_audio_at else 0.0,
        )
        self._record(record)

    def _audio_ms(self, items: Iterable[ConversationItem]) -> float:
        """How long the audio received for ``items`` lasts in the session's output format.

        The session's conversation mirror counts each item's audio as it comes
        (its handlers run before these), so it is not counted twice.
        """
        conversation = getattr(self._session, "conversation", None)
        if conversation is None:
            return 0.0
        size = sum(conversation.audio_received_bytes(item.id) for item in items if item.id)
        return float(self._session.output_format.duration_ms(size)) if size else 0.0

    def _record(self, record: ResponseMetrics) -> None:
        self.responses.append(record)
        self.response_count += 1
        self.interruptions += record.interrupted
        self.input_tokens += record.input_tokens or 0
        self.output_tokens += record.output_tokens or 0
        self.total_tokens += record.total_tokens or 0
        tracer = self._tracer()
        if tracer is not None:
            self._trace(tracer, record)
        session = self._session
        # Built only for a receiver: most sessions read session.metrics instead.
        if session is not None and session.listens_for("metrics.response"):
            shallow = {name: getattr(record, name) for name in _RECORD_FIELDS}
            session.emit("metrics.response", shallow, metrics=record)

    def _tracer(self) -> Any:
        """The tracer for the next span: the one given, else OpenTelemetry's global one."""
        if not self.tracing:
            return None
        return self.tracer if self.tracer is not None else _global_tracer()

    def _trace(self, tracer: Any, record: ResponseMetrics) -> None:
        # Spans take wall-clock nanoseconds; the record's clock is perf_counter.
        end_ns = time.time_ns()
        start_ns = end_ns - round(record.total_time * 1e9)
        attributes: dict[str, Any] = {
            "realtime.response.trigger": record.trigger,
            "realtime.response.total_time_ms": record.total_time * 1000,
        }
        optional = {
            "realtime.response.id": record.response_id,
            "realtime.response.status": record.status,
            "realtime.response.reason": record.reason,
            "realtime.response.time_to_first_audio_ms": _ms(record.time_to_first_audio),
            "realtime.response.time_to_first_text_ms": _ms(record.time_to_first_text),
            "realtime.response.messages": record.messages,
            "realtime.response.audio_ms": record.audio_ms,
            "gen_ai.usage.input_tokens": record.input_tokens,
            "gen_ai.usage.output_tokens": record.output_tokens,
        }
        attributes.update({k: v for k, v in optional.items() if v is not None})
        span = tracer.start_span("realtime.response", start_time=start_ns, attributes=attributes)
        span.end(end_time=end_ns)

    # -- connection --------------------------------------------------------

    def _on_disconnected(self, session: Any, *, will_reconnect: bool = False, **_: Any) -> None:
        # Responses in progress died with the connection: they get no response.done.
        self._in_flight.clear()
        self._speech_stopped_at = self._requested_at = None
        if will_reconnect:
            self._lost_at = time.perf_counter()

    def _on_reconnected(self, session: Any, **_: Any) -> None:
        self.reconnects += 1
        if self._lost_at is not None:
            self.reconnect_time += time.perf_counter() - self._lost_at
            self._lost_at = None


_UNSET: Any = object()
_trace_api: Any = _UNSET  # opentelemetry.trace once imported; None without it
_global: Any = None


def _global_tracer() -> Any:
    """OpenTelemetry's tracer for this library; None without ``opentelemetry-api`` or a provider.

    Imported on the first response, not before. The tracer is the API's proxy,
    which follows the global provider once one is set, so a session created
    before the SDK is configured is traced all the same. While no provider is set
    (or the no-op one is), a span would record nothing: none is made, which
    spares every response the span and its attributes.
    """
    global _trace_api, _global
    if _trace_api is _UNSET:
        try:
            _trace_api = importlib.import_module("opentelemetry.trace")
        except ImportError:
            _trace_api = None
        else:
            from . import __version__

            _global = _trace_api.get_tracer("realtime_events", __version__)
    if _trace_api is None or isinstance(
        _trace_api.get_tracer_provider(),
        (_trace_api.ProxyTracerProvider, _trace_api.NoOpTracerProvider),
    ):
        return None
    return _global


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
