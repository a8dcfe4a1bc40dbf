"""SIP calls end to end without a key: the webhook, call control, a session attached by call_id.

The local server rings a webhook receiver (a plain ``http.server`` here), the
receiver verifies and accepts, a Session attaches to the call and talks, and a
hangup closes it. The call helpers are also checked against an independent
HTTP peer (the request shape of the real API), and the local server's
endpoints against the official SDK's client.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import anyio.to_thread
import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.webhooks import RealtimeCallIncomingWebhookEvent

from realtime_events import (
    AuthenticationError,
    HandshakeRejectedError,
    InsecureKeyError,
    InvalidConfigError,
    Session,
)
from realtime_events.calls import CallError, CallNotFoundError, Calls
from realtime_events.connection import connect
from realtime_events.testing import LocalRealtimeServer
from realtime_events.webhooks import IncomingCallEvent, WebhookError, unwrap

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + base64.b64encode(b"local webhook secret, 32 bytes..").decode()
BOUND = 10.0  # a generous bound on every wait: none of these take more than a moment


# --------------------------------------------------------------- HTTP peers


@dataclass
class Received:
    """What a peer received: one entry per request."""

    requests: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def http_peer(
    answer: Callable[[dict[str, Any]], tuple[int, bytes]],
) -> Iterator[tuple[str, Received]]:
    """A plain ``http.server`` on loopback: records each POST, answers with ``answer``."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": self.rfile.read(length),
            }
            received.requests.append(request)
            status, body = answer(request)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def ok(request: dict[str, Any]) -> tuple[int, bytes]:
    return 200, b""


# --------------------------------------------------------- the whole flow


async def test_ring_verify_accept_attach_talk_hang_up() -> None:
    async with LocalRealtimeServer() as server:
        calls = Calls(base_url=server.http_url)
        seen: list[IncomingCallEvent] = []

        def receiver(request: dict[str, Any]) -> tuple[int, bytes]:
            # What a web app's webhook route does: verify, then answer the call.
            try:
                event = unwrap(request["body"], request["headers"], secret=SECRET)
            except WebhookError:
                return 400, b""
            assert isinstance(event, IncomingCallEvent)
            seen.append(event)
            calls.accept_sync(
                event.data.call_id,
                instructions="You answer the phone for a bakery.",
                voice="marin",
                output_modalities=["text"],
            )
            return 200, b""

        with http_peer(receiver) as (url, _received):
            call = await server.calls.ring(f"{url}/webhook", secret=SECRET)
        assert call.webhook_status == 200
        assert [event.data.call_id for event in seen] == [call.id]
        assert seen[0].data.header("From") is not None
        assert call.state == "accepted"
        assert call.config is not None
        assert call.config["audio"]["output"]["voice"] == "marin"

        session = Session(url=server.url, call_id=call.id)
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                await group.start(session.run)
                # The session answering the call runs with the accepted configuration.
                engine = server.connection.engine
                assert engine.config.instructions == "You answer the phone for a bakery."
                assert session.server_config["voice"] == "marin"
                assert session.server_config["output_modalities"] == ["text"]
                reply = await session.ask("Hello!", timeout=BOUND)
                assert reply.text
                await server.connection.send_dtmf("7")
                press = await session.wait_for(
                    "input_audio_buffer.dtmf_event_received", timeout=BOUND
                )
                assert press.event == "7"
                await calls.hangup(call.id)
            # run() returned: the server closed the call's session normally.
        assert session.closed
        assert server.calls[call.id].state == "hung_up"
        assert server.connection.websocket.close_error is not None
        assert server.connection.websocket.close_error.code == 1000


async def test_the_sdk_verifies_the_local_webhook() -> None:
    async with LocalRealtimeServer() as server:
        with http_peer(ok) as (url, received):
            call = await server.calls.ring(
                url, secret=SECRET, sip_headers={"From": "sip:+15550001111@example.com"}
            )
    [request] = received.requests
    assert request["headers"]["content-type"] == "application/json"
    event = OpenAI(api_key="sk-unused", webhook_secret=SECRET).webhooks.unwrap(
        request["body"], request["headers"]
    )
    assert isinstance(event, RealtimeCallIncomingWebhookEvent)
    assert event.data.call_id == call.id
    assert event.data.sip_headers[0].value == "sip:+15550001111@example.com"
    assert call.webhook_status == 200


async def test_a_receiver_that_refuses_or_is_gone_is_recorded() -> None:
    async with LocalRealtimeServer() as server:
        with http_peer(lambda request: (400, b"bad signature")) as (url, _received):
            refused = await server.calls.ring(url, secret=SECRET)
        gone = await server.calls.ring(url, secret=SECRET, timeout=BOUND)
    assert refused.webhook_status == 400
    assert refused.state == "ringing"
    assert gone.webhook_status is None
    assert gone.webhook_error is not None


# ----------------------------------------------- call control on the local server


@pytest.mark.parametrize("action", ["accept", "reject", "refer", "hangup"])
async def test_an_unknown_call_is_404_in_the_api_shape(action: str) -> None:
    async with LocalRealtimeServer() as server:
        calls = Calls(base_url=server.http_url)
        run: dict[str, Callable[[], Any]] = {
            "accept": lambda: calls.accept("rtc_unknown", instructions="hi"),
            "reject": lambda: calls.reject("rtc_unknown"),
            "refer": lambda: calls.refer("rtc_unknown", "tel:+14155550123"),
            "hangup": lambda: calls.hangup("rtc_unknown"),
        }
        with pytest.raises(CallNotFoundError) as caught:
            await run[action]()
        # The SDK reads the same answer as its own NotFoundError, with the API's error body.
        client = OpenAI(api_key="sk-unused", base_url=server.http_url, max_retries=0)
        with pytest.raises(openai.NotFoundError) as sdk:
            await anyio.to_thread.run_sync(lambda: client.realtime.calls.hangup("rtc_unknown"))
    error = caught.value
    assert isinstance(error, LookupError)
    assert (error.status, error.code, error.call_id) == (404, "call_not_found", "rtc_unknown")
    assert "rtc_unknown" in str(error)
    assert "not found" in str(error)
    assert sdk.value.body == {
        "message": "Call with id 'rtc_unknown' not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": "call_not_found",
    }


async def test_an_ended_call_refuses_every_action() -> None:
    async with LocalRealtimeServer() as server:
        calls = Calls(base_url=server.http_url)
        call = server.calls.create()
        await calls.reject(call.id, status_code=486)
        assert (call.state, call.status_code) == ("rejected", 486)
        attempts: list[Callable[[], Any]] = [
            lambda: calls.accept(call.id),
            lambda: calls.reject(call.id),
            lambda: calls.refer(call.id, "sip:agent@example.com"),
            lambda: calls.hangup(call.id),
        ]
        for attempt in attempts:
            with pytest.raises(CallError) as caught:
                await attempt()
            assert not isinstance(caught.value, CallNotFoundError)
            assert (caught.value.status, caught.value.code) == (409, "call_ended")
            assert "has ended" in str(caught.value)


async def test_the_sdk_drives_the_local_endpoints() -> None:
    async with LocalRealtimeServer() as server:
        client = OpenAI(api_key="sk-unused", base_url=server.http_url, max_retries=0)
        first, second = server.calls.create(), server.calls.create()

        def drive() -> None:
            client.realtime.calls.accept(
                first.id,
                type="realtime",
                instructions="Transfer every caller.",
                audio={"output": {"voice": "cedar"}},
            )
            client.realtime.calls.refer(first.id, target_uri="tel:+14155550123")
            client.realtime.calls.reject(second.id, status_code=603)

        await anyio.to_thread.run_sync(drive)
    assert first.state == "referred"
    assert first.target_uri == "tel:+14155550123"
    assert first.config == {
        "type": "realtime",
        "instructions": "Transfer every caller.",
        "audio": {"output": {"voice": "cedar"}},
    }
    assert (second.state, second.status_code) == ("rejected", 603)


async def test_control_requests_refused_by_the_server_say_why() -> None:
    async with LocalRealtimeServer() as server:
        calls = Calls(base_url=server.http_url)
        call = server.calls.create()
        with pytest.raises(CallError) as refer_early:
            await calls.refer(call.id, "tel:+14155550123")
        with pytest.raises(CallError) as unknown_field:
            await calls.accept(call.id, no_such_setting=1)
        with pytest.raises(InvalidConfigError):  # refused before anything is sent
            await calls.accept(call.id, voice="nobody")
        assert call.state == "ringing"
        await calls.accept(call.id)
        with pytest.raises(CallError) as twice:
            await calls.accept(call.id)
    assert (refer_early.value.status, refer_early.value.code) == (409, "call_not_accepted")
    assert unknown_field.value.status == 400
    assert "no_such_setting" in str(unknown_field.value)
    assert twice.value.status == 409
    assert "already accepted" in str(twice.value)


async def test_a_session_attaches_only_to_an_accepted_call() -> None:
    async with LocalRealtimeServer() as server:
        ringing = server.calls.create()
        for call_id, status in (("rtc_unknown", 404), (ringing.id, 409)):
            with pytest.raises(HandshakeRejectedError) as caught:
                await connect(f"{server.url}?call_id={call_id}")
            assert caught.value.status == status
            assert call_id in caught.value.body
        assert server.connections == []


async def test_a_referred_call_closes_its_sessions() -> None:
    async with LocalRealtimeServer() as server:
        calls = Calls(base_url=server.http_url)
        call = server.calls.create()
        await calls.accept(call.id, instructions="Hello")
        with anyio.fail_after(BOUND):
            async with Session(url=server.url, call_id=call.id) as first:
                second = Session(url=server.url, call_id=call.id)
                async with anyio.create_task_group() as group:
                    await group.start(second.run)
                    await calls.refer(call.id, "sip:agent@example.com")
                # Both ended: the one run() returned for, and the one still entered.
                await server.calls.wait(call.id, "referred", timeout=BOUND)
                assert second.closed
        assert first.closed
        assert all(c.websocket.closed for c in server.connections)


async def test_the_server_key_guards_the_endpoints() -> None:
    async with LocalRealtimeServer(api_key="sk-local") as server:
        call = server.calls.create()
        with pytest.raises(AuthenticationError) as caught:
            await Calls(base_url=server.http_url).accept(call.id)
        await Calls("sk-local", base_url=server.http_url).accept(call.id)
    assert caught.value.status == 401
    assert call.state == "accepted"


async def test_send_dtmf_presses_each_key_in_order() -> None:
    async with LocalRealtimeServer() as server, Session(url=server.url) as session:
        keys: list[str] = []
        done = anyio.Event()

        @session.on("input_audio_buffer.dtmf_event_received")
        def pressed(event: Any) -> None:
            keys.append(event.event)
            if len(keys) == 4:
                done.set()

        with pytest.raises(ValueError, match="DTMF"):
            await server.connection.send_dtmf("1x")
        await server.connection.send_dtmf("12*#")
        with anyio.fail_after(BOUND):
            await done.wait()
    assert keys == ["1", "2", "*", "#"]


# ------------------------------------------ the helpers against an independent peer


async def test_requests_have_the_api_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with http_peer(ok) as (url, received):
        calls = Calls("sk-test", base_url=f"{url}/v1")
        await calls.accept("rtc_1", {"instructions": "Hi"}, voice="marin", model="gpt-realtime")
        await calls.reject("rtc_1", status_code=486)
        await calls.reject("rtc_2")
        await calls.refer("rtc_1", "tel:+14155550123")
        await anyio.to_thread.run_sync(calls.hangup_sync, "rtc/3")
    paths = [request["path"] for request in received.requests]
    assert paths == [
        "/v1/realtime/calls/rtc_1/accept",
        "/v1/realtime/calls/rtc_1/reject",
        "/v1/realtime/calls/rtc_2/reject",
        "/v1/realtime/calls/rtc_1/refer",
        "/v1/realtime/calls/rtc%2F3/hangup",
    ]
    bodies = [json.loads(r["body"]) if r["body"] else None for r in received.requests]
    assert bodies == [
        {
            "type": "realtime",
            "instructions": "Hi",
            "audio": {"output": {"voice": "marin"}},
            "model": "gpt-realtime",
        },
        {"status_code": 486},
        {},
        {"target_uri": "tel:+14155550123"},
        None,
    ]
    assert all(r["headers"]["authorization"] == "Bearer sk-test" for r in received.requests)


#: The headers that carry meaning; the SDK adds its own platform headers besides.
MEANINGFUL = ("accept", "authorization", "content-type")

# (ours, the SDK's) for each call control endpoint, with the same arguments.
SDK_CASES: dict[str, tuple[Callable[[Calls], Any], Callable[[AsyncOpenAI], Any]]] = {
    "accept": (
        lambda ours: ours.accept("rtc_1", instructions="Hi", voice="marin", model="gpt-realtime"),
        lambda sdk: sdk.realtime.calls.accept(
            "rtc_1",
            type="realtime",
            instructions="Hi",
            audio={"output": {"voice": "marin"}},
            model="gpt-realtime",
        ),
    ),
    "reject": (
        lambda ours: ours.reject("rtc_1", status_code=486),
        lambda sdk: sdk.realtime.calls.reject("rtc_1", status_code=486),
    ),
    "reject, the server's status": (
        lambda ours: ours.reject("rtc_1"),
        lambda sdk: sdk.realtime.calls.reject("rtc_1"),
    ),
    "refer": (
        lambda ours: ours.refer("rtc_1", "tel:+14155550123"),
        lambda sdk: sdk.realtime.calls.refer("rtc_1", target_uri="tel:+14155550123"),
    ),
    "hangup": (
        lambda ours: ours.hangup("rtc/3"),
        lambda sdk: sdk.realtime.calls.hangup("rtc/3"),
    ),
}


def _shape(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    return {
        "method": request["method"],
        "path": request["path"],
        "body": json.loads(body) if body else body,
        "headers": {name: request["headers"].get(name) for name in MEANINGFUL},
    }


@pytest.mark.parametrize("name", sorted(SDK_CASES))
async def test_each_endpoint_sends_what_the_sdk_sends(name: str) -> None:
    ours, theirs = SDK_CASES[name]
    with http_peer(ok) as (url, received):
        await ours(Calls("sk-test", base_url=f"{url}/v1"))
        await theirs(AsyncOpenAI(api_key="sk-test", base_url=f"{url}/v1", max_retries=0))
    first, second = received.requests
    assert _shape(first) == _shape(second)
    assert first["method"] == "POST"
    if not second["body"]:  # an empty body is still a body of length 0, as the SDK's
        assert first["headers"].get("content-length") == second["headers"]["content-length"] == "0"
    # JSON even for the empty hangup: urllib alone would label it form-urlencoded.
    assert first["headers"]["content-type"] == "application/json"


async def test_keys_stay_where_they_belong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    with http_peer(ok) as (url, received):
        # The environment's key goes to the OpenAI API only, not to this server.
        await Calls(base_url=url).hangup("rtc_1")
    assert "authorization" not in received.requests[0]["headers"]
    with pytest.raises(InsecureKeyError):
        await Calls("sk-test", base_url="http://calls.example.com/v1").hangup("rtc_1")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(CallError, match="no API key"):
        await Calls().hangup("rtc_1")  # the OpenAI API needs one: refused before any request


async def test_a_redirect_is_not_followed_with_the_key() -> None:
    def redirect(request: dict[str, Any]) -> tuple[int, bytes]:
        return 307, b""

    with http_peer(redirect) as (url, received), pytest.raises(CallError) as caught:
        await Calls("sk-test", base_url=url).hangup("rtc_1")
    assert caught.value.status == 307
    assert len(received.requests) == 1
