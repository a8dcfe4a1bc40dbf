"""The Live session endpoints and URLs, compared with the official SDK's own requests.

A plain ``http.server`` on loopback records every request; the same call is
made by our :class:`LiveSessions` and by the SDK's ``client.live.sessions``,
and the two requests must have the same method, path, body and meaningful
headers. The WebSocket URL builders are compared with the paths the SDK's
``live.connect()``, ``live.sideband.connect()`` and ``live.forks.connect()``
open on a plain ``websockets`` server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest
from openai import OpenAI
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from realtime_events.errors import (
    AuthenticationError,
    CallError,
    CallNotFoundError,
    InvalidConfigError,
)
from realtime_events.live import (
    LIVE_WS_BASE_URL,
    LiveForkResult,
    LiveSessions,
    fork_url,
    live_url,
    sideband_url,
)

KEY = "sk-live-test"
#: The headers that carry meaning; the SDK adds its own platform headers besides.
MEANINGFUL = ("accept", "authorization", "content-type")
FORK_ANSWER = {"session": {"id": "sess_fork"}, "transport": {"type": "webrtc", "sdp": "v=0 answer"}}

Answer = Callable[[dict[str, Any]], tuple[int, bytes]]


@contextmanager
def http_peer(answer: Answer) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A plain ``http.server`` on loopback: records each request, answers with ``answer``."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": self.rfile.read(length),
            }
            received.append(request)
            status, body = answer(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()


def answer_for(request: dict[str, Any]) -> tuple[int, bytes]:
    """What the API answers: a fork's session, a recording's bytes, or nothing."""
    if request["path"].endswith("/fork"):
        return 200, json.dumps(FORK_ANSWER).encode()
    if request["path"].endswith("/content"):
        return 200, b"RIFF recording bytes"
    return 200, b""


def _shape(request: dict[str, Any]) -> dict[str, Any]:
    body = request["body"]
    return {
        "method": request["method"],
        "path": request["path"],
        "body": json.loads(body) if body else None,
        "headers": {name: request["headers"].get(name) for name in MEANINGFUL},
    }


CONFIG = {
    "model": "gpt-live-1",
    "instructions": "You answer the phone.",
    "audio": {"output": {"voice": "marin"}},
}

# (ours, the SDK's) for each endpoint.
CASES: dict[str, tuple[Callable[[LiveSessions], Any], Callable[[OpenAI], Any]]] = {
    "accept": (
        lambda ours: ours.accept_sync("sess/1", CONFIG),
        lambda sdk: sdk.live.sessions.accept("sess/1", session={"type": "live", **CONFIG}),
    ),
    "reject": (
        lambda ours: ours.reject_sync("sess_1", 486),
        lambda sdk: sdk.live.sessions.reject("sess_1", status_code=486),
    ),
    "refer": (
        lambda ours: ours.refer_sync("sess_1", "tel:+14155550123"),
        lambda sdk: sdk.live.sessions.refer("sess_1", target_uri="tel:+14155550123"),
    ),
    "hangup": (
        lambda ours: ours.hangup_sync("sess_1"),
        lambda sdk: sdk.live.sessions.hangup("sess_1"),
    ),
    "fork": (
        lambda ours: ours.fork_sync("sess_1", "v=0 offer", {"store": True}),
        lambda sdk: sdk.live.sessions.fork(
            "sess_1",
            transport={"type": "webrtc", "sdp": "v=0 offer"},
            session={"store": True},
        ),
    ),
    "fork, inheriting": (
        lambda ours: ours.fork_sync("sess_1", "v=0 offer"),
        lambda sdk: sdk.live.sessions.fork(
            "sess_1", transport={"type": "webrtc", "sdp": "v=0 offer"}
        ),
    ),
    "download_recording": (
        lambda ours: ours.download_recording_sync("sess_1"),
        lambda sdk: sdk.live.sessions.download_recording("sess_1").read(),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_endpoint_sends_what_the_sdk_sends(name: str) -> None:
    ours, theirs = CASES[name]
    with http_peer(answer_for) as (url, received):
        mine = ours(LiveSessions(KEY, base_url=url))
        sdk = theirs(OpenAI(api_key=KEY, base_url=url, max_retries=0))
    first, second = received
    assert _shape(first) == _shape(second)
    assert first["headers"]["authorization"] == f"Bearer {KEY}"
    if name.startswith("fork"):
        assert mine == LiveForkResult("sess_fork", "v=0 answer", FORK_ANSWER)
        assert sdk.session.id == mine.session_id
    if name == "download_recording":
        assert mine == sdk == b"RIFF recording bytes"


def test_accept_sends_a_live_session_with_the_fields_winning() -> None:
    with http_peer(answer_for) as (url, received):
        LiveSessions(base_url=url).accept_sync("sess_1", CONFIG, instructions="Be brief.")
    [request] = received
    assert json.loads(request["body"]) == {
        "session": {**CONFIG, "type": "live", "instructions": "Be brief."}
    }
    assert "authorization" not in request["headers"]  # a local server gets no key


@pytest.mark.parametrize(
    ("call", "field", "words"),
    [
        (lambda s: s.accept_sync("sess_1", {"model": "gpt-live1"}), "model", "did you mean"),
        (
            lambda s: s.accept_sync(
                "sess_1", {**CONFIG, "audio": {"format": {"type": "audio/pcm", "rate": 24000}}}
            ),
            "audio.format",
            "negotiates",
        ),
        (lambda s: s.reject_sync("sess_1", 200), "status_code", "300 to 699"),
        (lambda s: s.reject_sync("sess_1", "486"), "status_code", "must be an int"),
        (lambda s: s.refer_sync("sess_1", "  "), "target_uri", "blank"),
        (lambda s: s.fork_sync("sess_1", "v=0", {"audio": {}}), "audio", "negotiates"),
        (
            lambda s: s.fork_sync("sess_1", "v=0", {"model": "gpt-live-1"}),
            "model",
            "keeps the stored",
        ),
    ],
)
def test_bad_requests_are_refused_before_anything_is_sent(
    call: Callable[[LiveSessions], Any], field: str, words: str
) -> None:
    with http_peer(answer_for) as (url, received), pytest.raises(InvalidConfigError) as caught:
        call(LiveSessions(base_url=url))
    assert received == []
    assert caught.value.field == field
    assert words in str(caught.value)


def test_an_unknown_session_is_not_found_for_us_and_for_the_sdk() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "Session not found.",
                "type": "invalid_request_error",
                "code": "session_not_found",
            }
        }
    ).encode()
    with http_peer(lambda request: (404, body)) as (url, _received):
        with pytest.raises(CallNotFoundError) as caught:
            LiveSessions(base_url=url).hangup_sync("sess_gone")
        with pytest.raises(CallNotFoundError) as recording:
            LiveSessions(base_url=url).download_recording_sync("sess_gone")
        with pytest.raises(openai.NotFoundError):
            OpenAI(api_key=KEY, base_url=url, max_retries=0).live.sessions.hangup("sess_gone")
    error = caught.value
    assert isinstance(error, LookupError)
    assert (error.status, error.code, error.call_id) == (404, "session_not_found", "sess_gone")
    assert str(error) == (
        "could not hang up Live session 'sess_gone': Session not found. "
        "(HTTP 404, session_not_found)"
    )
    assert recording.value.status == 404


def test_a_refused_key_and_a_refusing_server() -> None:
    with http_peer(lambda request: (401, b"")) as (url, _received):
        with pytest.raises(AuthenticationError):
            LiveSessions(KEY, base_url=url).refer_sync("sess_1", "sip:a@b")
        with pytest.raises(AuthenticationError):
            LiveSessions(KEY, base_url=url).download_recording_sync("sess_1")
    refused = r"could not accept Live session 'sess_1': call ended \(HTTP 409\)"
    with (
        http_peer(lambda request: (409, b"call ended")) as (url, _received),
        pytest.raises(CallError, match=refused),
    ):
        LiveSessions(base_url=url).accept_sync("sess_1", CONFIG)


def test_nobody_there_and_no_key_for_the_api() -> None:
    with http_peer(answer_for) as (url, _received):
        pass  # the port is free again
    with pytest.raises(CallError, match="could not reach") as caught:
        LiveSessions(base_url=url, timeout=5).hangup_sync("sess_1")
    assert caught.value.status is None
    with pytest.raises(CallError, match="no API key"):
        LiveSessions(base_url="https://api.openai.com/v1").hangup_sync("sess_1")
    with pytest.raises(ValueError, match="session_id is empty"):
        LiveSessions(base_url=url).hangup_sync("")


def test_a_fork_answer_that_is_not_one_is_an_error() -> None:
    with (
        http_peer(lambda request: (200, b'{"session": {}}')) as (url, _received),
        pytest.raises(CallError, match="not a fork's session and transport"),
    ):
        LiveSessions(base_url=url).fork_sync("sess_1", "v=0")


# --- The WebSocket URLs -----------------------------------------------------------------


@contextmanager
def ws_peer() -> Iterator[tuple[str, list[str]]]:
    """A plain ``websockets`` server that records each handshake's path and refuses it."""
    paths: list[str] = []

    def record(connection: ServerConnection, request: Request) -> Response:
        paths.append(request.path)
        return connection.respond(403, "recorded\n")

    with serve(lambda connection: None, "127.0.0.1", 0, process_request=record) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v1", paths
        finally:
            server.shutdown()
            thread.join()


def _sdk_opens(open_: Callable[[OpenAI], Any], base: str) -> None:
    client = OpenAI(api_key=KEY, websocket_base_url=base, max_retries=0)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the peer refuses every handshake
        open_(client).__enter__()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (live_url, lambda client: client.live.connect()),
        (
            lambda base: sideband_url("sess 1", base=base),
            lambda client: client.live.sideband.connect(session_id="sess 1"),
        ),
        (
            lambda base: sideband_url("sess_1", base=base, graceful_close=True),
            lambda client: client.live.sideband.connect(session_id="sess_1", graceful_close=True),
        ),
        (
            lambda base: fork_url("sess_1", base=base),
            lambda client: client.live.forks.connect(session_id="sess_1"),
        ),
    ],
    ids=["live", "sideband", "sideband, graceful close", "fork"],
)
def test_the_urls_are_the_ones_the_sdk_opens(
    ours: Callable[[str], str], theirs: Callable[[OpenAI], Any]
) -> None:
    with ws_peer() as (base, paths):
        _sdk_opens(theirs, base)
    [sdk_path] = paths
    url = urlsplit(ours(base))
    assert url.scheme == "ws"
    assert url.path + (f"?{url.query}" if url.query else "") == sdk_path


def test_url_bases() -> None:
    assert live_url() == "wss://api.openai.com/v1/live/sessions"
    assert LIVE_WS_BASE_URL == "wss://api.openai.com/v1"
    assert live_url("https://example.test/v1/") == "wss://example.test/v1/live/sessions"
    assert sideband_url("s", base="http://h/v1?x=1", graceful_close=False) == (
        "ws://h/v1/live/sessions/s/attach?x=1&graceful_close=false"
    )
