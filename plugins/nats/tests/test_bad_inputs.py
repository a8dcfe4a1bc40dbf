"""Bad inputs get clear errors and lose nothing: malformed jobs, failing factories, NATS away."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest

from realtime_events_nats import AsyncioOnlyError, Client, NatsUnavailableError
from realtime_events_nats.testing import NatsServer, free_port

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import WAIT, client, model_server, turns
from _workers import WorkerProcess


@pytest.mark.anyio
async def test_malformed_jobs_and_failing_factories_are_rejected_with_the_reason(
    nats_server: NatsServer,
) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        worker = await WorkerProcess(nats_server.url, name="w").start()
        try:
            js = rt.deployment.js
            await js.publish(rt.layout.jobs_subject, b"not json")
            await js.publish(rt.layout.jobs_subject, b'{"config": {}}')
            failing = await rt.start({"url": model.url, "fail": True})
            events = [event async for event in rt.follow(failing)]
            assert [event.type for event in events] == ["nats.session_failed"]
            assert "the factory failed: RuntimeError" in events[0].reason  # type: ignore[attr-defined]
            # The worker carries on: a good job after the bad ones runs.
            good = await rt.start({"url": model.url})
            await rt.send_text(good, "hello")
            assert await turns(rt, good, 2) == [("user", "hello"), ("assistant", "recall: hello")]
            rejected = await js.subscribe(rt.layout.rejected_subject, ordered_consumer=True)
            reasons: list[tuple[bytes, str]] = []
            with anyio.fail_after(WAIT):
                while len(reasons) < 3:
                    msg = await rejected.next_msg(timeout=WAIT)
                    reasons.append((msg.data, (msg.headers or {})["Rtev-Reason"]))
            await rejected.unsubscribe()
            assert reasons[0][0] == b"not json"
            assert "invalid session job" in reasons[0][1]
            assert "session_id: Field required" in reasons[1][1]
            assert "the factory failed" in reasons[2][1]
        finally:
            await worker.stop()


@pytest.mark.anyio
async def test_nats_down_at_start_is_one_clear_line(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    with pytest.raises(NatsUnavailableError, match=f"cannot reach NATS at {url}"):
        async with Client(url):
            pass
    worker = WorkerProcess(url, name="w")
    try:
        with pytest.raises(RuntimeError, match=f"error: cannot reach NATS at {url}"):
            await worker.start()
        assert await worker.wait(WAIT) == 1
    finally:
        await worker.stop()


@pytest.mark.anyio
async def test_nats_down_mid_run_loses_no_turn(nats_server: NatsServer) -> None:
    async with model_server() as model, client(nats_server.url) as rt:
        worker = await WorkerProcess(nats_server.url, name="w").start()
        try:
            sid = await rt.start({"url": model.url})
            await rt.send_text(sid, "before")
            assert len(await turns(rt, sid, 2)) == 2
            nats_server.stop()
            await anyio.sleep(0.5)
            nats_server.start()
            await rt.send_text(sid, "after")
            assert await turns(rt, sid, 4) == [
                ("user", "before"),
                ("assistant", "recall: before"),
                ("user", "after"),
                ("assistant", "recall: before | after"),
            ]
            lease = await rt.lease(sid)
            assert lease is not None
            assert lease.worker == "w"
        finally:
            await worker.stop()


def test_trio_is_refused_clearly() -> None:
    async def enter() -> None:
        async with Client("nats://127.0.0.1:4222"):
            pass

    with pytest.raises(AsyncioOnlyError, match=r"asyncio only .* not on trio"):
        anyio.run(enter, backend="trio")


def test_the_worker_command_is_added_to_the_core_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from realtime_events.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["worker", "--help"])
    assert exit_.value.code == 0
    assert "--capacity" in capsys.readouterr().out
