"""``session.turns``: from a request to the moment the assistant has finished answering.

A *turn* is what a person means by "the answer": every response the model gives
to one request, tool round trips included. The first ``response.done`` of a
question that calls a tool carries only the call; the answer comes in the
response that follows the tool's output. Waiting for ``response.done`` alone
therefore loses the answer, and :meth:`Session.ask` waits for the turn instead.

One response may also say several things: newer models (``gpt-realtime-2``)
speak a short preamble message and then the answer message, or a preamble and
then a function call. The reply keeps every part: :attr:`Reply.text` joins the
assistant messages of all the turn's responses (one line each, in order),
:attr:`Reply.messages` lists them one by one, and :attr:`Reply.items` holds
every item, function calls included.

A turn is complete at a ``response.done`` when

- a response began after the turn did (so a stale response cannot end it),
- no response is running or queued,
- every function call made by the turn's responses has its output in the
  conversation, and
- no plugin holds the turn open (:meth:`Turns.hold`: the tools plugin does,
  from the moment it sees a call until it has asked for the follow-up).

The turn is opened *before* the request is sent, so no event can slip by
between the send and the wait, from a thread (``SyncSession``) as well.

A reconnect or a restart loses the response that was running with the old
server session, and no ``response.done`` will come for it: a turn waiting on it
fails at once with the connection's error (the ``ConnectionClosedError`` that
``disconnected`` reports), as that response's
:class:`~realtime_events.responses.ResponseRequest` does; ask
again. A turn whose request the server had not acknowledged keeps waiting: the
request is sent again on the new server session, and its answer ends the turn.
A session that ends (no reconnect) fails its turns with :class:`SessionClosedError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import anyio

from . import signals
from .conversation import Conversation
from .errors import SessionClosedError
from .events import ConversationItem, Response, ResponseCreatedEvent, ResponseDoneEvent, Usage
from .responses import Responses

__all__ = ["Hold", "Reply", "Turn", "Turns"]

#: Turns opened and never awaited are dropped past this many (the oldest first).
MAX_OPEN_TURNS = 64


@dataclass(frozen=True)
class Reply:
    """The assistant's complete answer to one turn."""

    #: The answer as people read it: the text, or the audio's transcript, of the
    #: assistant's messages, one line per message (a preamble, then the answer...).
    text: str
    #: Every item the turn's responses produced, in order: function calls included.
    items: tuple[ConversationItem, ...]
    #: The turn's responses, as their ``response.done`` reported them.
    responses: tuple[Response, ...]
    #: Token usage summed over the turn's responses.
    usage: Usage

    @property
    def messages(self) -> tuple[str, ...]:
        """The text of each assistant message, in order: the parts :attr:`text` joins."""
        return tuple(
            item.text
            for item in self.items
            if item.type == "message" and item.role in (None, "assistant") and item.text
        )

    @property
    def status(self) -> str | None:
        """The status of the last response: ``completed``, ``cancelled``, ``failed``..."""
        return self.responses[-1].status if self.responses else None

    def __str__(self) -> str:
        return self.text


class Turn:
    """One turn in progress: await it (or :meth:`wait`) for its :class:`Reply`."""

    def __init__(self, turns: Turns) -> None:
        self._turns = turns
        self._done = anyio.Event()
        self._responses: list[Response] = []
        self.started = False
        # Opened after a connection was lost, before the new server session
        # began: that connection's last responses are not this turn's.
        self._after_loss = turns._lost is not None
        self.reply: Reply | None = None
        self.error: BaseException | None = None

    def __await__(self) -> Any:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None) -> Reply:
        """Wait for the complete reply; raise TimeoutError saying what was still missing."""
        with anyio.move_on_after(math.inf if timeout is None else timeout):
            await self._done.wait()
        if not self._done.is_set():
            raise TimeoutError(f"no complete reply within {timeout} s: {self._missing()}")
        if self.error is not None:
            raise self.error.with_traceback(None)  # its own traceback, as ResponseRequest.created
        assert self.reply is not None
        return self.reply

    def close(self) -> None:
        """Stop following this turn (it no longer counts toward the open turns)."""
        self._turns._forget(self)

    def _missing(self) -> str:
        if not self.started:
            return "no response started"
        if not self._responses:
            return "a response started and is still running"
        unanswered = self._turns._unanswered(self._responses)
        if unanswered:
            names = ", ".join(sorted(unanswered.values()))
            return (
                f"the model called {names} and waits for the output; nothing answered "
                "(attach the tools plugin, or send a function_call_output item)"
            )
        return f"{len(self._responses)} response(s) done, and another one is still running"

    def _finish(self, reply: Reply | None, error: BaseException | None = None) -> None:
        self.reply, self.error = reply, error
        self._done.set()


class Hold:
    """A plugin's word that more of the turn is coming; release it when it has been sent."""

    def __init__(self, turns: Turns) -> None:
        self._turns = turns
        self._epoch = turns._epoch
        self._released = False

    def release(self) -> None:
        """Let the turn end (idempotent)."""
        if not self._released:
            self._released = True
            if self._epoch == self._turns._epoch:  # not from before the session ended
                self._turns._release()

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class Turns:
    """Follows turns: which responses belong to one, and when it is complete.

    ``on`` registers its handlers; it follows the ``disconnected`` and ``closed``
    signals of ``sender`` (the session), through ``relay`` when one is given.
    """

    def __init__(
        self,
        *,
        on: Callable[..., Any],
        responses: Responses,
        conversation: Conversation,
        sender: object,
        relay: signals.Relay | None = None,
    ) -> None:
        self._responses = responses
        self._conversation = conversation
        # Made by the first begin(): most sessions never open a turn, and an empty
        # list is an object the garbage collector walks for as long as they live.
        self._open: list[Turn] | None = None
        self._holds = 0
        self._epoch = 0  # a new one each time the session ends: older holds are void
        # Whether an in-band response runs, as the handlers have seen so far.
        self._running = False
        # The error of a connection lost while the handlers may still be behind:
        # set from ``disconnected`` until the new server session's first event.
        self._lost: BaseException | None = None
        on("response.created", self._on_created)
        on("response.done", self._on_done)
        # The first of these after a reconnect is the new server session's.
        on("session.created", self._on_new_session)
        on("session.updated", self._on_new_session)
        signals.follow(signals.disconnected, self._on_disconnected, sender=sender, relay=relay)
        signals.follow(signals.closed, self._on_closed, sender=sender, relay=relay)

    def begin(self) -> Turn:
        """Open a turn now, before the request that starts it is sent."""
        turn = Turn(self)
        if self._open is None:
            self._open = []
        self._open.append(turn)
        if len(self._open) > MAX_OPEN_TURNS:
            self._open.pop(0)._finish(None, SessionClosedError("too many turns left open"))
        return turn

    def hold(self) -> Hold:
        """Keep open turns from ending until the returned hold is released.

        For plugins that answer the model on the user's behalf: take a hold when
        the work starts (a tool call seen), release it once the follow-up
        ``response.create`` was sent, or nothing will be (then the turn ends).
        """
        self._holds += 1
        return Hold(self)

    @property
    def held(self) -> bool:
        """True while a plugin holds the turn open."""
        return self._holds > 0

    def _release(self) -> None:
        self._holds -= 1
        self._check()

    def _forget(self, turn: Turn) -> None:
        if self._open is not None and turn in self._open:
            self._open.remove(turn)

    def _on_created(self, event: ResponseCreatedEvent) -> None:
        if not _out_of_band(event.response):
            self._running = True
            stale = self._lost is not None  # from the connection that was lost
            for turn in self._open or ():
                if not (stale and turn._after_loss):
                    turn.started = True

    def _on_done(self, event: ResponseDoneEvent) -> None:
        response = event.response
        if _out_of_band(response):
            return
        self._running = False
        for turn in self._open or ():
            if turn.started:
                turn._responses.append(response)
        self._check()

    def _check(self) -> None:
        opened = self._open
        if not opened or self._holds or self._responses.active or self._responses.pending:
            return
        for turn in list(opened):
            if turn._responses and not self._unanswered(turn._responses):
                opened.remove(turn)
                turn._finish(self._reply(turn._responses))

    def _unanswered(self, responses: Iterable[Response]) -> dict[str, str]:
        """The function calls of ``responses`` without an output yet: call id to name."""
        calls = {
            item.call_id: item.name or "a function"
            for response in responses
            for item in response.output or ()
            if item.type == "function_call" and item.call_id
        }
        if calls:
            for item in self._conversation.items:
                if item.type == "function_call_output":
                    calls.pop(item.call_id or "", None)
        return calls

    def _reply(self, responses: list[Response]) -> Reply:
        items: list[ConversationItem] = []
        lines: list[str] = []
        for response in responses:
            for output in response.output or ():
                # The mirror holds what the deltas built, when the done event omits it.
                known = self._conversation.get(output.id) if output.id else None
                item = known if known is not None and known.text else output
                items.append(item)
                if item.type == "message" and item.text:
                    lines.append(item.text)
        return Reply("\n".join(lines), tuple(items), tuple(responses), _total(responses))

    def _on_disconnected(
        self, session: Any, *, error: BaseException, will_reconnect: bool = False, **_: Any
    ) -> None:
        if not will_reconnect:
            return  # the session ends: closed fails every open turn
        self._lost = error
        self._fail_running(error)

    def _on_new_session(self, event: Any) -> None:
        # The new server session speaks (session.created, or session.updated for a
        # server that skips it). The signal may have come while the old
        # connection's last events still waited for the handlers: a
        # response.created among them started a response that died with it.
        lost, self._lost = self._lost, None
        if lost is not None:
            self._fail_running(lost)
            for turn in self._open or ():
                turn._after_loss = False

    def _fail_running(self, error: BaseException) -> None:
        """Fail the turns whose running response was lost with the connection.

        Only a response that started counts, as for
        :class:`~realtime_events.responses.ResponseRequest`:
        a request not acknowledged yet is sent again after the reconnect.
        """
        if not self._running:
            return
        self._running = False
        opened = self._open or []
        for turn in [turn for turn in opened if turn.started]:
            opened.remove(turn)
            turn._finish(None, error)

    def _on_closed(self, session: Any, *, error: BaseException | None = None, **_: Any) -> None:
        reason = f": {error}" if error is not None else ""
        opened, self._open = self._open, None
        for turn in opened or ():
            turn._finish(None, SessionClosedError(f"the session ended before the reply{reason}"))
        self._holds = 0
        self._epoch += 1
        self._running = False
        self._lost = None


def _out_of_band(response: Response) -> bool:
    return (response.conversation_id or "") == "none"


def _total(responses: Iterable[Response]) -> Usage:
    input_tokens = output_tokens = total_tokens = 0
    for response in responses:
        usage = response.usage
        if usage is not None:
            input_tokens += usage.input_tokens or 0
            output_tokens += usage.output_tokens or 0
            total_tokens += usage.total_tokens or 0
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total_tokens)
