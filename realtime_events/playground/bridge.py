"""The bridge between one page and one session: events out to the page, the page's input in.

Out: every event the session dispatches (``session.on("*")``: server events and
plugin events), every client event it sends (``signals.event_sent``) and its
lifecycle signals become log entries (:mod:`.protocol`). In: text turns, raw
client events, the microphone, the played position of the assistant's audio
(for barge-in), the filter and recordings to scrub. Everything the page sends
is validated first; what fails gets an ``error`` message naming the problem
and never reaches the session.

What is for the session (text turns, client events, the microphone) and comes
before it is ready (before ``hello``) is held, in order, and sent once it is:
a page may send a text turn as soon as it loads. At most :data:`HELD_MESSAGES`
messages and :data:`HELD_BYTES` bytes are held; past that a message gets an
``error`` and is dropped. If the session fails before it is ready, the page
gets one ``error`` saying how many held messages were not sent.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .. import signals
from ..audio import PCM16, from_pcm16_24k, to_pcm16_24k
from ..connection import WebSocket
from ..errors import ConnectionClosedError, InvalidEventError, RealtimeError
from ..events import Event, PluginEvent
from ..events.names import canonical
from .protocol import (
    MAX_AUDIO_FRAME,
    MAX_RECORDING_BYTES,
    Cleared,
    Entry,
    Filter,
    Kind,
    OpenRecording,
    PageMessage,
    Played,
    ProtocolError,
    SendEvent,
    SendText,
    SetFilter,
    abbreviate,
    event_json,
    parse_page_message,
)
from .recordings import recording_entries

if TYPE_CHECKING:
    from .. import Session

__all__ = ["HELD_BYTES", "HELD_MESSAGES", "PAGE_RATE", "Bot", "PageBridge", "PlaybackReports"]

logger = logging.getLogger("realtime_events.playground")

#: The page's audio: pcm16 mono at 24 kHz both ways, converted to the session's formats here.
PAGE_RATE = 24_000
#: Log entries kept for refiltering; the page keeps as many rows.
_KEPT_ENTRIES = 5000
#: Messages queued for a page that reads slowly; past that, entries are dropped and counted.
_QUEUE = 20_000
#: Messages for the session held until it is ready: 10 s of the page's 100 ms microphone chunks.
HELD_MESSAGES = 100
#: Bytes of held messages, at most (what the page sent, as it sent it).
HELD_BYTES = 2 * 1024 * 1024
_SIGNALS = ("connected", "disconnected", "reconnecting", "reconnected", "event_invalid", "closed")
_OUTPUT_AUDIO = "response.output_audio.delta"


class PlaybackReports(Protocol):
    """Where the page's played position goes: the VAD plugin's ``vad.playback`` is one."""

    def played(
        self, item_id: str, content_index: int = 0, bytes_or_ms: bytes | float = 0.0
    ) -> None: ...

    def cleared(self) -> None: ...


@dataclass
class Bot:
    """A session for one page, and how the page's microphone and speaker reach it.

    ``listen(pcm16, sample_rate)`` takes the microphone (the VAD plugin's
    ``vad.push``); without it the audio goes to ``session.send_audio``.
    ``playback`` takes the played position of the assistant's audio, so a
    barge-in truncates where the user stopped hearing (``vad.playback``).
    """

    session: Session
    listen: Callable[[bytes, int], Awaitable[None]] | None = None
    playback: PlaybackReports | None = None


@dataclass(frozen=True)
class _Microphone:
    """A binary frame of the page: microphone audio, pcm16 mono at :data:`PAGE_RATE`."""

    pcm: bytes


_Inbound = PageMessage | _Microphone


class PageBridge:
    """Serves one page's WebSocket with one :class:`Bot` until the page leaves."""

    def __init__(self, websocket: WebSocket, bot: Bot) -> None:
        self._websocket = websocket
        self._bot = bot
        self._start = time.monotonic()
        self._seq = 0
        self._entries: deque[Entry] = deque(maxlen=_KEPT_ENTRIES)
        self._recording: list[Entry] = []
        self._filter = Filter()
        self._dropped = 0
        self._out: MemoryObjectSendStream[dict[str, Any]]
        self._out_reader: MemoryObjectReceiveStream[dict[str, Any]]
        self._out, self._out_reader = anyio.create_memory_object_stream[dict[str, Any]](_QUEUE)
        self._receivers: list[Callable[..., None]] = []
        # What is for the session, until it is ready; None from then on.
        self._held: deque[tuple[_Inbound, int]] | None = deque()
        self._held_bytes = 0

    async def serve(self) -> None:
        """Run the session and relay both ways; return when the page closes its socket."""
        session = self._bot.session
        session.on("*", self._on_event)
        self._connect_signals(session)
        try:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(self._write)
                task_group.start_soon(self._run_session, task_group.cancel_scope)
                await self._read()
                task_group.cancel_scope.cancel()
        finally:
            # Both ends, so nothing is left to close whether or not the writer started.
            self._out.close()
            self._out_reader.close()
            session.off(self._on_event)
            for receiver in self._receivers:
                for name in (*_SIGNALS, "event_sent"):
                    getattr(signals, name).disconnect(receiver)

    # -- the session's side --------------------------------------------------

    async def _run_session(self, scope: anyio.CancelScope) -> None:
        session = self._bot.session
        try:
            async with session:
                self._post(self._hello())
                await self._send_held()
                await anyio.sleep_forever()
        except Exception as error:  # its own failure: the page shows it and stays up for recordings
            logger.info("the playground's session failed: %s", error)
            self._post({"type": "error", "message": f"the session failed: {error}"})
        finally:
            self._drop_held()
        self._post({"type": "state", "state": str(session.state)})

    async def _send_held(self) -> None:
        """Send what the page sent before the session was ready, in order, then stop holding."""
        held = self._held
        while held:  # the reader may add more while one is sent: they go in order too
            message, size = held.popleft()
            self._held_bytes -= size
            with self._errors_to_page():
                await self._handle(message)
        self._held = None

    def _drop_held(self) -> None:
        """The session ended before it was ready: tell the page what was not sent."""
        held, self._held = self._held, None
        if held:
            self._post(
                {
                    "type": "error",
                    "message": f"{len(held)} messages sent before the session was ready "
                    f"were not sent: the session is {self._bot.session.state}",
                }
            )

    def _hello(self) -> dict[str, Any]:
        session = self._bot.session
        return {
            "type": "hello",
            "model": session.model,
            "url": session.url,
            "dialect": session.dialect,
            "rate": PAGE_RATE,
            "input_format": session.input_format.name,
            "output_format": session.output_format.name,
            "max_audio_frame": MAX_AUDIO_FRAME,
            "max_recording": MAX_RECORDING_BYTES,
            "barge_in": self._bot.playback is not None,
        }

    def _connect_signals(self, session: Session) -> None:
        def sent(_sender: object, *, event: Event, **_: Any) -> None:
            self._log("client", event)

        def signal_receiver(name: str) -> Callable[..., None]:
            def receive(_sender: object, **fields: Any) -> None:
                shown = {k: (v if _plain(v) else repr(v)) for k, v in fields.items()}
                event = PluginEvent.model_construct(None, type=f"signal.{name}", **shown)
                self._log("signal", event)

            return receive

        signals.event_sent.connect(sent, sender=session, weak=False)
        self._receivers.append(sent)
        for name in _SIGNALS:
            receiver = signal_receiver(name)
            getattr(signals, name).connect(receiver, sender=session, weak=False)
            self._receivers.append(receiver)

    def _on_event(self, event: Event) -> None:
        self._log("plugin" if isinstance(event, PluginEvent) else "server", event)

    def _log(self, kind: Kind, event: Event) -> None:
        self._seq += 1
        entry = Entry(self._seq, kind, event.type, type(event))
        self._entries.append(entry)
        message: dict[str, Any] = {
            "type": "entry",
            "seq": entry.seq,
            "t": round(time.monotonic() - self._start, 4),
            "kind": kind,
            "name": event.type,
            "match": self._filter.matches(entry.cls, entry.name),
            "event": abbreviate(event_json(event)),
        }
        if kind == "server" and canonical(event.type) == _OUTPUT_AUDIO:
            message["audio"] = self._page_audio(event)
        self._post(message)

    def _page_audio(self, event: Event) -> str:
        """The delta's audio as base64 pcm16 at the page's rate."""
        delta = str(getattr(event, "delta", "") or "")
        fmt = self._bot.session.output_format
        if fmt == PCM16:
            return delta
        return base64.b64encode(to_pcm16_24k(base64.b64decode(delta), fmt)).decode()

    def _post(self, message: dict[str, Any]) -> None:
        try:
            self._out.send_nowait(message)
        except anyio.WouldBlock:
            self._dropped += 1  # the page reads too slowly; the count tells it
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the page left; the session is being closed

    async def _write(self) -> None:
        async with self._out_reader:
            async for message in self._out_reader:
                if self._dropped:
                    dropped, self._dropped = self._dropped, 0
                    await self._send({"type": "error", "message": f"{dropped} entries dropped"})
                await self._send(message)

    async def _send(self, message: dict[str, Any]) -> None:
        await self._websocket.send(json.dumps(message, separators=(",", ":")))

    # -- the page's side ---------------------------------------------------

    async def _read(self) -> None:
        while True:
            try:
                data, text = await self._websocket.recv()
            except ConnectionClosedError:
                return
            with self._errors_to_page():
                message = parse_page_message(data) if text else _microphone(data)
                if self._held is not None and isinstance(message, _FOR_SESSION):
                    self._hold(message, len(data))
                else:
                    await self._handle(message)

    @contextmanager
    def _errors_to_page(self) -> Iterator[None]:
        """What the page sent and was refused: an ``error`` message naming the problem."""
        try:
            yield
        except ProtocolError as error:
            self._post({"type": "error", "message": str(error)})
        except (InvalidEventError, RealtimeError, ValueError) as error:
            self._post({"type": "error", "message": f"{type(error).__name__}: {error}"})

    def _hold(self, message: _Inbound, size: int) -> None:
        """Keep a message for the session until it is ready, within the bounds."""
        assert self._held is not None
        if len(self._held) >= HELD_MESSAGES or self._held_bytes + size > HELD_BYTES:
            raise ProtocolError(
                f"not sent: the session is not ready yet, and {len(self._held)} messages "
                f"({self._held_bytes} bytes) already wait for it (at most {HELD_MESSAGES} "
                f"messages, {HELD_BYTES} bytes)"
            )
        self._held.append((message, size))
        self._held_bytes += size

    async def _handle(self, message: _Inbound) -> None:
        session = self._bot.session
        if isinstance(message, _Microphone):
            await self._microphone(message.pcm)
        elif isinstance(message, SendText):
            await session.send_text(message.text)
        elif isinstance(message, SendEvent):
            await session.send(message.event)
        elif isinstance(message, Played):
            if self._bot.playback is not None:
                self._bot.playback.played(message.item_id, message.content_index, message.ms)
        elif isinstance(message, Cleared):
            if self._bot.playback is not None:
                self._bot.playback.cleared()
        elif isinstance(message, SetFilter):
            try:
                self._set_filter(message.pattern)
            except ProtocolError as error:
                self._post({"type": "error", "about": "filter", "message": str(error)})
        elif isinstance(message, OpenRecording):
            await self._open_recording(message)

    async def _microphone(self, pcm: bytes) -> None:
        if not pcm:
            return
        if self._bot.listen is not None:
            await self._bot.listen(pcm, PAGE_RATE)
            return
        session = self._bot.session
        fmt = session.input_format
        await session.send_audio(pcm if fmt == PCM16 else from_pcm16_24k(pcm, fmt))

    def _set_filter(self, pattern: str) -> None:
        self._filter = Filter(pattern)
        self._post(
            {
                "type": "filter",
                "pattern": self._filter.pattern,
                "live": self._matching(self._entries),
                "recording": self._matching(self._recording),
            }
        )

    def _matching(self, entries: Any) -> list[int]:
        return [e.seq for e in entries if self._filter.matches(e.cls, e.name)]

    async def _open_recording(self, message: OpenRecording) -> None:
        entries, messages = await anyio.to_thread.run_sync(
            recording_entries, message.text, message.name
        )
        self._recording = entries
        for item, entry in zip(messages, entries, strict=True):
            item["match"] = self._filter.matches(entry.cls, entry.name)
        self._post({"type": "recording", "name": message.name, "entries": messages})


#: What the page sends that needs the session (the rest is the page's own or the bot's).
_FOR_SESSION = (SendText, SendEvent, _Microphone)


def _microphone(pcm: bytes) -> _Microphone:
    """A binary frame of the page, checked: pcm16 in chunks of at most :data:`MAX_AUDIO_FRAME`."""
    if len(pcm) > MAX_AUDIO_FRAME:
        raise ProtocolError(
            f"audio frame of {len(pcm)} bytes refused: at most {MAX_AUDIO_FRAME} bytes "
            f"(pcm16 mono at {PAGE_RATE} Hz, in chunks)"
        )
    if len(pcm) % 2:
        raise ProtocolError(f"audio frame of {len(pcm)} bytes refused: pcm16 has even sizes")
    return _Microphone(pcm)


def _plain(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
