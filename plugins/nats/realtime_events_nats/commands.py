"""Commands, on the worker's side: a request for a session, carried out on it.

Built in: ``send_text``, ``response.create``, ``response.cancel``,
``session.update`` and ``close``. A plugin attached to the session adds its
own with a ``commands`` mapping of names to async callables taking keyword
arguments; they are called as ``"<plugin name>.<command>"``::

    class Notes:
        name = "notes"

        def __init__(self) -> None:
            self.commands = {"add": self.add}

        async def add(self, text: str) -> int: ...

Every request gets a reply: the result, or an error of a known kind (unknown
command, arguments that don't fit, or the session's refusal with its message).
"""

from __future__ import annotations

import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import ValidationError

from realtime_events import Session

from .wire import CommandReply, CommandRequest

__all__ = ["CommandHandler", "Commands"]

logger = logging.getLogger("realtime_events_nats.commands")

CommandHandler = Callable[..., Awaitable[Any]]

#: How many replies a session remembers by request id, to answer retries.
REMEMBERED = 256


class Commands:
    """The commands one session answers, and the code that answers them."""

    def __init__(self, session: Session, *, worker: str, close: Callable[[], None]) -> None:
        self._session = session
        self._worker = worker
        self._close = close
        self._replies: OrderedDict[str, CommandReply] = OrderedDict()
        #: Why the session is closing, once it is: later commands are told it has ended.
        self.ended: str | None = None

    def table(self) -> dict[str, CommandHandler]:
        """Every command this session answers now, built-in and from its plugins."""
        session = self._session
        table: dict[str, CommandHandler] = {
            "send_text": self._send_text,
            "response.create": self._response_create,
            "response.cancel": self._response_cancel,
            "session.update": self._session_update,
            "close": self._close_command,
        }
        for name, plugin in session.plugins.items():
            commands = getattr(plugin, "commands", None)
            if isinstance(commands, Mapping):
                for command, handler in commands.items():
                    table[f"{name}.{command}"] = handler
        return table

    async def answer(self, data: bytes) -> CommandReply:
        """Carry out one request and say how it went (never raises for the caller's mistakes)."""
        try:
            request = CommandRequest.model_validate_json(data)
        except ValidationError as exc:
            return self._error("invalid", f"not a command request: {exc.errors()[0]['msg']}")
        if self.ended is not None:
            return self._error("unknown_session", f"the session has ended ({self.ended})")
        if request.id is None:
            return await self._carry_out(request)
        known = self._replies.get(request.id)
        if known is None:
            known = self._replies[request.id] = await self._carry_out(request)
            while len(self._replies) > REMEMBERED:
                self._replies.popitem(last=False)
        return known

    async def _carry_out(self, request: CommandRequest) -> CommandReply:
        handler = self.table().get(request.command)
        if handler is None:
            known = ", ".join(sorted(self.table()))
            return self._error(
                "unknown_command", f"unknown command {request.command!r} (known: {known})"
            )
        try:
            inspect.signature(handler).bind(**request.args)
        except TypeError as exc:
            return self._error("invalid", f"{request.command}: {exc}")
        except ValueError:
            pass  # no signature to check against: let the call decide
        try:
            result = await handler(**request.args)
        except Exception as exc:
            logger.info("command %s refused: %s", request.command, exc)
            return self._error("refused", f"{request.command}: {type(exc).__name__}: {exc}")
        return CommandReply(ok=True, result=_jsonable(result), worker=self._worker)

    def _error(self, kind: Any, message: str) -> CommandReply:
        return CommandReply(ok=False, error=kind, message=message, worker=self._worker)

    async def _send_text(self, text: str, respond: bool = True) -> dict[str, Any]:
        sent = await self._session.send_text(text, respond=respond)
        return {"item_id": getattr(getattr(sent, "item", None), "id", None)}

    async def _response_create(self, **overrides: Any) -> None:
        await self._session.response.create(**overrides)

    async def _response_cancel(self, response_id: str | None = None) -> str | None:
        done = await self._session.response.cancel(response_id)
        return None if done is None else done.response.status

    async def _session_update(self, **fields: Any) -> None:
        await self._session.update(**fields)

    async def _close_command(self) -> None:
        # Closed after this reply is sent: the caller hears that it worked.
        self._close()


def _jsonable(value: Any) -> Any:
    """A result as JSON can carry it (pydantic models dumped, the rest by repr if need be)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return repr(value)
