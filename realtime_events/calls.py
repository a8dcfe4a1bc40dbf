"""Call control for SIP calls: accept with a session configuration, reject, refer, hang up.

A phone call to your project's SIP address rings as a signed
``realtime.call.incoming`` webhook (read it with :mod:`realtime_events.webhooks`).
Answer it with its ``call_id``, then attach a session to the call to run the
conversation::

    calls = Calls()                                   # $OPENAI_API_KEY
    await calls.accept(call_id, instructions="You answer the phone.", voice="marin")
    async with Session(call_id=call_id) as session:   # a sideband connection to the call
        ...
    await calls.hangup(call_id)

``reject`` declines a ringing call with a SIP status (603 by default, on the
server), ``refer`` transfers a call to a ``tel:`` or ``sip:`` URI, ``hangup``
ends it. Each has a blocking twin (``accept_sync``...) for threaded web
frameworks. Like client secrets, these use the standard library's HTTP client
(in a worker thread for the async methods), follow no redirect, and send
``$OPENAI_API_KEY`` to the OpenAI API only; a local server
(``Calls(base_url=server.http_url)``) needs no key.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread

from ._http import ErrorFactory, api_error, optional_key_for, post
from ._secrets import is_openai_host, key_variable
from .auth import OPENAI_BASE_URL
from .config import check_config, to_wire
from .errors import CallError, CallNotFoundError

__all__ = ["CallError", "CallNotFoundError", "Calls"]


def _failure(call_id: str, action: str) -> ErrorFactory:
    """The error factory for one request: it names the call, the action and the API's reason."""

    def build(message: str, status: int | None, body: str) -> Exception:
        code, api_message = api_error(body)
        if status is None:
            text = f"could not {action} call {call_id!r}: {message}"
        else:
            reason = api_message or (body.strip()[:500] or "no reason given")
            labels = ", ".join(str(x) for x in (f"HTTP {status}", code) if x)
            text = f"could not {action} call {call_id!r}: {reason} ({labels})"
        kind = CallNotFoundError if status == 404 else CallError
        return kind(text, status, body, call_id=call_id, code=code, api_message=api_message)

    return build


class Calls:
    """The call control endpoints of one API: ``POST {base_url}/realtime/calls/{call_id}/...``.

    ``api_key`` defaults to ``$OPENAI_API_KEY`` for the OpenAI API (and to
    ``$AZURE_OPENAI_API_KEY`` with ``azure=True``, sent as ``api-key``; then
    ``base_url`` is ``https://<resource>.openai.azure.com/openai/v1``). Another
    ``base_url`` gets a key only from ``api_key``, and none is needed there.
    A key never goes over plain ``http://`` to another machine unless
    ``allow_insecure_key=True``. ``timeout`` bounds each request, in seconds.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str = OPENAI_BASE_URL,
        azure: bool = False,
        timeout: float = 30.0,
        allow_insecure_key: bool = False,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.azure = azure
        self.timeout = timeout
        self.allow_insecure_key = allow_insecure_key

    def __repr__(self) -> str:
        return f"Calls(base_url={self.base_url!r}, azure={self.azure})"

    # ------------------------------------------------------------- blocking twins

    def accept_sync(
        self,
        call_id: str,
        session_config: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Accept a ringing call, blocking; see :meth:`accept`."""
        config = {**(session_config or {}), **fields}
        check_config(config)
        self._post(call_id, "accept", to_wire(config, "ga"))

    def reject_sync(self, call_id: str, *, status_code: int | None = None) -> None:
        """Decline a ringing call, blocking; see :meth:`reject`."""
        self._post(call_id, "reject", {} if status_code is None else {"status_code": status_code})

    def refer_sync(self, call_id: str, target_uri: str) -> None:
        """Transfer a call, blocking; see :meth:`refer`."""
        self._post(call_id, "refer", {"target_uri": target_uri})

    def hangup_sync(self, call_id: str) -> None:
        """End a call, blocking; see :meth:`hangup`."""
        self._post(call_id, "hangup", None)

    # ------------------------------------------------------------------- async API

    async def accept(
        self,
        call_id: str,
        session_config: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> None:
        """Accept a ringing call and configure the session that will answer it.

        ``session_config`` and ``fields`` take the dialect-neutral settings of a
        Session (``instructions``, ``voice``, ``output_modalities``, ``tools``,
        ``turn_detection``, ``model``...); ``fields`` win. Known values are
        checked before anything is sent (:class:`~realtime_events.errors.InvalidConfigError`).
        Then attach with ``Session(call_id=call_id)``. Raises
        :class:`CallNotFoundError` for an unknown call and :class:`CallError`
        when the server refuses (an ended call, a configuration it rejects).
        """
        await self._in_thread(self.accept_sync, call_id, session_config, **fields)

    async def reject(self, call_id: str, *, status_code: int | None = None) -> None:
        """Decline a ringing call with SIP ``status_code`` (None: the server's default, 603)."""
        await self._in_thread(self.reject_sync, call_id, status_code=status_code)

    async def refer(self, call_id: str, target_uri: str) -> None:
        """Transfer a call with SIP REFER to ``target_uri`` (``tel:+14155550123``, ``sip:a@b``)."""
        await self._in_thread(self.refer_sync, call_id, target_uri)

    async def hangup(self, call_id: str) -> None:
        """End a call; the sessions attached to it are closed by the server."""
        await self._in_thread(self.hangup_sync, call_id)

    # ---------------------------------------------------------------- the request

    async def _in_thread(self, method: Any, *args: Any, **kwargs: Any) -> None:
        # urllib blocks: run it in a worker thread so the event loop keeps serving.
        call = functools.partial(method, *args, **kwargs)
        await anyio.to_thread.run_sync(call, abandon_on_cancel=True)

    def _post(self, call_id: str, action: str, body: Mapping[str, Any] | None) -> None:
        if not call_id:
            raise ValueError("call_id is empty: pass the call_id of the incoming call's webhook")
        failure = _failure(call_id, "hang up" if action == "hangup" else action)
        key = optional_key_for(
            self._api_key,
            self.base_url,
            azure=self.azure,
            allow_insecure_key=self.allow_insecure_key,
        )
        host = urlsplit(self.base_url).hostname or ""
        if not key and (self.azure or is_openai_host(host)):
            variable = key_variable(azure=self.azure)
            raise failure(f"no API key: pass api_key=... or set {variable}", None, "")
        headers = {"Accept": "*/*"}
        if key:
            headers.update({"api-key": key} if self.azure else {"Authorization": f"Bearer {key}"})
        # Always JSON, an empty hangup too, as the SDK sends it.
        data = b"" if body is None else json.dumps(body).encode()
        url = f"{self.base_url}/realtime/calls/{quote(call_id, safe='')}/{action}"
        post(url, data, headers, self.timeout, error=failure)
