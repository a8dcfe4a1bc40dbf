"""One session on a worker: built from its job, leased, checkpointed, commanded, published.

:class:`RunningSession` owns everything of one session on one worker: the
lease and the job message it renews, the session's run, the command
subscription, the fan-out publisher and the checkpoints. The worker decides
when to start one and when to close it; this module decides what that means.

How it ends decides what happens to the job:

- the session ended (closed by a command, by the app, by the server, by a
  drain, or it failed): the final checkpoint says so, the job is acknowledged
  and the lease released; a late redelivery of the job finds it ended.
- the lease was lost (another worker holds it): this copy stops and touches
  nothing of the session's state.
- the worker died: nothing; the lease expires, the job comes back to another
  worker, which restores the last checkpoint.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from realtime_events import Session

from .commands import Commands
from .fanout import Publisher, Selection
from .jetstream import Deployment
from .lease import Lease
from .wire import Checkpoint, JobPayload

__all__ = ["Factory", "Job", "RunningSession", "build_session"]

logger = logging.getLogger("realtime_events_nats.worker")


@dataclass(frozen=True)
class Job:
    """What an app's factory is given to build a session.

    ``config`` is what the starter passed to ``client.start()``. ``restored`` is
    True when the session continues here after another worker died (its
    conversation is restored after the session connects); ``worker`` is the id
    of the worker that runs it.
    """

    session_id: str
    config: dict[str, Any]
    worker: str
    restored: bool = False
    delivery: int = 1
    created_at: float = field(default_factory=time.time)


#: The app's factory: a Session (or an awaitable of one) for a job. It must not
#: enter the session: the worker runs it.
Factory = Callable[[Job], "Session | Awaitable[Session]"]


async def build_session(factory: Factory, job: Job) -> Session:
    """Call the factory; check that it gave a Session that is not running yet."""
    made = factory(job)
    session = await made if inspect.isawaitable(made) else made
    if not isinstance(session, Session):
        raise TypeError(f"the factory returned {type(session).__name__}, not a Session")
    if session.state != "idle":
        raise RuntimeError(f"the factory's session is {session.state}: return it unentered")
    return session


class RunningSession:
    """A session held by this worker, from its lease to its end."""

    def __init__(
        self,
        *,
        deployment: Deployment,
        worker: str,
        run_id: str,
        msg: Msg,
        payload: JobPayload,
        session: Session,
        lease: Lease,
        checkpoint: Checkpoint | None,
        selection: Selection,
    ) -> None:
        self.session_id = payload.session_id
        self.session = session
        self._d = deployment
        self._worker = worker
        self._msg = msg
        self._payload = payload
        self._lease = lease
        self._restored_items = list(checkpoint.items) if checkpoint else []
        self._turns = checkpoint.turns if checkpoint else 0
        self.publisher = Publisher(
            deployment.nc,
            deployment.layout,
            self.session_id,
            selection=selection,
            run_id=run_id,
            restored=[item["id"] for item in self._restored_items if item.get("id")],
        )
        self.reason = "closed"
        self.lost = False
        self._snapshot: Checkpoint | None = None
        self._saved = anyio.Event()
        self._save_wanted = anyio.Event()
        self._commands = Commands(session, worker=worker, close=self._close_by_command)
        self._subscription: Subscription | None = None
        self._scope: anyio.CancelScope | None = None
        self._group: Any = None

    @property
    def restored(self) -> bool:
        """True when this session continues a conversation from another worker."""
        return bool(self._restored_items) or self._turns > 0

    def adopt(self, msg: Msg) -> None:
        """Take a redelivery of this session's job: renew and acknowledge that one from now."""
        self._msg = msg

    def close(self, reason: str) -> None:
        """Close the session from the worker (drain): it ends as usual."""
        self.reason = reason
        self._commands.ended = reason
        if self._group is not None:
            self._group.start_soon(self.session.close)

    def _close_by_command(self) -> None:
        self.close("close command")

    async def run(self) -> None:
        """Serve the session until it ends (or this worker loses it); then settle the job."""
        failure: BaseException | None = None
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                self._scope = group.cancel_scope
                group.start_soon(self._heartbeat)
                group.start_soon(self._saver)
                try:
                    await self._serve()
                finally:
                    group.cancel_scope.cancel()
        except Exception as exc:  # the session failed; it ends here, said so below
            failure = _leaf(exc)
            self.reason = f"failed: {type(failure).__name__}: {failure}"
            logger.error("session %s failed: %s", self.session_id, failure)
        finally:
            self._group = None
            await self._unsubscribe()
        with anyio.CancelScope(shield=True):
            if self.lost:
                logger.warning("session %s stopped here: another worker holds it", self.session_id)
                return
            await self._finish(failure)

    async def _serve(self) -> None:
        session = self.session
        session.on("*", self.publisher)
        session.on("response.done", self._turn_done)
        async with anyio.create_task_group() as group:
            await group.start(session.run)
            for item in self._restored_items:
                await session.conversation.item.create(item)
            self._subscription = await self._d.nc.subscribe(
                self._d.layout.command_subject(self.session_id), cb=self._on_command
            )
            await self.publisher.lifecycle(
                "nats.session_started",
                worker=self._worker,
                restored=self.restored,
                delivery=self._msg.metadata.num_delivered,
                turns=self._turns,
                job_created_at=self._payload.created_at,
                at=time.time(),
            )
        # The session's run returned: it was closed, by whoever.

    async def _on_command(self, msg: Msg) -> None:
        reply = await self._commands.answer(msg.data)
        if msg.reply:
            await msg.respond(reply.to_bytes())

    async def _unsubscribe(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                try:
                    await subscription.unsubscribe()
                except Exception as exc:
                    logger.debug("unsubscribe: %s", exc)

    # -- checkpoints -----------------------------------------------------

    def _checkpoint(self, *, ended: bool = False) -> Checkpoint:
        return Checkpoint(
            session_id=self.session_id,
            config=self._payload.config,
            items=self.session.conversation.replayable(),
            turns=self._turns,
            worker=self._worker,
            ended=ended,
            reason=self.reason if ended else None,
        )

    def _turn_done(self, event: Any) -> None:
        # A turn boundary: snapshot now, in event order; the saver writes the latest.
        self._turns += 1
        self._snapshot = self._checkpoint()
        self._save_wanted.set()

    async def _saver(self) -> None:
        while True:
            await self._save_wanted.wait()
            self._save_wanted = anyio.Event()
            snapshot, self._snapshot = self._snapshot, None
            if snapshot is None:
                continue
            try:
                # The turn's events first, then the checkpoint that counts them as sent.
                await self.publisher.flush()
                await self._d.checkpoints.put(self.session_id, snapshot.to_bytes())
            except Exception as exc:
                logger.warning("checkpoint of %s not saved: %s", self.session_id, exc)

    # -- the lease -------------------------------------------------------

    async def _heartbeat(self) -> None:
        interval = self._d.lease_ttl / 4
        while True:
            await anyio.sleep(interval)
            try:
                await self._msg.in_progress()
                held = await self._lease.renew()
            except Exception as exc:  # NATS away: keep serving, renew when it is back
                logger.warning("lease of %s not renewed: %s", self.session_id, exc)
                continue
            if not held:
                self.lost = True
                if self._scope is not None:
                    self._scope.cancel()
                return

    async def _finish(self, failure: BaseException | None) -> None:
        """The session ended here: say so, save it as ended, settle the job."""
        try:
            with anyio.fail_after(10):
                # The checkpoint first: a follower told of the end finds it recorded.
                await self.publisher.flush()
                await self._d.checkpoints.put(
                    self.session_id, self._checkpoint(ended=True).to_bytes()
                )
                await self.publisher.lifecycle(
                    "nats.session_failed" if failure else "nats.session_ended",
                    worker=self._worker,
                    reason=self.reason,
                    turns=self._turns,
                    at=time.time(),
                )
                await self.publisher.flush()
                await self._msg.ack()
                await self._lease.release()
        except Exception as exc:
            logger.error("session %s ended, but its end was not recorded: %s", self.session_id, exc)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
