"""Exceptions raised by realtime-events.

Every exception derives from :class:`RealtimeError`, so ``except RealtimeError``
catches anything the library raises on purpose. Each one is defined here; a
module that raises one also exports it (``realtime_events.endpoint.InsecureKeyError``
is this module's class), so both imports name the same class.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "AuthenticationError",
    "CallError",
    "CallNotFoundError",
    "ClientSecretError",
    "ClosedBeforeOpenError",
    "ConnectionClosedError",
    "ConnectionFailedError",
    "HandshakeRejectedError",
    "InsecureKeyError",
    "InvalidConfigError",
    "InvalidEventError",
    "InvalidFrameError",
    "LiveSessionGoneError",
    "PluginNotApplicableError",
    "PluginNotFoundError",
    "RealtimeError",
    "RecordingError",
    "ServerError",
    "SessionClosedError",
    "UnknownEventError",
    "WebhookError",
]


class RealtimeError(Exception):
    """Base class of every exception raised by realtime-events.

    Each one pickles back to itself, message and attributes, so that it
    crosses a process boundary whole (``anyio.to_process``, a process pool).
    Python's default rebuilds an exception by calling its class with its
    message, which a constructor taking other arguments refuses or garbles.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls: type[RealtimeError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An exception of ``cls`` with ``args`` and ``state``, made without its ``__init__``."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidFrameError(RealtimeError):
    """A frame from the server could not be read as an event.

    ``frame`` keeps the raw data, so nothing is lost: a binary frame, text that is
    not JSON, a JSON value that is not an object, or an object without ``type``.
    """

    def __init__(self, message: str, frame: bytes | str) -> None:
        super().__init__(message)
        self.frame = frame


class InvalidEventError(RealtimeError, ValueError):
    """A client event failed validation before it was sent."""


class UnknownEventError(RealtimeError, ValueError):
    """An event name no server, plugin or application sends: a handler for it would never run.

    Raised when a handler, a waiter or a stream is registered for it, and when
    it is emitted; the message suggests the closest known name. Custom names
    are declared first (``session.declare(...)``, or a plugin's ``events``).
    """


class InvalidConfigError(RealtimeError, ValueError):
    """A session setting has a value the Realtime API does not accept.

    Raised before anything is sent; the message names the field, the value and
    the allowed values. ``field`` is the setting's dialect-neutral name.
    """

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class InsecureKeyError(RealtimeError, ValueError):
    """A credential would go in clear text (``ws://``, ``http://``) to another machine.

    A ValueError, not a :class:`ConnectionFailedError`: the arguments are wrong,
    the network is not at fault, and reconnecting would not help. Use a
    ``wss://`` (``https://``) URL, or pass ``allow_insecure_key=True`` when the
    network in between is trusted.
    """


class ConnectionFailedError(RealtimeError):
    """The connection could not be opened (DNS, TCP, TLS, or the WebSocket handshake)."""


class HandshakeRejectedError(ConnectionFailedError):
    """The server answered the WebSocket handshake with an HTTP error.

    ``status`` and ``body`` are the server's answer; the body usually explains why.
    """

    def __init__(
        self,
        status: int,
        body: str,
        headers: dict[str, str] | None = None,
        *,
        message: str | None = None,
    ) -> None:
        detail = f": {body.strip()[:500]}" if body.strip() else ""
        super().__init__(
            message or f"server refused the WebSocket handshake with HTTP {status}{detail}"
        )
        self.status = status
        self.body = body
        self.headers = headers or {}


class AuthenticationError(HandshakeRejectedError):
    """The server refused the credentials (HTTP 401 or 403): check the API key."""


class LiveSessionGoneError(HandshakeRejectedError):
    """A sideband's session is gone: its attach was answered with HTTP 404.

    ``session_id`` is the session the sideband attached to; nothing is retried:
    a sideband never starts a session of its own.
    """

    def __init__(
        self, session_id: str, status: int, body: str, headers: dict[str, str] | None = None
    ) -> None:
        detail = f": {body.strip()[:300]}" if body.strip() else ""
        super().__init__(
            status,
            body,
            headers,
            message=f"the Live session {session_id!r} is not running (its sideband attach "
            f"was refused with HTTP {status}{detail}); a sideband never starts a new session",
        )
        self.session_id = session_id


class ConnectionClosedError(RealtimeError):
    """The WebSocket connection is closed.

    ``code`` and ``reason`` come from the close frame; ``code`` is 1006 when the
    connection dropped without one.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        text = f"connection closed with code {code}"
        super().__init__(f"{text} ({reason})" if reason else text)
        self.code = code
        self.reason = reason

    @property
    def clean(self) -> bool:
        """True for a normal close (1000), which ends a session instead of reconnecting."""
        return self.code == 1000


class SessionClosedError(RealtimeError):
    """The session is not running: it was never started, or it has ended.

    Raised by ``send`` outside a running session, and by ``wait_for`` and streams
    when the session ends while they wait; ``__cause__`` holds the reason, if any.
    """


class ClosedBeforeOpenError(ConnectionClosedError, SessionClosedError):
    """The server closed the connection before the session opened; ``code`` and ``reason`` say why.

    A session opens once its ``session.update`` is written. A server that
    refuses at once (a bad query parameter, a policy) closes right after the
    handshake, and whether its close is read before or after that write is a
    race no caller can see: were the two endings of different types, the same
    refusal would raise one or the other. So this is a
    :class:`ConnectionClosedError` as a close after the opening is, and a
    :class:`SessionClosedError`, as the session never ran.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(code, reason)
        self.args = (f"the server ended the session before it opened: {self.args[0]}",)


class ClientSecretError(RealtimeError):
    """Creating a client secret failed: ``status`` and ``body`` are the server's answer.

    ``status`` is None when no answer came (DNS, refused connection, timeout).
    A refused API key (401 or 403) raises :class:`AuthenticationError` instead.
    """

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class PluginNotFoundError(RealtimeError, LookupError):
    """No installed distribution provides a plugin of that name."""


class PluginNotApplicableError(RealtimeError):
    """A plugin does not apply to the session's protocol: it was refused before anything changed.

    Raised by ``session.use`` when the session's ``protocol`` is not among the
    plugin's ``protocols``; the message names the plugin, the protocol, and
    what to do instead. ``plugin`` is the plugin's name, ``protocol`` the
    session's, ``supported`` the protocols the plugin applies to.
    """

    def __init__(
        self, message: str, *, plugin: str, protocol: str, supported: tuple[str, ...]
    ) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.protocol = protocol
        self.supported = supported


class RecordingError(RealtimeError, ValueError):
    """A file is not a recording: a line is not a frame as ``Recorder`` writes it.

    Raised by :func:`~realtime_events.recording.read_recording`, and so by a
    replaying local server when it loads the file.
    """


class ServerError(RealtimeError):
    """An ``error`` event from the server, raised where a caller awaits an outcome."""

    def __init__(self, error: Any) -> None:
        message = getattr(error, "message", None) or str(error)
        code = getattr(error, "code", None)
        super().__init__(f"{code}: {message}" if code else message)
        self.error = error
        self.code: str | None = code


class CallError(RealtimeError):
    """A call control request failed.

    ``status`` is the HTTP status (None when no answer came), ``code`` and
    ``api_message`` the API's error code and message when its answer held one,
    ``body`` the answer as it came, ``call_id`` the call. A refused key (401 or
    403) raises :class:`AuthenticationError` instead.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        body: str = "",
        *,
        call_id: str | None = None,
        code: str | None = None,
        api_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.call_id = call_id
        self.code = code
        self.api_message = api_message


class CallNotFoundError(CallError, LookupError):
    """No call has that id (HTTP 404): it never rang here, or it is long gone."""


#: What made a webhook delivery fail: see :class:`WebhookError`.
WebhookFailure = Literal["headers", "timestamp", "signature", "body"]


class WebhookError(RealtimeError, ValueError):
    """A webhook delivery failed verification or could not be read.

    ``reason`` says what was wrong: ``"headers"`` (one of the three is missing),
    ``"timestamp"`` (not a number, or outside the tolerance: a replay, or a
    clock off), ``"signature"`` (no signature matches the secret) or ``"body"``
    (not UTF-8 JSON, or not the event's shape). Answer such a request with a
    4xx and do not act on it.
    """

    def __init__(self, message: str, reason: WebhookFailure) -> None:
        super().__init__(message)
        self.reason: WebhookFailure = reason
