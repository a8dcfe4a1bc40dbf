"""Function tools on a Live session: the Responses backend calls them, the plugin answers.

A Live model does not call functions itself: it delegates. Of the three
delegation targets the SDK knows, only a Responses backend takes function
tools (``delegation.responses.tools``); a client delegation is metadata only
(``session.delegation.created`` names no function and no arguments) and
Decisions answer questions. So on a Live session the plugin configures a
Responses delegation with its tools (:func:`live_delegation`), sees each
function call in the backend's stream (``response.event`` envelopes:
:func:`function_call_of`, :func:`finished_response_of`), and answers it as
the SDK says: a ``function_call_output`` item through ``response.item.create``,
then one ``response.create`` per batch to continue the delegated response
(:class:`LiveDelivery`).

A call belongs to the server session whose backend made it. When the
connection is lost before its batch was continued there, the session starts
a new server session that never heard of the call: its output then goes once,
as context the model tells the user (``session.commentary.append`` with
``delegation_id=None``), never as an output the new session would refuse.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from realtime_events import RealtimeError
from realtime_events.errors import SessionClosedError

from .calls import ToolCall

if TYPE_CHECKING:
    from realtime_events import Session

__all__ = ["LiveDelivery", "finished_response_of", "function_call_of", "live_delegation"]

logger = logging.getLogger("realtime_events_tools")

#: How many answered call ids are remembered (calls are seen again only in their own stream).
KEEP_ANSWERED = 256
#: The Responses streaming events that end a backend response.
_FINISHED = frozenset({"response.completed", "response.failed", "response.incomplete"})


def live_delegation(
    own: Any,
    definitions: Sequence[Mapping[str, Any]],
    tool_choice: str | Mapping[str, Any] | None,
    backend_model: str | None,
) -> dict[str, Any]:
    """The Responses delegation holding the plugin's tools, over the session's own ``own``.

    The session's own Responses settings are kept (model, instructions, its
    other tools); the plugin's functions replace its functions of the same
    name. Raises :class:`RealtimeError` for a delegation that cannot take
    function tools, or when no backend model is named.
    """
    kind = own.get("type") if isinstance(own, Mapping) else None
    if kind not in (None, "responses"):
        raise RealtimeError(
            f"the tools plugin cannot serve a {kind!r} delegation: on a Live session only a "
            "Responses backend calls function tools (a client delegation names no function "
            "and no arguments; Decisions call none). Delegate to Responses "
            "(delegation={'type': 'responses', 'responses': {'model': ...}}, or none and "
            "Tools(backend_model=...)), or handle session.delegation.created yourself"
        )
    delegation: dict[str, Any] = dict(own) if isinstance(own, Mapping) else {}
    delegation["type"] = "responses"
    backend = dict(delegation.get("responses") or {})
    if backend_model is not None:
        backend["model"] = backend_model
    if not backend.get("model"):
        raise RealtimeError(
            "the tools plugin on a Live session delegates to a Responses backend, which needs "
            "a model: Tools(backend_model='gpt-5.2'), or delegation={'type': 'responses', "
            "'responses': {'model': ...}} in the session's config"
        )
    mine = {str(tool["name"]) for tool in definitions}
    theirs = [
        tool
        for tool in backend.get("tools") or ()
        if not (isinstance(tool, Mapping) and tool.get("name") in mine)
    ]
    backend["tools"] = [*theirs, *(dict(tool) for tool in definitions)]
    if tool_choice is not None and "tool_choice" not in backend:
        backend["tool_choice"] = tool_choice
    delegation["responses"] = backend
    return delegation


def function_call_of(event: Any) -> tuple[str, str, str, str | None] | None:
    """``(call_id, name, arguments, item_id)`` of a backend's finished function call, if any.

    ``event`` is a Live ``response.event``; the call is read from its nested
    ``response.output_item.done`` (the arguments' own ``done`` names no call id).
    """
    nested = event.event
    if not isinstance(nested, Mapping) or nested.get("type") != "response.output_item.done":
        return None
    item = nested.get("item")
    if not isinstance(item, Mapping) or item.get("type") != "function_call":
        return None
    call_id, name = item.get("call_id"), item.get("name")
    if not (isinstance(call_id, str) and isinstance(name, str)):
        return None
    arguments = item.get("arguments")
    item_id = item.get("id")
    return (
        call_id,
        name,
        arguments if isinstance(arguments, str) else "",
        item_id if isinstance(item_id, str) else None,
    )


def response_id_of(event: Any) -> str | None:
    """The backend response's id a nested lifecycle event carries (``response.created``...)."""
    nested = event.event
    response = nested.get("response") if isinstance(nested, Mapping) else None
    found = response.get("id") if isinstance(response, Mapping) else None
    return found if isinstance(found, str) else None


def finished_response_of(event: Any) -> bool:
    """True when the nested event ends a backend response (completed, failed, incomplete)."""
    nested = event.event
    return isinstance(nested, Mapping) and nested.get("type") in _FINISHED


class LiveDelivery:
    """Answers a Live backend's function calls: each once, on the session that made it.

    :meth:`seen` records the server session a call came from; :meth:`output`
    gives its output to that session's backend (``response.item.create``)
    while it is current; :meth:`reply` continues the backend's response with
    ``response.create``, and gives the outputs a lost session never used to
    the current one as commentary, once.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._origin: dict[str, str | None] = {}  # call id -> server session id
        self._written: dict[str, str | None] = {}  # call id -> where its output went
        self._answered: OrderedDict[str, None] = OrderedDict()

    def _current(self) -> str | None:
        return self._session.live.session_id

    def seen(self, call_id: str) -> None:
        """A call was seen on the current server session."""
        self._origin[call_id] = self._current()

    def answered(self, call_id: str) -> bool:
        """True once ``call_id`` got its answer (or is being answered)."""
        return call_id in self._answered

    async def output(self, call_id: str, output: str) -> None:
        """Give the call's output to the backend that made it, if its session is current."""
        if call_id in self._answered:
            logger.info("call %s was already answered; not answering it again", call_id)
            return
        self._answered[call_id] = None
        while len(self._answered) > KEEP_ANSWERED:
            self._answered.popitem(last=False)
        if self._origin.get(call_id) != self._current():
            return  # its session is gone: reply() tells the current one
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        with contextlib.suppress(SessionClosedError):
            await self._session.live.response.item.create(item)
            self._written[call_id] = self._current()

    async def reply(self, calls: Sequence[ToolCall]) -> None:
        """Continue the backend's response; results a lost session never used go as commentary."""
        current = self._current()
        lost = [call for call in calls if self._written.get(call.call_id) != current]
        kept = [call for call in calls if call not in lost]
        for call in calls:
            self._origin.pop(call.call_id, None)
            self._written.pop(call.call_id, None)
        with contextlib.suppress(SessionClosedError):
            if kept:
                await self._session.live.response.create()
            if lost:
                lines = [f"{call.name} returned: {call.output}" for call in lost]
                logger.info("%d call(s) answered after their session was lost", len(lost))
                await self._session.live.session.commentary.append(
                    "\n".join(lines), delegation_id=None
                )
