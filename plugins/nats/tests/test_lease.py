"""Leases on a real nats-server: releasing what a cancelled renewal left behind."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from realtime_events_nats import LeaseRecord
from realtime_events_nats.lease import Lease, read_lease
from realtime_events_nats.testing import NatsServer

sys.path.insert(0, str(Path(__file__).parent))

from _helpers import client


def record(session_id: str, worker: str) -> bytes:
    return LeaseRecord(session_id=session_id, worker=worker, since=0, renewed_at=0).to_bytes()


@pytest.mark.anyio
async def test_a_lease_is_released_after_a_renewal_it_never_heard_of(
    nats_server: NatsServer,
) -> None:
    # A heartbeat cancelled as the session ends can still have its renewal land:
    # the lease is then at a revision the worker never saw. It was left standing
    # for a whole TTL, so a worker seemed to hold more sessions than its capacity.
    async with client(nats_server.url) as rt:
        leases = rt.deployment.leases
        lease = Lease(leases, "sess_a", "w1")
        await lease.acquire()
        await leases.put("sess_a", record("sess_a", "w1"))  # the renewal that landed
        await lease.release()
        assert await read_lease(leases, "sess_a") is None


@pytest.mark.anyio
async def test_a_lease_another_worker_took_is_left_to_it(nats_server: NatsServer) -> None:
    async with client(nats_server.url) as rt:
        leases = rt.deployment.leases
        lease = Lease(leases, "sess_b", "w1")
        await lease.acquire()
        await leases.put("sess_b", record("sess_b", "w2"))
        await lease.release()
        holder = await read_lease(leases, "sess_b")
        assert holder is not None
        assert holder.worker == "w2"
