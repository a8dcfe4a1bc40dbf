"""A session's runs: one at a time, in the foreground, in a block, detached, or a replay.

A :class:`~realtime_events.Session` serves events only while a run is in
progress: ``await session.run()`` in the foreground, ``async with session`` in
a task group of its own, ``await session.start()`` in a task that belongs to
no caller, or ``session.replay()`` offline. :class:`Runs` holds the run in
progress (a :class:`~realtime_events.supervisor.Supervisor`), refuses a second
one, tells the session's state, and starts the session's concurrent handlers
in the run (or replay) they belong to.

It knows nothing of Session: the session hands it ``make`` (a new run, built
with what the session gives a supervisor) and ``close`` (the session's own
close, which says goodbye as its protocol does before ending the run).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any

import anyio
import anyio.abc

from .detached import Started, spawn_detached
from .dispatch import Dispatcher, current_dispatcher
from .errors import RealtimeError, SessionClosedError
from .frames import FrameParser, replay_frames
from .run_hooks import SessionState
from .supervisor import Supervisor

__all__ = ["Runs"]

logger = logging.getLogger("realtime_events.session")


class Runs:
    """The run in progress of one session (at most one), however it is served."""

    def __init__(self, make: Callable[[], Supervisor], close: Callable[[], Awaitable[None]]):
        self._make = make
        self._close = close
        #: The run in progress, if any (the run and the session no longer hold each other after).
        self.current: Supervisor | None = None
        self._ended: SessionState = "idle"
        self._group: anyio.abc.TaskGroup | None = None  # the one ``async with`` entered
        self._replay_group: anyio.abc.TaskGroup | None = None

    @property
    def state(self) -> SessionState:
        """The run's state, or how the last one ended (``idle`` before any)."""
        run = self.current
        return run.state if run is not None else self._ended

    @property
    def pending_bytes(self) -> int:
        """Bytes of received events waiting for the handlers (0 without a run)."""
        run = self.current
        return run.pending_bytes if run is not None else 0

    def running(self) -> Supervisor | None:
        """The run in progress, unless there is none or it has finished."""
        run = self.current
        return run if run is not None and not run.finished else None

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve a new run until it ends (``Session.run``)."""
        run = self._begin()
        try:
            await run.run(task_status=task_status)
        finally:
            self._over()

    def _begin(self) -> Supervisor:
        """A new run, now the one in progress; refused while another is."""
        if self.current is not None:
            raise RealtimeError(f"the session is {self.state} already")
        run = self.current = self._make()
        return run

    def _over(self) -> None:
        self._ended = "closed"
        self.current = None

    async def enter(self) -> None:
        """Serve a run in a task group of its own; return once it is open (``async with``)."""
        if self._group is not None:
            raise RealtimeError("this session is entered already")
        group = anyio.create_task_group()
        await group.__aenter__()
        # Not group.start(): a status of our own may be told from any task, which
        # spares the run a task (see Supervisor.run).
        status = Started()
        try:
            group.start_soon(self._serve_in_group, status)
            await status.wait()
        except BaseException as exc:
            await leave(group, exc)
            raise single(exc) from None
        self._group = group

    async def _serve_in_group(self, status: Started) -> None:
        try:
            await self.serve(task_status=status)
        except BaseException as exc:
            # Before the start, the failure is enter()'s to raise; after, the group's.
            if not status.fail(exc) or isinstance(exc, anyio.get_cancelled_exc_class()):
                raise

    async def exit(self, exc: BaseException | None) -> bool:
        """Close the session and leave the block's task group; tell whether ``exc`` is handled."""
        group, self._group = self._group, None
        assert group is not None, "__aexit__ without __aenter__"
        try:
            # Shielded so that a cancel from outside still closes cleanly; close()
            # bounds its own waits by close_timeout.
            with anyio.CancelScope(shield=True):
                await self._close()
        finally:
            suppressed = await leave(group, exc)
        return suppressed

    async def start(self) -> None:
        """Serve a run in a task of no caller's; return once it is open (``Session.start``)."""
        if self.current is not None:
            raise RealtimeError(f"the session is {self.state} already")
        status = Started()
        spawn_detached(self._serve_detached, status)
        try:
            await status.wait()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._close()
            raise

    async def _serve_detached(self, status: Started) -> None:
        # serve()'s body rather than a call to it: a coroutine fewer, held as long as the run.
        try:
            run = self._begin()
            try:
                await run.run(task_status=status)
            finally:
                self._over()
        except BaseException as exc:
            if not status.fail(exc) and not isinstance(exc, anyio.get_cancelled_exc_class()):
                logger.error("the session ended: %s", exc)

    async def restart(self) -> None:
        """Renew the server session of the run in progress (``Session.restart``)."""
        run = self.current
        if run is None:
            raise SessionClosedError(
                f"cannot restart a session that is {self.state}: restart() renews the "
                "server session of a running session"
            )
        await run.restart()

    async def end(self) -> None:
        """End the run in progress, if any: the server ended the session."""
        run = self.running()
        if run is not None:
            await run.close()

    async def replay(
        self,
        recording: str | os.PathLike[str],
        parse: FrameParser,
        dispatcher: Dispatcher,
        speed: float,
    ) -> int:
        """Dispatch a recording's server events offline; return how many (``Session.replay``)."""
        if self.current is not None or self._replay_group is not None:
            raise RealtimeError(f"cannot replay into a session that is {self.state}")
        dispatcher.reopen()
        token = current_dispatcher.set(dispatcher)
        try:
            async with anyio.create_task_group() as self._replay_group:
                count = await replay_frames(recording, parse, dispatcher.dispatch, speed=speed)
        finally:
            self._replay_group = None
            current_dispatcher.reset(token)
            dispatcher.close()
        return count

    def spawn(self, call: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start a concurrent handler in the run (or the replay) it belongs to."""
        if self.current is not None:
            self.current.spawn(call)
        elif self._replay_group is not None:
            self._replay_group.start_soon(call)
        else:
            raise SessionClosedError("the session is not running")


def first_of(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception a group wraps, through nested groups; the group if it holds several."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


async def leave(group: anyio.abc.TaskGroup, exc: BaseException | None) -> bool:
    """Exit a task group entered by hand, raising what ended it as itself.

    A task group wraps what it raises in an exception group, even a single
    exception. One failure (the body's, or the run's) comes out as itself, so
    ``except TimeoutError`` works around ``async with session``; several at once
    (the body raised *and* the run failed) stay a group, as they must.
    """
    try:
        return bool(await group.__aexit__(type(exc) if exc else None, exc, _traceback(exc)))
    except BaseExceptionGroup as failures:
        one = first_of(failures)
        if one is failures:
            raise
    raise one


def single(exc: BaseException) -> BaseException:
    """The exception itself, or the one a group wraps (see :func:`first_of`)."""
    return first_of(exc) if isinstance(exc, BaseExceptionGroup) else exc


def _traceback(exc: BaseException | None) -> TracebackType | None:
    return exc.__traceback__ if exc is not None else None
