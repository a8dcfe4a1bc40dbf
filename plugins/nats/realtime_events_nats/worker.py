"""The worker: takes session jobs from the work queue, never more than its capacity.

::

    worker = Worker(factory, nats="nats://127.0.0.1:4222", capacity=10)
    await worker.run()          # until drained (worker.drain(), or SIGTERM from the CLI)

The hard cap is kept by asking the queue for only as many jobs as there are
free slots: jobs beyond every worker's capacity wait in the queue, never
dropped. A job whose session is leased by a live worker is handed back with a
delay; a malformed job, or one the factory cannot build, is rejected with its
reason (kept in the rejected stream), never retried.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable

import anyio
import anyio.abc
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from ._asyncio import require_asyncio
from .errors import InvalidJobError
from .fanout import DEFAULT_EVENTS, Publisher, Selection
from .jetstream import Deployment, Limits, connect, ensure
from .layout import Layout
from .lease import Lease, LeaseTaken
from .running import Factory, Job, RunningSession, build_session
from .wire import Checkpoint, JobPayload, parse_job

__all__ = ["Worker"]

logger = logging.getLogger("realtime_events_nats.worker")


def _default_id() -> str:
    host = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs sessions from the job queue: at most ``capacity`` at once.

    Args:
        factory: Builds a ``Session`` for a :class:`Job` (may be async); the
            worker runs it, restores its conversation after a failover, and
            closes it.
        nats: The NATS URL(s), or a connection to use (not closed by the worker).
        capacity: The most sessions this worker holds at once.
        prefix: The deployment's names (see :class:`Layout`).
        events: What to publish for followers (default :data:`DEFAULT_EVENTS`);
            ``extra_events`` adds to it (``["response.output_audio.delta"]``).
        limits: Lease TTL and retention, used if this worker creates the streams.
        drain_timeout: How long a drain lets running sessions finish before
            closing them.
        worker_id: This worker's name in leases and events (host-pid-random).
    """

    def __init__(
        self,
        factory: Factory,
        *,
        nats: str | list[str] | NATS,
        capacity: int = 10,
        prefix: str = "rtev",
        events: Iterable[str] = DEFAULT_EVENTS,
        extra_events: Iterable[str] = (),
        limits: Limits | None = None,
        drain_timeout: float = 30.0,
        poll_interval: float = 1.0,
        worker_id: str | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.factory = factory
        self._nats = nats
        self.capacity = capacity
        self.layout = Layout(prefix)
        self.selection = Selection(events, extra=extra_events)
        self.limits = limits or Limits()
        self.drain_timeout = drain_timeout
        self.poll_interval = poll_interval
        self.id = worker_id or _default_id()
        self._run_id = uuid.uuid4().hex[:8]
        #: The sessions this worker holds (a slot is taken before a job is read).
        self.running: dict[str, RunningSession | None] = {}
        #: The most sessions held at once so far.
        self.peak = 0
        self._draining = anyio.Event()
        self._changed = anyio.Event()
        self._deployment: Deployment | None = None

    @property
    def draining(self) -> bool:
        """True once :meth:`drain` was called: no new jobs are taken."""
        return self._draining.is_set()

    def drain(self) -> None:
        """Stop taking jobs; let running sessions finish (up to ``drain_timeout``), then return."""
        if not self._draining.is_set():
            logger.info("worker %s draining: %d sessions running", self.id, len(self.running))
            self._draining.set()
            self._changed.set()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Connect, take jobs until drained, finish or close the sessions, then return.

        ``await task_group.start(worker.run)`` returns once the worker is pulling jobs.
        """
        require_asyncio("the NATS worker")
        own = not isinstance(self._nats, NATS)
        if isinstance(self._nats, NATS):
            nc = self._nats
        else:
            nc = await connect(self._nats, name=f"realtime-events worker {self.id}")
        try:
            deployment = await ensure(nc, self.layout, self.limits)
            self._deployment = deployment
            jobs = await deployment.js.pull_subscribe(
                self.layout.jobs_subject,
                durable=self.layout.workers_consumer,
                stream=self.layout.jobs_stream,
            )
            async with anyio.create_task_group() as group:
                logger.info("worker %s takes up to %d sessions", self.id, self.capacity)
                task_status.started()
                await self._take_jobs(group, jobs)
                await self._finish_running()
            await jobs.unsubscribe()
        finally:
            if own:
                with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                    await nc.drain()

    async def _take_jobs(self, group: anyio.abc.TaskGroup, jobs: object) -> None:
        fetch = getattr(jobs, "fetch")  # noqa: B009  (nats-py's PullSubscription)
        while not self.draining:
            free = self.capacity - len(self.running)
            if free <= 0:
                await self._changed.wait()
                self._changed = anyio.Event()
                continue
            try:
                msgs: list[Msg] = await fetch(batch=free, timeout=self.poll_interval)
            except nats.errors.TimeoutError:
                continue
            except (nats.errors.Error, OSError) as exc:
                logger.warning("worker %s cannot fetch jobs now: %s", self.id, exc)
                await anyio.sleep(self.poll_interval)
                continue
            for msg in msgs:
                if self.draining:
                    await _settle(msg.nak())  # another worker takes it at once
                    continue
                await self._take(group, msg)

    async def _take(self, group: anyio.abc.TaskGroup, msg: Msg) -> None:
        """Start the session of one job, or hand the job back or reject it."""
        try:
            payload = parse_job(msg.data)
        except InvalidJobError as exc:
            await self._reject(msg, str(exc))
            return
        sid = payload.session_id
        held = self.running.get(sid)
        if held is not None:
            held.adopt(msg)  # a redelivery of a job this worker runs: renew that one
            return
        if sid in self.running:  # being started here right now
            await _settle(msg.nak(delay=self._ttl / 2))
            return
        self.running[sid] = None  # the slot is taken now, before any await
        self.peak = max(self.peak, len(self.running))
        group.start_soon(self._serve, msg, payload)

    @property
    def _ttl(self) -> float:
        assert self._deployment is not None
        return self._deployment.lease_ttl

    async def _serve(self, msg: Msg, payload: JobPayload) -> None:
        deployment = self._deployment
        assert deployment is not None
        sid = payload.session_id
        try:
            lease = Lease(deployment.leases, sid, self.id)
            try:
                await lease.acquire()
            except LeaseTaken as taken:
                logger.info("session %s is %s; its job waits", sid, taken)
                # Back soon: a dead worker's lease is about to expire.
                await _settle(msg.nak(delay=self._ttl / 4))
                return
            checkpoint = await _read_checkpoint(deployment, sid)
            if checkpoint is not None and checkpoint.ended:
                logger.info("session %s has ended already; its job is done", sid)
                await _settle(msg.ack())
                await lease.release()
                return
            restored = checkpoint is not None and (bool(checkpoint.items) or checkpoint.turns > 0)
            job = Job(
                session_id=sid,
                config=payload.config,
                worker=self.id,
                restored=restored,
                delivery=msg.metadata.num_delivered or 1,
                created_at=payload.created_at,
            )
            try:
                session = await build_session(self.factory, job)
            except Exception as exc:
                logger.exception("the factory failed for session %s", sid)
                await self._reject(msg, f"the factory failed: {type(exc).__name__}: {exc}", sid)
                await lease.release()
                return
            running = RunningSession(
                deployment=deployment,
                worker=self.id,
                run_id=f"{self.id}-{self._run_id}",
                msg=msg,
                payload=payload,
                session=session,
                lease=lease,
                checkpoint=checkpoint,
                selection=self.selection,
            )
            self.running[sid] = running
            if self.draining:
                running.close("drained")
            await running.run()
        finally:
            self.running.pop(sid, None)
            self._changed.set()

    async def _reject(self, msg: Msg, reason: str, session_id: str | None = None) -> None:
        """Keep a job no worker can run in the rejected stream, with why; never retry it."""
        deployment = self._deployment
        assert deployment is not None
        logger.error("job rejected: %s", reason)
        headers = {"Rtev-Reason": reason[:1000], "Rtev-Worker": self.id}
        try:
            await deployment.js.publish(
                self.layout.rejected_subject, msg.data, headers=headers, timeout=5
            )
            if session_id is not None:
                checkpoint = Checkpoint(session_id=session_id, ended=True, reason=reason)
                await deployment.checkpoints.put(session_id, checkpoint.to_bytes())
                publisher = Publisher(
                    deployment.nc,
                    self.layout,
                    session_id,
                    selection=self.selection,
                    run_id=f"{self.id}-{self._run_id}",
                )
                await publisher.lifecycle("nats.session_failed", worker=self.id, reason=reason)
                await publisher.flush()
        except Exception as exc:
            # Not recorded: leave the job in the queue rather than lose it.
            logger.error("could not record the rejected job (%s); it stays queued", exc)
            await _settle(msg.nak(delay=self._ttl))
            return
        await _settle(msg.term())

    async def _finish_running(self) -> None:
        """Drain: let the sessions finish up to ``drain_timeout``, then close them."""
        with anyio.move_on_after(self.drain_timeout):
            while self.running:
                await self._changed.wait()
                self._changed = anyio.Event()
        for running in list(self.running.values()):
            if running is not None:
                running.close("drained")


async def _read_checkpoint(deployment: Deployment, session_id: str) -> Checkpoint | None:
    try:
        entry = await deployment.checkpoints.get(session_id)
    except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
        return None
    return Checkpoint.model_validate_json(entry.value) if entry.value else None


async def _settle(ack: object) -> None:
    """Await an ack/nak/term; one that fails (NATS away) is logged: the job comes back."""
    try:
        await ack  # type: ignore[misc]
    except Exception as exc:
        logger.warning("could not settle a job message: %s", exc)
