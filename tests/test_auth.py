"""Client secrets against a small local HTTP server, and Azure settings from the environment."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from realtime_events import AuthenticationError, Session
from realtime_events.auth import (
    ClientSecret,
    ClientSecretError,
    azure_from_env,
    create_client_secret,
    create_client_secret_sync,
)

KEY = "sk-test-123"


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers like the real endpoints; records every request it gets."""

    requests: list[dict[str, Any]]

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


@pytest.fixture
def api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (FakeOpenAI,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


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
