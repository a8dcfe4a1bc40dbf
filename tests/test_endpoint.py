"""Keys stay put: which key goes where, never in clear to another machine, never printed.

The handshake tests run against an independent peer, a plain ``websockets``
server on loopback, and look at what actually arrived.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import anyio
import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

from realtime_events import (
    ConnectionFailedError,
    Endpoint,
    InvalidConfigError,
    RealtimeError,
    Session,
)
from realtime_events._secrets import REDACTED, is_loopback, is_secret_header
from realtime_events.connection import connect
from realtime_events.endpoint import InsecureKeyError, SecretHeaders

pytestmark = pytest.mark.anyio

ENV_KEY = "sk-env-0123456789"
AZURE_ENV_KEY = "azure-env-0123456789"
GIVEN_KEY = "sk-given-0123456789"
HEADER_SECRET = "hdr-secret-0123456789"
TOKEN_SECRET = "tok-secret-0123456789"

# The peer's own log is not ours: keep it out of the captured records.
peer_logger = logging.getLogger("test_endpoint.peer")
peer_logger.propagate = False


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both keys set in the environment, as on a developer's machine."""
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_ENV_KEY)


# -- which key goes where ----------------------------------------------------


def test_the_environment_key_goes_to_the_openai_api() -> None:
    assert Endpoint().handshake_headers()["Authorization"] == f"Bearer {ENV_KEY}"
    url = "wss://API.OpenAI.com/v1/realtime?call_id=rtc_1"
    assert Endpoint(url=url).handshake_headers()["Authorization"] == f"Bearer {ENV_KEY}"
    assert Endpoint().is_openai


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:8765/v1/realtime",
        "wss://proxy.example.com/v1/realtime",
        "wss://api.openai.com.example.com/v1/realtime",
        "wss://api.openai.com@example.com/v1/realtime",
        "wss://example.com/api.openai.com/v1/realtime",
    ],
)
def test_a_custom_url_gets_no_environment_key(url: str) -> None:
    endpoint = Endpoint(url=url)
    assert not endpoint.is_openai
    headers = endpoint.handshake_headers()
    assert "Authorization" not in headers
    assert ENV_KEY not in str(headers.values())
    assert AZURE_ENV_KEY not in str(headers.values())


def test_a_custom_url_gets_a_key_passed_explicitly() -> None:
    endpoint = Endpoint(url="wss://proxy.example.com/v1/realtime", api_key=GIVEN_KEY)
    assert endpoint.handshake_headers()["Authorization"] == f"Bearer {GIVEN_KEY}"


def test_the_openai_api_without_any_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    for endpoint in (Endpoint(), Endpoint(url="wss://api.openai.com/v1/realtime")):
        with pytest.raises(ConnectionFailedError, match="OPENAI_API_KEY"):
            endpoint.handshake_headers()
    assert Endpoint(url="ws://localhost:8765").handshake_headers() == {}


def test_the_azure_key_goes_only_to_the_configured_azure_endpoint() -> None:
    azure = Endpoint(
        azure_endpoint="https://my-resource.openai.azure.com",
        azure_deployment="dep",
        api_version="2025-08-28",
    )
    assert azure.handshake_headers() == {"api-key": AZURE_ENV_KEY}  # never $OPENAI_API_KEY
    assert not azure.is_openai
    explicit = dataclasses.replace(azure, api_key=GIVEN_KEY)
    assert explicit.handshake_headers() == {"api-key": GIVEN_KEY}
    assert "api-key" not in Endpoint().handshake_headers()


def test_the_azure_environment_key_never_goes_to_the_openai_api() -> None:
    # The same rule as create_client_secret(azure=True): the key is for an Azure resource.
    misdirected = Endpoint(azure_endpoint="https://api.openai.com", azure_deployment="dep")
    assert misdirected.handshake_headers() == {}
    given = dataclasses.replace(misdirected, api_key=GIVEN_KEY)
    assert given.handshake_headers() == {"api-key": GIVEN_KEY}


def test_the_environment_is_read_at_each_handshake(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = Endpoint()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-rotated")
    assert endpoint.handshake_headers()["Authorization"] == "Bearer sk-rotated"


def test_a_withheld_environment_key_is_explained_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="realtime_events")
    Endpoint(url="wss://proxy.example.com/v1/realtime").handshake_headers()
    assert "not sending $OPENAI_API_KEY to wss://proxy.example.com" in caplog.text
    assert ENV_KEY not in caplog.text


# -- never in clear to another machine ---------------------------------------


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ({"api_key": GIVEN_KEY}, "Authorization"),
        ({"headers": {"Authorization": f"Bearer {GIVEN_KEY}"}}, "Authorization"),
        ({"headers": {"api-key": GIVEN_KEY}}, "api-key"),
        ({"headers": {"X-Session-Token": TOKEN_SECRET}}, "X-Session-Token"),
    ],
)
def test_a_key_in_clear_to_another_machine_is_refused(
    arguments: dict[str, object], named: str
) -> None:
    url = "ws://10.1.2.3:8080/v1/realtime"
    with pytest.raises(InsecureKeyError) as caught:
        Endpoint(url=url, **arguments)  # type: ignore[arg-type]
    message = str(caught.value)
    assert named in message
    assert "10.1.2.3" in message
    assert "wss://" in message
    assert "allow_insecure_key=True" in message
    assert GIVEN_KEY not in message
    assert TOKEN_SECRET not in message
    # A configuration mistake, not a network failure the reconnect loop would retry.
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, RealtimeError)
    assert not isinstance(caught.value, ConnectionFailedError)
    with pytest.raises(InsecureKeyError):
        Session(url=url, **arguments)  # type: ignore[arg-type]


def test_credentials_in_the_url_count_as_a_key() -> None:
    with pytest.raises(InsecureKeyError, match="user info") as caught:
        Endpoint(url="ws://user:hunter2@example.com/v1/realtime")
    assert "hunter2" not in str(caught.value)


def test_an_environment_key_in_clear_is_refused_when_the_headers_are_built() -> None:
    azure = Endpoint(azure_endpoint="http://azure-gateway.internal", azure_deployment="dep")
    with pytest.raises(InsecureKeyError, match="api-key"):
        azure.handshake_headers()


def test_the_opt_in_allows_a_key_in_clear() -> None:
    endpoint = Endpoint(
        url="ws://10.1.2.3:8080/v1/realtime",
        api_key=GIVEN_KEY,
        headers={"X-Session-Token": TOKEN_SECRET},
        allow_insecure_key=True,
    )
    headers = endpoint.handshake_headers()
    assert headers["Authorization"] == f"Bearer {GIVEN_KEY}"
    assert headers["X-Session-Token"] == TOKEN_SECRET


def test_a_custom_url_in_clear_without_a_key_is_fine() -> None:
    endpoint = Endpoint(url="ws://10.1.2.3:8080/v1/realtime", headers={"X-Trace": "1"})
    assert endpoint.handshake_headers() == {"X-Trace": "1"}


@pytest.mark.parametrize(
    "host", ["localhost", "LOCALHOST.", "127.0.0.1", "127.8.9.10", "[::1]", "[::ffff:127.0.0.1]"]
)
def test_loopback_may_carry_a_key_in_clear(host: str) -> None:
    endpoint = Endpoint(url=f"ws://{host}:8765/v1/realtime", api_key=GIVEN_KEY)
    assert endpoint.handshake_headers()["Authorization"] == f"Bearer {GIVEN_KEY}"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost.example.com", False),
        ("127.0.0.1.example.com", False),
        ("10.0.0.1", False),
        ("::2", False),
        ("0.0.0.0", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# -- never printed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("proxy-authorization", True),
        ("api-key", True),
        ("Cookie", True),
        ("X-Session-Token", True),
        ("X-Client-Secret", True),
        ("X-Auth", True),
        ("OpenAI-Organization", False),
        ("OpenAI-Project", False),
        ("OpenAI-Beta", False),
        ("Sec-WebSocket-Key", False),
        ("X-Trace", False),
    ],
)
def test_which_headers_are_secret(name: str, secret: bool) -> None:
    assert is_secret_header(name) is secret


def test_secret_headers_print_redacted_and_read_real() -> None:
    headers = SecretHeaders({"api-key": HEADER_SECRET, "X-Trace": "1"})
    for shown in (repr(headers), str(headers), f"{headers}"):
        assert HEADER_SECRET not in shown
        assert REDACTED in shown
        assert "'X-Trace': '1'" in shown
    assert headers["api-key"] == HEADER_SECRET
    assert headers == {"api-key": HEADER_SECRET, "X-Trace": "1"}
    assert dict(headers) == {"api-key": HEADER_SECRET, "X-Trace": "1"}
    for twin in (copy.deepcopy(headers), pickle.loads(pickle.dumps(headers))):
        assert isinstance(twin, SecretHeaders)
        assert twin == headers
        assert HEADER_SECRET not in repr(twin)


def test_no_repr_of_an_endpoint_or_session_shows_a_secret() -> None:
    session = Session(
        url="ws://user:hunter2@127.0.0.1:8765/v1/realtime",
        api_key=GIVEN_KEY,
        headers={"api-key": HEADER_SECRET, "X-Session-Token": TOKEN_SECRET, "X-Trace": "1"},
    )
    endpoint = session.endpoint
    assert isinstance(endpoint.headers, SecretHeaders)
    shown = [
        repr(endpoint),
        str(endpoint),
        repr(endpoint.headers),
        repr(dataclasses.replace(endpoint, model="other")),
    ]
    for text in shown:
        for secret in (GIVEN_KEY, HEADER_SECRET, TOKEN_SECRET, "hunter2"):
            assert secret not in text
    assert "X-Trace" in shown[0]
    assert "'1'" in shown[0]
    # The wire still gets the real values.
    headers = endpoint.handshake_headers()
    assert headers["api-key"] == HEADER_SECRET
    assert headers["X-Session-Token"] == TOKEN_SECRET
    assert headers["Authorization"] == f"Bearer {GIVEN_KEY}"


# -- what arrives: an independent peer on loopback ---------------------------


@dataclass
class Peer:
    """A plain websockets server on 127.0.0.1, in a thread; keeps each request's headers."""

    url: str
    requests: list[Headers] = field(default_factory=list)

    def only_request(self) -> Headers:
        (headers,) = self.requests
        return headers


@contextlib.contextmanager
def running_peer(host: str) -> Iterator[Peer]:
    seen: list[Headers] = []

    def record(connection: ServerConnection, request: Request) -> Response | None:
        seen.append(request.headers)  # before the 101 goes out: recorded once connect returns
        return None

    def handler(connection: ServerConnection) -> None:
        # Wait for the client's first message (a session's session.update) or its close.
        try:
            connection.recv(timeout=10)
        except (ConnectionClosed, TimeoutError):
            return
        connection.close(1000, "done")

    server = serve(handler, host, 0, process_request=record, compression=None, logger=peer_logger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        yield Peer(f"ws://{host}:{port}/v1/realtime", seen)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def peer() -> Iterator[Peer]:
    with running_peer("127.0.0.1") as running:
        yield running


def lan_address() -> str | None:
    """This machine's IPv4 address on a network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # sends nothing: only picks the outgoing route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if is_loopback(address) else address


@pytest.fixture
def lan_peer() -> Iterator[Peer]:
    """The peer on this machine's network address: reached in clear, not over loopback."""
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    with running_peer(address) as running:
        yield running


async def handshake(endpoint: Endpoint) -> None:
    ws = await connect(endpoint.ws_url, headers=endpoint.handshake_headers())
    await ws.close()


def capture_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime_events")
    caplog.set_level(logging.DEBUG, logger="websockets")


async def test_the_environment_key_does_not_reach_a_local_server(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    capture_debug(caplog)
    await handshake(Endpoint(url=peer.url))
    headers = peer.only_request()
    assert "Authorization" not in headers
    assert ENV_KEY not in str(headers)
    assert ENV_KEY not in caplog.text


async def test_an_explicit_key_reaches_a_local_server(peer: Peer) -> None:
    await handshake(Endpoint(url=peer.url, api_key=GIVEN_KEY))
    assert peer.only_request()["Authorization"] == f"Bearer {GIVEN_KEY}"


async def test_secret_headers_arrive_but_are_never_shown(
    peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    capture_debug(caplog)
    endpoint = Endpoint(
        url=peer.url,
        headers={"api-key": HEADER_SECRET, "X-Session-Token": TOKEN_SECRET, "X-Trace": "1"},
    )
    logging.getLogger("realtime_events").debug("connecting to %s", endpoint)
    await handshake(endpoint)
    headers = peer.only_request()
    assert headers["api-key"] == HEADER_SECRET
    assert headers["X-Session-Token"] == TOKEN_SECRET
    # The handshake was logged at DEBUG, header by header, with the values hidden.
    assert "> X-Session-Token: <redacted>" in caplog.text
    assert "> api-key: <redacted>" in caplog.text
    assert "> X-Trace: 1" in caplog.text
    assert HEADER_SECRET not in caplog.text
    assert TOKEN_SECRET not in caplog.text
    assert HEADER_SECRET not in repr(endpoint)
    assert TOKEN_SECRET not in repr(endpoint)


async def test_no_key_crosses_the_network_in_clear_without_the_opt_in(lan_peer: Peer) -> None:
    with pytest.raises(InsecureKeyError):
        Session(url=lan_peer.url, api_key=GIVEN_KEY)
    with pytest.raises(InsecureKeyError):
        await handshake(Endpoint(url=lan_peer.url, headers={"X-Session-Token": TOKEN_SECRET}))
    assert lan_peer.requests == []
    await handshake(Endpoint(url=lan_peer.url))  # no key: connecting in clear is fine
    assert "Authorization" not in lan_peer.only_request()
    lan_peer.requests.clear()
    await handshake(Endpoint(url=lan_peer.url, api_key=GIVEN_KEY, allow_insecure_key=True))
    assert lan_peer.only_request()["Authorization"] == f"Bearer {GIVEN_KEY}"


# -- the beta dialect, retired on the OpenAI API ------------------------------


@pytest.mark.parametrize(
    "url", [None, "wss://api.openai.com/v1/realtime", "wss://API.openai.com/v1/realtime?x=1"]
)
def test_the_beta_dialect_is_refused_on_the_openai_api(url: str | None) -> None:
    endpoint = Endpoint(url=url, dialect="beta")
    with pytest.raises(InvalidConfigError) as caught:
        endpoint.handshake_headers()
    message = str(caught.value)
    assert caught.value.field == "dialect"
    assert "dialect='ga'" in message  # the fix
    assert "beta_api_shape_disabled" in message  # what the server would say
    assert "Azure" in message  # where the beta dialect still works
    # A setting to change, not a network failure the reconnect loop would retry.
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, ConnectionFailedError)
    assert ENV_KEY not in message


async def test_a_beta_session_to_the_openai_api_fails_before_connecting() -> None:
    session = Session(dialect="beta")  # constructing is fine: replaying a beta recording is
    with anyio.fail_after(10), pytest.raises(InvalidConfigError, match="dialect='ga'"):
        async with session:
            pytest.fail("the session opened")
    assert session.closed


def test_the_beta_dialect_stays_for_azure_and_compatible_servers() -> None:
    azure = Endpoint(
        azure_endpoint="https://my-resource.openai.azure.com",
        azure_deployment="dep",
        api_version="2024-10-01-preview",
        dialect="beta",
    )
    assert azure.handshake_headers()["OpenAI-Beta"] == "realtime=v1"
    proxy = Endpoint(url="wss://proxy.example.com/v1/realtime", dialect="beta")
    assert proxy.handshake_headers() == {"OpenAI-Beta": "realtime=v1"}


async def test_the_beta_header_reaches_a_compatible_server(peer: Peer) -> None:
    await handshake(Endpoint(url=peer.url, dialect="beta"))
    assert peer.only_request()["OpenAI-Beta"] == "realtime=v1"


def test_tail_sends_the_environment_key_only_to_openai(peer: Peer, anyio_backend: str) -> None:
    command = [sys.executable, "-m", "realtime_events", "--backend", anyio_backend]
    result = subprocess.run(
        [*command, "--color", "never", "-v", "tail", peer.url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPENAI_API_KEY": ENV_KEY},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    headers = peer.only_request()
    assert "Authorization" not in headers
    assert ENV_KEY not in str(headers)
    assert ENV_KEY not in result.stdout + result.stderr
    assert "not sending $OPENAI_API_KEY" in result.stderr
