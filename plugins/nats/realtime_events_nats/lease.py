"""Leases: which worker runs a session, in a key-value bucket whose entries expire.

The bucket's TTL is the lease's: a worker renews each of its leases several
times per TTL (a compare-and-set on the revision it holds), so a lease
outlives its worker by at most one TTL. Anyone can read where a session runs.
"""

from __future__ import annotations

import logging
import time

import nats.js.errors
from nats.js.kv import KeyValue

from .wire import LeaseRecord

__all__ = ["Lease", "LeaseTaken", "read_lease"]

logger = logging.getLogger("realtime_events_nats.lease")

# The stream's answers to a compare-and-set whose expected revision is not the last.
_WRONG_LAST = (10071, 10164)


class LeaseTaken(Exception):
    """Another worker holds the lease."""

    def __init__(self, holder: LeaseRecord | None) -> None:
        super().__init__(f"held by {holder.worker if holder else 'another worker'}")
        self.holder = holder


async def read_lease(bucket: KeyValue, session_id: str) -> LeaseRecord | None:
    """The lease of a session, or None when no worker holds it."""
    try:
        entry = await bucket.get(session_id)
    except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
        return None
    if not entry.value:
        return None
    return LeaseRecord.model_validate_json(entry.value)


class Lease:
    """One worker's lease on one session: acquire, renew, release."""

    def __init__(self, bucket: KeyValue, session_id: str, worker: str) -> None:
        self._bucket = bucket
        self.session_id = session_id
        self.worker = worker
        self._revision: int | None = None
        self._since = time.time()

    def _record(self) -> bytes:
        record = LeaseRecord(
            session_id=self.session_id,
            worker=self.worker,
            since=self._since,
            renewed_at=time.time(),
        )
        return record.to_bytes()

    async def acquire(self) -> None:
        """Take the lease; raise :class:`LeaseTaken` if another worker holds it."""
        try:
            self._revision = await self._bucket.create(self.session_id, self._record())
        except nats.js.errors.KeyWrongLastSequenceError:
            raise LeaseTaken(await read_lease(self._bucket, self.session_id)) from None

    async def renew(self) -> bool:
        """Renew the lease; False when it was lost to another worker.

        A lease that expired while nobody took it (NATS was away longer than the
        TTL) is taken again: this worker still runs the session.
        """
        try:
            self._revision = await self._bucket.update(
                self.session_id, self._record(), last=self._revision
            )
            return True
        except nats.js.errors.KeyWrongLastSequenceError:
            pass
        holder = await read_lease(self._bucket, self.session_id)
        if holder is not None and holder.worker != self.worker:
            logger.warning("lost the lease of %s to %s", self.session_id, holder.worker)
            return False
        try:
            self._revision = await self._bucket.create(self.session_id, self._record())
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        logger.info("the lease of %s had expired; taken again", self.session_id)
        return True

    async def release(self) -> None:
        """Give the lease up (the session has ended here)."""
        if await self._delete(self._revision):
            return
        # A renewal cancelled as the session ended can still land, leaving this
        # worker's lease at a revision it never heard of: that one is released
        # too, or it would stand for a whole TTL after the session ended. A lease
        # another worker holds now is theirs to release.
        try:
            entry = await self._bucket.get(self.session_id)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return
        if entry.value and LeaseRecord.model_validate_json(entry.value).worker == self.worker:
            await self._delete(entry.revision)

    async def _delete(self, revision: int | None) -> bool:
        """Delete the lease if it is still at ``revision``; False when it has moved on."""
        try:
            await self._bucket.delete(self.session_id, last=revision)
        except nats.js.errors.APIError as exc:
            if exc.err_code not in _WRONG_LAST:
                raise
            return False
        return True
