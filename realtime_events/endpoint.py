"""Where and how a session connects: the WebSocket URL and the handshake headers.

Three kinds of endpoint share one shape: the OpenAI API (``?model=``, a Bearer
key), Azure OpenAI (``/openai/realtime?api-version=&deployment=``, an
``api-key`` header), and any other URL (a local or compatible server, which may
need no key at all).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from .errors import ConnectionFailedError
from .events.names import Dialect

__all__ = ["OPENAI_URL", "Endpoint"]

OPENAI_URL = "wss://api.openai.com/v1/realtime"


@dataclass(frozen=True)
class Endpoint:
    """A Realtime endpoint. The key is never part of its ``repr``.

    ``api_key`` defaults to ``$OPENAI_API_KEY`` (``$AZURE_OPENAI_API_KEY`` with
    ``azure_endpoint``), read when the headers are built, so a key rotated in
    the environment is picked up by the next reconnect.
    """

    url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    dialect: Dialect = "ga"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str | None = None
    call_id: str | None = None

    @property
    def ws_url(self) -> str:
        """The WebSocket URL, query included (no credentials: they go in headers)."""
        query: dict[str, str] = {}
        if self.azure_endpoint:
            endpoint = self.azure_endpoint
            parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
            scheme = "ws" if parts.scheme in ("http", "ws") else "wss"
            base = f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/openai/realtime"
            query["api-version"] = self.api_version or os.environ.get("OPENAI_API_VERSION", "")
            query["deployment"] = self.azure_deployment or self.model or ""
        else:
            base = self.url or OPENAI_URL
            if self.model and "model=" not in base:
                query["model"] = self.model
        if self.call_id:
            query["call_id"] = self.call_id
        query.update(self.query)
        query = {key: value for key, value in query.items() if value}
        if not query:
            return base
        return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"

    def handshake_headers(self) -> dict[str, str]:
        """The headers of the WebSocket handshake: credentials, dialect, extras.

        Raises :class:`ConnectionFailedError` when the OpenAI API would get no key.
        """
        headers: dict[str, str] = {}
        if self.azure_endpoint:
            key = self.api_key or os.environ.get("AZURE_OPENAI_API_KEY")
            if key:
                headers["api-key"] = key
        else:
            key = self.api_key or os.environ.get("OPENAI_API_KEY")
            if key:
                headers["Authorization"] = f"Bearer {key}"
            elif self.url is None:
                raise ConnectionFailedError(
                    "no API key: pass api_key=... or set OPENAI_API_KEY "
                    "(a local server given by url= needs none)"
                )
        if self.dialect == "beta":
            headers["OpenAI-Beta"] = "realtime=v1"
        headers.update(self.headers)
        return headers
