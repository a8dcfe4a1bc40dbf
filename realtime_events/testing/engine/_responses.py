"""Response runs: one response's events, made lazily, and their pacing.

A :class:`ResponseRun` streams what the model replied as the real server
does: ``response.created``, each output item with its content part and
deltas (audio with its transcript, text, function-call arguments, or an MCP
call's arguments and outcome), the done events, and ``response.done``. A
multi-message model's reply is several message items, each with its own
``output_index``. The engine that made the run is its :class:`RunHost`; the
run updates the engine's state as each event is taken.

GA text deltas carry ``obfuscation``, random characters that pad each delta
to a multiple of 16 characters, as real traffic shows, so a delta's length
tells an eavesdropper nothing.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol, TypeAlias

from ...audio import PCM16, AudioFormat, base64_decoded_size
from ...events.names import Dialect, for_dialect
from ..models import Call, McpCall, Part
from ..speech import synthesize
from ._constants import ARGUMENTS_CHUNK, AUDIO_CHUNK_MS, JSON
from ._items import Content, Item, tokens
from ._mcp import Approved, McpServers, mcp_config, needs_approval
from ._requests import Request

CancelReason: TypeAlias = Literal["client_cancelled", "turn_detected"]


class RunHost(Protocol):
    """What a response run uses of the engine that made it."""

    @property
    def dialect(self) -> Dialect:
        """The dialect events are spelled in."""
        ...

    @property
    def conversation_id(self) -> str:
        """The conversation a response in it names."""
        ...

    @property
    def new_id(self) -> Callable[[str], str]:
        """The engine's id factory, for output items and calls."""
        ...

    #: Set once assistant audio was sent: the session's voice is fixed from then on.
    assistant_audio_sent: bool

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...

    def rate_limits(self, input_tokens: Mapping[str, int]) -> list[JSON]:
        """The ``rate_limits.updated`` payload at the start of a response."""
        ...

    def add_response_item(self, item: Item) -> JSON:
        """Append an output item to the conversation; the event announcing it."""
        ...

    def conversation_item_done(self, item: Item) -> JSON:
        """GA's ``conversation.item.done`` for an output item that just finished."""
        ...

    def response_finished(self, run: ResponseRun) -> None:
        """The run's ``response.done`` is being sent."""
        ...

    def audio_started(self, run: ResponseRun) -> None:
        """The run's first audio delta is being sent: the client starts playing it now."""
        ...

    @property
    def mcp(self) -> McpServers:
        """The session's fake MCP servers, which run MCP calls."""
        ...

    def follow_up(self, request: Request, output: Sequence[Item]) -> list[Part]:
        """What the model says next in the response, now that an MCP call gave its output."""
        ...


#: What a run streams: the model's parts, and MCP calls the client approved.
RunPart: TypeAlias = Part | Approved


def obfuscation(event_id: str, delta: str) -> str:
    """Padding for ``delta`` up to the next multiple of 16 characters, random-looking."""
    digest = base64.b64encode(hashlib.sha256(event_id.encode()).digest()).decode("ascii")
    letters = "".join(c for c in digest if c.isalnum())
    return letters[: 16 - len(delta) % 16]


class _AudioDeltaEvent(dict[str, Any]):
    """An audio delta that remembers its playback duration (the wire JSON is unchanged)."""

    duration_ms: float = 0.0


def audio_ms(event: Mapping[str, Any]) -> float:
    """Return the playback duration of an audio delta event in milliseconds (0 for others).

    Events made by the engine know their format; for a copy of one, the
    duration is computed from the base64 length as 24 kHz pcm16.
    """
    if isinstance(event, _AudioDeltaEvent):
        return event.duration_ms
    if event.get("type") not in ("response.output_audio.delta", "response.audio.delta"):
        return 0.0
    delta = event.get("delta")
    if not isinstance(delta, str):
        return 0.0
    return PCM16.duration_ms(base64_decoded_size(delta))


class ResponseRun:
    """One response, streamed lazily: iterate it to get its events one at a time.

    The engine's state follows the events as they are taken: an item joins
    the conversation with its ``response.output_item.added``, audio counts as
    sent with its delta, the response stops being active with
    ``response.done``. After :meth:`cancel` the next step closes what is open
    (the pending ``*.done`` events, the item marked incomplete) and ends with
    ``response.done`` of status ``cancelled``.

    ``id`` is the response id, ``cancelled`` tells whether it was cancelled
    (``reason`` says why: ``client_cancelled`` or ``turn_detected``), and
    ``done`` turns true once ``response.done`` has been taken.
    """

    def __init__(
        self,
        engine: RunHost,
        response_id: str,
        request: Request,
        parts: Sequence[RunPart],
        input_tokens: Mapping[str, int],
    ) -> None:
        self.id = response_id
        self.cancelled = False
        self.reason: CancelReason | None = None
        self.done = False
        self._engine = engine
        self._request = request
        self._parts: list[RunPart] = list(parts)
        self._awaiting_approval = False  # an approval request ends what the model says
        self._input_tokens = dict(input_tokens)
        self._output: list[Item] = []
        self._out_text = 0
        self._out_audio_ms = 0.0
        self._iterating = False

    @property
    def audio_sent_ms(self) -> float:
        """The duration of the audio this response has sent so far."""
        return self._out_audio_ms

    def cancel(self, reason: CancelReason = "client_cancelled") -> None:
        """Stop the response at its next step; cancelling twice changes nothing."""
        if not self.cancelled and not self.done:
            self.cancelled = True
            self.reason = reason

    def __iter__(self) -> Iterator[JSON]:
        """The run's events, one at a time; a run streams once."""
        if self._iterating:
            raise RuntimeError(f"response {self.id} is already being streamed")
        self._iterating = True
        return self._events()

    def _events(self) -> Iterator[JSON]:
        """``response.created``, rate limits, each output item's steps, ``response.done``."""
        engine = self._engine
        yield engine.event("response.created", response=self._resource("in_progress"))
        yield engine.event(
            "rate_limits.updated", rate_limits=engine.rate_limits(self._input_tokens)
        )
        for output_index, part in enumerate(self._parts):  # MCP calls may add parts as it goes
            if self.cancelled or self._awaiting_approval:
                break
            stream = _PartStream(self, output_index, part)
            for step in stream.steps():
                yield from step
                if self.cancelled:
                    break
            if self.cancelled:
                for step in stream.close("incomplete"):
                    yield from step
                break
        yield self._finish()

    def _finish(self) -> JSON:
        """``response.done``: the run is over, and the engine is told before it is sent."""
        self.done = True
        resource = self._resource("cancelled" if self.cancelled else "completed")
        self._engine.response_finished(self)
        return self._engine.event("response.done", response=resource)

    def _resource(self, status: str) -> JSON:
        """The response object of ``response.created`` / ``response.done``."""
        engine, request = self._engine, self._request
        cancelled = {"type": "cancelled", "reason": self.reason}
        resource: JSON = {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": cancelled if status == "cancelled" else None,
            "output": [item.render(engine.dialect) for item in self._output],
            "conversation_id": engine.conversation_id if request.in_conversation else None,
        }
        if engine.dialect == "ga":
            resource["output_modalities"] = list(request.modalities)
            resource["max_output_tokens"] = request.max_output_tokens
            output = {"format": request.output_format.to_wire("ga"), "voice": request.voice}
            resource["audio"] = {"output": output}
        else:
            resource["modalities"] = list(request.modalities)
            resource["voice"] = request.voice
            resource["output_audio_format"] = request.output_format.name
            resource["temperature"] = request.temperature
            resource["max_output_tokens"] = request.max_output_tokens
        resource["usage"] = self._usage() if status != "in_progress" else None
        resource["metadata"] = request.metadata
        return resource

    def _usage(self) -> JSON:
        """Plausible token counts: input from the context, output from what was sent."""
        text_in, audio_in = self._input_tokens["text"], self._input_tokens["audio"]
        text_out = self._out_text
        audio_out = math.ceil(self._out_audio_ms / 50)
        details: JSON = {"text_tokens": text_in, "audio_tokens": audio_in, "cached_tokens": 0}
        if self._engine.dialect == "ga":
            details["image_tokens"] = 0
            details["cached_tokens_details"] = {
                "text_tokens": 0,
                "audio_tokens": 0,
                "image_tokens": 0,
            }
        return {
            "total_tokens": text_in + audio_in + text_out + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": text_out + audio_out,
            "input_token_details": details,
            "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
        }


class _PartStream:
    """The events of one output item, as steps, with what is still open should the response stop.

    A step is a list of events sent back to back: a cancel is only looked at
    between steps, so an item is never announced by ``response.output_item.added``
    without its conversation event, or finished without it.
    """

    def __init__(self, run: ResponseRun, output_index: int, part: RunPart) -> None:
        self.run = run
        self.engine = run._engine
        self.index = output_index
        self.part = part
        self.item: Item | None = None
        self.open: list[str] = []  # what close() must still finish, innermost last
        self.mcp_call: McpCall | None = None  # the MCP call this item runs, if it is one

    def _ids(self) -> JSON:
        """The ids every event of this item carries."""
        assert self.item is not None
        return {"response_id": self.run.id, "item_id": self.item.id, "output_index": self.index}

    def steps(self) -> Iterator[list[JSON]]:
        """The item's events from ``response.output_item.added`` to its last done event."""
        if isinstance(self.part, Call):
            yield from self._call(self.part)
        elif isinstance(self.part, McpCall | Approved):
            yield from self._mcp(self.part)
        elif self.run._request.audio:
            yield from self._speech(self.part.text)
        else:
            yield from self._text(self.part.text)
        yield from self.close("completed")

    def close(self, status: str) -> Iterator[list[JSON]]:
        """The done events still owed, innermost first; ``status`` is the item's final status."""
        while self.open:
            yield self._done(self.open.pop(), status)

    def _open_item(self, item: Item) -> list[JSON]:
        """``response.output_item.added``, and the item joining the conversation."""
        self.item = item
        self.run._output.append(item)
        self.open.append("item")
        added = self.engine.event(
            "response.output_item.added",
            response_id=self.run.id,
            output_index=self.index,
            item=item.render(self.engine.dialect),
        )
        if not self.run._request.in_conversation:
            return [added]
        return [added, self.engine.add_response_item(item)]

    def _open_part(self, item: Item, content: Content, *owed: str) -> list[JSON]:
        """``response.content_part.added``; ``owed`` are the done events the part will need."""
        item.content.append(content)
        self.open += ["part", *owed]
        part = content.render("ga", with_audio=False)
        part["type"] = "audio" if content.type == "output_audio" else "text"
        event = self.engine.event("response.content_part.added", **self._ids(), content_index=0)
        event["part"] = part
        return [event]

    def _speech(self, text: str) -> Iterator[list[JSON]]:
        """An audio message: transcript deltas a little ahead of the audio they speak."""
        engine, request = self.engine, self.run._request
        fmt = request.output_format
        item = Item(engine.new_id("item"), "message", "assistant", "in_progress", audio_format=fmt)
        yield self._open_item(item)
        content = Content("output_audio", transcript="", audio=bytearray())
        yield self._open_part(item, content, "transcript", "audio")
        speech = synthesize(text, sample_rate=fmt.sample_rate, voice=request.voice)
        audio = speech.encoded(fmt)
        step = fmt.bytes_for_ms(AUDIO_CHUNK_MS)
        words = list(speech.words)
        for start in range(0, len(audio), step):
            chunk = audio[start : start + step]
            chunk_end_ms = fmt.duration_ms(start + len(chunk))
            # The real server sends each word's transcript a little ahead of its audio.
            while words and words[0].start_ms < chunk_end_ms:
                yield [self._transcript_delta(content, words.pop(0).text)]
            yield [self._audio_delta(content, chunk, fmt)]
        for word in words:
            yield [self._transcript_delta(content, word.text)]

    def _transcript_delta(self, content: Content, delta: str) -> JSON:
        """One word of the spoken transcript."""
        content.transcript = (content.transcript or "") + delta
        self.run._out_text += tokens(delta)
        name = for_dialect("response.output_audio_transcript.delta", self.engine.dialect)
        return self._delta(name, delta, content_index=0)

    def _delta(self, name: str, delta: str, **fields: Any) -> JSON:
        """A text delta event; GA's carries ``obfuscation`` after the delta, as real ones do."""
        event = self.engine.event(name, **self._ids(), **fields, delta=delta)
        if self.engine.dialect == "ga":
            event["obfuscation"] = obfuscation(event["event_id"], delta)
        return event

    def _audio_delta(self, content: Content, chunk: bytes, fmt: AudioFormat) -> JSON:
        """One chunk of audio, which counts as sent (and fixes the voice) once taken."""
        assert content.audio is not None
        content.audio.extend(chunk)
        duration = fmt.duration_ms(len(chunk))
        if not self.run._out_audio_ms:
            self.engine.audio_started(self.run)
        self.run._out_audio_ms += duration
        self.engine.assistant_audio_sent = True
        name = for_dialect("response.output_audio.delta", self.engine.dialect)
        encoded = base64.b64encode(chunk).decode("ascii")
        event = _AudioDeltaEvent(self.engine.event(name, **self._ids(), content_index=0))
        event["delta"] = encoded
        event.duration_ms = duration
        return event

    def _text(self, text: str) -> Iterator[list[JSON]]:
        """A text message, a word per delta."""
        engine = self.engine
        item = Item(engine.new_id("item"), "message", "assistant", "in_progress")
        yield self._open_item(item)
        content = Content("output_text", text="")
        yield self._open_part(item, content, "text")
        name = for_dialect("response.output_text.delta", engine.dialect)
        for delta in re.findall(r"\s*\S+", text):
            content.text = (content.text or "") + delta
            self.run._out_text += tokens(delta)
            yield [self._delta(name, delta, content_index=0)]

    def _call(self, call: Call) -> Iterator[list[JSON]]:
        """A function call, its arguments in chunks."""
        engine = self.engine
        call_id = engine.new_id("call")
        item = Item(engine.new_id("item"), "function_call", status="in_progress")
        item.call_id, item.name, item.arguments = call_id, call.name, ""
        yield self._open_item(item)
        self.open.append("arguments")
        arguments = call.arguments_json()
        for start in range(0, len(arguments), ARGUMENTS_CHUNK):
            delta = arguments[start : start + ARGUMENTS_CHUNK]
            item.arguments += delta
            self.run._out_text += tokens(delta)
            name = "response.function_call_arguments.delta"
            yield [self._delta(name, delta, call_id=call_id)]

    def _mcp(self, part: McpCall | Approved) -> Iterator[list[JSON]]:
        """An MCP call: asked for approval and ended there, or run with its arguments streamed."""
        engine, run = self.engine, self.run
        call = part.call if isinstance(part, Approved) else part
        approval_id = part.approval_request_id if isinstance(part, Approved) else None
        config = mcp_config(run._request.tools, call.server_label) or {}
        if approval_id is None and needs_approval(config, call.name):
            request = Item(engine.new_id("mcpr"), "mcp_approval_request", status="in_progress")
            request.server_label, request.name = call.server_label, call.name
            request.arguments = call.arguments_json()
            yield self._open_item(request)
            # The model waits for the client's answer: the response ends with this item.
            engine.mcp.await_approval(request.id, call)
            run._awaiting_approval = True
            return
        item = Item(engine.new_id("mcp"), "mcp_call", status="in_progress", arguments="")
        item.server_label, item.name = call.server_label, call.name
        item.approval_request_id = approval_id
        self.mcp_call = call
        yield self._open_item(item)
        self.open.append("mcp_arguments")
        arguments = call.arguments_json()
        for start in range(0, len(arguments), ARGUMENTS_CHUNK):
            delta = arguments[start : start + ARGUMENTS_CHUNK]
            item.arguments = (item.arguments or "") + delta
            run._out_text += tokens(delta)
            yield [self._delta("response.mcp_call_arguments.delta", delta)]

    def _mcp_done(self, status: str) -> list[JSON]:
        """The arguments are done; the call runs unless the response stopped first."""
        engine, item, ids = self.engine, self.item, self._ids()
        assert item is not None
        assert self.mcp_call is not None
        events = [
            engine.event("response.mcp_call_arguments.done", **ids, arguments=item.arguments or "")
        ]
        if status != "completed":
            return events  # cancelled: the call never runs
        # The call's own events name no response, unlike its arguments'.
        where = {"item_id": item.id, "output_index": self.index}
        events.append(engine.event("response.mcp_call.in_progress", **where))
        item.output, item.error = engine.mcp.run(self.mcp_call)
        outcome = "failed" if item.error is not None else "completed"
        events.append(engine.event(f"response.mcp_call.{outcome}", **where))
        return events

    def _done(self, what: str, status: str) -> list[JSON]:
        """The done event(s) closing ``what``: audio, transcript, text, part, arguments, item."""
        engine, item = self.engine, self.item
        assert item is not None
        content = item.content[0] if item.content else Content("output_text")
        dialect, ids = engine.dialect, self._ids()
        if what == "audio":
            name = for_dialect("response.output_audio.done", dialect)
            return [engine.event(name, **ids, content_index=0)]
        if what == "transcript":
            name = for_dialect("response.output_audio_transcript.done", dialect)
            return [engine.event(name, **ids, content_index=0, transcript=content.transcript or "")]
        if what == "text":
            name = for_dialect("response.output_text.done", dialect)
            return [engine.event(name, **ids, content_index=0, text=content.text or "")]
        if what == "part":
            part = content.render("ga", with_audio=False)
            part["type"] = "audio" if content.type == "output_audio" else "text"
            return [engine.event("response.content_part.done", **ids, content_index=0, part=part)]
        if what == "mcp_arguments":
            return self._mcp_done(status)
        if what == "arguments":
            name = "response.function_call_arguments.done"
            done = engine.event(name, **ids, call_id=item.call_id, arguments=item.arguments or "")
            if dialect == "ga":
                done["name"] = item.name
            return [done]
        item.status = status
        done = engine.event(
            "response.output_item.done",
            response_id=self.run.id,
            output_index=self.index,
            item=item.render(dialect),
        )
        if item.type == "mcp_call" and status == "completed":
            # The server ran the call: the model goes on, in this response, with its output.
            run = self.run
            run._parts += engine.follow_up(run._request, run._output)
        if dialect == "ga" and self.run._request.in_conversation:
            return [done, engine.conversation_item_done(item)]
        return [done]
