"""kill -9 a worker mid-conversation: its sessions continue elsewhere, with their context."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from realtime_events_nats.testing import NatsServer

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import WAIT, client, model_server, turns
from _workers import start_workers


@pytest.mark.anyio
async def test_killed_workers_sessions_continue_on_another_with_their_turns(
    nats_server: NatsServer,
) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        workers = await start_workers(nats_server.url, 2, capacity=10)
        try:
            ids = [await rt.start({"url": model.url}) for _ in range(6)]
            for n, sid in enumerate(ids):
                await rt.send_text(sid, f"my name is N{n}")
            for n, sid in enumerate(ids):
                assert await turns(rt, sid, 2) == [
                    ("user", f"my name is N{n}"),
                    ("assistant", f"recall: my name is N{n}"),
                ]
            with anyio.fail_after(WAIT):  # the turn is checkpointed once it is done
                for sid in ids:
                    while (await rt.checkpoint(sid)).turns < 1:  # type: ignore[union-attr]  # noqa: ASYNC110
                        await anyio.sleep(0.05)
            holders = {sid: (await rt.lease(sid)).worker for sid in ids}  # type: ignore[union-attr]
            victim = next(w for w in workers if w.name == holders[ids[0]])
            survivor = next(w for w in workers if w is not victim)
            moved = [sid for sid in ids if holders[sid] == victim.name]

            victim.kill()
            for sid in moved:
                reply = await rt.command(sid, "probe.whoami", timeout=WAIT)
                assert reply == {"session_id": sid, "worker": survivor.name}
            for sid in ids:
                await rt.send_text(sid, "who am I?")
            for n, sid in enumerate(ids):
                # Every turn once, in order; the answer shows the earlier turn in context.
                assert await turns(rt, sid, 4) == [
                    ("user", f"my name is N{n}"),
                    ("assistant", f"recall: my name is N{n}"),
                    ("user", "who am I?"),
                    ("assistant", f"recall: my name is N{n} | who am I?"),
                ]
                lease = await rt.lease(sid)
                assert lease is not None
                assert lease.worker == survivor.name
        finally:
            for worker in workers:
                await worker.stop()
                print(f"--- {worker.name}\n{worker.log()}")
