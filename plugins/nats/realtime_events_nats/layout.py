"""Where everything lives on NATS: subjects, streams, buckets, derived from one prefix.

::

    <prefix>.jobs                        session jobs (stream <PREFIX>_JOBS, a work queue)
    <prefix>.rejected                    jobs no worker could run, with the reason (kept)
    <prefix>.events.<session>.<type>     fanned-out events (stream <PREFIX>_EVENTS)
    <prefix>.cmd.<session>               commands, request-reply to the session's worker
    KV <PREFIX>_leases      <session>    which worker runs it (TTL, renewed by heartbeats)
    KV <PREFIX>_checkpoints <session>    the conversation at its last turn boundary

Event types keep their dots, so NATS wildcards mirror the session's patterns:
``<prefix>.events.<session>.response.>`` is ``"response.*"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Layout", "check_session_id", "subject_pattern"]

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` if it can be one token of a subject and a key; else raise."""
    if not isinstance(session_id, str) or not _TOKEN.match(session_id):
        raise ValueError(
            f"a session id is 1 to 128 letters, digits, '_' or '-', not {session_id!r}"
        )
    return session_id


@dataclass(frozen=True)
class Layout:
    """The names of one deployment's subjects, streams and buckets."""

    prefix: str = "rtev"

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.prefix):
            raise ValueError(f"a prefix is letters, digits, '_' or '-', not {self.prefix!r}")

    @property
    def _upper(self) -> str:
        return self.prefix.upper().replace("-", "_")

    @property
    def jobs_stream(self) -> str:
        """The work-queue stream of session jobs."""
        return f"{self._upper}_JOBS"

    @property
    def jobs_subject(self) -> str:
        """Where session jobs are published."""
        return f"{self.prefix}.jobs"

    @property
    def workers_consumer(self) -> str:
        """The durable consumer every worker pulls jobs from."""
        return "workers"

    @property
    def rejected_stream(self) -> str:
        """The stream that keeps rejected jobs."""
        return f"{self._upper}_REJECTED"

    @property
    def rejected_subject(self) -> str:
        """Where a job no worker can run is published, with the reason in a header."""
        return f"{self.prefix}.rejected"

    @property
    def events_stream(self) -> str:
        """The stream of fanned-out events."""
        return f"{self._upper}_EVENTS"

    def events_subject(self, session_id: str = "*", event_type: str = ">") -> str:
        """The subject of one session's events of a type (wildcards by default)."""
        return f"{self.prefix}.events.{session_id}.{event_type}"

    def command_subject(self, session_id: str) -> str:
        """Where commands for a session are sent (request-reply)."""
        return f"{self.prefix}.cmd.{session_id}"

    @property
    def leases_bucket(self) -> str:
        """The key-value bucket of leases: which worker runs which session."""
        return f"{self._upper}_leases"

    @property
    def checkpoints_bucket(self) -> str:
        """The key-value bucket of conversation checkpoints."""
        return f"{self._upper}_checkpoints"


def subject_pattern(pattern: str) -> str:
    """A session event pattern (``"response.*"``, ``"*"``, a name) as a subject tail."""
    if pattern == "*":
        return ">"
    if pattern.endswith(".*"):
        return pattern[:-1] + ">"
    return pattern
