"""The client: start sessions, send them commands, follow their events, from any process.

::

    async with Client("nats://127.0.0.1:4222") as client:
        session_id = await client.start({"instructions": "Be brief."})
        await client.send_text(session_id, "Hello!")
        async for event in client.follow(session_id):
            if event.type == "conversation.item.done":
                print(event.item.role, event.item.text)

A command goes by request-reply to whichever worker holds the session. While
no worker does (the job is queued, or the session is moving after its worker
died), the command waits and retries until its timeout.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from types import TracebackType
from typing import Any

import anyio
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js.api import DeliverPolicy

from realtime_events.events import Event

from ._asyncio import require_asyncio
from .errors import (
    CommandRefusedError,
    CommandTimeoutError,
    UnknownCommandError,
    UnknownSessionError,
)
from .fanout import Selection, decode
from .jetstream import Deployment, Limits, connect, ensure
from .layout import Layout, check_session_id
from .lease import read_lease
from .wire import Checkpoint, CommandReply, CommandRequest, JobPayload, LeaseRecord

__all__ = ["Client"]

#: Event types that end a session's stream of events.
_END = frozenset({"nats.session_ended", "nats.session_failed"})


class Client:
    """Start, command and follow sessions run by workers (``async with Client(url)``).

    ``nats`` is the URL(s), or a connection to use (not closed by the client).
    """

    def __init__(
        self,
        nats: str | list[str] | NATS,
        *,
        prefix: str = "rtev",
        limits: Limits | None = None,
        timeout: float = 10.0,
        attempt_timeout: float = 2.0,
    ) -> None:
        self._nats = nats
        self.layout = Layout(prefix)
        self.limits = limits or Limits()
        self.timeout = timeout
        #: How long one try of a command waits for its answer before trying again.
        self.attempt_timeout = attempt_timeout
        self._deployment: Deployment | None = None
        self._own = False

    async def __aenter__(self) -> Client:
        require_asyncio("the NATS client")
        if isinstance(self._nats, NATS):
            nc = self._nats
        else:
            nc = await connect(self._nats, name="realtime-events client")
            self._own = True
        try:
            self._deployment = await ensure(nc, self.layout, self.limits)
        except BaseException:
            if self._own:
                await nc.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        deployment, self._deployment = self._deployment, None
        if deployment is not None and self._own:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await deployment.nc.drain()

    @property
    def deployment(self) -> Deployment:
        """The connection and the streams and buckets (inside ``async with`` only)."""
        if self._deployment is None:
            raise RuntimeError("use the client inside 'async with Client(...)'")
        return self._deployment

    # -- starting --------------------------------------------------------

    async def start(
        self, config: Mapping[str, Any] | None = None, *, session_id: str | None = None
    ) -> str:
        """Queue a session job with ``config`` for the app's factory; return the session id.

        The session exists from now on (commands wait for its worker); a worker
        with a free slot runs it. Starting the same ``session_id`` twice queues
        it once.
        """
        d = self.deployment
        sid = check_session_id(session_id or uuid.uuid4().hex)
        payload = JobPayload(session_id=sid, config=dict(config or {}))
        data = payload.to_bytes()  # checks that the config is JSON before anything is sent
        # The checkpoint first: from now on, the session is known to every process.
        if await self._checkpoint(sid) is None:
            await d.checkpoints.put(
                sid, Checkpoint(session_id=sid, config=payload.config).to_bytes()
            )
        await d.js.publish(
            self.layout.jobs_subject, data, headers={"Nats-Msg-Id": f"start.{sid}"}, timeout=5
        )
        return sid

    # -- where sessions are ----------------------------------------------

    async def lease(self, session_id: str) -> LeaseRecord | None:
        """Which worker holds the session now (None: queued, moving, or ended)."""
        return await read_lease(self.deployment.leases, check_session_id(session_id))

    async def checkpoint(self, session_id: str) -> Checkpoint | None:
        """The session's last checkpoint (its conversation at the last turn), if known."""
        return await self._checkpoint(check_session_id(session_id))

    async def _checkpoint(self, sid: str) -> Checkpoint | None:
        try:
            entry = await self.deployment.checkpoints.get(sid)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            return None
        return Checkpoint.model_validate_json(entry.value) if entry.value else None

    # -- commands --------------------------------------------------------

    async def command(
        self, session_id: str, command: str, /, *, timeout: float | None = None, **args: Any
    ) -> Any:
        """Send a command to the session's worker and return its result.

        Raises :class:`UnknownSessionError` (never started, or ended),
        :class:`UnknownCommandError`, :class:`CommandRefusedError` (the session
        raised; the message says why) or :class:`CommandTimeoutError`.
        """
        sid = check_session_id(session_id)
        timeout = self.timeout if timeout is None else timeout
        data = CommandRequest(command=command, args=args, id=uuid.uuid4().hex).to_bytes()
        subject = self.layout.command_subject(sid)
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CommandTimeoutError(
                    f"{command} for session {sid}: no worker answered within {timeout:g} s "
                    "(the job is queued, or the session is moving to another worker)",
                    session_id=sid,
                    command=command,
                )
            try:
                # Each try is short: a request that reached a worker as it died gets no
                # answer; the retry reaches its successor (the id keeps it from running twice).
                attempt = min(left, self.attempt_timeout)
                msg = await self.deployment.nc.request(subject, data, timeout=attempt)
            except nats.errors.NoRespondersError:
                await self._check_known(sid, command)
                await anyio.sleep(min(pause, max(deadline - time.monotonic(), 0)))
                pause = min(pause * 2, 0.5)
                continue
            except nats.errors.TimeoutError:
                continue  # tried again, until the deadline
            return _result(CommandReply.model_validate_json(msg.data), sid, command)

    async def _check_known(self, sid: str, command: str) -> None:
        checkpoint = await self._checkpoint(sid)
        if checkpoint is None:
            raise UnknownSessionError(
                f"{command}: no session {sid} was started here", session_id=sid, command=command
            )
        if checkpoint.ended:
            why = f" ({checkpoint.reason})" if checkpoint.reason else ""
            raise UnknownSessionError(
                f"{command}: session {sid} has ended{why}", session_id=sid, command=command
            )

    async def send_text(
        self, session_id: str, text: str, *, respond: bool = True, timeout: float | None = None
    ) -> Any:
        """Add a user message to the session (and ask for a response unless ``respond=False``)."""
        return await self.command(
            session_id, "send_text", text=text, respond=respond, timeout=timeout
        )

    async def response_create(self, session_id: str, **overrides: Any) -> Any:
        """Ask the session for a response (queued behind an active one)."""
        return await self.command(session_id, "response.create", **overrides)

    async def response_cancel(self, session_id: str, response_id: str | None = None) -> Any:
        """Cancel the session's active response (or ``response_id``)."""
        return await self.command(session_id, "response.cancel", response_id=response_id)

    async def session_update(self, session_id: str, **fields: Any) -> Any:
        """Change the session's configuration (dialect-neutral names, as ``Session.update``)."""
        return await self.command(session_id, "session.update", **fields)

    async def close(self, session_id: str) -> Any:
        """Close the session; it ends on its worker, its followers see ``nats.session_ended``."""
        return await self.command(session_id, "close")

    # -- following -------------------------------------------------------

    async def follow(
        self, session_id: str, events: Iterable[str] = ("*",), *, until_end: bool = True
    ) -> AsyncIterator[Event]:
        """Yield the session's published events as typed events, in order, from its start.

        ``events`` narrows them with the session's patterns (``"response.*"``).
        The iteration ends after the session's end (``nats.session_ended`` or
        ``nats.session_failed``) unless ``until_end=False``.
        """
        sid = check_session_id(session_id)
        wanted = Selection(events)
        subscription = await self.deployment.js.subscribe(
            self.layout.events_subject(sid),
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        try:
            async for msg in subscription.messages:
                event = decode(msg.data, msg.headers)
                if event.type in wanted:
                    yield event
                if until_end and event.type in _END:
                    return
        finally:
            with anyio.CancelScope(shield=True):
                await subscription.unsubscribe()


def _result(reply: CommandReply, sid: str, command: str) -> Any:
    if reply.ok:
        return reply.result
    message = reply.message or reply.error or "failed"
    if reply.error == "unknown_command":
        raise UnknownCommandError(message, session_id=sid, command=command)
    if reply.error == "unknown_session":
        raise UnknownSessionError(f"{command}: {message}", session_id=sid, command=command)
    raise CommandRefusedError(message, session_id=sid, command=command)
