"""Ctrl-C for the command line: a cancellation at the next checkpoint, not a KeyboardInterrupt.

Python raises KeyboardInterrupt wherever the signal lands, which can be
inside the event loop's own bookkeeping: on trio, a Ctrl-C that fell there
once ended ``realtime-events tail`` with a TrioInternalError. Cancelling the
command instead unwinds every task at its next checkpoint, and each session
ends as on any cancel. A second Ctrl-C interrupts as Python's own handler does.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc

__all__ = ["INTERRUPTED", "interruptible"]

#: The exit status of a command ended by Ctrl-C (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


async def interruptible(command: Callable[[], Awaitable[int]]) -> int:
    """Run ``command`` and return its exit status; Ctrl-C cancels it and returns INTERRUPTED."""
    status = INTERRUPTED  # unless the command returns
    async with anyio.create_task_group() as task_group:
        await task_group.start(_cancel_on_ctrl_c, task_group.cancel_scope)
        status = await command()
        task_group.cancel_scope.cancel()  # the watch for Ctrl-C
    return status


async def _cancel_on_ctrl_c(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None]
) -> None:
    """Cancel ``scope`` at the first Ctrl-C, then give SIGINT back to Python's handler."""
    try:
        with anyio.open_signal_receiver(signal.SIGINT) as received:
            task_status.started()
            async for _ in received:
                scope.cancel()
                return
    except NotImplementedError:  # an event loop without signal handlers (asyncio on Windows)
        task_status.started()
