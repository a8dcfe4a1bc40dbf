"""Turns of a Live session, from its input and output transcript deltas.

The Live protocol has no conversation items and no "done" events: both sides
are transcribed as deltas (``session.input_transcript.delta`` for the user,
``session.output_transcript.delta`` for the assistant), and the SDK says they
"do not define complete turns". A turn here is one side's deltas, in delivery
order, between two of the other side's: a delta from the other side completes
the turn in progress and starts the next. The turn in progress also completes
when its server session ends (``session.closed``, a lost connection seen at
the next ``session.started``) or the session closes.

Live turns have no item of their own, so their ids are the transcript's
(``live_1``, ``live_2``...); they are always spoken (``modality="audio"``).
Live says nothing of what the user heard of an answer they talked over, so an
assistant turn is ``interrupted`` only when its connection was lost mid-turn.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from realtime_events import signals

from .turn import Role, Status, Turn, now

if TYPE_CHECKING:
    from realtime_events import Session

__all__ = ["LiveTurns"]

Emit = Callable[..., None]


class LiveTurns:
    """Builds a Live session's turns and hands each to the transcript.

    ``add(turn)`` places a new turn last and announces it; ``emit(name, turn,
    **fields)`` announces ``transcript.<name>``; ``closed()`` runs when the
    session closes, after the turn in progress completed.
    """

    def __init__(self, add: Callable[[Turn], None], emit: Emit, closed: Callable[[], None]) -> None:
        self._add = add
        self._emit = emit
        self._closed = closed
        self._ids = itertools.count(1)
        self._current: Turn | None = None
        self._started = 0

    def attach(self, session: Session) -> None:
        """Follow ``session``'s transcript deltas and the ends of its server sessions."""
        session.on("session.started", self._on_started)
        session.on("session.input_transcript.delta", self._on_input)
        session.on("session.output_transcript.delta", self._on_output)
        session.on("session.closed", self._on_session_closed)
        signals.closed.connect(self._on_closed, sender=session)

    # -- handlers -------------------------------------------------------------

    def _on_started(self, event: Any) -> None:
        self._started += 1
        if self._started > 1:
            # A new server session: the old one's connection was lost, and with it
            # whatever was being said; the assistant was cut off mid-answer.
            self._finish("interrupted")

    def _on_input(self, event: Any) -> None:
        self._delta("user", event.delta)

    def _on_output(self, event: Any) -> None:
        self._delta("assistant", event.delta)

    def _on_session_closed(self, event: Any) -> None:
        self._finish()

    def _on_closed(self, session: Any, **_: Any) -> None:
        self._finish()
        self._closed()

    # -- turns ------------------------------------------------------------------

    def _delta(self, role: Role, delta: str) -> None:
        if not delta:
            return
        turn = self._current
        if turn is None or turn.role != role:
            self._finish()
            turn = Turn(item_id=f"live_{next(self._ids)}", role=role, modality="audio")
            self._current = turn
            self._add(turn)
        turn.text += delta
        self._emit("updated", turn, delta=delta, text=turn.text)

    def _finish(self, cut: Status = "completed") -> None:
        """Complete the turn in progress; an assistant turn takes ``cut``."""
        turn, self._current = self._current, None
        if turn is None or turn.done:
            return
        turn.status = cut if turn.role == "assistant" else "completed"
        turn.completed_at = now()
        if turn.interrupted:
            self._emit("turn_interrupted", turn, audio_end_ms=None)
        self._emit("turn_completed", turn)
