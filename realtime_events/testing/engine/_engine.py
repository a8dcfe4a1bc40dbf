"""The engine: one server session, which routes each client frame to its part of the protocol.

:class:`RealtimeEngine` owns what a session shares: its dialect, model, ids
and configuration, the conversation, the input audio buffer, the fake MCP
servers, and the responses made and not yet done. It reads a frame, finds
the client event's handler in one table, and answers a client mistake with
the real server's ``error`` event.

Two inputs come from the I/O layer rather than the client's frames:
:meth:`RealtimeEngine.dtmf_event` (a keypad press on a SIP call) and
:meth:`RealtimeEngine.advance` (wall time passing, for the idle timeout).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...events.names import Dialect
from ..models import DemoModel, McpTool, Model, Part
from ._constants import JSON, SESSION_SECONDS, Handler
from ._conversation import Conversation
from ._errors import (
    ClientError,
    answer_frame,
    get_object,
    get_str,
    missing,
)
from ._ids import IdFactory
from ._input_audio import InputAudio
from ._items import Item
from ._mcp import McpServers
from ._requests import Request, input_tokens, parse_request, reply_context
from ._responses import ResponseRun, RunPart
from ._session import (
    Config,
    apply_session,
    default_config,
    render_session,
    transcription_config,
)

# The name the engine has always logged under, whichever module logs.
logger = logging.getLogger("realtime_events.testing.engine")


def _nothing(event: Mapping[str, Any]) -> list[JSON]:
    """``output_audio_buffer.clear``: accepted, answered with nothing (that buffer is WebRTC's)."""
    return []


#: The client events a transcription session accepts: no responses, no truncation.
_TRANSCRIPTION_EVENTS = (
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.delete",
    "conversation.item.retrieve",
)
#: The keys of a telephone keypad, which DTMF carries.
DTMF_KEYS = frozenset("0123456789*#ABCD")


class RealtimeEngine:
    """One Realtime server session, Sans-I/O: client frames in, server events out.

    ``dialect`` is ``"ga"`` (default) or ``"beta"`` (clients sending
    ``OpenAI-Beta: realtime=v1``). ``model`` answers responses and transcribes
    input audio (default :class:`~realtime_events.testing.models.DemoModel`).
    ``session_defaults`` are session fields in the dialect's shape, applied as
    if by a ``session.update`` before ``session.created``; the GA ``type`` may
    be left out. ``ids`` makes ids (pass ``IdFactory(seed)`` for
    deterministic ones) and ``clock`` gives the time for ``expires_at`` and
    DTMF's ``received_at``.

    ``query`` is the connection URL's query, as the real server reads it:
    ``model`` names the session's model (``gpt-realtime-2`` and its versions
    answer in several messages, a spoken preamble first), and
    ``intent=transcription`` opens a transcription session (so does a
    ``"type": "transcription"`` in ``session_defaults``), which transcribes
    input audio and never responds. ``mcp_servers`` are the fake MCP servers'
    tools by server label; by default the model's own ``mcp_servers``
    (:meth:`ScriptedModel.mcp_tool <realtime_events.testing.models.ScriptedModel.mcp_tool>`).

    ``config`` is the effective session configuration in the engine's own
    form (:attr:`session` renders it in the dialect's wire shape).
    """

    def __init__(
        self,
        *,
        dialect: Dialect = "ga",
        model: Model | None = None,
        session_defaults: Mapping[str, Any] | None = None,
        ids: Callable[[str], str] | None = None,
        clock: Callable[[], float] | None = None,
        query: Mapping[str, str] | None = None,
        mcp_servers: Mapping[str, Sequence[McpTool]] | None = None,
    ) -> None:
        if dialect not in ("ga", "beta"):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.dialect: Dialect = dialect
        self.model: Model = model if model is not None else DemoModel()
        self.new_id: Callable[[str], str] = ids or IdFactory()
        self._clock = clock or time.time
        self.session_id = self.new_id("sess")
        self.conversation_id = self.new_id("conv")
        self._expires_at = int(self._clock()) + SESSION_SECONDS
        self.config: Config = default_config(dialect)
        query = query or {}
        self._refusal: str | None = None  # why start() refuses the connection, if it does
        transcription = query.get("intent") == "transcription" or (
            dialect == "ga" and (session_defaults or {}).get("type") == "transcription"
        )
        if transcription:
            if query.get("model"):
                self._refusal = "You must not provide a model parameter for transcription sessions."
            self.config = transcription_config(self.config)
        elif query.get("model"):
            self.config.model = query["model"]
        if session_defaults:
            try:
                self.config = apply_session(
                    self.config, session_defaults, dialect, require_type=False
                )
            except ClientError as exc:
                raise ValueError(f"invalid session_defaults: {exc.message}") from None
        self._conversation = Conversation(self)
        self._ready: deque[ResponseRun] = deque()
        self._active: ResponseRun | None = None  # the conversation's response, if any
        self._running: dict[str, ResponseRun] = {}  # every response not yet done, out-of-band too
        self._auto_response_pending = False
        self.assistant_audio_sent = False
        self._audio = InputAudio(self, self._conversation)
        if mcp_servers is None:
            mcp_servers = getattr(self.model, "mcp_servers", None) or {}
        self._mcp = McpServers(self, self._conversation, mcp_servers)
        self._approved: deque[RunPart] = deque()  # approved MCP calls waiting for their turn
        # Every client event the server accepts, in the order its error lists them.
        self._handlers: dict[str, Handler] = {
            "session.update": self._session_update,
            "input_audio_buffer.append": self._audio.append,
            "input_audio_buffer.commit": self._audio.commit,
            "input_audio_buffer.clear": self._audio.clear,
            "conversation.item.create": self._item_create,
            "conversation.item.truncate": self._conversation.truncate,
            "conversation.item.delete": self._conversation.delete,
            "conversation.item.retrieve": self._conversation.retrieve,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "output_audio_buffer.clear": _nothing,
        }
        if self.config.type == "transcription":
            self._handlers = {name: self._handlers[name] for name in _TRANSCRIPTION_EVENTS}

    # ------------------------------------------------------------------ the API

    def start(self) -> list[JSON]:
        """The first events of a connection: ``session.created``.

        When the connection's URL is refused (a ``model`` given to a
        transcription session), the real server's ``error`` instead; the I/O
        layer then closes the connection.
        """
        if self._refusal is not None:
            return [self._error(ClientError(self._refusal), None)]
        return [self.event("session.created", session=self.session)]

    def dtmf_event(self, digit: str) -> list[JSON]:
        """A keypad press on a SIP call: ``input_audio_buffer.dtmf_event_received``.

        ``digit`` is one key, ``0``-``9``, ``*``, ``#`` or ``A``-``D``
        (``ValueError`` otherwise). Like the real event it has no ``event_id``,
        and it changes nothing in the session: the client decides what it means.
        """
        if len(digit) != 1 or digit not in DTMF_KEYS:
            raise ValueError(f"not a DTMF key: {digit!r} (expected one of 0-9, *, #, A-D)")
        return [
            {
                "type": "input_audio_buffer.dtmf_event_received",
                "event": digit,
                "received_at": int(self._clock()),
            }
        ]

    def advance(self, ms: float) -> list[JSON]:
        """``ms`` of wall time passed: the events it causes, ``timeout_triggered`` at most.

        Server VAD's ``idle_timeout_ms`` counts from the end of the last
        response's audio; input audio moves that clock too, so a client that
        streams audio needs no call to this. A response it triggers is popped
        with :meth:`next_response`.
        """
        if ms < 0:
            raise ValueError(f"time does not go back: {ms} ms")
        return self._audio.advance(ms)

    def needs_time(self) -> bool:
        """Whether :meth:`advance` can cause anything: server VAD's idle timeout is configured."""
        return self._audio.idle_timeout_ms is not None

    def receive(self, frame: str | bytes) -> list[JSON]:
        """Handle one client frame; return the server events it causes at once, in order.

        Never raises for bad input: malformed frames and invalid events are
        answered with ``error`` events like the real server's. A response it
        creates is not streamed here: pop it with :meth:`next_response`.
        """
        return answer_frame(frame, self._handlers, self._handle, self._error, logger)

    def _handle(self, kind: str, event: Mapping[str, Any]) -> list[JSON]:
        return self._handlers[kind](event)

    def _error(self, error: ClientError, client_event_id: str | None) -> JSON:
        return self.event("error", error=error.payload(client_event_id))

    def next_response(self) -> ResponseRun | None:
        """Pop the next response ready to stream (from ``response.create`` or server VAD)."""
        if not self._ready and self._auto_response_pending and self._active is None:
            self._auto_response_pending = False
            self._create_response({})
        return self._ready.popleft() if self._ready else None

    @property
    def active_response_id(self) -> str | None:
        """The id of the response created and not yet done, if any."""
        return self._active.id if self._active is not None else None

    @property
    def session(self) -> JSON:
        """The effective session configuration, as ``session.created`` / ``.updated`` carry it."""
        return render_session(self.config, self.dialect, self.session_id, self._expires_at)

    @property
    def conversation(self) -> list[JSON]:
        """The conversation's items in order, as ``conversation.item.retrieve`` shows them."""
        return [item.render(self.dialect, with_audio=True) for item in self._conversation.items]

    # --------------------------------------------- what the parts use of the engine

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event of ``kind`` with a new ``event_id``."""
        return {"type": kind, "event_id": self.new_id("event"), **fields}

    def rate_limits(self, input_tokens: Mapping[str, int]) -> list[JSON]:
        """The ``rate_limits.updated`` payload at the start of a response."""
        used = input_tokens["text"] + input_tokens["audio"]
        return [
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {
                "name": "tokens",
                "limit": 40000,
                "remaining": max(0, 40000 - used - 4096),
                "reset_seconds": 6.144,
            },
        ]

    def add_response_item(self, item: Item) -> JSON:
        """Append a response's output item to the conversation; the event announcing it."""
        return self._conversation.add_output(item)

    def conversation_item_done(self, item: Item) -> JSON:
        """GA's ``conversation.item.done`` for an item that just finished."""
        return self._conversation.output_done(item)

    def interrupt_response(self) -> None:
        """Server VAD heard the user start speaking: cancel the conversation's response."""
        if self._active is not None:
            self._active.cancel("turn_detected")

    def respond_to_turn(self) -> None:
        """Server VAD ended the user's turn: respond now, or once the active response is done."""
        if self._active is None:
            self._create_response({})
        else:
            self._auto_response_pending = True

    def audio_started(self, run: ResponseRun) -> None:
        """A run's first audio is being sent: an idle wait after it counts the playback from now."""
        if self._active is run:
            self._audio.playback_started()

    def response_finished(self, run: ResponseRun) -> None:
        """A run's ``response.done`` is being sent: it is no longer active."""
        self._running.pop(run.id, None)
        if self._active is run:
            self._active = None
            # The user's silence counts from the end of what the response says.
            self._audio.response_done(run.audio_sent_ms)
        if self._approved and self._active is None:
            self._run_approved()
        elif self._auto_response_pending:
            self._auto_response_pending = False
            self._create_response({})

    @property
    def mcp(self) -> McpServers:
        """The session's fake MCP servers."""
        return self._mcp

    def follow_up(self, request: Request, output: Sequence[Item]) -> list[Part]:
        """The model's next parts in a response, after an MCP call in it gave its output."""
        conversation = self._conversation.items
        items = list(conversation) if request.context is None else [*request.context, *output]
        return list(self.model.reply(reply_context(request, items, conversation, self.session)))

    # ----------------------------------------------------------------- session

    def _session_update(self, event: Mapping[str, Any]) -> list[JSON]:
        """``session.update``: apply it, then restart what depends on the configuration."""
        if "session" not in event:
            raise missing("session")
        session = get_object(event["session"], "session")
        new = apply_session(self.config, session, self.dialect, require_type=True)
        if self.assistant_audio_sent and new.voice != self.config.voice:
            param = "session.audio.output.voice" if self.dialect == "ga" else "session.voice"
            raise ClientError(
                "Cannot update a conversation's voice if assistant audio is present.",
                "cannot_update_voice",
                param,
            )
        old, self.config = self.config, new
        self._audio.reconfigured(old)
        events = [self.event("session.updated", session=self.session)]
        if self.dialect == "ga" and new.type == "realtime":
            events += self._mcp.list_new(new.tools)
        return events

    def _item_create(self, event: Mapping[str, Any]) -> list[JSON]:
        """``conversation.item.create``; an approved MCP call then runs in a response of its own."""
        events = self._conversation.create(event)
        item = self._conversation.last_created
        if item is not None and item.type == "mcp_approval_response":
            approved = self._mcp.answered(item)
            if approved is not None:
                self._approved.append(approved)
                if self._active is None:
                    self._run_approved()
        return events

    def _run_approved(self) -> None:
        """Start the response that runs the approved MCP calls waiting."""
        parts = list(self._approved)
        self._approved.clear()
        request = parse_request({}, self.config, self.dialect, self._conversation)
        self._start_response(request, parts)

    # ---------------------------------------------------------------- responses

    def _response_create(self, event: Mapping[str, Any]) -> list[JSON]:
        """``response.create``: one response at a time in the conversation; out-of-band ones too."""
        if self._active is not None:
            raise ClientError(
                f"Conversation already has an active response in progress: {self._active.id}. "
                "Wait until the response is finished before creating a new one.",
                "conversation_already_has_active_response",
            )
        overrides = get_object(event.get("response") or {}, "response")
        request = parse_request(overrides, self.config, self.dialect, self._conversation)
        self._auto_response_pending = False
        self._start_response(request)
        return []

    def _create_response(self, overrides: Mapping[str, Any]) -> None:
        """A response the server makes itself, at the end of a turn."""
        self._start_response(
            parse_request(overrides, self.config, self.dialect, self._conversation)
        )

    def _start_response(self, request: Request, parts: Sequence[RunPart] | None = None) -> None:
        """Ask the model for its reply (unless ``parts`` are given); queue its run."""
        conversation = self._conversation.items
        items = request.context if request.context is not None else list(conversation)
        if parts is None:
            context = reply_context(request, items, conversation, self.session)
            parts = list(self.model.reply(context))
        run = ResponseRun(self, self.new_id("resp"), request, parts, input_tokens(request, items))
        if request.in_conversation:
            self._audio.idle.disarm()  # the assistant speaks again: nobody waits for the user
        if request.in_conversation:
            self._active = run
        self._running[run.id] = run
        self._ready.append(run)

    def _response_cancel(self, event: Mapping[str, Any]) -> list[JSON]:
        """``response.cancel``: the run closes what is open at its next step."""
        response_id = get_str(event, "response_id", "response_id")
        run = self._active if response_id is None else self._running.get(response_id)
        if run is None or run.cancelled:
            raise ClientError(
                "Cancellation failed: no active response found", "response_cancel_not_active"
            )
        run.cancel("client_cancelled")
        return []
