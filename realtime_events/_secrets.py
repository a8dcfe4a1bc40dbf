"""Credentials in a handshake: which headers are secret, where a key may travel, and redaction.

One rule decides what is secret, and everything that shows headers follows it:
:class:`SecretHeaders` redacts its own ``repr``, so an :class:`~realtime_events.Endpoint`
or a Session never prints a credential however it is printed or logged, and
:class:`RedactSecretHeaders` hides the values websockets writes to the wire
log (the only place raw header values are logged) for every record, on the
logger itself.

:func:`environment_key` is the one place an API key is read from the
environment, and it decides which host each variable's key may go to.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple
from urllib.parse import urlsplit

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from .errors import InsecureKeyError

__all__ = [
    "AZURE_KEY_VARIABLE",
    "OPENAI_HOST",
    "OPENAI_KEY_VARIABLE",
    "REDACTED",
    "InsecureKeyError",
    "RedactSecretHeaders",
    "SecretHeaders",
    "Target",
    "check_key_transport",
    "environment_key",
    "environment_key_may_go_to",
    "install_log_redaction",
    "is_loopback",
    "is_openai_host",
    "is_secret_header",
    "key_variable",
    "redact_url",
    "target",
]

REDACTED = "<redacted>"

OPENAI_HOST = "api.openai.com"

#: The environment variables API keys are read from: OpenAI's, and Azure OpenAI's.
OPENAI_KEY_VARIABLE = "OPENAI_API_KEY"
AZURE_KEY_VARIABLE = "AZURE_OPENAI_API_KEY"

# A header whose name holds one of these carries a credential: Authorization,
# Proxy-Authorization, api-key, Cookie, X-Auth-Token, X-Client-Secret...
# OpenAI-Organization and OpenAI-Project are not among them: they identify an
# account but grant nothing without a key, and support asks for them.
_SECRET_WORDS = ("auth", "key", "token", "secret", "password", "passwd", "credential", "cookie")


def is_secret_header(name: str) -> bool:
    """True if a header of this name carries a credential (its value is never shown)."""
    lowered = name.strip().lower()
    if lowered.startswith("sec-websocket-"):
        return False  # the handshake's own nonce and its answer, not credentials
    return any(word in lowered for word in _SECRET_WORDS)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with the value of every secret header replaced."""
    return {name: REDACTED if is_secret_header(name) else value for name, value in headers.items()}


class SecretHeaders(Mapping[str, str]):
    """Handshake headers, read-only, whose ``repr`` and ``str`` redact every secret value.

    Reading a header (``headers["Authorization"]``, ``dict(headers)``) gives the
    real value: that is what the handshake sends. Only the printed forms hide it.
    """

    __slots__ = ("_items",)

    def __init__(self, headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, str] = dict(headers)

    def __getitem__(self, name: str) -> str:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_headers(self._items)!r})"


class RedactSecretHeaders(logging.Filter):
    """Hide the value of every secret header in websockets' handshake log.

    websockets logs each header of a request or response as ``"> %s: %s"`` or
    ``"< %s: %s"`` with the name and the value as arguments. Set on the logger
    the protocol writes to, the filter sees every such record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and isinstance(args[0], str)
            and str(record.msg).endswith("%s: %s")
            and is_secret_header(args[0])
        ):
            record.args = (args[0], REDACTED)
        return True


def install_log_redaction(logger: logging.Logger) -> None:
    """Put :class:`RedactSecretHeaders` on ``logger``, once."""
    if not any(isinstance(existing, RedactSecretHeaders) for existing in logger.filters):
        logger.addFilter(RedactSecretHeaders())


class Target(NamedTuple):
    """Where a WebSocket URL leads, as the connection will read it."""

    host: str
    secure: bool
    user_info: bool


def target(url: str) -> Target | None:
    """The host of ``url`` as websockets reads it, or None if it is no WebSocket URL.

    Parsing with websockets itself means the host judged here is the host the
    connection dials, whatever tricks the URL holds (``@``, ``\\``, odd case).
    """
    try:
        uri = parse_uri(url)
    except InvalidURI:
        return None
    return Target(uri.host, uri.secure, uri.user_info is not None)


def _normal(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def is_openai_host(host: str) -> bool:
    """True for the OpenAI API's host, the only one ``$OPENAI_API_KEY`` is sent to."""
    return _normal(host) == OPENAI_HOST


def is_loopback(host: str) -> bool:
    """True for this machine: ``localhost``, 127.0.0.0/8 and ``::1``."""
    host = _normal(host)
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def key_variable(*, azure: bool) -> str:
    """The environment variable holding the API key: Azure OpenAI's, or OpenAI's."""
    return AZURE_KEY_VARIABLE if azure else OPENAI_KEY_VARIABLE


def environment_key_may_go_to(host: str, *, azure: bool) -> bool:
    """True if the environment's key may be sent to ``host``.

    ``$OPENAI_API_KEY`` goes to the OpenAI API only; ``$AZURE_OPENAI_API_KEY``
    goes to the Azure resource the caller named, never to OpenAI.
    """
    return is_openai_host(host) != azure


def environment_key(host: str, *, azure: bool = False) -> str | None:
    """The API key the environment holds for ``host``, or None if there is none for it.

    None when the variable is unset or empty, or when its key must not go to
    ``host`` (see :func:`environment_key_may_go_to`). The environment is read
    at each call, so a key rotated there is picked up by the next one.
    """
    if not environment_key_may_go_to(host, azure=azure):
        return None
    return os.environ.get(key_variable(azure=azure)) or None


def check_key_transport(host: str, *, secure: bool, what: Iterable[str], url: str) -> None:
    """Raise :class:`InsecureKeyError` if credentials ``what`` would cross a network in clear.

    ``what`` names the credentials (``Authorization``, ``api-key``...); an empty
    one, an encrypted connection or a loopback host pass.
    """
    names = list(what)
    if not names or secure or is_loopback(host):
        return
    raise InsecureKeyError(
        f"refusing to send {', '.join(names)} unencrypted to {host} ({redact_url(url)}): "
        "anyone on the network could read it. Use a wss:// (https://) URL, or pass "
        "allow_insecure_key=True if the network in between is trusted."
    )


def redact_url(url: str) -> str:
    """``url`` with the password of its user info, if any, replaced."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:{REDACTED}@{hostport}").geturl()
