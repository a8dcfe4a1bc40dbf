"""The WebSocket layer over real loopback sockets: handshake, framing, close, keepalive."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest
from websockets.http11 import Request

from realtime_events import (
    AuthenticationError,
    ConnectionClosedError,
    ConnectionFailedError,
    Endpoint,
    HandshakeRejectedError,
    Session,
)
from realtime_events.connection import WebSocket, accept, connect

pytestmark = pytest.mark.anyio

ServerHandler = Callable[[WebSocket, Request], Awaitable[None]]


@asynccontextmanager
async def raw_server(
    handler: ServerHandler,
    check: Callable[[Request], tuple[int, str] | None] | None = None,
) -> AsyncIterator[str]:
    """A bare WebSocket server on loopback whose behaviour each test writes."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            accepted = await accept(stream, check=check)
            if accepted is not None:
                await handler(*accepted)

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, handle)
        yield f"ws://127.0.0.1:{port}/v1/realtime"
        task_group.cancel_scope.cancel()


async def drain(ws: WebSocket) -> None:
    """Read until the client closes, which answers its close frame."""
    with contextlib.suppress(ConnectionClosedError):
        while True:
            await ws.recv()


async def silent(ws: WebSocket, request: Request) -> None:
    """Accept, then never read or answer anything (like a hung peer)."""
    await anyio.sleep_forever()


async def test_large_and_fragmented_messages_arrive_whole() -> None:
    big = json.dumps({"type": "x", "data": "a" * (3 * 1024 * 1024)})

    async def handler(ws: WebSocket, request: Request) -> None:
        await ws.send(big)
        ws.protocol.send_text(b'{"type": "frag', fin=False)
        ws.protocol.send_continuation(b'mented", "n": ', fin=False)
        ws.protocol.send_continuation(b"1}", fin=True)
        await ws._flush()
        await ws.send(b"\x00\x01", text=False)
        await drain(ws)

    async with raw_server(handler) as url:
        ws = await connect(url)
        first = await ws.recv()
        assert first.text
        assert len(first.data) == len(big)
        second = await ws.recv()
        assert json.loads(second.data) == {"type": "fragmented", "n": 1}
        third = await ws.recv()
        assert (third.data, third.text) == (b"\x00\x01", False)
        await ws.close()


@pytest.mark.parametrize(
    ("status", "error"), [(401, AuthenticationError), (500, HandshakeRejectedError)]
)
async def test_refused_handshake_carries_status_and_body(
    status: int, error: type[HandshakeRejectedError]
) -> None:
    body = '{"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}}'
    async with raw_server(silent, check=lambda request: (status, body)) as url:
        with pytest.raises(error) as caught:
            await connect(url)
    assert caught.value.status == status
    assert "Incorrect API key" in caught.value.body
    assert str(status) in str(caught.value)
    assert isinstance(caught.value, AuthenticationError) == (status == 401)


async def test_unreachable_server_is_a_connection_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with pytest.raises(ConnectionFailedError, match=rf"could not connect to 127\.0\.0\.1:{port}: "):
        await connect(f"ws://127.0.0.1:{port}/")


async def echo(ws: WebSocket, request: Request) -> None:
    """Send back each message until the client closes."""
    with contextlib.suppress(ConnectionClosedError):
        while True:
            message = await ws.recv()
            await ws.send(message.data, text=message.text)


async def test_a_host_name_is_resolved_and_connected() -> None:
    # A name goes through resolution and happy eyeballs; an address connects directly.
    async with raw_server(echo) as url:
        ws = await connect(url.replace("127.0.0.1", "localhost"))
        await ws.send("by name")
        assert (await ws.recv()).data == b"by name"
        await ws.close()


async def test_an_ipv6_address_connects() -> None:
    try:
        listener = await anyio.create_tcp_listener(local_host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            accepted = await accept(stream)
            if accepted is not None:
                await echo(*accepted)

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, handle)
        ws = await connect(f"ws://[::1]:{port}/v1/realtime")
        await ws.send("over IPv6")
        assert (await ws.recv()).data == b"over IPv6"
        await ws.close()
        task_group.cancel_scope.cancel()


async def test_tls_to_an_address_that_hangs_up_is_a_connection_error() -> None:
    # wss:// to an IP address: TLS goes on top of the direct connect (a ClientHello
    # first), and a peer that hangs up during it fails the connect like any other.
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    first: list[bytes] = []

    async def handle(stream: anyio.abc.SocketStream) -> None:
        first.append(await stream.receive())
        await stream.aclose()

    async with listener, anyio.create_task_group() as task_group:
        task_group.start_soon(listener.serve, handle)
        with pytest.raises(ConnectionFailedError, match="during the TLS handshake"):
            await connect(f"wss://127.0.0.1:{port}/")
        task_group.cancel_scope.cancel()
    assert first[0][:1] == b"\x16"  # a TLS handshake record


async def test_close_is_bounded_when_the_peer_never_answers() -> None:
    async with raw_server(silent) as url:
        ws = await connect(url, close_timeout=0.2)
        with anyio.fail_after(5):  # a hang guard, not a speed assertion
            await ws.close()
        assert ws.closed


async def test_keepalive_fails_a_silent_connection() -> None:
    async with raw_server(silent) as url:
        ws = await connect(url, ping_interval=0.05, ping_timeout=0.1, close_timeout=0.2)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(ws.keepalive)
            with anyio.fail_after(5), pytest.raises(ConnectionClosedError) as caught:
                await ws.recv()
            task_group.cancel_scope.cancel()
    assert caught.value.code == 1011


async def test_server_close_frame_ends_recv_with_its_code() -> None:
    async def handler(ws: WebSocket, request: Request) -> None:
        await ws.send('{"type": "last"}')
        await ws.close(4000, "bye")

    async with raw_server(handler) as url:
        ws = await connect(url)
        assert json.loads((await ws.recv()).data) == {"type": "last"}
        with pytest.raises(ConnectionClosedError) as caught:
            await ws.recv()
    assert (caught.value.code, caught.value.reason) == (4000, "bye")


async def test_dropped_connection_reads_as_1006() -> None:
    async def handler(ws: WebSocket, request: Request) -> None:
        await ws.abort()

    async with raw_server(handler) as url:
        ws = await connect(url)
        with pytest.raises(ConnectionClosedError) as caught:
            await ws.recv()
    assert caught.value.code == 1006
    assert not caught.value.clean


async def _handshake_headers(endpoint: Endpoint) -> Request:
    """Connect to a raw server at the endpoint's path and query; return the request it got."""
    seen: list[Request] = []

    async def handler(ws: WebSocket, request: Request) -> None:
        seen.append(request)
        await ws.close()

    async with raw_server(handler) as url:
        local = dataclasses.replace(endpoint, url=url)
        ws = await connect(local.ws_url, headers=local.handshake_headers())
        with pytest.raises(ConnectionClosedError):
            await ws.recv()
    return seen[0]


async def test_ga_handshake_headers_and_query() -> None:
    endpoint = Endpoint(model="gpt-realtime", api_key="sk-test-ga", headers={"X-Trace": "1"})
    request = await _handshake_headers(endpoint)
    assert request.headers["Authorization"] == "Bearer sk-test-ga"
    assert "OpenAI-Beta" not in request.headers
    assert request.headers["X-Trace"] == "1"
    assert "model=gpt-realtime" in request.path


async def test_beta_dialect_sends_the_beta_header() -> None:
    endpoint = Endpoint(model="gpt-realtime", api_key="sk-test", dialect="beta")
    request = await _handshake_headers(endpoint)
    assert request.headers["OpenAI-Beta"] == "realtime=v1"


def test_azure_url_and_key_header() -> None:
    session = Session(
        "gpt-realtime",
        api_key="azure-key",
        azure_endpoint="https://example-resource.openai.azure.com",
        azure_deployment="my-deployment",
        api_version="2025-08-28",
    )
    assert session.url == (
        "wss://example-resource.openai.azure.com/openai/realtime"
        "?api-version=2025-08-28&deployment=my-deployment"
    )
    assert session.endpoint.handshake_headers() == {"api-key": "azure-key"}


def test_the_default_endpoint_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConnectionFailedError, match="OPENAI_API_KEY"):
        Session().endpoint.handshake_headers()


async def test_api_key_never_logged_or_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "sk-very-secret-value"
    session = Session("gpt-realtime", api_key=secret)
    await _handshake_headers(session.endpoint)
    assert secret not in caplog.text
    assert "Authorization" in caplog.text  # the header was logged, its value redacted
    assert secret not in repr(session)
    assert secret not in repr(session.endpoint)
