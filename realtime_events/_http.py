"""HTTP for the REST endpoints: requests with the standard library, the key kept where it belongs.

Client secrets, call control and the Live session endpoints share it: one
:func:`request` (with :func:`post` and :func:`get` over it) maps every failure
the same way, and :func:`api_error` reads the API's error envelope. It adds no
dependency: ``urllib`` blocks, so the async helpers run it in a worker thread.
A key goes only where :mod:`realtime_events._secrets` allows, and no redirect
is ever followed (urllib would resend the key to wherever the answer points).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ._secrets import (
    check_key_transport,
    environment_key,
    environment_key_may_go_to,
    key_variable,
)
from .errors import AuthenticationError, ClientSecretError

#: Builds the exception for a failure: ``(message, status, body)``; status None when no answer came.
ErrorFactory = Callable[[str, int | None, str], Exception]


def api_key_for(
    api_key: str | None,
    base_url: str,
    *,
    azure: bool,
    allow_insecure_key: bool,
    error: ErrorFactory = ClientSecretError,
) -> str:
    """The key to send to ``base_url``: the one given, or the environment's if it belongs there."""
    key = optional_key_for(api_key, base_url, azure=azure, allow_insecure_key=allow_insecure_key)
    if not key:
        host = urlsplit(base_url).hostname or ""
        variable = key_variable(azure=azure)
        withheld = not environment_key_may_go_to(host, azure=azure)
        where = f" (the environment's key is not sent to {host})" if withheld else ""
        raise error(f"no API key: pass api_key=... or set {variable}{where}", None, "")
    return key


def optional_key_for(
    api_key: str | None, base_url: str, *, azure: bool, allow_insecure_key: bool
) -> str | None:
    """Like :func:`api_key_for`, but None when there is no key (a local server needs none)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    key = api_key or environment_key(host, azure=azure)
    if key and not allow_insecure_key:
        header = "api-key" if azure else "Authorization"
        check_key_transport(host, secure=parts.scheme == "https", what=[header], url=base_url)
    return key


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would resend the key to wherever the answer points."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # urllib then raises the 3xx as an HTTPError


_opener = urllib.request.build_opener(_NoRedirect)


def request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    *,
    body: bytes | None = None,
    error: ErrorFactory = ClientSecretError,
) -> tuple[int, bytes]:
    """Send one request; return the status and body of a 2xx answer.

    A body (even an empty one) goes as JSON unless ``headers`` say otherwise:
    urllib would label it ``application/x-www-form-urlencoded``, which no
    endpoint here takes. A 401 or 403 raises :class:`AuthenticationError`; any
    other failure (an error status, a 3xx, no answer at all) raises what
    ``error`` builds.
    """
    sent = dict(headers)
    if body is not None and not any(name.lower() == "content-type" for name in sent):
        sent["Content-Type"] = "application/json"
    prepared = urllib.request.Request(url, data=body, headers=sent, method=method)
    try:
        with _opener.open(prepared, timeout=timeout) as response:
            return response.status, bytes(response.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        detail = f": {text.strip()[:500]}" if text.strip() else ""
        if exc.code in (401, 403):
            raise AuthenticationError(
                exc.code,
                text,
                dict(exc.headers.items()),
                message=f"the API key was refused (HTTP {exc.code}) by {url}{detail}",
            ) from None
        raise error(f"HTTP {exc.code} from {url}{detail}", exc.code, text) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise error(f"could not reach {url}: {reason}", None, "") from exc


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    *,
    error: ErrorFactory = ClientSecretError,
) -> tuple[int, str]:
    """POST ``body`` (JSON unless ``headers`` say otherwise); return a 2xx answer's status and text.

    Failures are those of :func:`request`.
    """
    status, answer = request("POST", url, headers, timeout, body=body, error=error)
    return status, answer.decode("utf-8", "replace")


def get(
    url: str,
    headers: Mapping[str, str],
    timeout: float,
    *,
    error: ErrorFactory = ClientSecretError,
) -> bytes:
    """GET ``url``; return a 2xx answer's bytes. Failures are those of :func:`request`."""
    _status, answer = request("GET", url, headers, timeout, error=error)
    return answer


def api_error(body: str) -> tuple[str | None, str | None]:
    """The ``code`` and ``message`` of the API's error envelope, if ``body`` is one."""
    try:
        envelope = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(envelope, dict):
        return None, None
    code, message = envelope.get("code"), envelope.get("message")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def post_json(
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    timeout: float,
    *,
    error: ErrorFactory = ClientSecretError,
) -> dict[str, Any]:
    """POST ``body`` as JSON; return the answer, which must be a JSON object."""
    _status, text = post(url, json.dumps(body).encode(), headers, timeout, error=error)
    try:
        answer = json.loads(text)
    except ValueError:
        raise error(f"{url} answered with something not JSON", 200, text) from None
    if not isinstance(answer, dict):
        raise error(f"{url} answered with a JSON {type(answer).__name__}", 200, text)
    return answer
