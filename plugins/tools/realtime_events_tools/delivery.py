"""Getting each function output to the server once, and asking for the reply.

The session does the hard part: an item created through
``session.conversation.item.create`` stays on its books until the server
confirms it, and is sent again after a reconnect if the old connection
swallowed it; a ``response.create`` the server never acknowledged is asked
again too. What is left here is not answering a call twice: a call may show up
in several events, and again in the replayed conversation.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence

from realtime_events import Session
from realtime_events.errors import SessionClosedError

from .calls import ToolCall

__all__ = ["Delivery"]

logger = logging.getLogger("realtime_events_tools")

#: How many answered call ids are remembered besides the conversation mirror,
#: which holds every output the server confirmed. Calls are seen again only
#: within their own response, long before this many more were answered.
KEEP_ANSWERED = 256


class Delivery:
    """Sends function outputs, at most one per call, and requests for a reply."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._answered: OrderedDict[str, None] = OrderedDict()

    def answered(self, call_id: str) -> bool:
        """True when an output for ``call_id`` was sent or is in the conversation."""
        return call_id in self._answered or any(
            item.type == "function_call_output" and item.call_id == call_id
            for item in self._session.conversation.items
        )

    async def output(self, call_id: str, output: str) -> None:
        """Send a ``function_call_output`` for ``call_id``, unless it was answered already."""
        if self.answered(call_id):
            logger.info("call %s was already answered; not answering it again", call_id)
            return
        self._answered[call_id] = None
        while len(self._answered) > KEEP_ANSWERED:
            self._answered.popitem(last=False)
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        with contextlib.suppress(SessionClosedError):  # the session ended: nobody to answer
            await self._session.conversation.item.create(item)

    async def reply(self, calls: Sequence[ToolCall] = ()) -> None:
        """Ask the model to go on (one ``response.create``, queued by the session if busy)."""
        with contextlib.suppress(SessionClosedError):
            await self._session.response.create()
