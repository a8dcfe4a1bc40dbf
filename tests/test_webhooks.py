"""Signed webhooks: we accept what the official SDK's unwrap accepts, and refuse the rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from openai import OpenAI

from realtime_events.webhooks import (
    IncomingCallEvent,
    WebhookError,
    WebhookEvent,
    sign,
    unwrap,
    verify,
)

SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes....").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret, also 32 bytes...").decode()

EVENT = {
    "object": "event",
    "id": "evt_685343a1381c819085d44c354e1b330e",
    "type": "realtime.call.incoming",
    "created_at": 1750287018,
    "data": {
        "call_id": "rtc_u1_9c6574da8b8a41a18da9308f4ad974ce",
        "sip_headers": [
            {"name": "From", "value": "sip:+142555512112@sip.example.com"},
            {"name": "To", "value": "sip:+18005551212@sip.example.com"},
            {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"},
        ],
    },
}
BODY = json.dumps(EVENT)


def signature(secret: str, webhook_id: str, timestamp: str, body: str) -> str:
    """Standard Webhooks' v1 signature, written from the spec (not from the code under test)."""
    key = base64.b64decode(secret[len("whsec_") :]) if secret.startswith("whsec_") else secret
    raw = key if isinstance(key, bytes) else key.encode()
    digest = hmac.new(raw, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def headers(
    *,
    body: str = BODY,
    secret: str = SECRET,
    age: int = 0,
    webhook_id: str = "wh_685342e6c53c8190a1be43f081506c52",
    timestamp: str | None = None,
) -> dict[str, str]:
    stamp = timestamp if timestamp is not None else str(int(time.time()) - age)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + signature(secret, webhook_id, stamp, body),
        "content-type": "application/json",
    }


def sdk_accepts(payload: str | bytes, given: dict[str, str], secret: str) -> bool:
    client = OpenAI(api_key="sk-unused", webhook_secret=secret)
    try:
        client.webhooks.unwrap(payload, given)
    except ValueError:  # InvalidWebhookSignatureError, a missing header, bad JSON
        return False
    return True


def ours_accepts(payload: str | bytes, given: dict[str, str], secret: str) -> bool:
    try:
        unwrap(payload, given, secret=secret)
    except WebhookError:
        return False
    return True


def _swap_case(given: dict[str, str]) -> dict[str, str]:
    return {name.title(): value for name, value in given.items()}


def _without(name: str) -> dict[str, str]:
    return {key: value for key, value in headers().items() if key != name}


def _with_signature(value: str) -> dict[str, str]:
    return {**headers(), "webhook-signature": value}


def _good_signature() -> str:
    return headers()["webhook-signature"]


ACCEPTED = True
REFUSED = False

CASES: list[tuple[str, Any, Any, str, bool]] = [
    ("signed", BODY, headers, SECRET, ACCEPTED),
    ("signed, bytes body", BODY.encode(), headers, SECRET, ACCEPTED),
    ("header names in another case", BODY, lambda: _swap_case(headers()), SECRET, ACCEPTED),
    ("a raw secret without whsec_", BODY, lambda: headers(secret="plain"), "plain", ACCEPTED),
    ("signed 250 s ago", BODY, lambda: headers(age=250), SECRET, ACCEPTED),
    ("signed 250 s ahead", BODY, lambda: headers(age=-250), SECRET, ACCEPTED),
    ("a rotated secret: two signatures", BODY, lambda: _with_signature(
        "v1," + base64.b64encode(b"x" * 32).decode() + " " + _good_signature()), SECRET, ACCEPTED),
    ("a bare signature without v1,", BODY, lambda: _with_signature(
        _good_signature().removeprefix("v1,")), SECRET, ACCEPTED),
    ("the body changed", BODY.replace("rtc_u1", "rtc_u2"), headers, SECRET, REFUSED),
    ("another endpoint's secret", BODY, headers, OTHER_SECRET, REFUSED),
    ("signed 400 s ago (a replay)", BODY, lambda: headers(age=400), SECRET, REFUSED),
    ("signed 400 s ahead", BODY, lambda: headers(age=-400), SECRET, REFUSED),
    ("a timestamp not a number", BODY, lambda: headers(timestamp="now"), SECRET, REFUSED),
    ("another signature version", BODY, lambda: _with_signature(
        "v2," + _good_signature().removeprefix("v1,")), SECRET, REFUSED),
    ("no signature", BODY, lambda: _with_signature(""), SECRET, REFUSED),
    ("no webhook-signature header", BODY, lambda: _without("webhook-signature"), SECRET, REFUSED),
    ("no webhook-timestamp header", BODY, lambda: _without("webhook-timestamp"), SECRET, REFUSED),
    ("no webhook-id header", BODY, lambda: _without("webhook-id"), SECRET, REFUSED),
    ("a signed body that is not JSON", "{x", lambda: headers(body="{x"), SECRET, REFUSED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "payload", "make_headers", "secret", "accepted"), CASES, ids=[c[0] for c in CASES]
)
def test_we_accept_exactly_what_the_sdk_accepts(
    case: str, payload: str | bytes, make_headers: Any, secret: str, accepted: bool
) -> None:
    given = make_headers()
    assert sdk_accepts(payload, given, secret) is accepted, f"the SDK disagrees: {case}"
    assert ours_accepts(payload, given, secret) is accepted, case


def test_the_sdk_accepts_what_sign_makes() -> None:
    signed = sign(BODY, secret=SECRET)
    assert signed["webhook-id"].startswith("wh_")
    assert signed["webhook-signature"].startswith("v1,")
    assert sdk_accepts(BODY, signed, SECRET)
    assert not sdk_accepts(BODY, sign(BODY, secret=OTHER_SECRET), SECRET)
    # And sign agrees with the spec's signature, given the same id and time.
    fixed = sign(BODY, secret=SECRET, webhook_id="wh_1", timestamp=1750287078)
    assert fixed["webhook-signature"] == "v1," + signature(SECRET, "wh_1", "1750287078", BODY)


def test_an_incoming_call_is_typed() -> None:
    event = unwrap(BODY, headers(), secret=SECRET)
    assert isinstance(event, IncomingCallEvent)
    assert event.data.call_id == EVENT["data"]["call_id"]  # type: ignore[index]
    assert event.data.header("from") == "sip:+142555512112@sip.example.com"
    assert event.data.header("X-Missing") is None
    assert event.data.sip_media_security is None
    assert event.object == "event"


def test_other_events_keep_every_field() -> None:
    body = json.dumps(
        {"id": "evt_1", "type": "response.completed", "created_at": 1, "data": {"id": "resp_1"}}
    )
    event = unwrap(body, headers(body=body), secret=SECRET)
    assert isinstance(event, WebhookEvent)
    assert (event.type, event.data) == ("response.completed", {"id": "resp_1"})


@pytest.mark.parametrize(
    ("make_headers", "reason", "words"),
    [
        (lambda: headers(age=400), "timestamp", "400 s ago"),
        (lambda: headers(age=-400), "timestamp", "in the future"),
        (lambda: headers(secret=OTHER_SECRET), "signature", "no webhook signature matches"),
        (lambda: _without("webhook-id"), "headers", "no webhook-id header"),
    ],
)
def test_errors_say_what_was_wrong(make_headers: Any, reason: str, words: str) -> None:
    with pytest.raises(WebhookError) as caught:
        verify(BODY, make_headers(), secret=SECRET)
    assert caught.value.reason == reason
    assert words in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON list"),
        (json.dumps({**EVENT, "data": {"sip_headers": []}}), "data.call_id"),
        (json.dumps({"type": "response.completed"}), "id"),
    ],
)
def test_a_malformed_body_is_refused_after_the_signature(body: str, words: str) -> None:
    with pytest.raises(WebhookError) as caught:
        unwrap(body, headers(body=body), secret=SECRET)
    assert caught.value.reason == "body"
    assert words in str(caught.value)


def test_a_body_that_is_not_utf8_is_refused() -> None:
    body = b'{"id": "\xff"}'
    stamp = str(int(time.time()))
    given = {"webhook-id": "wh_1", "webhook-timestamp": stamp, "webhook-signature": "v1,x"}
    with pytest.raises(WebhookError) as caught:
        verify(body, given, secret=SECRET)
    assert caught.value.reason == "body"


def test_the_secret_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    verify(BODY, headers())
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET")
    with pytest.raises(ValueError, match="OPENAI_WEBHOOK_SECRET"):
        verify(BODY, headers())
