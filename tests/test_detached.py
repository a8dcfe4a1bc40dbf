"""A detached task's status: its start or failure is seen, before the starter waits or after."""

from __future__ import annotations

import anyio
import pytest

from realtime_events.detached import Started, spawn_detached

pytestmark = pytest.mark.anyio


async def test_a_start_before_the_wait_is_seen(anyio_backend: str) -> None:
    status = Started()
    status.started()
    with anyio.fail_after(5):
        await status.wait()
    assert not status.fail(RuntimeError("too late"))  # started already: not a failure
    with anyio.fail_after(5):
        await status.wait()


async def test_a_failure_before_the_wait_is_raised(anyio_backend: str) -> None:
    status = Started()
    assert status.fail(ValueError("refused"))
    with anyio.fail_after(5), pytest.raises(ValueError, match="refused"):
        await status.wait()


async def test_a_detached_task_that_starts_or_fails_while_its_starter_waits(
    anyio_backend: str,
) -> None:
    events: list[str] = []
    stop, stopped = anyio.Event(), anyio.Event()

    async def up(status: Started) -> None:
        await anyio.sleep(0.05)  # the starter is waiting by now
        status.started()
        events.append("started")
        await stop.wait()
        events.append("stopped")
        stopped.set()

    async def down(status: Started) -> None:
        await anyio.sleep(0.05)
        status.fail(ConnectionError("no server"))

    with anyio.fail_after(5):
        ok = Started()
        spawn_detached(up, ok)
        await ok.wait()
        assert events == ["started"]
        failed = Started()
        spawn_detached(down, failed)
        with pytest.raises(ConnectionError, match="no server"):
            await failed.wait()
        stop.set()
        await stopped.wait()  # the detached task outlived nobody's task group
    assert events == ["started", "stopped"]
