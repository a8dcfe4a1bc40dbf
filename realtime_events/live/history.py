"""What a Live session carries to the next server session: its turns and its delegations.

A primary Live session cannot be resumed. When the connection is lost (or
renewed), the next connection starts a new server session, and
:class:`LiveHistory` hands it the conversation so far as ``input`` text
messages: the user's turns from ``session.input_transcript.delta``, the
assistant's from ``session.output_transcript.delta`` (deltas in delivery
order, a new turn whenever the side changes), and the developer instructions
appended while the session ran. Only the newest messages fit: the API takes
128.

Client delegations belong to the server session that created them. One still
unanswered when its session is lost is answered in the new session with
``delegation_id=None`` (context for the whole session, which the model then
tells the user): :meth:`LiveHistory.route` rewrites the id, so the answer is
sent exactly once and never to a session that would refuse it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from ..events._base import ClientEvent
from .client import LiveCommentaryAppendEvent, LiveInstructionsAppendEvent, LiveThinkingAppendEvent
from .events import (
    LiveDelegationCreatedEvent,
    LiveInputTranscriptDeltaEvent,
    LiveOutputTranscriptDeltaEvent,
)

__all__ = ["MAX_INPUT_MESSAGES", "LiveHistory", "LiveTurn"]

#: How many ``input`` messages ``session.start`` takes.
MAX_INPUT_MESSAGES = 128

Role = Literal["user", "assistant", "developer"]
_APPENDS = (LiveCommentaryAppendEvent, LiveInstructionsAppendEvent, LiveThinkingAppendEvent)


class LiveTurn:
    """One side's turn: the transcript deltas of one speaker between two of the other's."""

    __slots__ = ("parts", "role")

    def __init__(self, role: Role, text: str = "") -> None:
        self.role: Role = role
        self.parts = [text] if text else []

    @property
    def text(self) -> str:
        """The turn's text so far."""
        return "".join(self.parts)

    def message(self) -> dict[str, Any]:
        """The turn as a Live ``input`` message."""
        kind = "output_text" if self.role == "assistant" else "input_text"
        return {"role": self.role, "content": [{"type": kind, "text": self.text.strip()}]}

    def __repr__(self) -> str:
        return f"LiveTurn({self.role!r}, {self.text!r})"


class LiveHistory:
    """The turns of a Live session across its server sessions, and its client delegations.

    ``session_id`` returns the id of the current server session. Keeps at
    most ``limit`` turns (the newest); the API takes 128 at a start.
    """

    def __init__(
        self, session_id: Callable[[], str | None], *, limit: int = MAX_INPUT_MESSAGES
    ) -> None:
        self._session_id = session_id
        #: The turns so far, oldest first.
        self.turns: deque[LiveTurn] = deque(maxlen=limit)
        # Client delegation id -> the server session that created it; answered ones leave.
        self._pending: dict[str, str | None] = {}

    def on_input(self, event: LiveInputTranscriptDeltaEvent) -> None:
        """A user transcript delta: added to the user's turn, or starts one."""
        self._add("user", event.delta)

    def on_output(self, event: LiveOutputTranscriptDeltaEvent) -> None:
        """An assistant transcript delta: added to the assistant's turn, or starts one."""
        self._add("assistant", event.delta)

    def on_delegation(self, event: LiveDelegationCreatedEvent) -> None:
        """Remember a client delegation and the server session it belongs to."""
        if event.delegation.target == "client":
            self._pending[event.delegation.id] = self._session_id()

    def _add(self, role: Role, delta: str) -> None:
        if self.turns and self.turns[-1].role == role:
            self.turns[-1].parts.append(delta)
        else:
            self.turns.append(LiveTurn(role, delta))

    @property
    def pending(self) -> list[str]:
        """The client delegations not answered yet, oldest first."""
        return list(self._pending)

    def route(self, event: ClientEvent) -> ClientEvent:
        """The event to send for ``event`` now: an append answers its delegation once.

        An append naming a delegation of an earlier server session goes with
        ``delegation_id=None``: the current session never heard of it. Developer
        instructions join the history, so a later session keeps them.
        """
        if not isinstance(event, _APPENDS):
            return event
        if isinstance(event, LiveInstructionsAppendEvent) and event.delegation_id is None:
            self.turns.append(LiveTurn("developer", event.content))
        delegation = event.delegation_id
        if delegation is None or delegation not in self._pending:
            return event
        owner = self._pending[delegation]
        if owner is not None and owner != self._session_id():
            return event.model_copy(update={"delegation_id": None})
        return event

    def answered(self, event: ClientEvent) -> None:
        """An append was written: the delegation it answered is answered."""
        if isinstance(event, _APPENDS) and event.delegation_id is not None:
            self._pending.pop(event.delegation_id, None)

    def messages(self, room: int = MAX_INPUT_MESSAGES) -> list[dict[str, Any]]:
        """The newest turns as ``input`` messages, at most ``room`` of them."""
        if room <= 0:
            return []
        turns = [turn for turn in self.turns if turn.text.strip()]
        return [turn.message() for turn in turns[-room:]]

    def clear(self) -> None:
        """Forget the turns and delegations (a new run starts afresh)."""
        self.turns.clear()
        self._pending.clear()
