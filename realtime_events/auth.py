"""Credentials and endpoints: ephemeral client secrets, and Azure settings from the environment.

A browser or a phone app should never hold your API key. Your backend mints a
short-lived client secret instead and hands its value to the client, which
connects with it as if it were a key::

    secret = await create_client_secret(session_config={"voice": "alloy"})
    Session(api_key=secret.value)             # on the client, before secret.expires_at

:func:`create_client_secret_sync` does the same for threaded backends (Flask,
Django). Both use only the standard library's HTTP client, in a worker thread
for the async one, so they add no dependency.

For Azure OpenAI, ``Session(**azure_from_env())`` reads the usual environment
variables. To join a SIP or WebRTC call from your server (a "sideband"
connection), pass the call's id: ``Session(call_id="rtc_...")`` connects to
``wss://api.openai.com/v1/realtime?call_id=...``.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread

from ._http import api_key_for as _key
from ._http import post_json as _post_json
from ._secrets import is_openai_host
from .config import to_wire
from .endpoint import BETA_RETIRED
from .errors import ClientSecretError, InvalidConfigError
from .events.names import Dialect

__all__ = [
    "ClientSecret",
    "ClientSecretError",
    "azure_from_env",
    "create_client_secret",
    "create_client_secret_sync",
]

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class ClientSecret:
    """A short-lived key for one client: pass ``value`` as a Session's ``api_key``.

    ``expires_at`` is in epoch seconds. ``session`` is the configuration the
    server bound to the secret; ``raw`` is its whole answer.
    """

    value: str = field(repr=False)
    expires_at: int | None
    session: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @property
    def expired(self) -> bool:
        """True once ``expires_at`` has passed (a session already open may go on)."""
        return self.expires_at is not None and time.time() >= self.expires_at

    @property
    def expires_in(self) -> float | None:
        """Seconds until ``expires_at`` (negative once past), or None if unknown."""
        return None if self.expires_at is None else self.expires_at - time.time()


def create_client_secret_sync(
    api_key: str | None = None,
    *,
    session_config: Mapping[str, Any] | None = None,
    model: str = "gpt-realtime",
    expires_after_seconds: int = 600,
    base_url: str = OPENAI_BASE_URL,
    dialect: Dialect = "ga",
    azure: bool = False,
    timeout: float = 30.0,
    allow_insecure_key: bool = False,
) -> ClientSecret:
    """Mint an ephemeral client secret, blocking; see :func:`create_client_secret`."""
    if dialect == "beta" and not azure and is_openai_host(urlsplit(base_url).hostname or ""):
        # Refused before the key is read or anything is sent, as a Session refuses it.
        raise InvalidConfigError(
            f"{BETA_RETIRED} (for a client secret: azure=True, or a base_url=...)", "dialect"
        )
    key = _key(api_key, base_url, azure=azure, allow_insecure_key=allow_insecure_key)
    config = dict(session_config or {})
    config.setdefault("model", model)
    wire = to_wire(config, dialect)
    expires_after = {"anchor": "created_at", "seconds": expires_after_seconds}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers.update({"api-key": key} if azure else {"Authorization": f"Bearer {key}"})
    if dialect == "ga":
        path = "/realtime/client_secrets"
        body: dict[str, Any] = {"expires_after": expires_after, "session": wire}
    else:
        path = "/realtime/sessions"
        body = {**wire, "client_secret": {"expires_after": expires_after}}
        # The header the official SDK sends on this endpoint, as written there.
        headers["OpenAI-Beta"] = "assistants=v2"
    answer = _post_json(base_url.rstrip("/") + path, body, headers, timeout)
    return _client_secret(answer, dialect)


async def create_client_secret(
    api_key: str | None = None,
    *,
    session_config: Mapping[str, Any] | None = None,
    model: str = "gpt-realtime",
    expires_after_seconds: int = 600,
    base_url: str = OPENAI_BASE_URL,
    dialect: Dialect = "ga",
    azure: bool = False,
    timeout: float = 30.0,
    allow_insecure_key: bool = False,
) -> ClientSecret:
    """Mint an ephemeral client secret for a client to connect with.

    ``session_config`` takes the same dialect-neutral fields as a Session
    (``instructions``, ``voice``, ``output_modalities``, ``tools``...); it binds
    the sessions made with the secret. GA calls ``POST {base_url}/realtime/client_secrets``;
    ``dialect="beta"`` calls the beta ``POST {base_url}/realtime/sessions``, on
    Azure or a compatible server: the OpenAI API retired it, and
    :class:`InvalidConfigError` says so before anything is sent.
    ``api_key`` defaults to ``$OPENAI_API_KEY`` (``$AZURE_OPENAI_API_KEY`` and the
    ``api-key`` header with ``azure=True``; then ``base_url`` is
    ``https://<resource>.openai.azure.com/openai/v1``). ``$OPENAI_API_KEY`` is
    sent only to ``api.openai.com``: another ``base_url`` needs ``api_key``. A key
    never goes over plain ``http://`` to another machine unless
    ``allow_insecure_key=True`` (:class:`~realtime_events.endpoint.InsecureKeyError`
    otherwise), and never follows a redirect (a 3xx answer is a failure).

    Raises :class:`AuthenticationError` when the key is refused (401/403) and
    :class:`ClientSecretError` for any other failure, with the status and body.
    """
    call = functools.partial(
        create_client_secret_sync,
        api_key,
        session_config=session_config,
        model=model,
        expires_after_seconds=expires_after_seconds,
        base_url=base_url,
        dialect=dialect,
        azure=azure,
        timeout=timeout,
        allow_insecure_key=allow_insecure_key,
    )
    # urllib blocks: run it in a worker thread so the event loop keeps serving.
    return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)


def _client_secret(answer: dict[str, Any], dialect: Dialect) -> ClientSecret:
    if dialect == "ga":
        value, expires_at = answer.get("value"), answer.get("expires_at")
        session = answer.get("session") or {}
    else:
        secret = answer.get("client_secret") or {}
        value, expires_at = secret.get("value"), secret.get("expires_at")
        session = {k: v for k, v in answer.items() if k != "client_secret"}
    if not isinstance(value, str) or not value:
        raise ClientSecretError(
            "the answer holds no client secret value", 200, json.dumps(answer)[:500]
        )
    return ClientSecret(
        value=value,
        expires_at=int(expires_at) if isinstance(expires_at, int | float) else None,
        session=dict(session),
        raw=answer,
    )


def azure_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Session keyword arguments for Azure OpenAI, from the usual environment variables.

    ``AZURE_OPENAI_ENDPOINT`` (required), ``AZURE_OPENAI_API_KEY``,
    ``OPENAI_API_VERSION`` and ``AZURE_OPENAI_DEPLOYMENT`` become ``azure_endpoint``,
    ``api_key``, ``api_version`` and ``azure_deployment``; unset ones are left
    out. Use it as ``Session(**azure_from_env(), instructions=...)``.
    """
    env = os.environ if environ is None else environ
    endpoint = env.get("AZURE_OPENAI_ENDPOINT", "").strip()
    if not endpoint:
        raise ValueError(
            "AZURE_OPENAI_ENDPOINT is not set (e.g. https://my-resource.openai.azure.com)"
        )
    kwargs: dict[str, Any] = {"azure_endpoint": endpoint}
    for variable, name in (
        ("AZURE_OPENAI_API_KEY", "api_key"),
        ("OPENAI_API_VERSION", "api_version"),
        ("AZURE_OPENAI_DEPLOYMENT", "azure_deployment"),
    ):
        value = env.get(variable, "").strip()
        if value:
            kwargs[name] = value
    return kwargs
