"""The Transcript plugin: the conversation's turns in order, as the user saw and heard them.

Turns are keyed by conversation item id and placed where their item sits in
the conversation (``previous_item_id``, and the session's conversation mirror),
not where their text happened to arrive: a user transcript that completes after
the assistant answered still comes before the answer. Text is built from
deltas; an assistant turn that is truncated keeps only the words played before
the cut.

A turn is one conversation item, so a response with several messages (newer
models speak a preamble, then the answer) gives one assistant turn per message,
in order, each with the response's id (:meth:`Transcript.response_turns`): each
message has its own audio, and an interruption cuts one and deletes the next.

The user's transcription is taken whenever it arrives: the session's
configuration only decides whether a user audio turn waits for one. A
transcription the configuration did not announce (``session.created`` or
``session.updated`` showed transcription off) fills in the turn that was
completed without it, announced by ``transcript.updated``, and from then on
user audio turns wait for theirs: evidence beats configuration.

Events emitted on the session (``turn`` is a snapshot of the :class:`Turn`):

- ``transcript.turn_started`` (turn): a new entry.
- ``transcript.updated`` (turn, delta, text): more text; for a turn that is not
  interrupted, its deltas join up to its final text.
- ``transcript.turn_completed`` (turn): once per turn, when it is final.
- ``transcript.turn_interrupted`` (turn, audio_end_ms): an assistant turn was cut
  off; ``turn.text`` is what was heard (it may come after ``turn_completed``,
  when playback is interrupted after the response finished).

On a Live session (``protocol="live"``) the turns come from the input and
output transcript deltas instead (see :mod:`realtime_events_transcript.live`):
the same turns, events and exports, without tool entries or heard-text trimming.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realtime_events import signals
from realtime_events.conversation import heard_text
from realtime_events.events import (
    ConversationItem,
    ConversationItemDeletedEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemInputAudioTranscriptionSegmentEvent,
    ConversationItemTruncatedEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
)

from .export import render_json, render_markdown, render_text, save
from .live import LiveTurns
from .turn import Role, Status, Turn, now

if TYPE_CHECKING:
    from realtime_events import Session

__all__ = ["Transcript"]

_ITEM_EVENTS = (
    "conversation.item.created",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.retrieved",
)
_DONE_EVENTS = frozenset({"conversation.item.done", "response.output_item.done"})


_MESSAGE_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "system": "system"}
_ITEM_ROLES: dict[str, Role] = {"function_call": "tool_call", "function_call_output": "tool_output"}


def _role_of(item: ConversationItem) -> Role:
    kind = item.type or ("message" if item.role else "")
    if kind == "message":
        return _MESSAGE_ROLES.get(item.role or "user", "other")
    return _ITEM_ROLES.get(kind, "other")


class Transcript:
    """``transcript = session.use(Transcript())``: the conversation's turns, live.

    Iterate it (``for turn in transcript``), read ``transcript.turns``, or
    export it with :meth:`text`, :meth:`markdown`, :meth:`json` and
    :meth:`to_dicts`. With ``save_to="call.md"`` (or ``.json``, ``.txt``) the
    transcript is written to that file when the session closes.
    """

    name = "transcript"
    #: The events it emits (each with ``turn``, a copy of the turn).
    events = (
        "transcript.turn_started",
        "transcript.updated",
        "transcript.turn_completed",
        "transcript.turn_interrupted",
    )
    #: Both protocols: on Live, turns come from its transcript deltas.
    protocols = ("realtime", "live")

    def __init__(self, *, save_to: str | os.PathLike[str] | None = None) -> None:
        self.save_to = save_to
        self._session: Session | None = None
        self._turns: dict[str, Turn] = {}
        self._order: list[str] = []
        # The full text of every content part, as it streamed: an interrupted
        # turn shows only the heard share of it, recomputed as more arrives.
        self._parts: dict[str, dict[int, str]] = {}
        self._cuts: dict[str, tuple[int, int]] = {}
        self._user_deltas: set[str] = set()
        self._speech_started: dict[str, datetime] = {}
        self._tool_names: dict[str, str] = {}
        self._finished_responses: set[str] = set()
        self._transcribing: bool | None = None
        # The transcription setting as the server last showed it, and whether a
        # transcription arrived anyway while it looked off.
        self._setting: Any = None
        self._evidence = False
        # User audio turns completed without text because no transcription was
        # expected: a transcription that arrives all the same still fills them.
        self._untranscribed: set[str] = set()
        self._connections = 0

    # -- reading -----------------------------------------------------------

    @property
    def turns(self) -> list[Turn]:
        """The turns in conversation order (live objects: they change until done)."""
        return [self._turns[item_id] for item_id in self._order]

    def __iter__(self) -> Iterator[Turn]:
        return iter(self.turns)

    def __len__(self) -> int:
        return len(self._order)

    def __getitem__(self, index: int) -> Turn:
        return self._turns[self._order[index]]

    def get(self, item_id: str) -> Turn | None:
        """Return the turn of a conversation item, if the transcript has it."""
        return self._turns.get(item_id)

    def response_turns(self, response_id: str) -> list[Turn]:
        """The turns one response produced, in order: each message, each tool call."""
        return [turn for turn in self.turns if turn.response_id == response_id]

    def text(
        self,
        *,
        tools: bool = False,
        marks: bool = True,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """The conversation as ``"User: ...\\nAssistant: ..."``.

        ``tools`` adds tool calls and outputs; ``marks`` appends
        ``[interrupted]`` where the assistant was cut off; ``labels`` renames
        roles (``{"user": "Caller"}``).
        """
        return render_text(self.turns, tools=tools, marks=marks, labels=labels)

    def markdown(
        self,
        *,
        title: str | None = "Transcript",
        tools: bool = False,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """The conversation as a Markdown document."""
        return render_markdown(self.turns, title=title, tools=tools, labels=labels)

    def json(self, *, indent: int | None = 2) -> str:
        """Every turn, tool entries included, as a JSON array (see :meth:`to_dicts`)."""
        return render_json(self.turns, indent=indent)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every turn as a dict: ids, roles, text, status, interrupted flag, ISO times..."""
        return [turn.to_dict() for turn in self.turns]

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the transcript to ``path`` (default ``save_to``); the suffix picks the format."""
        target = path if path is not None else self.save_to
        if target is None:
            raise ValueError("no path given and no save_to configured")
        return save(self.turns, target)

    # -- plugin ------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The session the transcript is attached to."""
        if self._session is None:
            raise RuntimeError("the transcript is not attached to a session")
        return self._session

    def attach(self, session: Session) -> None:
        """Follow ``session``'s conversation (called by ``session.use``)."""
        if self._session is not None:
            raise RuntimeError("a Transcript follows one session; create one per session")
        self._session = session
        if session.protocol == "live":
            LiveTurns(self._append, self._emit, lambda: self._on_closed(session)).attach(session)
            return
        on = session.on
        on("session.created", self._on_session_created)
        on("session.created", self._on_session)
        on("session.updated", self._on_session)
        on("input_audio_buffer.speech_started", self._on_speech_started)
        on("input_audio_buffer.committed", self._on_committed)
        for name in _ITEM_EVENTS:
            on(name, self._on_item)
        on("response.output_item.added", self._on_output_item)
        on("response.output_item.done", self._on_output_item)
        on("response.output_text.delta", self._on_output_delta)
        on("response.output_audio_transcript.delta", self._on_output_delta)
        on("response.output_text.done", self._on_output_text_done)
        on("response.output_audio_transcript.done", self._on_output_transcript_done)
        on("response.function_call_arguments.done", self._on_arguments_done)
        on("response.done", self._on_response_done)
        on("conversation.item.input_audio_transcription.delta", self._on_user_delta)
        on("conversation.item.input_audio_transcription.segment", self._on_user_segment)
        on("conversation.item.input_audio_transcription.completed", self._on_user_completed)
        on("conversation.item.input_audio_transcription.failed", self._on_user_failed)
        on("conversation.item.truncated", self._on_truncated)
        on("conversation.item.deleted", self._on_deleted)
        signals.closed.connect(self._on_closed, sender=session)

    # -- turns -------------------------------------------------------------

    def _emit(self, name: str, turn: Turn, **fields: Any) -> None:
        self.session.emit(f"transcript.{name}", turn=copy.copy(turn), **fields)

    def _append(self, turn: Turn) -> None:
        """Place a new turn last (a Live turn: it has no item to be placed by)."""
        self._turns[turn.item_id] = turn
        self._order.append(turn.item_id)
        self._emit("turn_started", turn)

    def _add(self, turn: Turn, previous_item_id: str | None) -> None:
        """Place a new turn after the item it follows in the conversation."""
        anchor = previous_item_id if previous_item_id in self._turns else None
        conversation = self.session.conversation
        if anchor is None and turn.item_id in conversation:
            # The mirror knows the item's place; walk back to a turn we have
            # (items that came before the transcript was attached are skipped).
            before = conversation.previous_id(turn.item_id)
            while before is not None and before not in self._turns:
                before = conversation.previous_id(before) if before in conversation else None
            anchor = before
        self._turns[turn.item_id] = turn
        order = self._order
        if anchor is None or (order and order[-1] == anchor):
            order.append(turn.item_id)  # the usual place: no search through a long session
        else:
            order.insert(order.index(anchor) + 1, turn.item_id)
        self._emit("turn_started", turn)

    def _turn(
        self,
        item_id: str,
        role: Role,
        *,
        previous_item_id: str | None = None,
        item_type: str = "message",
        response_id: str | None = None,
    ) -> Turn:
        turn = self._turns.get(item_id)
        if turn is None:
            turn = Turn(
                item_id=item_id,
                role=role,
                item_type=item_type,
                response_id=response_id,
                started_at=self._speech_started.pop(item_id, now()),
            )
            self._add(turn, previous_item_id)
        elif response_id is not None and turn.response_id is None:
            turn.response_id = response_id
        return turn

    def _item_turn(
        self,
        item: ConversationItem,
        *,
        previous_item_id: str | None = None,
        response_id: str | None = None,
    ) -> Turn | None:
        if not item.id:
            return None
        return self._turn(
            item.id,
            _role_of(item),
            previous_item_id=previous_item_id,
            item_type=item.type or "message",
            response_id=response_id,
        )

    def _user_audio_turn(self, item_id: str, previous_item_id: str | None = None) -> Turn:
        turn = self._turn(item_id, "user", previous_item_id=previous_item_id)
        if turn.modality is None:
            turn.modality = "audio"
        return turn

    def _shown_text(self, item_id: str) -> str:
        parts = self._parts.get(item_id, {})
        cut = self._cuts.get(item_id)
        if cut is None:
            return "".join(parts[index] for index in sorted(parts))
        cut_index, audio_end_ms = cut
        before = "".join(parts[index] for index in sorted(parts) if index < cut_index)
        received = self.session.conversation.audio_received_ms(item_id, cut_index)
        return before + heard_text(parts.get(cut_index, ""), audio_end_ms, received)

    def _refresh(self, turn: Turn) -> None:
        """Bring ``turn.text`` up to date, announcing growth as a delta."""
        old, new = turn.text, self._shown_text(turn.item_id)
        if new == old:
            return
        turn.text = new
        if turn.item_id in self._cuts:
            return  # trimmed text is announced by turn_interrupted / turn_completed
        self._updated(turn, new[len(old) :] if new.startswith(old) else "")

    def _updated(self, turn: Turn, delta: str) -> None:
        # A snapshot of the turn per delta costs a copy of it and an event: made
        # only for a receiver (most applications read the turns when they need them).
        if self.session.listens_for("transcript.updated"):
            self._emit("updated", turn, delta=delta, text=turn.text)

    def _set_part(self, turn: Turn, index: int, value: str, *, append: bool = False) -> None:
        if turn.done and turn.item_id not in self._untranscribed:
            return  # final: replays and late copies don't rewrite it
        if not append and (not value or turn.item_id in self._cuts):
            # After a truncation the server drops the item's transcript, so its
            # done events and snapshots carry nothing we should take.
            return
        parts = self._parts.setdefault(turn.item_id, {})
        if append and turn.item_id not in self._cuts and all(i <= index for i in parts):
            # A delta at the end: the shown text grows by it, with no join of every
            # part (which made a long answer quadratic). The part grows in place.
            part = parts.pop(index, "")
            part += value
            parts[index] = part
            if value:
                turn.text += value
                self._updated(turn, value)
            return
        parts[index] = parts.get(index, "") + value if append else value
        self._refresh(turn)

    def _set_summary(self, turn: Turn) -> None:
        """Give a tool entry its readable text."""
        if turn.role == "tool_call":
            summary = f"{turn.name or '?'}({turn.arguments or ''})"
        elif turn.role == "tool_output":
            summary = turn.output or ""
        else:
            return
        self._set_part(turn, 0, summary)

    def _finish(self, turn: Turn, status: Status = "completed") -> None:
        if turn.done:
            return
        self._set_summary(turn)
        if turn.item_id in self._cuts:
            # More audio may have arrived since the last transcript delta.
            turn.text = self._shown_text(turn.item_id)
        if turn.status != "interrupted":
            turn.status = status
        turn.completed_at = now()
        self._emit("turn_completed", turn)

    def _fill(self, turn: Turn, item: ConversationItem) -> None:
        """Take what an item snapshot says about its turn."""
        if turn.done:
            return
        turn.name = item.name or turn.name
        turn.call_id = item.call_id or turn.call_id
        if item.arguments:
            turn.arguments = item.arguments
        if item.output is not None:
            turn.output = item.output
        if turn.call_id is not None:
            if turn.role == "tool_call" and turn.name:
                self._tool_names[turn.call_id] = turn.name
            elif turn.role == "tool_output" and turn.name is None:
                turn.name = self._tool_names.get(turn.call_id)
        for index, part in enumerate(item.content or ()):
            kind = part.type or ""
            if turn.modality is None and kind:
                turn.modality = "audio" if "audio" in kind else "text"
            value = part.text if part.text is not None else part.transcript
            if value:
                self._set_part(turn, index, value)
        if turn.role == "other" and not turn.text and item.output:
            self._set_part(turn, 0, item.output)

    def _expects_transcription(self) -> bool:
        """Whether user audio turns wait for a transcription (unknown counts as yes)."""
        return self._transcribing is not False or self._evidence

    def _finish_untranscribed(self, turn: Turn) -> None:
        """Complete a user audio turn that no transcription is expected for."""
        if not turn.done:
            self._untranscribed.add(turn.item_id)
            self._finish(turn)

    def _settle(self, turn: Turn, item: ConversationItem, *, final: bool) -> None:
        """Finish ``turn`` if ``item`` says it is final."""
        if turn.role == "user" and turn.modality == "audio":
            if any(p.transcript for p in item.content or ()):
                self._finish(turn)
            elif not self._expects_transcription():
                self._finish_untranscribed(turn)
            return  # else the transcription events finish it
        if item.status == "in_progress" and not final:
            return
        if item.status is None and not final and turn.role in ("assistant", "tool_call"):
            return
        if (
            item.status == "incomplete"
            and turn.response_id is not None
            and turn.response_id not in self._finished_responses
        ):
            return  # response.done says why: cancelled means interrupted
        self._finish(turn)

    # -- handlers: session and input ----------------------------------------

    def _on_session_created(self, event: Any) -> None:
        self._connections += 1
        if self._connections == 1:
            return
        # A new connection: every event of the old one has been handled (one
        # queue), and what was still streaming there will never finish.
        for turn in self.turns:
            if turn.done:
                continue
            if turn.role == "user" and turn.modality == "audio":
                turn.error = "the connection was lost before the transcript arrived"
                self._finish(turn, "failed")
            elif turn.role == "assistant":
                turn.status = "interrupted"
                self._finish(turn)
            else:
                self._finish(turn)

    def _on_session(self, event: Any) -> None:
        info: Any = getattr(event, "session", None)
        data: dict[str, Any] = info.model_dump() if hasattr(info, "model_dump") else {}
        audio_input = (data.get("audio") or {}).get("input") or {}
        # Both shapes' fields exist on the model, so look for a value in either.
        setting = data.get("input_audio_transcription") or audio_input.get("transcription")
        if setting != self._setting:
            self._evidence = False  # a changed setting is news; evidence was about the old one
        self._setting = setting
        self._transcribing = bool(setting)

    def _on_speech_started(self, event: InputAudioBufferSpeechStartedEvent) -> None:
        # The user's turn starts when they start speaking, not when it is committed.
        self._speech_started[event.item_id] = now()

    def _on_committed(self, event: InputAudioBufferCommittedEvent) -> None:
        turn = self._user_audio_turn(event.item_id, event.previous_item_id)
        if not self._expects_transcription():
            self._finish_untranscribed(turn)

    def _on_item(self, event: Any) -> None:
        item: ConversationItem = event.item
        turn = self._item_turn(item, previous_item_id=getattr(event, "previous_item_id", None))
        if turn is None:
            return
        self._fill(turn, item)
        self._settle(turn, item, final=event.type in _DONE_EVENTS)

    # -- handlers: responses ------------------------------------------------

    def _on_output_item(
        self, event: ResponseOutputItemAddedEvent | ResponseOutputItemDoneEvent
    ) -> None:
        turn = self._item_turn(event.item, response_id=event.response_id)
        if turn is None:
            return
        self._fill(turn, event.item)
        if event.type == "response.output_item.done":
            self._settle(turn, event.item, final=True)

    def _on_output_delta(self, event: Any) -> None:
        turn = self._turn(event.item_id, "assistant", response_id=event.response_id)
        if turn.modality is None:
            # Either spelling: response.output_audio_transcript / response.audio_transcript.
            turn.modality = "audio" if "audio" in event.type else "text"
        self._set_part(turn, event.content_index, event.delta, append=True)

    def _on_output_text_done(self, event: Any) -> None:
        turn = self._turn(event.item_id, "assistant", response_id=event.response_id)
        self._set_part(turn, event.content_index, event.text)

    def _on_output_transcript_done(self, event: Any) -> None:
        turn = self._turn(event.item_id, "assistant", response_id=event.response_id)
        self._set_part(turn, event.content_index, event.transcript)

    def _on_arguments_done(self, event: ResponseFunctionCallArgumentsDoneEvent) -> None:
        turn = self._turn(
            event.item_id, "tool_call", item_type="function_call", response_id=event.response_id
        )
        if turn.done:
            return
        turn.arguments = event.arguments
        turn.call_id = event.call_id
        turn.name = event.name or turn.name
        if turn.name:
            self._tool_names[event.call_id] = turn.name

    def _on_response_done(self, event: ResponseDoneEvent) -> None:
        response = event.response
        if response.id is not None:
            self._finished_responses.add(response.id)
        for item in response.output or ():
            turn = self._item_turn(item, response_id=response.id)
            if turn is not None:
                self._fill(turn, item)
        status: Status = "completed"
        if response.status == "cancelled":
            status = "interrupted"
        elif response.status == "failed":
            status = "failed"
        for turn in self.turns:
            if turn.done or turn.response_id is None or turn.response_id != response.id:
                continue
            if status == "failed":
                details = response.status_details
                error = details.error if details is not None else None
                turn.error = (error and (error.message or error.code or error.type)) or "failed"
            self._finish(turn, status)

    # -- handlers: user transcription ---------------------------------------

    def _transcribed(self, item_id: str) -> Turn:
        """The user audio turn a transcription event is about; the event is evidence."""
        self._evidence = True
        return self._user_audio_turn(item_id)

    def _on_user_delta(self, event: ConversationItemInputAudioTranscriptionDeltaEvent) -> None:
        if not event.delta:
            return
        self._user_deltas.add(event.item_id)
        turn = self._transcribed(event.item_id)
        self._set_part(turn, event.content_index or 0, event.delta, append=True)

    def _on_user_segment(self, event: ConversationItemInputAudioTranscriptionSegmentEvent) -> None:
        if event.item_id in self._user_deltas or not event.text:
            return  # the deltas already carry the words
        turn = self._transcribed(event.item_id)
        known = self._parts.get(event.item_id, {}).get(event.content_index, "")
        text = f" {event.text}" if known and not known[-1].isspace() else event.text
        self._set_part(turn, event.content_index, text, append=True)

    def _on_user_completed(
        self, event: ConversationItemInputAudioTranscriptionCompletedEvent
    ) -> None:
        turn = self._transcribed(event.item_id)
        self._set_part(turn, event.content_index, event.transcript)
        self._untranscribed.discard(event.item_id)  # the words are final now
        self._finish(turn)

    def _on_user_failed(self, event: ConversationItemInputAudioTranscriptionFailedEvent) -> None:
        turn = self._transcribed(event.item_id)
        self._untranscribed.discard(event.item_id)
        if not turn.done:
            turn.error = event.error.message or event.error.code or "transcription failed"
            self._finish(turn, "failed")

    # -- handlers: interruption ---------------------------------------------

    def _cut(self, turn: Turn, content_index: int, audio_end_ms: int) -> None:
        self._cuts[turn.item_id] = (content_index, audio_end_ms)
        turn.audio_end_ms = audio_end_ms
        turn.status = "interrupted"
        turn.text = self._shown_text(turn.item_id)
        self._emit("turn_interrupted", turn, audio_end_ms=audio_end_ms)

    def _on_truncated(self, event: ConversationItemTruncatedEvent) -> None:
        turn = self._turns.get(event.item_id)
        if turn is not None and turn.role == "assistant":
            self._cut(turn, event.content_index, event.audio_end_ms)

    def _on_deleted(self, event: ConversationItemDeletedEvent) -> None:
        # A deleted item stays in the transcript (it was said; pruning the
        # model's context doesn't unsay it), except that an assistant audio
        # turn deleted while unfinished or interrupted was never heard at all:
        # that's how barge-in before the first played frame removes it. So
        # was a message deleted after another message of its response was cut
        # (the preamble played, the answer after it not yet): barge-in deletes
        # the response's messages the user never heard.
        turn = self._turns.get(event.item_id)
        if (
            turn is not None
            and turn.role == "assistant"
            and turn.modality == "audio"
            and event.item_id not in self._cuts
            and (not turn.done or turn.interrupted or self._cut_in_response(turn))
        ):
            self._cut(turn, 0, 0)

    def _cut_in_response(self, turn: Turn) -> bool:
        """True when another message of ``turn``'s response was cut off."""
        response_id = turn.response_id
        return response_id is not None and any(
            other.response_id == response_id and other.item_id in self._cuts
            for other in self._turns.values()
            if other is not turn
        )

    # -- session end --------------------------------------------------------

    def _on_closed(self, session: Any, **_: Any) -> None:
        if self.save_to is not None:
            self.save()
