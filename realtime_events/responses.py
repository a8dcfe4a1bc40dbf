"""``session.response``: the one-active-response rule, owned by the client.

The server runs one response per conversation at a time and rejects a
``response.create`` made while one is active. The sequencer sends a request at
once when nothing is active, and otherwise queues it until ``response.done``;
queued requests with the same overrides coalesce into one. Cancelling targets a
response id and, outside handlers, returns once the server confirms.
``conversation_already_has_active_response`` and ``response_cancel_not_active``
are expected states here, not failures. Per-response settings are checked
before anything is sent (:func:`check_response_settings`).
"""

from __future__ import annotations

import difflib
import itertools
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from . import signals
from ._config_checks import plain
from .config import check_config, response_to_wire
from .dispatch import current_dispatcher
from .errors import InvalidConfigError, ServerError, SessionClosedError
from .events import (
    ErrorEvent,
    Response,
    ResponseCancelEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseCreateParams,
    ResponseDoneEvent,
)
from .events.names import Dialect
from .resources import Send

__all__ = [
    "RESPONSE_FIELDS",
    "SESSION_ONLY_FIELDS",
    "ResponseRequest",
    "Responses",
    "check_response_settings",
]

logger = logging.getLogger("realtime_events.responses")

_ids = itertools.count(1)

#: How many finished responses :meth:`Responses.cancel` remembers, to answer a
#: cancel of one of them at once with its ``response.done``. A cancel races the end
#: of a response it saw recently, a few turns back at most; an older one goes to the
#: server, whose refusal answers it too (with None). Each remembered event holds its
#: response's output, so the bound is small.
KEEP_FINISHED = 64

On = Callable[[str, Callable[[Any], Any]], object]

#: The settings ``response.create`` takes, in either dialect (and the neutral names).
RESPONSE_FIELDS = frozenset(ResponseCreateParams.model_fields)
#: Settings of the session that a single response does not take: the server
#: would refuse them in ``response.create``.
SESSION_ONLY_FIELDS = frozenset(
    {
        "type",
        "model",
        "input_audio_format",
        "input_audio_transcription",
        "input_audio_noise_reduction",
        "turn_detection",
        "speed",
        "truncation",
        "tracing",
        "include",
    }
)


def check_response_settings(overrides: Mapping[str, Any]) -> None:
    """Refuse per-response settings the API would refuse, before anything is sent.

    The values are checked as :func:`~realtime_events.config.check_config`
    checks a session's (reasoning, prompt, tools, tool choice, modalities,
    ``parallel_tool_calls``, ``max_output_tokens``...); a session's setting
    (``turn_detection``, ``truncation``, ``audio.input``...) is refused with a
    pointer to ``session.update``, and a name that looks like a typo of a
    response setting (``tool_chioce``) with the closest one. A name unlike any
    known one passes, for a newer server to judge. Raises
    :class:`InvalidConfigError` naming the field.
    """
    for name in overrides:
        if name in SESSION_ONLY_FIELDS:
            raise InvalidConfigError(
                f"{name} is a setting of the session, not of one response: "
                "set it with session.update()",
                name,
            )
        if name not in RESPONSE_FIELDS:
            close = difflib.get_close_matches(name, sorted(RESPONSE_FIELDS), n=1, cutoff=0.8)
            if close:
                raise InvalidConfigError(
                    f"unknown response setting {name!r}: did you mean {close[0]!r}?", name
                )
    audio = plain(overrides.get("audio"))
    if isinstance(audio, Mapping) and "input" in audio:
        raise InvalidConfigError(
            "audio.input is a setting of the session, not of one response: "
            "a response takes audio.output (format, voice)",
            "audio.input",
        )
    check_config(overrides)


@dataclass(eq=False)
class ResponseRequest:
    """A ``response.create`` the sequencer accepted: sent now, or queued.

    Await :meth:`created` or :meth:`done` from outside handlers to follow it.
    """

    overrides: dict[str, Any]
    event_id: str = field(default_factory=lambda: f"evt_re_create_{next(_ids)}")
    response_id: str | None = None
    result: ResponseDoneEvent | None = None
    error: BaseException | None = None
    # True while its response.create is being written (the connection's own retry
    # owns it then); see Responses._on_disconnected.
    _sending: bool = False
    _created: anyio.Event = field(default_factory=anyio.Event)
    _done: anyio.Event = field(default_factory=anyio.Event)

    async def created(self) -> str:
        """Wait until the server created the response; return its id."""
        await self._created.wait()
        if self.error is not None:
            # Raised by every call that waits: each raise starts a traceback of its
            # own, which would otherwise pile onto the earlier calls' frames.
            raise self.error.with_traceback(None)
        assert self.response_id is not None
        return self.response_id

    async def done(self) -> ResponseDoneEvent:
        """Wait until the response finished; return its ``response.done`` event."""
        await self._done.wait()
        if self.error is not None:
            raise self.error.with_traceback(None)
        assert self.result is not None
        return self.result

    def _fail(self, error: BaseException) -> None:
        self.error = error
        self._created.set()
        self._done.set()


class Responses:
    """Creates and cancels responses without ever breaking the one-active rule.

    It is built from what it needs of a session: ``on`` registers its handlers
    (before any user handler), ``send`` writes client events, ``dialect``
    translates per-response overrides, and ``sender`` is the object whose
    ``disconnected`` and ``closed`` signals it follows (the session), through
    ``relay`` when the session hands its own.
    """

    def __init__(
        self,
        *,
        on: On,
        send: Send,
        dialect: Dialect,
        sender: object,
        relay: signals.Relay | None = None,
    ) -> None:
        self._send_event = send
        self._dialect = dialect
        #: The response in progress (from ``response.created``), or None.
        self.current: Response | None = None
        self._requested: ResponseRequest | None = None
        self._running: ResponseRequest | None = None
        # The queue is made by the first request that waits, and the finished ones are
        # a plain dict (untracked while empty, in order all the same): most sessions
        # never queue a request, and an empty list or OrderedDict is an object the
        # garbage collector walks for as long as the session lives.
        self._queue: list[ResponseRequest] | None = None
        self._finished: dict[str, ResponseDoneEvent] = {}
        # Cancels awaiting the server's answer, by target response. Each is answered
        # by that response's response.done or by an error naming the cancel's
        # event_id, and none outlives the connection: so both stay small.
        self._cancel_waiters: dict[str, list[anyio.Event]] = {}
        self._cancel_event_ids: dict[str, str] = {}  # cancel event_id -> response id
        # From a connection's loss until the new server session's first event, the
        # handlers may still see the lost connection's last events: they are stale.
        self._stale = False
        # The request the lost server session had not acknowledged (as far as the
        # handlers had seen): a stale response.created says it was, and died.
        self._unacknowledged: ResponseRequest | None = None
        self._lost: BaseException | None = None  # why the last connection ended
        self._session_id: str | None = None  # the server session's, to tell a new one
        on("session.created", self._on_session)
        on("session.updated", self._on_session)
        on("response.created", self._on_created)
        on("response.done", self._on_done)
        on("error", self._on_error)
        # Through the relay, or weak receivers: blinker must not keep this object alive.
        signals.follow(signals.closed, self._on_closed, sender=sender, relay=relay)
        signals.follow(signals.disconnected, self._on_disconnected, sender=sender, relay=relay)

    @property
    def active(self) -> bool:
        """True while a response runs, or a request for one awaits the server."""
        return self.current is not None or self._requested is not None

    @property
    def active_id(self) -> str | None:
        """The id of the response in progress, if any."""
        return self.current.id if self.current is not None else None

    @property
    def pending(self) -> int:
        """How many requests wait for the active response to finish."""
        return len(self._queue or ())

    async def create(self, **overrides: Any) -> ResponseRequest:
        """Ask for a response now, or as soon as the active one is done.

        Never waits for the server, so it is safe inside handlers. Requests made
        while one is active coalesce when their overrides are equal; an
        out-of-band response (``conversation="none"``) is sent at once. The
        overrides are checked first (:func:`check_response_settings`): a bad
        one raises :class:`InvalidConfigError` and nothing is sent or queued.
        """
        check_response_settings(overrides)
        request = ResponseRequest(response_to_wire(overrides, self._dialect))
        if overrides.get("conversation") == "none":
            await self._send(request, track=False)
            return request
        if self.active or self._queue:
            for queued in self._queue or ():
                if queued.overrides == request.overrides:
                    return queued
            self._queued().append(request)
            return request
        await self._send(request)
        return request

    async def _send(self, request: ResponseRequest, *, track: bool = True) -> None:
        if track:
            self._requested = request
        event = ResponseCreateEvent(event_id=request.event_id)
        if request.overrides:
            event = ResponseCreateEvent(event_id=request.event_id, response=request.overrides)
        request._sending = True
        try:
            await self._send_event(event)
        except BaseException as exc:
            if self._requested is request:
                self._requested = None
            request._fail(exc)
            raise
        finally:
            request._sending = False

    async def cancel(
        self, response_id: str | None = None, *, wait: bool | None = None
    ) -> ResponseDoneEvent | None:
        """Cancel a response (the active one by default) and return its ``response.done``.

        Returns at once, with None, when there is nothing to cancel; with the
        recorded ``response.done`` when that response already finished. Inside a
        handler (``wait=None``) it only sends the cancel: waiting there would
        block the very dispatcher that delivers the confirmation.
        """
        target = response_id or self.active_id
        if target is None:
            return None
        if target in self._finished:
            return self._finished[target]
        confirmed = anyio.Event()
        self._cancel_waiters.setdefault(target, []).append(confirmed)
        event_id = f"evt_re_cancel_{next(_ids)}"
        self._cancel_event_ids[event_id] = target
        try:
            await self._send_event(ResponseCancelEvent(response_id=target, event_id=event_id))
        except BaseException:
            self._forget_cancel(event_id, confirmed)
            raise
        if wait is None:
            wait = current_dispatcher.get() is None
        if not wait:
            return None
        await confirmed.wait()
        return self._finished.get(target)

    # -- keeping track -----------------------------------------------------

    async def _on_session(self, event: Any) -> None:
        # A connection's first event is session.created; a server that skips it
        # answers the configuration with a session.updated of the new session's id.
        session_id = getattr(event.session, "id", None)
        if self._stale and (
            event.type == "session.created" or session_id is None or session_id != self._session_id
        ):
            # The new server session speaks: every event of the lost one was seen.
            self._stale = False
            self._unacknowledged = None
            await self._next()
        self._session_id = session_id

    def _on_created(self, event: ResponseCreatedEvent) -> None:
        response = event.response
        if (response.conversation_id or "") == "none":
            return
        if self._stale:
            # The lost server session did acknowledge the request it was sent, and
            # its response died with it: fail it as a running one, never ask again.
            request, self._unacknowledged = self._unacknowledged, None
            if request is not None and request in (self._queue or ()):
                self._queued().remove(request)
                request.response_id = response.id
                request._fail(self._lost or SessionClosedError("the connection was lost"))
            return
        self.current = response
        request, self._requested = self._requested, None
        if request is not None:
            request.response_id = response.id
            request._created.set()
        self._running = request

    async def _on_done(self, event: ResponseDoneEvent) -> None:
        response_id = event.response.id
        if response_id is not None:
            self._finished[response_id] = event
            while len(self._finished) > KEEP_FINISHED:
                del self._finished[next(iter(self._finished))]  # the oldest
            self._answer_cancels([response_id])
        if self._stale:
            return  # the lost connection's: nothing of it runs any more
        if self.current is not None and self.current.id == response_id:
            self.current = None
            request, self._running = self._running, None
            if request is not None:
                request.result = event
                request._done.set()
        await self._next()

    async def _next(self) -> None:
        # Not before the lost connection's last events were seen: one may say that
        # the first queued request was acknowledged, and lost.
        if not self.active and self._queue and not self._stale:
            await self._send(self._queue.pop(0))

    async def _on_error(self, event: ErrorEvent) -> None:
        if self._stale:
            return  # about requests of the lost connection: they were settled then
        error = event.error
        code = error.code
        source = error.event_id
        if code == "conversation_already_has_active_response":
            # The server was busy with a response of its own (server VAD starts
            # them): queue ours behind it. If that response's response.created came
            # first, it was taken for ours; the error's event_id says it wasn't.
            request: ResponseRequest | None = None
            if self._running is not None and source == self._running.event_id:
                request, self._running = self._running, None
                request.response_id = None
                request._created = anyio.Event()
            elif self._requested is not None and source in (None, self._requested.event_id):
                request, self._requested = self._requested, None
            if request is not None:
                self._queued().insert(0, request)
                logger.debug("response.create deferred: a response is already active")
        elif code == "response_cancel_not_active":
            # Not naming one of our cancels, it answers them all: nothing is active.
            target = self._cancel_event_ids.get(source or "")
            self._answer_cancels([target] if target else None)
        elif source is not None and source in self._cancel_event_ids:
            # Any other refusal of a cancel (an unknown response id, say) answers it too.
            self._answer_cancels([self._cancel_event_ids[source]])
        elif self._requested is not None and source == self._requested.event_id:
            request, self._requested = self._requested, None
            request._fail(ServerError(error))
            await self._next()

    def _on_disconnected(
        self, session: Any, *, error: BaseException, will_reconnect: bool = False, **_: Any
    ) -> None:
        # The running response died with the server session. A request the server
        # never acknowledged may have been lost on the way: ask again on the new
        # server session, ahead of the queue, once the lost one's last events are
        # seen. One still being written is the connection's to send on the next
        # connection (it does, exactly once): it stays the request awaiting an answer.
        running, self._running = self._running, None
        if running is not None and not running._done.is_set():
            running._fail(error)
        requested = self._requested
        self._unacknowledged = None
        if requested is not None and not requested._sending:
            self._requested = None
            if not requested._done.is_set():
                self._queued().insert(0, requested)
                self._unacknowledged = requested
        self._lost = error
        self._stale = will_reconnect
        self._connection_ended()

    async def resume(self) -> None:
        """Send the first queued request, if nothing is active (after a reconnect)."""
        await self._next()

    def _on_closed(self, session: Any, **_: Any) -> None:
        closed = SessionClosedError("the session ended before the response finished")
        for request in (self._requested, self._running, *(self._queue or ())):
            if request is not None and not request._done.is_set():
                request._fail(closed)
        self._requested = self._running = self._unacknowledged = None
        self._queue = None
        self._stale = False
        self._connection_ended()

    def _queued(self) -> list[ResponseRequest]:
        """The queue of requests waiting for the active response, made if need be."""
        if self._queue is None:
            self._queue = []
        return self._queue

    def _connection_ended(self) -> None:
        """No answer will come on this connection: no response runs, no cancel is answered.

        ``closed`` follows ``disconnected`` except when the session ends between
        connections, so both call this; the second call finds nothing left.
        """
        self.current = None
        self._answer_cancels()

    # -- cancels awaiting an answer -----------------------------------------

    def _answer_cancels(self, targets: Collection[str] | None = None) -> None:
        """Wake the cancels of ``targets`` (every cancel by default) and forget them.

        The server answered them (the target's ``response.done``, or an error
        naming the cancel), or no answer can come (the connection ended).
        """
        if targets is None:
            waiters = [waiter for waiting in self._cancel_waiters.values() for waiter in waiting]
            self._cancel_waiters.clear()
            self._cancel_event_ids.clear()
        else:
            waiters = [
                waiter for target in targets for waiter in self._cancel_waiters.pop(target, [])
            ]
            answered = [e for e, target in self._cancel_event_ids.items() if target in targets]
            for event_id in answered:
                del self._cancel_event_ids[event_id]
        for waiter in waiters:
            waiter.set()

    def _forget_cancel(self, event_id: str, waiter: anyio.Event) -> None:
        """A cancel could not be sent: forget it and its waiter (the caller's own)."""
        target = self._cancel_event_ids.pop(event_id, None)
        if target is None:
            return
        waiters = self._cancel_waiters.get(target, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._cancel_waiters.pop(target, None)
