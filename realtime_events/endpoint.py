"""Where and how a session connects: the WebSocket URL and the handshake headers.

Three kinds of endpoint share one shape: the OpenAI API (``?model=``, a Bearer
key), Azure OpenAI (``/openai/realtime?api-version=&deployment=``, an
``api-key`` header), and any other URL (a local or compatible server, which may
need no key at all). The Live protocol (``protocol="live"``) connects to
``/v1/live/sessions`` with no query: its model goes in ``session.start``.

Keys stay where they belong: ``$OPENAI_API_KEY`` goes only to the OpenAI API
(``api.openai.com``), ``$AZURE_OPENAI_API_KEY`` only to the configured
``azure_endpoint``, and any other URL gets a key only when one is passed as
``api_key``. No credential crosses a network unencrypted (``ws://`` to a host
other than this machine) unless ``allow_insecure_key=True`` says so.

The beta dialect is retired on the OpenAI API: since May 2026 it answers the
``OpenAI-Beta: realtime=v1`` handshake with an ``error`` event
(``beta_api_shape_disabled``: "The Realtime Beta API is no longer supported")
and closes with 4000. A handshake that would ask it for the beta dialect is
refused before connecting; Azure OpenAI and compatible servers keep it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

from ._secrets import (
    OPENAI_HOST,
    InsecureKeyError,
    SecretHeaders,
    Target,
    check_key_transport,
    environment_key,
    is_openai_host,
    is_secret_header,
    redact_url,
    target,
)
from .errors import ConnectionFailedError, InvalidConfigError
from .events.names import Dialect

__all__ = ["LIVE_URL", "OPENAI_URL", "Endpoint", "InsecureKeyError", "Protocol", "SecretHeaders"]

logger = logging.getLogger("realtime_events.endpoint")

OPENAI_URL = "wss://api.openai.com/v1/realtime"
#: The primary WebSocket of the Live protocol (``realtime_events.live.live_url()``).
LIVE_URL = "wss://api.openai.com/v1/live/sessions"

#: The protocol a session speaks: OpenAI's Realtime API, or its Live API.
Protocol: TypeAlias = Literal["realtime", "live"]

BETA_RETIRED = (
    "dialect='beta' is retired on the OpenAI API: it refuses the beta protocol "
    "(beta_api_shape_disabled, 'The Realtime Beta API is no longer supported') since "
    "May 2026. Use dialect='ga' (the default); the beta dialect stays for Azure OpenAI "
    "(azure_endpoint=...) and compatible servers given by url=..."
)


@dataclass(frozen=True, repr=False)
class Endpoint:
    """A Realtime endpoint. No credential is ever part of its ``repr``.

    ``api_key`` defaults to ``$OPENAI_API_KEY`` for the OpenAI API (the default
    ``url``, or any ``url`` on ``api.openai.com``) and to ``$AZURE_OPENAI_API_KEY``
    with ``azure_endpoint``; any other ``url`` gets a key only from ``api_key``.
    The environment is read when the headers are built, so a key rotated there
    is picked up by the next reconnect.

    The URL is worked out once, when first asked for (a session asks for it at
    every connection and in its checks): with Azure OpenAI and no
    ``api_version``, ``$OPENAI_API_VERSION`` is read then, and kept.

    ``headers`` is kept as :class:`SecretHeaders`: its ``repr`` hides the value
    of every credential (Authorization, api-key, Cookie, any name holding
    "key", "token", "secret", "auth"...), and so does the Endpoint's.

    A credential to a ``ws://`` URL whose host is not this machine raises
    :class:`InsecureKeyError` (when the Endpoint is made, or for a key from the
    environment when the headers are built), unless ``allow_insecure_key`` is true.
    """

    url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    dialect: Dialect = "ga"
    headers: Mapping[str, str] = field(default_factory=SecretHeaders)
    query: Mapping[str, str] = field(default_factory=dict)
    azure_endpoint: str | None = None
    azure_deployment: str | None = None
    api_version: str | None = None
    call_id: str | None = None
    allow_insecure_key: bool = False
    protocol: Protocol = "realtime"

    def __post_init__(self) -> None:
        if self.protocol == "live":
            self._check_live()
        # Whatever mapping was given, keep one whose repr redacts the secrets.
        object.__setattr__(self, "headers", SecretHeaders(self.headers))
        # Refuse what is known now (an explicit key, credential headers) at once,
        # rather than at the first connect.
        known = dict(self.headers)
        if self.api_key:
            known.setdefault("api-key" if self.azure_endpoint else "Authorization", "")
        self._check_transport(known)

    def __repr__(self) -> str:
        shown = []
        for each in fields(self):
            if not each.repr:
                continue
            value = getattr(self, each.name)
            if each.name in ("url", "azure_endpoint") and value is not None:
                value = redact_url(value)
            shown.append(f"{each.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _check_live(self) -> None:
        """Refuse what the Live protocol has no place for, naming it."""
        unsupported = {
            "azure_endpoint": "Azure OpenAI serves the Realtime protocol only",
            "call_id": "a Live call is answered with LiveSessions.accept, then attached "
            "through live.sideband_url(session_id)",
        }
        for name, why in unsupported.items():
            if getattr(self, name):
                raise InvalidConfigError(f"{name}= is not for a Live session: {why}", name)
        if self.dialect != "ga":
            raise InvalidConfigError(
                "dialect= is a Realtime setting: the Live protocol has one dialect", "dialect"
            )

    @cached_property
    def ws_url(self) -> str:
        """The WebSocket URL, query included (no credentials: they go in headers).

        Worked out once: the fields are frozen, and ``$OPENAI_API_VERSION``
        (Azure OpenAI without ``api_version``) is read the first time.
        """
        query: dict[str, str] = {}
        if self.protocol == "live":
            # No model in the query: the model goes in session.start.
            base = self.url or LIVE_URL
            query.update(self.query)
            if not query:
                return base
            return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"
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

    @cached_property
    def _where(self) -> Target | None:
        """Where :attr:`ws_url` goes: host, user info, encrypted (None: not a WebSocket URL)."""
        return target(self.ws_url)

    @property
    def is_openai(self) -> bool:
        """True when this is the OpenAI API, the one place ``$OPENAI_API_KEY`` goes."""
        if self.azure_endpoint:
            return False
        where = self._where
        return where is not None and is_openai_host(where.host)

    def handshake_headers(self) -> dict[str, str]:
        """The headers of the WebSocket handshake, real values: credentials, dialect, extras.

        Raises :class:`ConnectionFailedError` when the OpenAI API would get no
        key, :class:`InsecureKeyError` when a credential would go unencrypted
        to another machine without ``allow_insecure_key``, and
        :class:`InvalidConfigError` for the beta dialect on the OpenAI API,
        which retired it.
        """
        if self.dialect == "beta" and self.is_openai:
            raise InvalidConfigError(BETA_RETIRED, "dialect")
        headers: dict[str, str] = {}
        key = self._key()
        if self.azure_endpoint:
            if key:
                headers["api-key"] = key
        elif key:
            headers["Authorization"] = f"Bearer {key}"
        elif self.is_openai:
            raise ConnectionFailedError(
                "no API key: pass api_key=... or set OPENAI_API_KEY "
                "(a local server given by url= needs none)"
            )
        if self.dialect == "beta":
            headers["OpenAI-Beta"] = "realtime=v1"
        headers.update(self.headers)
        self._check_transport(headers)
        return headers

    def _key(self) -> str | None:
        """The key to send: the one given, else the environment's for this kind of endpoint."""
        if self.api_key:
            return self.api_key
        azure = bool(self.azure_endpoint)
        where = self._where
        key = environment_key(where.host if where is not None else "", azure=azure)
        if key is None and not azure and environment_key(OPENAI_HOST):
            # The environment has a key, but for the OpenAI API only. Said once
            # per connection, so a proxy that answers 401 is easy to explain.
            logger.info(
                "not sending $OPENAI_API_KEY to %s, which is not the OpenAI API: "
                "pass api_key=... to send a key there",
                redact_url(self.ws_url),
            )
        return key

    def _check_transport(self, headers: Mapping[str, str]) -> None:
        if self.allow_insecure_key:
            return
        where = self._where
        if where is None:
            return  # not a WebSocket URL: connect() refuses it before sending anything
        what = [name for name in headers if is_secret_header(name)]
        if where.user_info:
            what.append("the URL's user info")
        check_key_transport(where.host, secure=where.secure, what=what, url=self.ws_url)
