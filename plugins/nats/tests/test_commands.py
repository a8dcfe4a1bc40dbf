"""Commands reach the right session on the right worker; bad commands get clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from realtime_events_nats import (
    CommandRefusedError,
    CommandTimeoutError,
    UnknownCommandError,
    UnknownSessionError,
)
from realtime_events_nats.testing import NatsServer

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import WAIT, client, model_server, turns
from _workers import start_workers


@pytest.mark.anyio
async def test_commands_reach_the_right_session_and_bad_ones_say_why(
    nats_server: NatsServer,
) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        # No worker yet: a command waits for one, then times out saying so.
        queued = await rt.start({"url": model.url})
        with pytest.raises(CommandTimeoutError, match="no worker answered"):
            await rt.send_text(queued, "anyone?", timeout=0.5)
        workers = await start_workers(nats_server.url, 2, capacity=10)
        try:
            ids = [queued, *[await rt.start({"url": model.url}) for _ in range(5)]]
            for sid in ids:
                where = await rt.command(sid, "probe.whoami", timeout=WAIT)
                lease = await rt.lease(sid)
                assert lease is not None
                assert where == {"session_id": sid, "worker": lease.worker}
            assert len({(await rt.lease(sid)).worker for sid in ids}) == 2  # type: ignore[union-attr]
            for n, sid in enumerate(ids[1:]):
                await rt.send_text(sid, f"only for {n}")
            for n, sid in enumerate(ids[1:]):
                assert await turns(rt, sid, 2) == [
                    ("user", f"only for {n}"),
                    ("assistant", f"recall: only for {n}"),
                ]
            # The command that timed out before any worker ran was never carried out.
            checkpoint = await rt.checkpoint(queued)
            assert checkpoint is not None
            assert checkpoint.items == []

            target = ids[1]
            with pytest.raises(UnknownCommandError, match="unknown command 'dance'"):
                await rt.command(target, "dance")
            with pytest.raises(CommandRefusedError, match="refused: not today"):
                await rt.command(target, "probe.fail", why="not today")
            with pytest.raises(CommandRefusedError, match="unexpected keyword"):
                await rt.command(target, "probe.whoami", colour="red")
            with pytest.raises(UnknownSessionError, match="no session nosuch"):
                await rt.send_text("nosuch", "hello")
            with pytest.raises(ValueError, match="session id"):
                await rt.send_text("no.such", "hello")

            assert await rt.close(target) is None
            with pytest.raises(UnknownSessionError, match="has ended \\(close command\\)"):
                await rt.send_text(target, "still there?")
            ended = [event async for event in rt.follow(target, ["nats.*"])]
            assert [event.type for event in ended] == ["nats.session_started", "nats.session_ended"]
        finally:
            for worker in workers:
                await worker.stop()
