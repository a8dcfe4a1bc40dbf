"""One run of a session: the connection, its tasks, reconnection and the finish.

A :class:`Supervisor` lives for one ``Session.run()``. It owns a task group
with three kinds of task:

- the *reader* (one per connection) receives frames and queues them for the
  dispatcher, which parses each just before its handlers run. The queue is
  bounded in bytes: past the budget the reader stops reading, so a slow
  handler pushes back onto the socket instead of growing memory;
- the *dispatcher* (one per run, surviving reconnects) runs handlers one event
  at a time, in registration order;
- the *supervisor loop* serves one connection after another: configuration,
  keepalive, renewal, and reconnecting with backoff after an abnormal close.
  It reads each connection itself, in the run's own task, unless the run was
  started with anyio's ``task_group.start``, whose status only the started
  task may tell: then it is a task of its own.

It knows nothing of ``Session``: the session hands it what it needs as
:class:`RunHooks`. Every wait on the way out is bounded by ``close_timeout``,
and a cancellation from outside leaves the caller's scopes alone (see
docs/reconnection.md for the lifecycle and its bounds).
"""

from __future__ import annotations

import logging
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from operator import itemgetter
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
from pydantic import ValidationError

from . import signals
from .connection import Message, WebSocket
from .detached import Started
from .dispatch import current_dispatcher
from .errors import (
    ClosedBeforeOpenError,
    ConnectionClosedError,
    ConnectionFailedError,
    HandshakeRejectedError,
    LiveSessionGoneError,
    RealtimeError,
    SessionClosedError,
)
from .events import ClientEvent, Event, ServerEvent
from .frames import last_error_in
from .reconnect import ReconnectPolicy, retry_after
from .run_hooks import RunHooks, RunSettings, SessionState

__all__ = ["Supervisor"]

logger = logging.getLogger("realtime_events.session")
# A message's payload, for sums in C over a read's messages.
_payload = itemgetter(0)
# At most this many events in a read: the stream comes at a pace, not at full speed.
_PACED_READ = 4

#: How many plugin events emitted outside handlers may wait for the dispatcher.
MAX_PENDING_EMITS = 1024

#: The close a restart reports (``disconnected``, ``reconnecting``) for the old connection.
RESTART_REASON = "restarting the session"


class Supervisor:
    """Owns one run of a session, from the first connection to the finish."""

    def __init__(self, hooks: RunHooks, settings: RunSettings) -> None:
        self._hooks = hooks
        self._settings = settings
        self.state: SessionState = "connecting"
        #: Why the run ended, if it failed (None after a normal close).
        self.failure: BaseException | None = None
        self._ws: WebSocket | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._closing = False
        self._renewing = False
        self._restarting = False  # restart() dropped the connection: open the next at once
        # Set once the restart in progress has its new server session (or the run ended).
        self._restarted: anyio.Event | None = None
        self._attempt = 0
        self._opened_by = 0  # the attempt that opened the current connection (0: a restart)
        self._configured_at: float | None = None
        # The server's last error event, with the number of the connection it came
        # on (the dispatcher parses it, maybe after the next connection began).
        self._last_error: tuple[int, Any] | None = None
        self._connections = 0
        self._opened = False  # open, or finished before it could be
        self._finished = anyio.Event()
        # Events made only when someone waits (an anyio Event is three objects the
        # garbage collector walks for as long as an idle session lives): run()'s wait
        # for the opening, the dispatcher's end, a reconnect in progress, the loss of
        # a connection a send failed on, room in the queue.
        self._ready: anyio.Event | None = None
        # The status run() tells of the opening from any task, when it may (see run).
        self._started: anyio.abc.TaskStatus[None] | None = None
        self._dispatch_ended = False
        self._dispatch_done: anyio.Event | None = None
        self._reconnected: anyio.Event | None = None  # set, or None: not reconnecting
        self._lost_upto = 0  # connections 1 to this one are lost (see _serve)
        self._lost: anyio.Event | None = None
        self._wait_scope: anyio.CancelScope | None = None
        # The reader-to-dispatcher queue: each read's frames with their size, and
        # emitted events. _parsing: the frames of the read being dispatched, not yet
        # parsed (reversed: the next one last).
        self._queue: deque[tuple[list[Message], int, int] | Event] = deque()
        # The classes whose events take the reader's fast path (see _events_of).
        self._routine = hooks.parse.fast_path(hooks.absorbs)
        self._parsing: list[Message] | None = None
        self._parsing_of = 0  # the connection they came on
        self._queued_bytes = 0
        self._emitted = 0
        self._ending = False
        self._wake = anyio.Event()
        self._room: anyio.Event | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes of received events queued for the dispatcher."""
        return self._queued_bytes

    @property
    def finished(self) -> bool:
        """True once the run has ended."""
        return self._finished.is_set()

    # -- the run -----------------------------------------------------------

    async def run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        """Connect, serve until closed, and finish; raise the failure that ended it."""
        hooks = self._hooks
        hooks.dispatcher.reopen()
        try:
            with anyio.CancelScope() as self._wait_scope:
                ws = await hooks.open()
            if self._wait_scope.cancelled_caught:
                raise SessionClosedError("closed while connecting")
            self._wait_scope = None
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                task_group.start_soon(self._dispatch_loop)
                for task in hooks.tasks:
                    task_group.start_soon(_logged, task)
                if task_status is anyio.TASK_STATUS_IGNORED or type(task_status) is Started:
                    # Its start can be told from any task (by _open): this task
                    # reads, and the run has a task fewer, its objects held by
                    # every live session (docs/performance.md, round 11).
                    self._started = task_status
                    await self._supervise(ws)
                else:
                    # anyio's own status is told by the task it started: this one.
                    task_group.start_soon(self._supervise, ws)
                    if not self._opened:
                        # No local for it: the frame would keep it for the whole run.
                        self._ready = anyio.Event()
                        await self._ready.wait()
                        self._ready = None
                    if not self._finished.is_set():
                        task_status.started()
                await self._finished.wait()
                task_group.cancel_scope.cancel()
        except BaseException as exc:
            if not self._finished.is_set():
                # Cancelled from outside, or the first connection failed: no
                # draining, only what must not be skipped.
                with anyio.CancelScope(shield=True):
                    if self._ws is not None:
                        await self._ws.abort()
                cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
                self._end(None if cancelled else exc)
            raise
        finally:
            self._task_group = None
        if self.failure is not None:
            raise self.failure

    async def close(self) -> None:
        """End the run; returns within ``close_timeout`` (plus scheduling slack)."""
        if self._finished.is_set():
            return
        self._closing = True
        if self.state != "closed":
            self.state = "closing"
        if self._wait_scope is not None:
            self._wait_scope.cancel()  # a backoff or a handshake in progress
        ws = self._ws
        if current_dispatcher.get() is self._hooks.dispatcher:
            # From a handler: the dispatcher finishes after it returns, so don't wait.
            if ws is not None and self._task_group is not None:
                self._task_group.start_soon(ws.close, 1000)
            return
        with anyio.move_on_after(self._settings.close_timeout):
            if ws is not None:
                await ws.close(1000)
            await self._finished.wait()
        if not self._finished.is_set():
            logger.warning("session tasks did not finish in time; cancelling them")
            if self._task_group is not None:
                self._task_group.cancel_scope.cancel()
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await self._finished.wait()

    async def _supervise(self, ws: WebSocket) -> None:
        """Serve connections until the run ends, reconnecting after abnormal closes."""
        error: BaseException | None = None
        policy = self._settings.reconnect
        try:
            while True:
                closed = await self._serve(ws)
                renewing, self._renewing = self._renewing, False
                restarting, self._restarting = self._restarting, False
                configured = self._configured_at
                if (
                    policy
                    and configured
                    and anyio.current_time() - configured >= policy.healthy_after
                ):
                    self._attempt = 0  # it stayed up: failures count afresh
                will_reconnect = not self._closing and (
                    renewing
                    or restarting
                    or (policy is not None and closed.code not in policy.final_codes)
                )
                if will_reconnect:
                    self.state = "reconnecting"
                    self._reconnected = anyio.Event()
                self._hooks.signal(
                    signals.disconnected, error=closed, will_reconnect=will_reconnect
                )
                if not will_reconnect:
                    error = self._final_error(closed)
                    break
                if restarting:
                    # Asked for, not a failure: the first try is free; if it fails,
                    # the policy takes over (none: the run ends).
                    ws = await self._reconnect(policy or _NO_RETRY, closed, free=True)
                    continue
                if renewing:
                    self._attempt = 0
                ws = await self._reconnect(policy or ReconnectPolicy(), closed, now=renewing)
        except SessionClosedError:
            error = None  # closed while reconnecting
        except ConnectionFailedError as exc:
            error = exc
        await self._finish(error)

    def _final_error(self, closed: ConnectionClosedError) -> BaseException | None:
        """What to report for a close that ends the run: None when all is well."""
        if self._closing:
            return None
        reason = self._server_reason(closed)
        if not self._opened:
            return ClosedBeforeOpenError(closed.code, reason)
        if closed.code == 1000:
            return None
        return ConnectionClosedError(closed.code, reason)

    def _server_reason(self, closed: ConnectionClosedError) -> str:
        """The close's reason and the server's last error event, which often says why."""
        error = self._queued_error()
        if error is None and self._last_error is not None:
            connection, error = self._last_error
            if connection != self._connections:
                error = None  # an earlier connection's
        if error is None:
            return closed.reason
        detail = getattr(error, "message", None) or str(error)
        code = getattr(error, "code", None)
        last = f"the server's last error: {f'{code}: ' if code else ''}{detail}"
        return f"{closed.reason}; {last}" if closed.reason else last

    def _queued_error(self) -> Any:
        """The last error event of this connection among the frames not parsed yet.

        The reader only queues frames; what the dispatcher has not reached yet is
        looked at here, when the connection closed, and only here.
        """
        parsing = self._parsing if self._parsing_of == self._connections else None
        frames: list[Message] = list(reversed(parsing or ()))
        for item in self._queue:
            if type(item) is tuple and item[2] == self._connections:
                frames.extend(item[0])
        return last_error_in(frames)

    async def _serve(self, ws: WebSocket) -> ConnectionClosedError:
        """Read one connection until it closes; return why it closed."""
        self._ws = ws
        self._configured_at = None
        self._connections += 1
        closed: ConnectionClosedError | None = None
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(ws.keepalive)
            task_group.start_soon(self._set_up, ws)
            try:
                await self._read_loop(ws)
            except ConnectionClosedError as exc:
                # The response tracker keeps this error after the run (the
                # disconnected signal hands it on): without its traceback, whose
                # frames would keep the reader's locals alive as long as the session.
                closed = exc.with_traceback(None)
            task_group.cancel_scope.cancel()
        with anyio.CancelScope(shield=True):
            await ws.abort()
        self._lose(self._connections)
        assert closed is not None
        return closed

    async def _set_up(self, ws: WebSocket) -> None:
        """Configure a fresh connection (and restore the conversation), then open it."""
        reconnect = self._opened
        try:
            await self._hooks.configure(self.write)
            if reconnect:
                await self._hooks.restore(self.write)
        except ConnectionClosedError:
            return  # the reader reports the close
        self._configured_at = anyio.current_time()
        if self._closing:
            await ws.close(1000)  # close() came while this connection was being made
            return
        self.state = "open"
        if reconnect:
            if self._reconnected is not None:
                self._reconnected.set()
            await self._hooks.resume()
            self._hooks.signal(signals.reconnected, attempt=self._opened_by)
            restarted, self._restarted = self._restarted, None
            if restarted is not None:
                restarted.set()
        else:
            self._open()
        if self._settings.renew_after is not None:
            await self._renew_later(ws, self._settings.renew_after)

    async def _renew_later(self, ws: WebSocket, after: float) -> None:
        """Renew the connection after ``after`` seconds, at a moment no response runs.

        Servers cap a session's length; renewing before the cap, between turns,
        avoids being cut off mid-answer. The conversation is replayed as on any
        reconnect.
        """
        await anyio.sleep(after)
        await self._hooks.idle()
        logger.info("renewing the connection after %.0f s", after)
        self._renewing = True
        await ws.close(1000, "renewing the session")

    async def _reconnect(
        self,
        policy: ReconnectPolicy,
        closed: ConnectionClosedError,
        *,
        now: bool = False,
        free: bool = False,
    ) -> WebSocket:
        """Open a new connection, with backoff; raise when the policy gives up.

        ``now`` skips the first delay: a renewal is planned, not a failure.
        ``free`` makes the first try attempt 0, at once and outside the policy's
        count: a restart was asked for, nothing failed.
        """
        wait: float | None = None  # what a refusing server asked for
        last: BaseException = closed
        while True:
            if free:
                attempt = 0
            else:
                self._attempt += 1
                attempt = self._attempt
            if policy.max_attempts is not None and attempt > policy.max_attempts:
                gave_up = (
                    f"gave up reconnecting after {attempt - 1} attempts"
                    if attempt > 1
                    else "could not open a new session, and reconnecting is off"
                )
                raise ConnectionFailedError(f"{gave_up}: {last}") from last
            delay = (
                0.0 if free or (now and attempt == 1) else policy.delay(attempt, retry_after=wait)
            )
            free = False
            self._hooks.signal(signals.reconnecting, attempt=attempt, delay=delay, error=closed)
            if attempt:
                logger.warning(
                    "connection lost (%s); reconnecting in %.2f s (attempt %d)",
                    last,
                    delay,
                    attempt,
                )
            if self._closing:
                raise SessionClosedError("closed while reconnecting")
            try:
                with anyio.CancelScope() as self._wait_scope:
                    await anyio.sleep(delay)
                    ws = await self._hooks.open()
                    self._opened_by = attempt
                    return ws
            except HandshakeRejectedError as exc:
                # A refused key, or a sideband's session gone: retrying cannot help.
                if exc.status in (401, 403) or isinstance(exc, LiveSessionGoneError):
                    raise
                wait, last = retry_after(exc.headers), exc
            except ConnectionFailedError as exc:
                wait, last = None, exc
            finally:
                self._wait_scope = None
            if self._closing:  # close() cancelled the wait or the handshake
                raise SessionClosedError("closed while reconnecting")
            logger.warning("reconnect attempt %d failed: %s", attempt, last)

    async def restart(self) -> None:
        """Drop the connection and open a new server session; return once it is restored.

        What a restart does and signals is told by ``Session.restart``. A restart
        asked for while one is under way, or while a reconnect is, joins it: the
        new server session it opens is the one asked for. From a handler it only
        starts the restart, since the new session's events wait for the handler.
        """
        if self._closing or self.state not in ("open", "reconnecting"):
            raise SessionClosedError(
                f"cannot restart a session that is {self.state}: restart() renews the "
                "server session of a running session (start it with `async with` or start())"
            )
        done = self._restarted
        if done is None:
            done = self._restarted = anyio.Event()
            ws = self._ws
            if self.state == "open" and ws is not None:
                self._restarting = True
                logger.info("restarting the session: dropping the connection")
                # Dropped, not closed: the old server session is abandoned anyway, and
                # a close handshake would wait for a server that may never answer it.
                await ws.abort(1000, RESTART_REASON)
        if current_dispatcher.get() is self._hooks.dispatcher:
            return
        await done.wait()
        if self._finished.is_set():
            raise SessionClosedError("the session ended during the restart") from self.failure

    # -- reading and dispatching -------------------------------------------

    async def _read_loop(self, ws: WebSocket) -> None:
        budget = self._settings.max_pending_bytes
        queue = self._queue
        recorder = self._hooks.recorder
        connection = self._connections
        while True:
            # The frames wait as they came; each is parsed just before its handlers
            # run (see _events_of), so that a big read's events never all live at once.
            messages = await ws.recv_batch()
            if recorder is not None:
                for data, text in messages:
                    recorder.write("recv", data if text else data.hex(), binary=not text)
            # Summed in C: a loop here was a Python step per message.
            size = sum(map(len, map(_payload, messages)))
            # A read of a few events, for a dispatcher that waits for it: a stream
            # at the pace of speech, where each event's latency counts.
            paced = len(messages) <= _PACED_READ and not self._wake.is_set()
            queue.append((messages, size, connection))
            del messages  # the dispatcher's now, to let go of frame by frame
            self._queued_bytes += size
            self._wake.set()
            if paced:
                # Its handlers run before the reader asks the socket for more, which
                # was most of the Session's latency above the floor's (docs/performance.md,
                # round 8). At full speed the reader reads on, as before.
                await anyio.lowlevel.checkpoint()
            while self._queued_bytes > budget and not self._ending:
                room = self._room = anyio.Event()
                await room.wait()

    def _events_of(self, messages: list[Message], connection: int) -> Iterator[ServerEvent]:
        """Parse a read's frames one at a time, as the dispatcher takes them.

        Parsing each frame right before its handlers run keeps one event's memory
        in use at a time, and the next parse reuses it while it is still in the
        CPU's cache: a 256 KiB read of small events, parsed whole before any
        dispatch, made every event cost about 1.5x as much (docs/performance.md,
        round 5). Each frame is let go once parsed. A routine event costs one
        ``validate_json`` call and no Python call around it: the parser's own
        checks, two calls a frame, were a tenth of a session's CPU (round 6).
        """
        parser = self._hooks.parse
        validate = parser.validate
        routine = self._routine
        received = signals.event_received
        absorb = self._hooks.absorb
        messages.reverse()
        self._parsing, self._parsing_of = messages, connection
        pop = messages.pop
        try:
            while messages:
                data, text = pop()
                try:
                    event: ServerEvent | None = validate(data) if text else None
                except ValidationError:
                    event = None
                if event is None or type(event) not in routine or received.receivers:
                    # A binary or irregular frame (parsed again: diagnosed, reported),
                    # a lenient parse, an error, an event absorb looks at, or one
                    # the signal follows.
                    event = parser(data, text) if event is None else parser.checked(event)
                    if event is None:
                        continue
                    if event.type == "error":
                        self._last_error = (connection, getattr(event, "error", event))
                    if absorb(event):
                        continue
                del data
                yield event
        finally:
            self._parsing = None

    async def _dispatch_loop(self) -> None:
        dispatcher = self._hooks.dispatcher
        current_dispatcher.set(dispatcher)
        budget = self._settings.max_pending_bytes
        queue = self._queue
        try:
            while True:
                if not queue:
                    if self._ending:
                        return
                    self._wake = anyio.Event()
                    await self._wake.wait()
                    continue
                item = queue.popleft()
                if type(item) is tuple:
                    messages, size, connection = item
                    del item
                    # Looked up each time: bound methods kept in locals would be two
                    # more objects held by every idle session.
                    await dispatcher.dispatch_many(self._events_of(messages, connection))
                    del messages
                    self._queued_bytes -= size
                    if self._queued_bytes <= budget and self._room is not None:
                        self._room.set()
                else:
                    self._emitted -= 1
                    await dispatcher.dispatch(item)  # type: ignore[arg-type]
                    del item  # not kept while the loop waits for the next
        finally:
            self._dispatch_ended = True
            if self._dispatch_done is not None:
                self._dispatch_done.set()

    def enqueue(self, event: Event) -> None:
        """Queue an event emitted outside handlers behind the received ones."""
        if self._ending:
            raise SessionClosedError(f"cannot emit {event.type!r}: the session is closing")
        if self._emitted >= MAX_PENDING_EMITS:
            raise RealtimeError(
                f"cannot emit {event.type!r}: {MAX_PENDING_EMITS} emitted events already "
                "wait for the handlers (are they stuck?)"
            )
        self._emitted += 1
        self._queue.append(event)
        self._wake.set()

    def spawn(self, call: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start a task that lives as long as the run (a concurrent handler, a plugin)."""
        if self._task_group is None or self._finished.is_set():
            raise SessionClosedError("the session is not running")
        self._task_group.start_soon(call)

    # -- sending -----------------------------------------------------------

    async def send(self, model: ClientEvent) -> None:
        """Write an event, holding it while a reconnect restores the conversation.

        An event is written on one connection exactly once: a write that failed
        (or finished only after its connection was given up, see :meth:`write`)
        goes out again on the next connection, and only then. One that was
        written and lost with its server session is its owner's to send again
        (the response sequencer, the conversation's replay), which learns of the
        loss from ``disconnected``: the two never both send it.
        """
        while True:
            if self.state == "reconnecting":
                # Hold the send until the conversation is restored, so it lands after
                # the replayed history; give up with the reconnect policy.
                reconnected = self._reconnected
                if reconnected is not None:
                    await reconnected.wait()
            if self.state not in ("open", "connecting"):
                raise SessionClosedError(f"cannot send {model.type!r}: the session is {self.state}")
            connection = self._connections
            try:
                await self.write(model)
            except ConnectionClosedError:
                # The connection died under this send. Once the loop has seen it
                # too, send again on the next connection, or fail.
                while self._lost_upto < connection:
                    if self._lost is None:
                        self._lost = anyio.Event()
                    await self._lost.wait()
                continue
            return

    async def write(self, model: ClientEvent) -> None:
        """Write one event on the current connection (no waiting for a reconnect).

        Raises :class:`ConnectionClosedError` when the event was not written, and
        also when the write finished only after the connection was given up
        (``disconnected`` sent): its owners already counted it as never sent.
        """
        ws = self._ws
        if ws is None:
            raise SessionClosedError(f"cannot send {model.type!r}: not connected")
        data = model.to_json()
        connection = self._connections
        await ws.send(data)
        if self._lost_upto >= connection:
            # A new error, not the connection's own, which would keep this call's frames.
            closed = ws.close_error
            if closed is None:
                raise ConnectionClosedError(1006, "connection lost while sending")
            raise ConnectionClosedError(closed.code, closed.reason)
        recorder = self._hooks.recorder
        if recorder is not None:
            recorder.write("send", data)
        self._hooks.signal(signals.event_sent, event=model)

    def _open(self) -> None:
        """The run is open (or finished before it could be): run() may report its start."""
        self._opened = True
        started, self._started = self._started, None
        if started is not None:
            started.started()
        if self._ready is not None:
            self._ready.set()

    def _lose(self, upto: int) -> None:
        """Connections up to ``upto`` are lost: sends that failed on them may go on."""
        self._lost_upto = upto
        lost, self._lost = self._lost, None
        if lost is not None:
            lost.set()

    # -- the finish --------------------------------------------------------

    async def _finish(self, error: BaseException | None) -> None:
        """End the run: let handlers see what arrived (bounded), then end everything."""
        self.state = "closing"
        if self._ws is not None:
            with anyio.CancelScope(shield=True):
                await self._ws.abort()
        self._ending = True
        self._wake.set()
        if self._room is not None:
            self._room.set()
        if not self._dispatch_ended:
            done = self._dispatch_done = anyio.Event()
            with anyio.move_on_after(self._settings.close_timeout):
                await done.wait()
        self._end(error)

    def _end(self, error: BaseException | None) -> None:
        """Mark the run over: waiters, senders and signals learn it (idempotent)."""
        if self._finished.is_set():
            return
        self.failure = error
        self._ending = True
        self._hooks.dispatcher.close(error)
        self.state = "closed"
        if self._hooks.recorder is not None:
            self._hooks.recorder.close()
        if self._reconnected is not None:
            self._reconnected.set()  # senders waiting for a reconnect see the session closed
        if self._restarted is not None:
            self._restarted.set()  # so does a restart
        self._lose(_EVERY_CONNECTION)
        self._queue.clear()
        self._started = None  # a run that ends unopened raises instead (see Runs)
        self._open()
        self._finished.set()
        self._hooks.signal(signals.closed, error=error)


#: What _end marks lost: every connection, this one and any a send still waits on.
_EVERY_CONNECTION = sys.maxsize

#: A restart without a reconnect policy: one try, and no more.
_NO_RETRY = ReconnectPolicy(max_attempts=0)


async def _logged(task: Callable[[], Awaitable[None]]) -> None:
    """Run a long-lived task; a failure is logged, and ends neither the run nor the others."""
    try:
        await task()
    except Exception:
        logger.exception("background task %s failed", getattr(task, "__qualname__", task))
