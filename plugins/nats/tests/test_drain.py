"""SIGTERM drains: running calls finish, no new job is taken, and none is lost."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from realtime_events_nats.testing import NatsServer

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import WAIT, client, model_server, turns
from _workers import WorkerProcess


@pytest.mark.anyio
async def test_drain_finishes_running_calls_and_takes_no_new_ones(
    nats_server: NatsServer,
) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        draining = await WorkerProcess(nats_server.url, name="draining", capacity=5).start()
        later: WorkerProcess | None = None
        try:
            running = [await rt.start({"url": model.url}) for _ in range(2)]
            for sid in running:
                await rt.command(sid, "probe.whoami", timeout=WAIT)
            draining.terminate()
            waiting = await rt.start({"url": model.url})
            # The running calls still answer, turn after turn, while the worker drains.
            for sid in running:
                await rt.send_text(sid, "still here?")
                assert await turns(rt, sid, 2) == [
                    ("user", "still here?"),
                    ("assistant", "recall: still here?"),
                ]
                await rt.close(sid)
            assert await draining.wait(WAIT) == 0
            assert await rt.lease(waiting) is None
            info = await rt.deployment.js.consumer_info(rt.layout.jobs_stream, "workers")
            assert info.num_pending + info.num_ack_pending == 1  # the new job waits, not lost
            for sid in running:
                checkpoint = await rt.checkpoint(sid)
                assert checkpoint is not None
                assert checkpoint.reason == "close command"
            later = await WorkerProcess(nats_server.url, name="later").start()
            where = await rt.command(waiting, "probe.whoami", timeout=WAIT)
            assert where == {"session_id": waiting, "worker": "later"}
        finally:
            for worker in (draining, later):
                if worker is not None:
                    await worker.stop()


@pytest.mark.anyio
async def test_drain_closes_what_outlives_its_bound(nats_server: NatsServer) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        worker = await WorkerProcess(nats_server.url, name="w", drain_timeout=0.2).start()
        try:
            sid = await rt.start({"url": model.url})
            await rt.command(sid, "probe.whoami", timeout=WAIT)
            worker.terminate()
            assert await worker.wait(WAIT) == 0
            checkpoint = await rt.checkpoint(sid)
            assert checkpoint is not None
            assert checkpoint.ended
            assert checkpoint.reason == "drained"
            assert await rt.lease(sid) is None
        finally:
            await worker.stop()
