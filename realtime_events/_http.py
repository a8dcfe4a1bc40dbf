"""HTTP for the REST endpoints: a POST with the standard library, the key kept where it belongs.

Client secrets and call control share it. It adds no dependency: ``urllib``
blocks, so the async helpers run it in a worker thread. A key goes only where
:mod:`realtime_events._secrets` allows, and no redirect is ever followed (urllib
would resend the key to wherever the answer points).
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


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    *,
    error: ErrorFactory = ClientSecretError,
) -> tuple[int, str]:
    """POST ``body``; return the status and text of a 2xx answer.

    A 401 or 403 raises :class:`AuthenticationError`; any other failure (an
    error status, a 3xx, no answer at all) raises what ``error`` builds.
    """
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
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
