"""The plain HTTP the local server and the playground share, over real loopback sockets.

A small ListeningServer written here answers what it read (or why it could
not read it); the client is a raw socket, so every byte on the wire is the
test's own. Both anyio backends.
"""

from __future__ import annotations

import json
import logging

import anyio
import anyio.abc
import pytest

from realtime_events._http_server import ListeningServer, Replayed, read_request, response

pytestmark = pytest.mark.anyio

logger = logging.getLogger("tests.http_server")


class EchoServer(ListeningServer):
    """Answers each request with what it read: method, path, body and every byte read."""

    def __init__(self, *, max_body: int = 64, max_size: int | None = 4096) -> None:
        super().__init__("127.0.0.1", 0, logger)
        self.max_body = max_body
        self.max_size = max_size
        self.served = 0

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        self.served += 1
        first = await stream.receive()
        if first.startswith(b"BOOM"):
            raise RuntimeError("a bug in one connection's handler")
        if first.startswith(b"TASKS"):
            every = [task.name or "" for task in anyio.get_running_tasks()]
            names = sorted(name for name in every if "EchoServer" in name)
            await stream.send(response(200, json.dumps(names).encode()))
            return
        if first.startswith(b"PEEK"):
            # The bytes put back are read again before the rest of the stream.
            replayed = Replayed(stream, first)
            again = await replayed.receive(2) + await replayed.receive()
            await stream.send(response(200, again))
            return
        try:
            request, read = await read_request(
                stream, first, max_body=self.max_body, max_size=self.max_size
            )
        except (ValueError, EOFError) as error:
            await stream.send(response(400, f"{type(error).__name__}: {error}".encode()))
            return
        body = {
            "method": request.method,
            "path": request.path,
            "host": request.headers.get("Host"),
            "body": request.body.decode(),
            "read": read.decode(),
        }
        await stream.send(response(200, json.dumps(body).encode(), {"X-Echo": "1"}))


async def exchange(server: EchoServer, *pieces: bytes, eof: bool = False) -> bytes:
    """Send ``pieces`` one write each; return everything the server answered until it closed."""
    with anyio.fail_after(10):
        async with await anyio.connect_tcp("127.0.0.1", server.port) as client:
            for piece in pieces:
                await client.send(piece)
                await anyio.sleep(0.01)  # separate reads on the server's side
            if eof:
                await client.send_eof()
            answer = b""
            while True:
                try:
                    answer += await client.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return answer


def split(answer: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body


async def test_a_request_read_in_pieces_with_its_body() -> None:
    request = b"POST /v1/calls?x=1 HTTP/1.1\r\nHost: here\r\nContent-Length: 11\r\n\r\nhello world"
    async with EchoServer() as server:
        answer = await exchange(server, request[:5], request[5:40], request[40:])
    status, headers, body = split(answer)
    assert status == "HTTP/1.1 200 OK"
    assert headers["Content-Length"] == str(len(body))
    assert headers["Connection"] == "close"
    assert headers["X-Echo"] == "1"
    echoed = json.loads(body)
    assert echoed == {
        "method": "POST",
        "path": "/v1/calls?x=1",
        "host": "here",
        "body": "hello world",
        "read": request.decode(),
    }


@pytest.mark.parametrize(
    ("request_bytes", "why"),
    [
        (b"GET / HTTP/2.0\r\nHost: here\r\n\r\n", "ValueError: unsupported protocol"),
        (b"GARBAGE\r\n\r\n", "ValueError: invalid HTTP request line"),
        (b"POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", "ValueError: request body of 65"),
        (b"POST / HTTP/1.1\r\nContent-Length: many\r\n\r\n", "ValueError: invalid Content-Length"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "ValueError: chunked"),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 5000, "ValueError: request over 4096 bytes"),
    ],
)
async def test_a_malformed_or_refused_request_is_a_value_error(
    request_bytes: bytes, why: str
) -> None:
    async with EchoServer() as server:
        status, _headers, body = split(await exchange(server, request_bytes))
    assert status == "HTTP/1.1 400 Bad Request"
    assert body.decode().startswith(why)


async def test_a_line_too_long_for_the_parser_is_a_value_error() -> None:
    line = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 10_000 + b"\r\n\r\n"
    async with EchoServer(max_size=None) as server:
        status, _headers, body = split(await exchange(server, line))
    assert status == "HTTP/1.1 400 Bad Request"
    assert body.startswith(b"ValueError: ")


async def test_a_peer_leaving_mid_request_is_an_eof_error() -> None:
    async with EchoServer() as server:
        status, _headers, body = split(
            await exchange(server, b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhal", eof=True)
        )
    assert status == "HTTP/1.1 400 Bad Request"
    assert body.startswith(b"EOFError")


async def test_bytes_put_back_are_read_first() -> None:
    async with EchoServer() as server:
        status, _headers, body = split(await exchange(server, b"PEEK then the rest"))
    assert status == "HTTP/1.1 200 OK"
    assert body == b"PEEK then the rest"


async def test_tasks_are_named_after_the_server_that_owns_them() -> None:
    async with EchoServer() as server:
        _status, _headers, body = split(await exchange(server, b"TASKS"))
    owner = f"{EchoServer.__module__}.EchoServer"
    assert json.loads(body) == [f"{owner}.accept", f"{owner}.connection", f"{owner}.listen"]


async def test_a_failing_handler_closes_its_connection_and_the_server_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with EchoServer() as server:
        with caplog.at_level(logging.ERROR, logger="tests.http_server"):
            assert await exchange(server, b"BOOM") == b""
        assert "failed to serve a connection" in caplog.text
        status, _headers, _body = split(await exchange(server, b"GET / HTTP/1.1\r\n\r\n"))
        assert status == "HTTP/1.1 200 OK"
        assert server.served == 2


async def test_the_server_stops_listening_when_its_block_ends() -> None:
    async with EchoServer() as server:
        port = server.port
        assert port != 0
    with pytest.raises(OSError, match="connection attempts failed"):
        await anyio.connect_tcp("127.0.0.1", port)


async def test_an_answer_without_a_body() -> None:
    assert response(204) == (
        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
