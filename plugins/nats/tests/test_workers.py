"""Workers as processes: the hard cap under a burst, and every job runs."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import anyio
import pytest
from nats.aio.msg import Msg

from realtime_events_nats import LeaseRecord
from realtime_events_nats.testing import NatsServer

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import WAIT, client, model_server
from _workers import start_workers


@pytest.mark.anyio
async def test_fifty_jobs_at_once_never_exceed_the_capacity_and_all_run(
    nats_server: NatsServer,
) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        leases = rt.deployment.leases
        held: dict[str, set[str]] = defaultdict(set)
        peak: dict[str, int] = defaultdict(int)
        watcher = await leases.watchall()
        workers = []
        try:

            async def watch() -> None:
                async for entry in watcher:
                    if entry is None:
                        continue
                    if entry.operation is None and entry.value:
                        record = LeaseRecord.model_validate_json(entry.value)
                        for sessions in held.values():
                            sessions.discard(entry.key)
                        held[record.worker].add(entry.key)
                        peak[record.worker] = max(peak[record.worker], len(held[record.worker]))
                    else:
                        for sessions in held.values():
                            sessions.discard(entry.key)

            ended: set[str] = set()
            all_ended = anyio.Event()

            async def on_end(msg: Msg) -> None:
                ended.add(msg.subject.split(".")[2])
                if len(ended) == 50:
                    all_ended.set()

            ends = await rt.deployment.nc.subscribe(
                rt.layout.events_subject("*", "nats.session_ended"), cb=on_end
            )
            config = {"url": model.url, "script": ["ping"], "hold": 0.5}
            async with anyio.create_task_group() as group:
                group.start_soon(watch)
                # All 50 wait in the queue before any worker is up: a burst, whatever the load.
                ids = [await rt.start(config) for _ in range(50)]
                workers = await start_workers(nats_server.url, 3, capacity=10)
                with anyio.fail_after(WAIT * 2):
                    await all_ended.wait()
                group.cancel_scope.cancel()
            await ends.unsubscribe()
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
            for worker in workers:
                await worker.stop()
        assert ended == set(ids)
        for sid in ids:
            checkpoint = await rt.checkpoint(sid)
            assert checkpoint is not None
            assert checkpoint.reason == "closed", checkpoint.reason
            texts = [item["content"][0]["text"] for item in checkpoint.items]
            assert texts == ["ping", "recall: ping"]
        assert peak, "no lease was seen"
        assert max(peak.values()) == 10, dict(peak)
        assert all(count <= 10 for count in peak.values()), dict(peak)
