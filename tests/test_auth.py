"""Client secrets against a small local HTTP server, and Azure settings from the environment."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from realtime_events import AuthenticationError, Session
from realtime_events.auth import (
    OPENAI_BASE_URL,
    ClientSecret,
    ClientSecretError,
    azure_from_env,
    create_client_secret,
    create_client_secret_sync,
)
from realtime_events.endpoint import BETA_RETIRED, Endpoint, InsecureKeyError
from realtime_events.errors import InvalidConfigError

KEY = "sk-test-123"


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers like the real endpoints; records every request it gets."""

    requests: list[dict[str, Any]]

    def do_GET(self) -> None:
        # Only a followed redirect would come here: record it as evidence.
        self.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": {}})
        self._answer(405, {"error": {"message": "POST only"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.requests.append(
            {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        given = self.headers.get("Authorization") or f"Bearer {self.headers.get('api-key')}"
        if given != f"Bearer {KEY}":
            self._answer(401, {"error": {"message": "Incorrect API key provided: sk-wr***"}})
        elif self.path == "/v1/realtime/client_secrets":
            session = {**body["session"], "id": "sess_123", "object": "realtime.session"}
            self._answer(
                200, {"value": "ek_abc", "expires_at": int(time.time()) + 600, "session": session}
            )
        elif self.path == "/v1/realtime/sessions":
            secret = {"value": "ek_beta", "expires_at": int(time.time()) + 60}
            self._answer(200, {**body, "id": "sess_456", "client_secret": secret})
        elif self.path == "/v1/moved/realtime/client_secrets":
            self.send_response(302)
            self.send_header("Location", "/v1/realtime/client_secrets")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/v1/broken/realtime/client_secrets":
            self._answer(500, {"error": {"message": "The server had an error"}})
        else:
            self._answer(404, {"error": {"message": "Not found"}})

    def _answer(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@contextlib.contextmanager
def fake_openai(host: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (FakeOpenAI,), {"requests": requests})
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with fake_openai("127.0.0.1") as answer:
        yield answer


def lan_address() -> str | None:
    """This machine's IPv4 address on a network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # sends nothing: only picks the outgoing route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.fixture
def lan_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The fake API on this machine's network address: reached in clear, not over loopback."""
    address = lan_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    with fake_openai(address) as answer:
        yield answer


def test_ga_client_secret(api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, requests = api
    secret = create_client_secret_sync(
        KEY,
        base_url=base_url,
        session_config={"voice": "alloy", "instructions": "Be brief."},
        expires_after_seconds=120,
    )
    assert isinstance(secret, ClientSecret)
    assert secret.value == "ek_abc"
    assert "ek_abc" not in repr(secret)  # a secret doesn't leak into logs
    assert not secret.expired
    assert secret.expires_in is not None
    assert secret.expires_in > 0
    assert secret.session["id"] == "sess_123"
    (request,) = requests
    assert request["path"] == "/v1/realtime/client_secrets"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"] == {
        "expires_after": {"anchor": "created_at", "seconds": 120},
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "audio": {"output": {"voice": "alloy"}},
            "instructions": "Be brief.",
        },
    }


def test_beta_client_secret(api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, requests = api
    secret = create_client_secret_sync(
        KEY, base_url=base_url, dialect="beta", session_config={"voice": "alloy"}
    )
    assert secret.value == "ek_beta"
    assert secret.session["id"] == "sess_456"
    (request,) = requests
    assert request["path"] == "/v1/realtime/sessions"
    assert request["headers"]["openai-beta"] == "assistants=v2"
    assert request["body"]["voice"] == "alloy"
    assert request["body"]["model"] == "gpt-realtime"
    assert request["body"]["client_secret"] == {
        "expires_after": {"anchor": "created_at", "seconds": 600}
    }


@pytest.mark.parametrize("base_url", [OPENAI_BASE_URL, "https://API.openai.com/v1/"])
def test_a_beta_client_secret_is_refused_on_the_openai_api(
    base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No key anywhere: had the refusal not come first, this would fail for the key.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(InvalidConfigError) as caught:
        create_client_secret_sync(dialect="beta", base_url=base_url)
    # The Session's own refusal, word for word, and then where a client secret goes instead.
    assert caught.value.field == "dialect"
    assert str(caught.value).startswith(BETA_RETIRED)
    assert "azure=True" in str(caught.value)
    with pytest.raises(InvalidConfigError) as session_refusal:
        Endpoint(dialect="beta").handshake_headers()
    assert str(session_refusal.value) == BETA_RETIRED


@pytest.mark.anyio
async def test_the_async_variant_refuses_a_beta_client_secret_too(anyio_backend: str) -> None:
    with pytest.raises(InvalidConfigError, match="dialect='ga'"):
        await create_client_secret(KEY, dialect="beta")


def test_a_beta_client_secret_still_reaches_azure_and_compatible_servers(
    api: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, requests = api
    create_client_secret_sync(KEY, base_url=base_url, dialect="beta")
    create_client_secret_sync(KEY, base_url=base_url, dialect="beta", azure=True)
    assert [request["path"] for request in requests] == ["/v1/realtime/sessions"] * 2


def test_azure_client_secret_uses_the_api_key_header(
    api: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, requests = api
    secret = create_client_secret_sync(KEY, base_url=base_url, azure=True)
    assert secret.value == "ek_abc"
    assert requests[0]["headers"]["api-key"] == KEY
    assert "authorization" not in requests[0]["headers"]


def test_a_refused_key_is_an_authentication_error(
    api: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, _ = api
    with pytest.raises(AuthenticationError) as caught:
        create_client_secret_sync("sk-wrong", base_url=base_url)
    assert caught.value.status == 401
    assert "Incorrect API key" in caught.value.body
    assert "HTTP 401" in str(caught.value)
    assert "handshake" not in str(caught.value)


def test_other_failures_carry_status_and_body(api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, _ = api
    with pytest.raises(ClientSecretError) as caught:
        create_client_secret_sync(KEY, base_url=base_url + "/broken")
    assert caught.value.status == 500
    assert "The server had an error" in caught.value.body
    assert "HTTP 500" in str(caught.value)


def test_an_unreachable_server_is_a_client_secret_error() -> None:
    with pytest.raises(ClientSecretError) as caught:
        create_client_secret_sync(KEY, base_url="http://127.0.0.1:9/v1", timeout=5)
    assert caught.value.status is None


@pytest.mark.anyio
async def test_the_async_variant(api: tuple[str, list[dict[str, Any]]], anyio_backend: str) -> None:
    base_url, requests = api
    secret = await create_client_secret(KEY, base_url=base_url)
    assert secret.value == "ek_abc"
    with pytest.raises(AuthenticationError):
        await create_client_secret("sk-wrong", base_url=base_url)
    assert len(requests) == 2


def test_azure_from_env() -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://my-resource.openai.azure.com",
        "AZURE_OPENAI_API_KEY": "azure-key",
        "OPENAI_API_VERSION": "2025-04-01-preview",
        "AZURE_OPENAI_DEPLOYMENT": "gpt-realtime-dep",
    }
    kwargs = azure_from_env(env)
    assert kwargs == {
        "azure_endpoint": "https://my-resource.openai.azure.com",
        "api_key": "azure-key",
        "api_version": "2025-04-01-preview",
        "azure_deployment": "gpt-realtime-dep",
    }
    session = Session(**kwargs)
    assert session.url == (
        "wss://my-resource.openai.azure.com/openai/realtime"
        "?api-version=2025-04-01-preview&deployment=gpt-realtime-dep"
    )
    assert azure_from_env({"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"}) == {
        "azure_endpoint": "https://x.openai.azure.com"
    }
    with pytest.raises(ValueError, match="AZURE_OPENAI_ENDPOINT"):
        azure_from_env({})


def test_the_environment_key_goes_only_to_openai(
    api: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, requests = api
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(ClientSecretError, match=r"not sent to 127\.0\.0\.1"):
        create_client_secret_sync(base_url=base_url)
    assert requests == []  # nothing was sent at all


def test_the_azure_environment_key_goes_to_the_azure_base_url(
    api: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, requests = api
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-azure")
    assert create_client_secret_sync(base_url=base_url, azure=True).value == "ek_abc"
    assert requests[0]["headers"]["api-key"] == KEY
    with pytest.raises(ClientSecretError, match=r"not sent to api\.openai\.com"):
        create_client_secret_sync(azure=True)  # the default base_url is OpenAI's, not Azure


def test_a_key_is_never_sent_in_clear_to_another_machine(
    lan_api: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, requests = lan_api
    with pytest.raises(InsecureKeyError, match="allow_insecure_key=True") as caught:
        create_client_secret_sync(KEY, base_url=base_url)
    assert KEY not in str(caught.value)
    assert requests == []
    secret = create_client_secret_sync(KEY, base_url=base_url, allow_insecure_key=True)
    assert secret.value == "ek_abc"
    assert requests[0]["headers"]["authorization"] == f"Bearer {KEY}"


def test_a_key_never_follows_a_redirect(api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, requests = api
    with pytest.raises(ClientSecretError) as caught:
        create_client_secret_sync(KEY, base_url=base_url + "/moved")
    assert caught.value.status == 302
    assert [request["path"] for request in requests] == ["/v1/moved/realtime/client_secrets"]
