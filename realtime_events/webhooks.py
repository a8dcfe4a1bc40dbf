"""Verify and read OpenAI's signed webhooks, such as ``realtime.call.incoming`` for SIP calls.

OpenAI signs each delivery the Standard Webhooks way: the headers
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64>``,
several separated by spaces while a secret rotates), the signature an
HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed by the endpoint's secret
(``whsec_<base64>``). Verify on the raw body, before parsing it::

    event = unwrap(body, request.headers, secret=os.environ["OPENAI_WEBHOOK_SECRET"])
    if isinstance(event, IncomingCallEvent):
        await Calls().accept(event.data.call_id, instructions="...")

:func:`unwrap` accepts exactly the signatures the official SDK's
``client.webhooks.unwrap`` accepts; a bad signature, a timestamp out of the
tolerance (a replay), a missing header or a malformed body raise
:class:`WebhookError`, whose ``reason`` says which.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import WebhookError

__all__ = [
    "DEFAULT_TOLERANCE",
    "IncomingCall",
    "IncomingCallEvent",
    "SipHeader",
    "WebhookError",
    "WebhookEvent",
    "sign",
    "unwrap",
    "verify",
]

#: Seconds a delivery's timestamp may be away from this machine's clock (the SDK's default).
DEFAULT_TOLERANCE = 300

#: The environment variable the official SDK reads the secret from, read here too.
SECRET_VARIABLE = "OPENAI_WEBHOOK_SECRET"


class SipHeader(BaseModel):
    """A header of the SIP INVITE: untrusted caller metadata."""

    model_config = ConfigDict(extra="allow")

    name: str
    value: str


class IncomingCall(BaseModel):
    """The ``data`` of ``realtime.call.incoming``: the call to accept, reject or refer."""

    model_config = ConfigDict(extra="allow")

    call_id: str
    sip_headers: list[SipHeader]
    #: ``"srtp"``, ``"rtp"``, another value, or None when unknown.
    sip_media_security: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of the SIP header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((h.value for h in self.sip_headers if h.name.lower() == wanted), None)


class IncomingCallEvent(BaseModel):
    """``realtime.call.incoming``: a SIP call rings and waits for your answer."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: Literal["realtime.call.incoming"]
    created_at: int
    data: IncomingCall
    object: Literal["event"] | None = None


class WebhookEvent(BaseModel):
    """Any other webhook event, every field kept (``data`` as it came)."""

    model_config = ConfigDict(extra="allow")

    id: str
    type: str
    created_at: int | None = None
    data: dict[str, Any] = {}
    object: str | None = None


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name and isinstance(value, str):
            return value
    raise WebhookError(f"the request has no {name} header: it is not a signed webhook", "headers")


def _secret_bytes(secret: str | None) -> bytes:
    if secret is None:
        secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        raise ValueError(f"no webhook secret: pass secret=... or set {SECRET_VARIABLE}")
    if not secret.startswith("whsec_"):
        return secret.encode()
    try:
        # Lenient like the SDK (characters outside the alphabet are skipped), so
        # the two agree on every secret.
        return base64.b64decode(secret.removeprefix("whsec_"))
    except binascii.Error:
        raise ValueError("the webhook secret is not base64 after its whsec_ prefix") from None


def _body_text(payload: str | bytes) -> str:
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookError("the webhook body is not UTF-8", "body") from None


def _signature(key: bytes, webhook_id: str, timestamp: str, body: str) -> str:
    signed = f"{webhook_id}.{timestamp}.{body}".encode()
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(
    payload: str | bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check that ``payload`` was signed with ``secret`` within ``tolerance`` seconds of now.

    ``payload`` is the raw body as received (parsing and re-serializing it
    would change the bytes signed). ``headers`` is any mapping of the request's
    headers, looked up case-insensitively. ``secret`` defaults to
    ``$OPENAI_WEBHOOK_SECRET``; a missing secret raises ``ValueError``.
    Raises :class:`WebhookError` otherwise, in the SDK's order: a missing
    header, a bad or out-of-tolerance timestamp, then no matching signature.
    """
    key = _secret_bytes(secret)
    signature_header = _header(headers, "webhook-signature")
    timestamp = _header(headers, "webhook-timestamp")
    webhook_id = _header(headers, "webhook-id")
    try:
        # int() as the SDK reads it, so both accept the same headers.
        seconds = int(timestamp)
    except ValueError:
        raise WebhookError(
            f"webhook-timestamp {timestamp!r} is not a number", "timestamp"
        ) from None
    now = int(time.time())
    if now - seconds > tolerance:
        raise WebhookError(
            f"the webhook was signed {now - seconds} s ago, beyond the {tolerance} s "
            "tolerance: a replay, or this machine's clock is off",
            "timestamp",
        )
    if seconds > now + tolerance:
        raise WebhookError(
            f"the webhook's timestamp is {seconds - now} s in the future, beyond the "
            f"{tolerance} s tolerance: this machine's clock is off",
            "timestamp",
        )
    expected = _signature(key, webhook_id, timestamp, _body_text(payload)).encode()
    # Each space-separated part is "v1,<base64>" (a bare value is compared as it is,
    # as the SDK does); any match will do, so a secret can rotate.
    given = [part.removeprefix("v1,") for part in signature_header.split()]
    if not any(hmac.compare_digest(expected, part.encode()) for part in given):
        raise WebhookError(
            "no webhook signature matches the secret: the body was changed, or the "
            "secret is not this endpoint's",
            "signature",
        )


def unwrap(
    payload: str | bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> IncomingCallEvent | WebhookEvent:
    """Verify a delivery (see :func:`verify`) and parse its event.

    ``realtime.call.incoming`` becomes an :class:`IncomingCallEvent`; any other
    type a :class:`WebhookEvent`. A body that is not a JSON object with ``id``
    and ``type``, or an incoming call without ``call_id`` and ``sip_headers``,
    raises :class:`WebhookError` with reason ``"body"``.
    """
    verify(payload, headers, secret=secret, tolerance=tolerance)
    body = _body_text(payload)
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise WebhookError(f"the webhook body is not JSON: {exc}", "body") from None
    if not isinstance(event, dict):
        raise WebhookError(f"the webhook body is a JSON {type(event).__name__}", "body")
    model = IncomingCallEvent if event.get("type") == "realtime.call.incoming" else WebhookEvent
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        kind = event.get("type", "webhook")
        raise WebhookError(f"malformed {kind} event: {problems}", "body") from None


def sign(
    payload: str | bytes,
    *,
    secret: str,
    webhook_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers OpenAI would send with ``payload``, signed with ``secret``.

    For tests and local servers (``LocalRealtimeServer`` raises its incoming
    calls with it). ``webhook_id`` defaults to a fresh ``wh_...`` id and
    ``timestamp`` to now.
    """
    webhook_id = webhook_id or f"wh_{secrets.token_hex(16)}"
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = _signature(_secret_bytes(secret), webhook_id, stamp, _body_text(payload))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,{signature}",
    }
