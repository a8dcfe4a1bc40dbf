"""The HTTP endpoints of a Live session, and the WebSocket URLs of the Live protocol.

A Live session has one id (``session.started``'s ``session.id``, or the
``session_id`` of a SIP call's webhook), and everything else hangs off it::

    sessions = LiveSessions()                         # $OPENAI_API_KEY
    await sessions.accept(session_id, model="gpt-live-1", instructions="...")
    url = sideband_url(session_id)                    # attach: events of the call
    await sessions.hangup(session_id)
    recording = await sessions.download_recording(session_id)   # a stored session

``accept``, ``reject``, ``refer`` and ``hangup`` control a SIP call; ``fork``
starts a new WebRTC session from a stored one (``store=True``), and
:func:`fork_url` is the WebSocket a fork is started on instead; ``download_recording``
fetches a stored session's content. The paths, bodies and headers are the
official SDK's (``client.live.sessions``). Like :class:`realtime_events.calls.Calls`,
these use the standard library's HTTP client (in a worker thread for the async
methods), follow no redirect, and send ``$OPENAI_API_KEY`` to the OpenAI API
only; a local server needs no key. Failures raise
:class:`~realtime_events.errors.CallError` (:class:`~realtime_events.errors.CallNotFoundError`
for an unknown session), a refused key :class:`~realtime_events.errors.AuthenticationError`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import anyio.to_thread

from .._config_checks import plain
from .._http import ErrorFactory, api_error, get, optional_key_for, post
from .._secrets import is_openai_host, key_variable
from ..auth import OPENAI_BASE_URL
from ..errors import CallError, CallNotFoundError, InvalidConfigError
from .checks import check_live_config

__all__ = [
    "LIVE_WS_BASE_URL",
    "LiveForkResult",
    "LiveSessions",
    "fork_url",
    "live_url",
    "sideband_url",
]

#: The OpenAI API's WebSocket base; the Live paths go under it.
LIVE_WS_BASE_URL = "wss://api.openai.com/v1"

_T = TypeVar("_T")


def _ws_url(base: str, path: str, query: Mapping[str, str] | None = None) -> str:
    """``path`` under ``base`` (ws, wss, http or https), keeping the base's own query."""
    parts = urlsplit(base)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    extra = "&".join(f"{key}={quote(value, safe='')}" for key, value in (query or {}).items())
    joined = "&".join(q for q in (parts.query, extra) if q)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + path, joined, ""))


def _session_path(session_id: str, action: str) -> str:
    if not session_id:
        raise ValueError("session_id is empty: pass the Live session's id")
    return f"/live/sessions/{quote(session_id, safe='')}/{action}"


def live_url(base: str = LIVE_WS_BASE_URL) -> str:
    """The primary WebSocket of the Live protocol: ``{base}/live/sessions``.

    No query: the model goes in ``session.start``, the first message. ``base``
    is the API's base, as the SDK's ``websocket_base_url`` (``http`` and
    ``https`` become ``ws`` and ``wss``).
    """
    return _ws_url(base, "/live/sessions")


def sideband_url(
    session_id: str, *, base: str = LIVE_WS_BASE_URL, graceful_close: bool | None = None
) -> str:
    """The sideband of a running session: ``{base}/live/sessions/{id}/attach``.

    A sideband sees the session's events (also the SIP transport's, and the
    reflected input audio) and may send commands, but never ``session.start``.
    ``graceful_close=True`` asks for a closing handshake when the session ends.
    """
    query = None if graceful_close is None else {"graceful_close": str(graceful_close).lower()}
    return _ws_url(base, _session_path(session_id, "attach"), query)


def fork_url(session_id: str, *, base: str = LIVE_WS_BASE_URL) -> str:
    """The WebSocket that forks a stored session: ``{base}/live/sessions/{id}/fork``.

    Its first message is a fork's ``session.start``
    (:class:`~realtime_events.live.client.LiveForkSessionStartEvent`, ``{}``
    to inherit everything), answered by ``session.started``.
    """
    return _ws_url(base, _session_path(session_id, "fork"))


@dataclass(frozen=True)
class LiveForkResult:
    """A fork started over WebRTC: the new session's id and the SDP answer to apply."""

    session_id: str
    sdp: str
    #: The whole answer, as it came.
    raw: dict[str, Any]


def _failure(session_id: str, action: str) -> ErrorFactory:
    """The error factory of one request: it names the session, the action and the API's reason."""

    def build(message: str, status: int | None, body: str) -> Exception:
        code, api_message = api_error(body)
        if status is None or 200 <= status < 300:  # no answer, or one that makes no sense
            text = f"could not {action} Live session {session_id!r}: {message}"
        else:
            reason = api_message or (body.strip()[:500] or "no reason given")
            labels = ", ".join(str(x) for x in (f"HTTP {status}", code) if x)
            text = f"could not {action} Live session {session_id!r}: {reason} ({labels})"
        kind = CallNotFoundError if status == 404 else CallError
        return kind(text, status, body, call_id=session_id, code=code, api_message=api_message)

    return build


class LiveSessions:
    """The endpoints of Live sessions on one API: ``{base_url}/live/sessions/{id}/...``.

    ``api_key`` defaults to ``$OPENAI_API_KEY`` for the OpenAI API; another
    ``base_url`` gets a key only from ``api_key``, and none is needed there. A
    key never goes over plain ``http://`` to another machine unless
    ``allow_insecure_key=True``. ``timeout`` bounds each request, in seconds.
    Every method has a blocking twin (``accept_sync``...).
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = OPENAI_BASE_URL,
        timeout: float = 30.0,
        allow_insecure_key: bool = False,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.allow_insecure_key = allow_insecure_key

    def __repr__(self) -> str:
        return f"LiveSessions(base_url={self.base_url!r})"

    # ------------------------------------------------------------- blocking twins

    def accept_sync(
        self, session_id: str, session_config: Mapping[str, Any] | None = None, **fields: Any
    ) -> None:
        """Accept a ringing SIP call, blocking; see :meth:`accept`."""
        config = {"type": "live", **plain(dict(session_config or {})), **plain(fields)}
        check_live_config(config, "accept")
        self._post(session_id, "accept", {"session": config})

    def reject_sync(self, session_id: str, status_code: int) -> None:
        """Decline a ringing SIP call, blocking; see :meth:`reject`."""
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise InvalidConfigError(
                f"status_code must be an int, not {status_code!r}", "status_code"
            )
        if not 300 <= status_code <= 699:
            raise InvalidConfigError(
                f"status_code={status_code} is not a SIP rejection: use 300 to 699 (603 declines)",
                "status_code",
            )
        self._post(session_id, "reject", {"status_code": status_code})

    def refer_sync(self, session_id: str, target_uri: str) -> None:
        """Transfer a SIP call, blocking; see :meth:`refer`."""
        if not isinstance(target_uri, str) or not target_uri.strip():
            raise InvalidConfigError("target_uri is blank: pass tel:+1... or sip:...", "target_uri")
        self._post(session_id, "refer", {"target_uri": target_uri})

    def hangup_sync(self, session_id: str) -> None:
        """End a SIP call, blocking; see :meth:`hangup`."""
        self._post(session_id, "hangup", None)

    def fork_sync(
        self, session_id: str, sdp: str, session: Mapping[str, Any] | None = None
    ) -> LiveForkResult:
        """Fork a stored session onto a new WebRTC connection, blocking; see :meth:`fork`."""
        body: dict[str, Any] = {"transport": {"type": "webrtc", "sdp": sdp}}
        if session is not None:
            overrides = plain(dict(session))
            if "audio" in overrides:
                raise InvalidConfigError(
                    "a WebRTC fork negotiates its audio format: leave audio out", "audio"
                )
            check_live_config(overrides, "fork")
            body["session"] = overrides
        answer = self._post(session_id, "fork", body, accept="application/json")
        try:
            data = json.loads(answer)
            return LiveForkResult(data["session"]["id"], data["transport"]["sdp"], data)
        except (ValueError, KeyError, TypeError):
            failure = _failure(session_id, "fork")
            raise failure("the answer is not a fork's session and transport", 200, answer) from None

    def download_recording_sync(self, session_id: str) -> bytes:
        """Download a stored session's recording, blocking; see :meth:`download_recording`."""
        failure = _failure(session_id, "download the recording of")
        url = f"{self.base_url}{_session_path(session_id, 'content')}"
        return get(url, self._headers(failure, "application/binary"), self.timeout, error=failure)

    # ------------------------------------------------------------------- async API

    async def accept(
        self, session_id: str, session_config: Mapping[str, Any] | None = None, **fields: Any
    ) -> None:
        """Accept a ringing SIP call and configure the Live session that answers it.

        ``session_config`` and ``fields`` are a Live configuration (``model``
        is required; ``fields`` win), checked before anything is sent
        (:class:`~realtime_events.errors.InvalidConfigError`); SIP negotiates
        the media format, so no ``audio.format``.
        """
        await self._in_thread(self.accept_sync, session_id, session_config, **fields)

    async def reject(self, session_id: str, status_code: int) -> None:
        """Decline a ringing SIP call with a SIP status from 300 to 699 (603: decline)."""
        await self._in_thread(self.reject_sync, session_id, status_code)

    async def refer(self, session_id: str, target_uri: str) -> None:
        """Transfer a SIP call to ``target_uri`` (``tel:+14155550123``, ``sip:agent@host``)."""
        await self._in_thread(self.refer_sync, session_id, target_uri)

    async def hangup(self, session_id: str) -> None:
        """End a SIP call; its session closes (``session.closed``, ``close_requested``)."""
        await self._in_thread(self.hangup_sync, session_id)

    async def fork(
        self, session_id: str, sdp: str, session: Mapping[str, Any] | None = None
    ) -> LiveForkResult:
        """Start a new WebRTC session from a stored one, with the browser's SDP offer.

        ``session`` overrides the stored settings (``client``, a Responses
        ``delegation``, ``store``); the model, voice, instructions and the
        conversation so far come from the stored session. Apply the result's
        ``sdp`` as the remote answer and wait for ``session.started``.
        """
        return await self._in_thread(self.fork_sync, session_id, sdp, session)

    async def download_recording(self, session_id: str) -> bytes:
        """The content of a stored session (one started with ``store=True``), as bytes."""
        return await self._in_thread(self.download_recording_sync, session_id)

    # ---------------------------------------------------------------- the requests

    async def _in_thread(self, method: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        # urllib blocks: run it in a worker thread so the event loop keeps serving.
        call = functools.partial(method, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)

    def _headers(self, failure: ErrorFactory, accept: str) -> dict[str, str]:
        key = optional_key_for(
            self._api_key, self.base_url, azure=False, allow_insecure_key=self.allow_insecure_key
        )
        if not key and is_openai_host(urlsplit(self.base_url).hostname or ""):
            raise failure(
                f"no API key: pass api_key=... or set {key_variable(azure=False)}", None, ""
            )
        headers = {"Accept": accept}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _post(
        self,
        session_id: str,
        action: str,
        body: Mapping[str, Any] | None,
        *,
        accept: str = "*/*",
    ) -> str:
        url = f"{self.base_url}{_session_path(session_id, action)}"
        failure = _failure(session_id, "hang up" if action == "hangup" else action)
        # post sends JSON even without a body, as the SDK does.
        headers = self._headers(failure, accept)
        data = b"" if body is None else json.dumps(body).encode()
        _status, text = post(url, data, headers, self.timeout, error=failure)
        return text
