"""What travels over NATS: jobs, leases, checkpoints, commands and their replies.

Each is a pydantic model serialised as JSON, so a payload from elsewhere (a
webhook in another language) is validated where it enters, with a message
that says which field is wrong.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InvalidJobError
from .layout import check_session_id

__all__ = [
    "Checkpoint",
    "CommandReply",
    "CommandRequest",
    "JobPayload",
    "LeaseRecord",
    "parse_job",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def to_bytes(self) -> bytes:
        """The JSON payload."""
        return self.model_dump_json().encode()


class JobPayload(_Wire):
    """A session job: which session, and the configuration the app's factory reads."""

    session_id: str
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: float = Field(default_factory=time.time)

    @field_validator("session_id")
    @classmethod
    def _token(cls, value: str) -> str:
        return check_session_id(value)


def parse_job(data: bytes) -> JobPayload:
    """Validate a job payload; raise :class:`InvalidJobError` saying what is wrong."""
    try:
        return JobPayload.model_validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'payload'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidJobError(f"invalid session job ({problems}): {data[:200]!r}") from None


class LeaseRecord(_Wire):
    """Who runs a session, since when; renewed by the worker's heartbeats."""

    session_id: str
    worker: str
    since: float
    renewed_at: float


class Checkpoint(_Wire):
    """A session's conversation at its last turn boundary, and whether it has ended.

    ``items`` are ``conversation.item.create`` payloads (the mirror's
    ``replayable()``), ids included, so a worker that takes the session over
    recreates the same items in a new server session.
    """

    session_id: str
    config: dict[str, Any] = Field(default_factory=dict)
    items: list[dict[str, Any]] = Field(default_factory=list)
    turns: int = 0
    worker: str | None = None
    saved_at: float = Field(default_factory=time.time)
    ended: bool = False
    reason: str | None = None


class CommandRequest(_Wire):
    """A command for a session: its name, keyword arguments, and an id.

    The id makes a retry safe: a worker answers a request id it has seen with
    its first reply instead of carrying the command out twice.
    """

    command: str
    args: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None


ErrorKind = Literal["unknown_command", "refused", "invalid", "unknown_session"]


class CommandReply(_Wire):
    """The worker's answer: a result, or an error of a known kind with its message."""

    ok: bool
    result: Any = None
    error: ErrorKind | None = None
    message: str | None = None
    worker: str | None = None
