"""A task that belongs to no caller: what ``Session.start()`` runs the session in.

Structured concurrency ties every task to a task group its caller holds open.
``start()`` and ``close()`` called from different tasks (a bot's startup and
shutdown callbacks) can hold none, so the run goes to the event loop itself: an
``asyncio`` task, or a trio *system task*. Such a task must never raise (trio
treats that as an internal error), so :func:`spawn_detached` is only given
coroutines that handle their own failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

__all__ = ["Started", "spawn_detached"]

# asyncio keeps only weak references to tasks: hold them until they finish.
_running: set[asyncio.Task[Any]] = set()


def spawn_detached(fn: Callable[[Started], Coroutine[Any, Any, None]], status: Started) -> None:
    """Start ``fn(status)`` in the running event loop, owned by no task group."""
    try:
        import trio

        trio.lowlevel.current_task()
    except (ImportError, RuntimeError):
        task = asyncio.get_running_loop().create_task(fn(status))
        _running.add(task)
        task.add_done_callback(_running.discard)
    else:
        trio.lowlevel.spawn_system_task(fn, status)


class Started:
    """A task status for a detached task: tells its starter it started, or why not.

    The task holds it for as long as it runs, so its event is made only while
    the starter waits, and let go once it is set: an anyio Event is three objects
    the garbage collector would walk for as long as the session lives.
    """

    __slots__ = ("_done", "_error", "_event")

    def __init__(self) -> None:
        self._done = False
        self._event: anyio.Event | None = None
        self._error: BaseException | None = None

    def started(self, value: None = None) -> None:
        """Called by the task once it is up."""
        self._finish()

    def fail(self, error: BaseException) -> bool:
        """Report that the task ended with ``error``; False if it had started already."""
        if self._done:
            return False
        self._error = error
        self._finish()
        return True

    def _finish(self) -> None:
        self._done = True
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def wait(self) -> None:
        """Return once the task started; raise what ended it if it never did."""
        if not self._done:
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()
        if self._error is not None:
            raise self._error
