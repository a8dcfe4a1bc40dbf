"""A Realtime server whose responses hold several assistant messages, as gpt-realtime-2's do.

It shares no code with ``realtime_events``: a plain ``websockets`` server in a
thread of its own, and every frame it sends is built from the official SDK's
models (``openai.types.realtime``), validated there, and dumped with only the
fields that were set. Newer models answer with a short spoken preamble message,
then the answer message (or a function call) in the same response; frameworks
that assumed one message per response lost the second.

A test scripts what each response says (:func:`speech`, :func:`text`,
:func:`call`), may stop a response part way (:attr:`Scripted.rest` is held
until :meth:`MultiMessagePeer.resume`), and pushes frames of its own (a
barge-in, a late transcription) with :meth:`MultiMessagePeer.push`.

What the server answers:

- ``session.update``: ``session.updated``;
- ``conversation.item.create``: ``conversation.item.added`` and ``.done``;
- ``input_audio_buffer.commit``: ``committed``, the user's audio item, and the
  next scripted response (as server VAD would answer a turn);
- ``response.create``: the next scripted response;
- ``response.cancel``: the held rest of the response is dropped (but for
  ``in_flight`` frames, already on their way) and ``response.done`` says
  ``cancelled``;
- ``conversation.item.truncate`` / ``.delete``: ``truncated`` / ``deleted``.

Every client event is kept in :attr:`MultiMessagePeer.received`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from openai.types import realtime as sdk
from pydantic import BaseModel
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

JSON = dict[str, Any]

TIMEOUT = 20.0  # a hang guard, not a timing expectation
RATE = 24000  # pcm16 mono: 48 bytes per millisecond
CHUNK_MS = 100

_ids = itertools.count(1)


def _event_id() -> str:
    return f"event_mm{next(_ids):05d}"


def frame(model: type[BaseModel], kind: str, **fields: Any) -> JSON:
    """A server event: validated by the SDK's model, dumped with only the fields given."""
    event = model.model_validate({"type": kind, "event_id": _event_id(), **fields})
    return event.model_dump(mode="json", exclude_unset=True)


def session_object(*, transcription: bool = False, interrupt_response: bool = True) -> JSON:
    """A GA session as ``session.created`` carries it (the SDK's model checks it)."""
    pcm = {"type": "audio/pcm", "rate": RATE}
    detection = {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "create_response": True,
        "interrupt_response": interrupt_response,
    }
    hearing = {"model": "whisper-1"} if transcription else None
    session = sdk.RealtimeSessionCreateRequest.model_validate(
        {
            "type": "realtime",
            "model": "gpt-realtime-2",
            "output_modalities": ["audio"],
            "instructions": "",
            "tools": [],
            "tool_choice": "auto",
            "max_output_tokens": "inf",
            "audio": {
                "input": {"format": pcm, "transcription": hearing, "turn_detection": detection},
                "output": {"format": pcm, "voice": "marin"},
            },
        }
    )
    return {
        "object": "realtime.session",
        "id": f"sess_mm{next(_ids):05d}",
        **session.model_dump(mode="json", exclude_unset=True),
    }


# -- what a response says ---------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One output item of a response: a spoken or written message, or a function call."""

    kind: str  # "speech", "text" or "call"
    text: str = ""
    audio_ms: int = 0
    name: str = ""
    call_id: str = ""


def speech(transcript: str, audio_ms: int = 1000) -> Part:
    """An assistant audio message: ``audio_ms`` of audio and its transcript."""
    return Part("speech", transcript, audio_ms=audio_ms)


def text(words: str) -> Part:
    """An assistant text message."""
    return Part("text", words)


def call(name: str, arguments: str, call_id: str) -> Part:
    """A function call item."""
    return Part("call", arguments, name=name, call_id=call_id)


@dataclass
class Scripted:
    """A response built for the peer: its frames, and what it holds back."""

    response_id: str
    item_ids: list[str]
    #: Sent as soon as the response is asked for.
    frames: list[JSON]
    #: Held until :meth:`MultiMessagePeer.resume` (dropped by a cancel).
    rest: list[JSON] = field(default_factory=list)
    #: The response as ``response.created`` showed it.
    shell: JSON = field(default_factory=dict)
    #: Each item as ``response.output_item.done`` shows it, by id.
    done_items: dict[str, JSON] = field(default_factory=dict)

    def _so_far(self, item_id: str) -> JSON:
        """An item cut part way: ``incomplete``, with the words streamed so far."""
        item = {**self.done_items[item_id], "status": "incomplete"}
        if item["type"] != "message":
            return item
        deltas = ("response.output_audio_transcript.delta", "response.output_text.delta")
        said = "".join(
            e["delta"] for e in self.frames if e["type"] in deltas and e["item_id"] == item_id
        )
        key = "transcript" if item["content"][0]["type"] == "output_audio" else "text"
        item["content"] = [{**item["content"][0], key: said}]
        return item

    def cancelled(self) -> list[JSON]:
        """What ends the response if it is cancelled now: the items it sent, as far as they got."""
        sent = [e for e in self.frames if e["type"].startswith("response.output_item.")]
        output: dict[str, JSON] = {}
        for event in sent:
            item = event["item"]
            if event["type"] == "response.output_item.done":
                output[item["id"]] = item
            else:
                output[item["id"]] = self._so_far(item["id"])
        details = {"type": "cancelled", "reason": "turn_detected"}
        response = {
            **self.shell,
            "status": "cancelled",
            "status_details": details,
            "output": list(output.values()),
        }
        return [frame(sdk.ResponseDoneEvent, "response.done", response=response)]

    def hold_from(self, kind: str, item_index: int | None = None, nth: int = 1) -> Scripted:
        """Hold back everything from the ``nth`` frame of ``kind`` (of one item) on."""
        item_id = None if item_index is None else self.item_ids[item_index]
        frames = self.frames + self.rest
        seen = 0
        for index, event in enumerate(frames):
            if event["type"] == kind and (item_id is None or _item_of(event) == item_id):
                seen += 1
                if seen == nth:
                    self.frames, self.rest = frames[:index], frames[index:]
                    return self
        raise ValueError(f"no {kind} #{nth} in the response")


def _item_of(event: JSON) -> str | None:
    if "item_id" in event:
        return str(event["item_id"])
    item = event.get("item")
    return str(item["id"]) if isinstance(item, dict) else None


def _audio(ms: int) -> str:
    return base64.b64encode(bytes(ms * RATE * 2 // 1000)).decode()


def build_response(
    response_id: str, previous_item_id: str | None, parts: Sequence[Part]
) -> Scripted:
    """The frames of one GA response with ``parts`` as its output items, in order."""
    shell: JSON = {
        "object": "realtime.response",
        "id": response_id,
        "status": "in_progress",
        "output": [],
        "conversation_id": "conv_mm",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
    }
    frames = [frame(sdk.ResponseCreatedEvent, "response.created", response=shell)]
    done_items: dict[str, JSON] = {}
    previous = previous_item_id
    ids: list[str] = []
    for index, part in enumerate(parts):
        item_id = f"item_{response_id}_{index}"
        ids.append(item_id)
        at = {"response_id": response_id, "output_index": index}
        on = {**at, "item_id": item_id, "content_index": 0}
        if part.kind == "call":
            item: JSON = {
                "id": item_id,
                "object": "realtime.item",
                "type": "function_call",
                "status": "in_progress",
                "call_id": part.call_id,
                "name": part.name,
                "arguments": "",
            }
            done = {**item, "status": "completed", "arguments": part.text}
            of_call = {**at, "item_id": item_id, "call_id": part.call_id}
            body = [
                frame(
                    sdk.ResponseFunctionCallArgumentsDeltaEvent,
                    "response.function_call_arguments.delta",
                    **of_call,
                    delta=part.text,
                ),
                frame(
                    sdk.ResponseFunctionCallArgumentsDoneEvent,
                    "response.function_call_arguments.done",
                    **of_call,
                    name=part.name,
                    arguments=part.text,
                ),
            ]
        else:
            spoken = part.kind == "speech"
            item = {
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            content = (
                {"type": "output_audio", "transcript": part.text}
                if spoken
                else {"type": "output_text", "text": part.text}
            )
            done = {**item, "status": "completed", "content": [content]}
            kind = "audio" if spoken else "text"
            body = [
                frame(
                    sdk.ResponseContentPartAddedEvent,
                    "response.content_part.added",
                    **on,
                    part={"type": kind, "transcript": ""} if spoken else {"type": kind, "text": ""},
                )
            ]
            words = [word + " " for word in part.text.split(" ")]
            words[-1] = words[-1].rstrip()
            if spoken:
                chunks = [CHUNK_MS] * (part.audio_ms // CHUNK_MS)
                if part.audio_ms % CHUNK_MS:
                    chunks.append(part.audio_ms % CHUNK_MS)
                # Transcript and audio interleave, the transcript running ahead.
                for step in range(max(len(chunks), len(words))):
                    if step < len(words):
                        body.append(
                            frame(
                                sdk.ResponseAudioTranscriptDeltaEvent,
                                "response.output_audio_transcript.delta",
                                **on,
                                delta=words[step],
                            )
                        )
                    if step < len(chunks):
                        body.append(
                            frame(
                                sdk.ResponseAudioDeltaEvent,
                                "response.output_audio.delta",
                                **on,
                                delta=_audio(chunks[step]),
                            )
                        )
                body.append(frame(sdk.ResponseAudioDoneEvent, "response.output_audio.done", **on))
                body.append(
                    frame(
                        sdk.ResponseAudioTranscriptDoneEvent,
                        "response.output_audio_transcript.done",
                        **on,
                        transcript=part.text,
                    )
                )
            else:
                for word in words:
                    body.append(
                        frame(
                            sdk.ResponseTextDeltaEvent,
                            "response.output_text.delta",
                            **on,
                            delta=word,
                        )
                    )
                body.append(
                    frame(
                        sdk.ResponseTextDoneEvent, "response.output_text.done", **on, text=part.text
                    )
                )
            body.append(
                frame(
                    sdk.ResponseContentPartDoneEvent,
                    "response.content_part.done",
                    **on,
                    part={"type": kind, **{k: v for k, v in content.items() if k != "type"}},
                )
            )
        frames.append(
            frame(sdk.ResponseOutputItemAddedEvent, "response.output_item.added", **at, item=item)
        )
        frames.append(
            frame(
                sdk.ConversationItemAdded,
                "conversation.item.added",
                previous_item_id=previous,
                item=item,
            )
        )
        frames += body
        frames.append(
            frame(sdk.ResponseOutputItemDoneEvent, "response.output_item.done", **at, item=done)
        )
        frames.append(
            frame(
                sdk.ConversationItemDone,
                "conversation.item.done",
                previous_item_id=previous,
                item=done,
            )
        )
        done_items[item_id] = done
        previous = item_id
    usage = {"input_tokens": 20, "output_tokens": 10 * len(parts), "total_tokens": 0}
    usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    output = list(done_items.values())
    finished = {**shell, "status": "completed", "output": output, "usage": usage}
    frames.append(frame(sdk.ResponseDoneEvent, "response.done", response=finished))
    return Scripted(response_id, ids, frames, shell=shell, done_items=done_items)


# -- the server ---------------------------------------------------------------------

Script = Callable[[str | None], Scripted]


class MultiMessagePeer:
    """A plain ``websockets`` server, in a thread, that plays scripted multi-message responses."""

    def __init__(
        self, *, transcription: bool = False, interrupt_response: bool = True, in_flight: int = 0
    ) -> None:
        #: How many held frames still go out when a cancel arrives (they were sent
        #: before the server read it).
        self.in_flight = in_flight
        self.interrupt_response = interrupt_response
        self.session = session_object(
            transcription=transcription, interrupt_response=interrupt_response
        )
        #: Each response the server gives plays the next of these (built on demand).
        self.script: list[Script] = []
        #: The responses played so far.
        self.played: list[Scripted] = []
        #: Every client event, in order.
        self.received: list[JSON] = []
        self.port = 0
        self._items: list[str] = []
        self._held: Scripted | None = None
        self._ws: ServerConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def respond(self, *parts: Part) -> None:
        """Script the next response: these output items, in order."""
        self.script.append(lambda previous: build_response(_response_id(), previous, parts))

    def respond_with(self, script: Script) -> None:
        """Script the next response with a builder (to hold part of it back, say)."""
        self.script.append(script)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[MultiMessagePeer]:
        ready = threading.Event()
        thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True)
        thread.start()
        if not ready.wait(TIMEOUT):
            raise RuntimeError("the peer did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            assert self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(TIMEOUT)

    def received_types(self, prefix: str = "") -> list[str]:
        """The types of the client events received, those starting with ``prefix``."""
        return [e["type"] for e in self.received if e["type"].startswith(prefix)]

    # -- driven by the test ------------------------------------------------------

    async def push(self, *frames: JSON) -> None:
        """Send frames of the test's own (a barge-in, a late transcription)."""
        await self._call(self._send_all, list(frames))

    async def resume(self) -> None:
        """Send the rest of the held response."""
        await self._call(self._resume)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        assert loop is not None

        def run() -> None:
            asyncio.run_coroutine_threadsafe(fn(*args), loop).result(TIMEOUT)

        await anyio.to_thread.run_sync(run)

    # -- the server's side ---------------------------------------------------------

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._serve, "127.0.0.1", 0, compression=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            ready.set()
            await self._stop.wait()

    async def _send_all(self, frames: list[JSON]) -> None:
        ws = self._ws
        assert ws is not None, "no client is connected"
        for event in frames:
            await ws.send(json.dumps(event))

    async def _resume(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await self._send_all(held.rest)

    async def _serve(self, ws: ServerConnection) -> None:
        self._ws = ws
        await self._send_all(
            [frame(sdk.SessionCreatedEvent, "session.created", session=self.session)]
        )
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                event = json.loads(message)
                self.received.append(event)
                await self._send_all(self._answer(event))

    def _answer(self, event: JSON) -> list[JSON]:
        kind = event["type"]
        if kind == "session.update":
            return [frame(sdk.SessionUpdatedEvent, "session.updated", session=self.session)]
        if kind == "conversation.item.create":
            item = {"object": "realtime.item", "status": "completed", **event["item"]}
            item.setdefault("id", f"item_client{next(_ids):05d}")
            return self._announce(item)
        if kind == "input_audio_buffer.commit":
            item_id = f"item_user{next(_ids):05d}"
            previous = self._items[-1] if self._items else None
            committed = frame(
                sdk.InputAudioBufferCommittedEvent,
                "input_audio_buffer.committed",
                item_id=item_id,
                previous_item_id=previous,
            )
            item = {
                "id": item_id,
                "object": "realtime.item",
                "type": "message",
                "role": "user",
                "status": "completed",
                "content": [{"type": "input_audio", "transcript": None}],
            }
            return [committed, *self._announce(item), *self._play()]
        if kind == "response.create":
            return self._play()
        if kind == "response.cancel":
            held, self._held = self._held, None
            if held is None:
                return []
            late = held.rest[: self.in_flight]
            held.frames += late
            return [*late, *held.cancelled()]
        if kind == "conversation.item.truncate":
            fields = {k: event[k] for k in ("item_id", "content_index", "audio_end_ms")}
            return [
                frame(sdk.ConversationItemTruncatedEvent, "conversation.item.truncated", **fields)
            ]
        if kind == "conversation.item.delete":
            if event["item_id"] in self._items:
                self._items.remove(event["item_id"])
            item_id = event["item_id"]
            return [
                frame(
                    sdk.ConversationItemDeletedEvent, "conversation.item.deleted", item_id=item_id
                )
            ]
        return []

    def _announce(self, item: JSON) -> list[JSON]:
        previous = self._items[-1] if self._items else None
        self._items.append(item["id"])
        return [
            frame(
                sdk.ConversationItemAdded,
                "conversation.item.added",
                previous_item_id=previous,
                item=item,
            ),
            frame(
                sdk.ConversationItemDone,
                "conversation.item.done",
                previous_item_id=previous,
                item=item,
            ),
        ]

    def _play(self) -> list[JSON]:
        if not self.script:
            return []
        scripted = self.script.pop(0)(self._items[-1] if self._items else None)
        self.played.append(scripted)
        self._items += scripted.item_ids
        if scripted.rest:
            self._held = scripted
        return list(scripted.frames)

    async def barge_in(self, audio_start_ms: int = 0) -> None:
        """The user speaks: ``speech_started``, and the held response is cancelled.

        The server cancels it itself when its VAD interrupts responses; otherwise it
        waits for the client's ``response.cancel``.
        """
        started = frame(
            sdk.InputAudioBufferSpeechStartedEvent,
            "input_audio_buffer.speech_started",
            audio_start_ms=audio_start_ms,
            item_id=f"item_user{next(_ids):05d}",
        )
        await self._call(self._barge_in, started)

    async def _barge_in(self, started: JSON) -> None:
        if not self.interrupt_response:
            await self._send_all([started])
            return
        held, self._held = self._held, None
        await self._send_all([started, *(held.cancelled() if held is not None else [])])


def _response_id() -> str:
    return f"resp_mm{next(_ids):05d}"
