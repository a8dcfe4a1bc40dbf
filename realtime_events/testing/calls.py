"""SIP calls on the local server: incoming calls, their control endpoints, and the webhook.

The real API rings your webhook with a signed ``realtime.call.incoming`` when a
phone call arrives; you accept it (with a session configuration), reject it,
refer it elsewhere or hang it up with ``POST /v1/realtime/calls/{call_id}/...``,
and attach a session with ``wss://.../v1/realtime?call_id=...``. The local server
does the same on its port, with no phone and no key::

    async with LocalRealtimeServer() as server:
        call = await server.calls.ring("http://127.0.0.1:8000/webhook", secret=SECRET)
        ...                                      # the receiver accepts with realtime_events.calls
        async with Session(url=server.url, call_id=call.id) as session:
            ...

A call is ``ringing`` until accepted or rejected; ``accepted`` until hung up
or referred, which closes the sessions attached to it; then it has ended, and
every further request is answered 409 (``call_ended``). An unknown id is
answered 404 in the real API's error shape.

The HTTP here is the smallest that serves those endpoints: one request per
connection, read with websockets' Sans-I/O parsing helpers, answered with
``Connection: close``.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import anyio
import anyio.abc
import anyio.to_thread

from .._http import post
from .._http_server import HttpRequest
from ..webhooks import sign
from .engine._errors import ClientError
from .engine._session import apply_session, default_config

__all__ = [
    "CallState",
    "HttpRequest",
    "LocalCall",
    "LocalCalls",
]

logger = logging.getLogger("realtime_events.testing.calls")

CallState = Literal["ringing", "accepted", "rejected", "referred", "hung_up"]

#: The states after which a call is over.
ENDED: frozenset[CallState] = frozenset({"rejected", "referred", "hung_up"})

#: The largest request body read (a session configuration is far smaller).
MAX_BODY = 1 << 20

#: Closes one session attached to a call.
Closer = Callable[[], Awaitable[None]]


@dataclass
class LocalCall:
    """One call on the local server: its state, and what the control requests said."""

    id: str
    sip_headers: list[dict[str, str]]
    state: CallState = "ringing"
    #: The accepted session configuration, in the GA wire shape (``type``, ``audio``...).
    config: dict[str, Any] | None = None
    #: The SIP status of a reject (None: the server's default, 603).
    status_code: int | None = None
    #: Where a refer sent the call.
    target_uri: str | None = None
    #: The webhook receiver's HTTP status (None: no answer, see ``webhook_error``).
    webhook_status: int | None = None
    webhook_error: str | None = None
    #: Close the sessions attached to the call (given by the server when one attaches).
    closers: list[Closer] = field(default_factory=list, repr=False)

    @property
    def ended(self) -> bool:
        """True once the call was rejected, referred or hung up."""
        return self.state in ENDED

    def event(self) -> dict[str, Any]:
        """The ``data`` of this call's ``realtime.call.incoming`` webhook."""
        return {"call_id": self.id, "sip_headers": list(self.sip_headers)}


#: An HTTP answer: the status and the JSON body (None: empty).
Response = tuple[int, dict[str, Any] | None]


def _error(status: int, message: str, code: str | None, param: str | None = None) -> Response:
    """An answer in the real API's error shape."""
    body = {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }
    return status, body


_DEFAULT_SIP_HEADERS = (
    ("From", "sip:+15555550123@sip.example.com"),
    ("To", "sip:+18005550100@sip.example.com"),
)


class LocalCalls:
    """The calls of one local server: made by :meth:`ring`, driven over HTTP by :meth:`answer`."""

    def __init__(self) -> None:
        self.calls: dict[str, LocalCall] = {}
        self._changed: anyio.Event | None = None

    def __getitem__(self, call_id: str) -> LocalCall:
        return self.calls[call_id]

    def create(
        self,
        *,
        call_id: str | None = None,
        sip_headers: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
    ) -> LocalCall:
        """A new ringing call (no webhook sent: :meth:`ring` sends one)."""
        call_id = call_id or f"rtc_{secrets.token_hex(16)}"
        if call_id in self.calls:
            raise ValueError(f"call {call_id!r} exists already")
        pairs = sip_headers.items() if isinstance(sip_headers, Mapping) else sip_headers
        headers = [
            {"name": name, "value": value} for name, value in (pairs or _DEFAULT_SIP_HEADERS)
        ]
        headers.append({"name": "Call-ID", "value": secrets.token_hex(8)})
        call = LocalCall(call_id, headers)
        self.calls[call_id] = call
        self._notify()
        return call

    async def ring(
        self,
        webhook_url: str,
        *,
        secret: str,
        call_id: str | None = None,
        sip_headers: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> LocalCall:
        """Make a ringing call and POST its signed ``realtime.call.incoming`` to ``webhook_url``.

        Returns once the receiver has answered (it may accept the call before
        that, as the real API allows) or failed; ``webhook_status`` holds its
        HTTP status. ``secret`` is the endpoint's ``whsec_...`` secret.
        """
        call = self.create(call_id=call_id, sip_headers=sip_headers)
        event = {
            "object": "event",
            "id": f"evt_{secrets.token_hex(16)}",
            "type": "realtime.call.incoming",
            "created_at": int(time.time()),
            "data": call.event(),
        }
        body = json.dumps(event).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)",
            **sign(body, secret=secret),
        }

        def deliver() -> int:
            status, _text = post(webhook_url, body, headers, timeout, error=_DeliveryError)
            return status

        try:
            call.webhook_status = await anyio.to_thread.run_sync(deliver, abandon_on_cancel=True)
        except _DeliveryError as exc:
            call.webhook_status, call.webhook_error = exc.status, str(exc)
        except Exception as exc:  # a 401/403 from the receiver, as AuthenticationError
            call.webhook_status, call.webhook_error = getattr(exc, "status", None), str(exc)
        if call.webhook_error:
            logger.info("webhook for %s: %s", call.id, call.webhook_error)
        return call

    async def wait(self, call_id: str, *states: CallState, timeout: float = 5.0) -> LocalCall:
        """Wait until the call is in one of ``states`` (any end when none are given)."""
        wanted = frozenset(states) or ENDED
        with anyio.move_on_after(timeout):
            while True:
                call = self.calls.get(call_id)
                if call is not None and call.state in wanted:
                    return call
                if self._changed is None:
                    self._changed = anyio.Event()
                await self._changed.wait()
        state = self.calls[call_id].state if call_id in self.calls else "unknown"
        raise TimeoutError(
            f"call {call_id} not {' or '.join(sorted(wanted))} within {timeout:g} s (it is {state})"
        )

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # ------------------------------------------------------------ the endpoints

    async def answer(self, request: HttpRequest) -> Response:
        """Answer a call control request: ``POST /v1/realtime/calls/{call_id}/{action}``."""
        parts = urlsplit(request.path).path.strip("/").split("/")
        if len(parts) != 5 or parts[:3] != ["v1", "realtime", "calls"]:
            return _error(404, f"Invalid URL ({request.method} {request.path})", None)
        call_id, action = unquote(parts[3]), parts[4]
        handler = {
            "accept": self._accept,
            "reject": self._reject,
            "refer": self._refer,
            "hangup": self._hangup,
        }.get(action)
        if handler is None or request.method != "POST":
            return _error(404, f"Invalid URL ({request.method} {request.path})", None)
        try:
            body = json.loads(request.body) if request.body.strip() else {}
        except ValueError:
            return _error(400, "We could not parse the JSON body of your request.", None)
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.", None)
        call = self.calls.get(call_id)
        if call is None:
            return _error(404, f"Call with id '{call_id}' not found.", "call_not_found")
        if call.ended:
            return _error(409, f"Call '{call_id}' has ended ({call.state}).", "call_ended")
        return await handler(call, body)

    async def _accept(self, call: LocalCall, body: dict[str, Any]) -> Response:
        if call.state != "ringing":
            return _error(409, f"Call '{call.id}' was already accepted.", "call_already_accepted")
        try:
            # Checked as the engine will read it, so a bad config fails here, not on attach.
            apply_session(default_config("ga"), body, "ga", require_type=True)
        except ClientError as exc:
            return _error(400, exc.message, exc.code, exc.param)
        call.state, call.config = "accepted", dict(body)
        self._notify()
        return 200, None

    async def _reject(self, call: LocalCall, body: dict[str, Any]) -> Response:
        if call.state != "ringing":
            message = f"Call '{call.id}' was accepted: hang it up instead."
            return _error(409, message, "call_already_accepted")
        status = body.get("status_code")
        if status is not None and (not isinstance(status, int) or not 400 <= status <= 699):
            message = f"Invalid status_code {status!r}: expected a SIP status from 400 to 699."
            return _error(400, message, "invalid_value", "status_code")
        call.state, call.status_code = "rejected", status
        self._notify()
        return 200, None

    async def _refer(self, call: LocalCall, body: dict[str, Any]) -> Response:
        target = body.get("target_uri")
        if not isinstance(target, str) or not target.startswith(("tel:", "sip:", "sips:")):
            message = f"Invalid target_uri {target!r}: expected a tel: or sip: URI."
            return _error(400, message, "invalid_value", "target_uri")
        if call.state != "accepted":
            message = f"Call '{call.id}' is ringing: accept it before referring it."
            return _error(409, message, "call_not_accepted")
        call.target_uri = target
        await self._end(call, "referred")
        return 200, None

    async def _hangup(self, call: LocalCall, body: dict[str, Any]) -> Response:
        await self._end(call, "hung_up")
        return 200, None

    async def _end(self, call: LocalCall, state: CallState) -> None:
        call.state = state
        self._notify()
        closers, call.closers = call.closers, []
        for close in closers:
            await close()

    # ------------------------------------------------------- attaching sessions

    def refusal(self, call_id: str, dialect: str) -> tuple[int, str] | None:
        """Why a WebSocket may not attach to ``call_id`` (status and body), or None."""
        call = self.calls.get(call_id)
        if call is None:
            status, body = _error(404, f"Call with id '{call_id}' not found.", "call_not_found")
        elif call.ended:
            status, body = _error(409, f"Call '{call_id}' has ended ({call.state}).", "call_ended")
        elif call.state != "accepted":
            message = f"Call '{call_id}' has not been accepted: accept it before attaching."
            status, body = _error(409, message, "call_not_accepted")
        elif dialect != "ga":
            status, body = _error(400, "Calls are served in the GA protocol only.", None)
        else:
            return None
        return status, json.dumps(body)


class _DeliveryError(Exception):
    def __init__(self, message: str, status: int | None, body: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
