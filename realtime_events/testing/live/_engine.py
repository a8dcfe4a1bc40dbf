"""The engine: one Live session, which routes each client command to its part of the protocol.

:class:`LiveEngine` owns what a session shares: its configuration once
``session.start`` gave one, the session timeline, the conversation the model
sees, input audio, delegations, and the runs of speech not yet streamed. It
reads a frame, finds the command's handler in one table, and answers a
client mistake with the Live ``error`` event; the session goes on.

The session timeline is the time since the session started, counted by the
input audio appended and by the wall time the I/O layer reports, whichever
is further; transcript deltas and appends are placed on it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from ..engine._constants import JSON, SESSION_SECONDS, Handler
from ..engine._errors import (
    ClientError,
    answer_frame,
    get_object,
    get_str,
    missing,
    require_audio,
    require_str,
)
from ..engine._ids import IdFactory
from ..engine._items import tokens
from ..models import DemoModel, Model, ReplyContext, ToolOutput
from ._config import LiveConfig, apply_update, parse_start, render
from ._delegations import Delegations
from ._errors import (
    already_started,
    error_payload,
    fixture_active,
    not_started,
    session_closed,
    too_long,
)
from ._input import InputAudio
from ._runs import BackendAnswer, Delegate, Fixture, LiveRun, Segment, Speak, segments

logger = logging.getLogger("realtime_events.testing.live")

#: Why a session ended, as ``session.closed`` says it.
CloseReason: TypeAlias = Literal[
    "close_requested", "expired", "content", "remote_hangup", "connection_lost"
]

#: How often ``session.usage.updated`` reports, in session time (about every 15 s on the wire).
USAGE_INTERVAL_MS = 15_000
#: The context window the usage ratio is counted against, in tokens.
CONTEXT_TOKENS = 128_000
#: Most tokens one instructions, thinking or commentary append may carry.
APPEND_TOKENS = 500
#: Longest audio fixture, in bytes of 24 kHz pcm16 (30 seconds).
MAX_FIXTURE_BYTES = 30 * 24_000 * 2


class LiveEngine:
    """One Live server session, Sans-I/O: client frames in, server events out.

    ``model`` answers turns and transcribes input audio (default
    :class:`~realtime_events.testing.models.DemoModel`); it also plays the
    delegation backends. ``ids`` makes ids (pass ``IdFactory(seed)`` for
    deterministic ones), ``clock`` gives the Unix time for ``expires_at``.

    The I/O layer calls :meth:`start` when a socket opens (nothing is sent
    until the client's ``session.start``), :meth:`receive` for each client
    frame, streams each :class:`LiveRun` popped from :meth:`next_response`
    (pacing audio with :func:`audio_ms`), reports wall time with
    :meth:`advance`, and closes the socket once :attr:`closed` is true.
    """

    def __init__(
        self,
        *,
        model: Model | None = None,
        ids: Callable[[str], str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.model: Model = model if model is not None else DemoModel()
        self.new_id: Callable[[str], str] = ids or IdFactory()
        self._clock = clock or time.time
        self.session_id = self.new_id("live")
        self._expires_at = 0
        self._config: LiveConfig | None = None
        self._input: InputAudio | None = None
        self.closed = False
        self._wall_ms = 0.0
        self._speech_end_ms = 0
        # Whose transcript went out last: the model's speech continues its own turn.
        self._last_transcript: Literal["input", "output"] | None = None
        self._output_ms = 0.0
        self._usage_next_ms = USAGE_INTERVAL_MS
        self._history: list[JSON] = []
        self._appended_instructions: list[str] = []
        self._ready: deque[LiveRun] = deque()
        self._current: LiveRun | None = None
        self._fixture_playing = False
        self.delegations = Delegations(self)
        self._handlers: dict[str, Handler] = {
            "session.start": self._start,
            "session.update": self._update,
            "session.input_audio.append": self._append_audio,
            "session.input_audio.mute": self._mute,
            "session.input_audio.unmute": self._unmute,
            "session.output_audio.fixture.play": self._fixture,
            "session.instructions.append": self._instructions,
            "session.thinking.append": self._thinking,
            "session.commentary.append": self._commentary,
            "decision.create": self.delegations.decision_create,
            "decision.item.create": self.delegations.item_created,
            "decision.item.delete": self.delegations.item_deleted,
            "response.item.create": self.delegations.item_create,
            "response.create": self._response_create,
            "session.close": self._close,
        }

    # ------------------------------------------------------------------ the API

    def start(self) -> list[JSON]:
        """The events a new socket gets before the client speaks: none, as on the real server."""
        return []

    def receive(self, frame: str | bytes) -> list[JSON]:
        """Handle one client frame; return the server events it causes at once, in order.

        Never raises for bad input: malformed frames and invalid commands are
        answered with ``error`` events. Speech it causes is not streamed
        here: pop it with :meth:`next_response`.
        """
        return answer_frame(frame, self._handlers, self._handle, self._error, logger)

    def _handle(self, kind: str, event: Mapping[str, Any]) -> list[JSON]:
        if self.closed:
            raise session_closed()
        if self._config is None and kind != "session.start":
            raise not_started()
        return self._handlers[kind](event) + self._usage_due()

    def next_response(self) -> LiveRun | None:
        """Pop the next run of speech ready to stream (named as the Realtime engine's method)."""
        if not self._ready:
            return None
        self._current = self._ready.popleft()
        return self._current

    def advance(self, ms: float) -> list[JSON]:
        """``ms`` of wall time passed: the events it causes (``session.usage.updated``)."""
        if ms < 0:
            raise ValueError(f"time does not go back: {ms} ms")
        self._wall_ms += ms
        return self._usage_due()

    def needs_time(self) -> bool:
        """Whether :meth:`advance` matters: the timeline is wall time until the session closes."""
        return not self.closed

    def close(self, reason: CloseReason = "connection_lost") -> list[JSON]:
        """End the session for ``reason`` (the I/O layer's: a lost socket, an expiry).

        Returns ``session.closed``, or nothing if the session never started
        or is already closed.
        """
        if self._config is None or self.closed:
            return []
        return [self._closed(reason, None)]

    @property
    def started(self) -> bool:
        """True once ``session.started`` was sent."""
        return self._config is not None

    @property
    def config(self) -> LiveConfig:
        """The session's configuration (``LookupError`` before ``session.start``)."""
        if self._config is None:
            raise LookupError("the session has not started")
        return self._config

    @property
    def session(self) -> JSON:
        """The session resource, as ``session.started`` / ``.updated`` / ``.closed`` carry it."""
        return render(self.config, self.session_id, self._expires_at)

    @property
    def usage(self) -> JSON:
        """The cumulative usage: whole seconds of the model's speech, as the wire reports it."""
        return {"seconds": int(self._output_ms // 1000)}

    def now_ms(self) -> int:
        """The session timeline's present, in ms since the session started."""
        stream = self._input.stream_ms if self._input is not None else 0.0
        return round(max(stream, self._wall_ms))

    # --------------------------------------------------- what the parts use of it

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event of ``kind`` with a new ``event_id``."""
        return {"type": kind, "event_id": self.new_id("event"), **fields}

    def wall_seconds(self) -> int:
        """The Unix time."""
        return int(self._clock())

    def reply_context(self, tool_outputs: Sequence[ToolOutput] = ()) -> ReplyContext:
        """What the model sees: the conversation, the latest user words, outputs just given."""
        config = self.config
        user_text = None
        for item in reversed(self._history):
            if item.get("role") == "user":
                part = item["content"][0]
                user_text = part.get("transcript") or part.get("text")
                break
        instructions = "\n".join([config.instructions, *self._appended_instructions])
        return ReplyContext(
            items=tuple(self._history),
            session=self.session,
            tools=config.function_tools,
            user_text=user_text,
            tool_outputs=tuple(tool_outputs),
            instructions=instructions,
            output_modalities=("audio",),
            tool_choice="auto",
            model=config.model,
        )

    def speech_start_ms(self) -> int:
        """Speech starting now begins after the model's last words and not before now."""
        return max(self.now_ms(), self._speech_end_ms)

    def spoke(self, text: str, end_ms: int, audio_ms: float, last_delta: str | None) -> list[JSON]:
        """The model said ``text``: the conversation and usage grow; a trigger may fire."""
        self._speech_end_ms = max(self._speech_end_ms, end_ms)
        self._output_ms += audio_ms
        if text.strip():
            content = [{"type": "output_audio", "transcript": text.strip()}]
            self._history.append({"type": "message", "role": "assistant", "content": content})
        if last_delta is None:
            return []
        return self.delegations.triggered("session.output_transcript.delta", last_delta)

    def transcript_continues(self) -> bool:
        """Whether the output transcript went out last, so new speech continues the model's turn."""
        return self._last_transcript == "output"

    def output_transcript(self, text: str, start_ms: int, end_ms: int) -> JSON:
        """A delta of the model's transcript; its turn goes on until the user's is transcribed."""
        self._last_transcript = "output"
        return self.event(
            "session.output_transcript.delta", delta=text, start_ms=start_ms, end_ms=end_ms
        )

    def delegate(self, delegate: Delegate) -> list[JSON]:
        """The events of a delegation, from :class:`Delegations`."""
        return self.delegations.delegate(delegate)

    def acknowledgement_due(self) -> bool:
        """Whether the model should still acknowledge the last delegation aloud."""
        return self.delegations.acknowledgement_due()

    def backend_answer(self, answer: BackendAnswer) -> list[JSON]:
        """The backend's answer streamed, from :class:`Delegations`."""
        return self.delegations.backend_answer(answer)

    def follow_up(self) -> Sequence[Segment]:
        """What the model says after a delegation in the same run."""
        return self.delegations.take_follow_up()

    def fixture_done(self) -> None:
        """The fixture drained: input is heard again."""
        self._fixture_playing = False
        if self._input is not None:
            self._input.dropping = False

    def barge_in(self) -> None:
        """The user started speaking: the model stops, and what it meant to say next is dropped."""
        if self._current is not None and not self._current.is_fixture:
            self._current.interrupt()
        self._ready = deque(run for run in self._ready if run.is_fixture)

    def user_turn(self, text: str, last_delta_id: str | None) -> list[JSON]:
        """A turn was heard: it joins the conversation and the model answers it."""
        events: list[JSON] = []
        if last_delta_id is not None:
            self._last_transcript = "input"
            events += self.delegations.triggered("session.input_transcript.delta", last_delta_id)
        if not text:
            return events
        content = [{"type": "input_audio", "transcript": text}]
        self._history.append({"type": "message", "role": "user", "content": content})
        self._queue(segments(self.model.reply(self.reply_context())))
        return events

    # ----------------------------------------------------------------- helpers

    def _queue(self, parts: Sequence[Segment]) -> None:
        if parts:
            self._ready.append(LiveRun(self, parts))

    def _error(self, exc: ClientError, client_event_id: str | None) -> JSON:
        event = self.event("error", error=error_payload(exc, client_event_id))
        if client_event_id is not None:
            event["client_event_id"] = client_event_id
        return event

    def _ack(self, kind: str, event: Mapping[str, Any], **fields: Any) -> JSON:
        """An acknowledgement echoing the command's ``event_id`` as ``client_event_id``."""
        ack = self.event(kind, **fields)
        client_event_id = event.get("event_id")
        if isinstance(client_event_id, str):
            ack["client_event_id"] = client_event_id
        return ack

    def _usage_due(self) -> list[JSON]:
        """``session.usage.updated`` each time the timeline passes another interval."""
        if self._config is None or self.closed:
            return []
        events: list[JSON] = []
        while self.now_ms() >= self._usage_next_ms:
            self._usage_next_ms += USAGE_INTERVAL_MS
            events.append(
                self.event(
                    "session.usage.updated",
                    usage=self.usage,
                    context_window={"usage_ratio": self._context_tokens() / CONTEXT_TOKENS},
                )
            )
        return events

    def _context_tokens(self) -> int:
        config = self.config
        text = [config.instructions, *self._appended_instructions]
        for item in [*config.input, *self._history]:
            for part in item.get("content", []):
                text.append(part.get("text") or part.get("transcript") or "")
        return sum(tokens(t) for t in text)

    # ---------------------------------------------------------------- handlers

    def _start(self, event: Mapping[str, Any]) -> list[JSON]:
        """``session.start``: the configuration checked, the session started."""
        if self._config is not None:
            raise already_started()
        if event.get("session") is None:
            raise missing("session")
        config = parse_start(get_object(event["session"], "session"))
        self._config = config
        self._expires_at = self.wall_seconds() + SESSION_SECONDS
        self._input = InputAudio(self, config.audio_format)
        for item in config.input:
            self._history.append(item)
        return [self._ack("session.started", event, session=self.session)]

    def _update(self, event: Mapping[str, Any]) -> list[JSON]:
        """``session.update``: delegation settings and triggers; the rest is fixed."""
        if event.get("session") is None:
            raise missing("session")
        self._config = apply_update(self.config, get_object(event["session"], "session"))
        return [self._ack("session.updated", event, session=self.session)]

    def _append_audio(self, event: Mapping[str, Any]) -> list[JSON]:
        assert self._input is not None
        return self._input.append(event)

    def _mute(self, event: Mapping[str, Any]) -> list[JSON]:
        assert self._input is not None
        self._input.mute()
        return [self._ack("session.input_audio.muted", event)]

    def _unmute(self, event: Mapping[str, Any]) -> list[JSON]:
        assert self._input is not None
        self._input.unmute()
        return [self._ack("session.input_audio.unmuted", event)]

    def _fixture(self, event: Mapping[str, Any]) -> list[JSON]:
        """``fixture.play``: validated whole, then model speech stops and input is muted."""
        pcm = require_audio(event)
        if not pcm or len(pcm) % 2:
            raise ClientError(
                "Invalid 'audio': expected raw mono pcm16 audio at 24 kHz.",
                "invalid_value",
                "audio",
            )
        if len(pcm) > MAX_FIXTURE_BYTES:
            raise ClientError(
                "Invalid 'audio': an audio fixture can be at most 30 seconds.",
                "invalid_value",
                "audio",
            )
        if self._fixture_playing:
            raise ClientError("An audio fixture is already active.", "audio_fixture_active")
        self.barge_in()
        self._fixture_playing = True
        assert self._input is not None
        self._input.dropping = True
        client_event_id = get_str(event, "event_id", "event_id")
        self._ready.appendleft(LiveRun(self, [Fixture(pcm, client_event_id)]))
        return [self._ack("session.output_audio.fixture.playing", event)]

    def _append_context(self, kind: str, event: Mapping[str, Any]) -> tuple[str, str | None]:
        """Check an instructions, thinking or commentary append; its content and delegation."""
        name = f"session.{kind}.append"
        if self._fixture_playing:
            raise fixture_active(name)
        content = require_str(event, "content", "content")
        if tokens(content) > APPEND_TOKENS:
            raise too_long("content", APPEND_TOKENS)
        if "delegation_id" not in event:
            raise missing("delegation_id")
        delegation_id = get_str(event, "delegation_id", "delegation_id")
        self.delegations.client_delegation(delegation_id)
        return content, delegation_id

    def _appended(self, kind: str, event: Mapping[str, Any]) -> JSON:
        now = self.now_ms()
        return self._ack(f"session.{kind}.appended", event, start_ms=now, end_ms=now)

    def _instructions(self, event: Mapping[str, Any]) -> list[JSON]:
        """Developer instructions for the rest of the session; the model acts on them later."""
        content, _ = self._append_context("instructions", event)
        self._appended_instructions.append(content)
        return [self._appended("instructions", event)]

    def _thinking(self, event: Mapping[str, Any]) -> list[JSON]:
        """Silent context: the model knows it, says nothing for it."""
        content, delegation_id = self._append_context("thinking", event)
        self.delegations.context_appended()
        self._history.append(_context_item("thinking", content, delegation_id))
        return [self._appended("thinking", event)]

    def _commentary(self, event: Mapping[str, Any]) -> list[JSON]:
        """Speakable context: a delegation's result the model words, or words it relays as given."""
        content, delegation_id = self._append_context("commentary", event)
        self.delegations.context_appended()
        ack = self._appended("commentary", event)
        delegation = self.delegations.client_delegation(delegation_id)
        if delegation is None:
            self._queue([Speak(content)])
            return [ack]
        delegation.answered = True
        call = delegation.calls[0]
        self._history.append(_context_item("commentary", content, delegation_id))
        output = ToolOutput(delegation.id, call.name, content)
        self._queue(segments(self.model.reply(self.reply_context([output]))))
        return [ack]

    def _response_create(self, event: Mapping[str, Any]) -> list[JSON]:
        """``response.create``: the backend continues (or starts); its answer is spoken."""
        client_event_id = get_str(event, "event_id", "event_id")
        self._queue(self.delegations.response_create(client_event_id))
        return []

    def _close(self, event: Mapping[str, Any]) -> list[JSON]:
        """``session.close``: speech stops, and ``session.closed`` ends the session."""
        client_event_id = event.get("event_id")
        return [self._closed("close_requested", client_event_id)]

    def _closed(self, reason: CloseReason, client_event_id: Any) -> JSON:
        if self._current is not None:
            self._current.interrupt()
        for run in self._ready:
            run.interrupt()
        self._ready.clear()
        self.closed = True
        closed = self.event("session.closed", reason=reason, session=self.session, usage=self.usage)
        if isinstance(client_event_id, str):
            closed["client_event_id"] = client_event_id
        return closed


def _context_item(kind: str, content: str, delegation_id: str | None) -> JSON:
    """Appended context as the model sees it in the conversation."""
    item: JSON = {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": content}],
        "phase": kind,
    }
    if delegation_id is not None:
        item["delegation_id"] = delegation_id
    return item
