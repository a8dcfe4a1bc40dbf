"""The VAD plugin: microphone audio in, turns and barge-in out.

``vad = session.use(VAD(mode=...))``, then ``await vad.push(pcm, sample_rate=...)``
with microphone audio. The plugin forwards it to the server with
``input_audio_buffer.append`` in ~100 ms chunks (resampled to the session's
input format), and depending on the mode:

- ``"server"``: the server's VAD takes turns; the plugin turns its
  ``input_audio_buffer.speech_started`` / ``speech_stopped`` into
  ``vad.speech_started`` / ``vad.speech_stopped`` and handles barge-in.
- ``"client"``: server VAD is switched off (``turn_detection: null``); the
  plugin's own detector finds the turns, and at the end of each it commits the
  buffer and asks for a response. Commits under 100 ms are refused (the buffer
  is cleared instead). All audio is sent, but silence is cleared from the
  server's buffer as it grows and when speech starts, so a turn holds its
  speech, ``preroll_ms`` before it and the hangover after it.
- ``"gated"``: like ``"client"``, but only speech (and ``preroll_ms`` before
  its onset) is sent at all, which saves bandwidth and input tokens.

Barge-in: when the user starts speaking while the assistant is speaking, the
active response is cancelled (unless the server's own VAD does it, per the
effective ``interrupt_response``) and each assistant audio item still playing
is truncated at the position the :class:`PlaybackTracker` reports, or deleted
when nothing of it was played. A response may hold several messages (newer
models speak a preamble, then the answer): the one playing is truncated at its
own position, and the response's messages the user has heard nothing of yet
are deleted, the ones it adds after the barge-in as well, so the model does
not remember saying them. ``vad.interrupted`` reports each cut.

``session.output_audio_buffer.clear()`` is not sent: it stops audio that the
*server* plays out, which exists only for WebRTC and SIP connections; over a
WebSocket the application owns playback and drops its own queue (on
``vad.interrupted``), then tells the tracker with ``vad.playback.cleared()``.

Not on a Live session: turn detection and barge-in are the Live server's. The
plugin declares ``protocols = ("realtime",)``, so ``session.use`` refuses a Live
session with :class:`~realtime_events.PluginNotApplicableError` before anything
is configured or attached, saying what to do instead (:data:`LIVE_REFUSAL`).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import anyio

from realtime_events import SessionClosedError, signals
from realtime_events.audio import PCM16, AudioFormat, Converter

from .detectors import Detector, make_detector
from .playback import PlaybackTracker, PlayingItem
from .segmenter import Segmenter, SpeechStarted, SpeechStopped

if TYPE_CHECKING:
    from realtime_events import Session

__all__ = ["LIVE_REFUSAL", "MIN_COMMIT_MS", "VAD", "Mode"]

logger = logging.getLogger("realtime_events_vad")

Mode = Literal["server", "client", "gated"]
_MODES = ("server", "client", "gated")

#: The least audio the server accepts in a commit.
MIN_COMMIT_MS = 100.0
#: Leading silence (beyond the pre-roll) that client mode clears from the server's buffer.
_TRIM_SLACK_MS = 500.0
#: Why the plugin does not apply to a Live session, and what to do instead.
LIVE_REFUSAL = (
    "Turn detection and barge-in are the Live server's, with nothing to switch off or "
    "commit (the server hears the user's turns and stops speaking when the user talks "
    "over it). Send the microphone's audio with session.send_audio(pcm) (or "
    "session.live.session.input_audio.append), follow session.input_transcript.delta, "
    "and drop VAD from this session"
)
#: The server's turn detection when the session sets none (the API's default).
_SERVER_DEFAULT_TURN_DETECTION: dict[str, Any] = {"type": "server_vad", "interrupt_response": True}


class VAD:
    """Voice activity detection, client-side turn taking and barge-in, as a session plugin.

    ``detector`` is a :class:`~realtime_events_vad.detectors.Detector` or a
    name (``"energy"``, the default; ``"silero"``; ``"webrtc"``). ``threshold``,
    ``min_speech_ms`` and ``min_silence_ms`` tune the segmenter: the silence
    that ends a turn is ``min_silence_ms``. ``barge_in=False`` turns barge-in
    off; ``respond=False`` commits turns without asking for a response.
    """

    name = "vad"
    #: The events it emits.
    events = (
        "vad.speech_started",
        "vad.speech_stopped",
        "vad.committed",
        "vad.discarded",
        "vad.interrupted",
    )
    #: The protocols it applies to: a Live server takes turns and handles barge-in itself.
    protocols = ("realtime",)
    #: What to do instead, told by the error that refuses a Live session.
    protocol_hints = MappingProxyType({"live": LIVE_REFUSAL})

    def __init__(
        self,
        mode: Mode = "server",
        *,
        detector: Detector | str | None = None,
        barge_in: bool = True,
        respond: bool = True,
        threshold: float = 0.5,
        min_speech_ms: float = 60.0,
        min_silence_ms: float = 500.0,
        preroll_ms: float = 300.0,
        chunk_ms: float = 100.0,
        max_idle_ms: float = 10_000.0,
        playback: PlaybackTracker | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, not {mode!r}")
        if chunk_ms <= 0 or preroll_ms < 0 or max_idle_ms <= 0:
            raise ValueError("chunk_ms and max_idle_ms must be positive, preroll_ms non-negative")
        self.mode: Mode = mode
        self.barge_in = barge_in
        self.respond = respond
        self.preroll_ms = preroll_ms
        self.chunk_ms = chunk_ms
        self.max_idle_ms = max_idle_ms
        #: Where playback of the assistant's audio is; feed it from your output stream.
        self.playback = playback if playback is not None else PlaybackTracker()
        #: The client-side speech segmenter (unused in ``"server"`` mode).
        self.segmenter = Segmenter(
            make_detector(detector),
            threshold=threshold,
            min_speech_ms=min_speech_ms,
            min_silence_ms=min_silence_ms,
        )
        self._session: Session | None = None
        self._lock: anyio.Lock | None = None
        # Input: the rate pushed, a dangling odd byte, and the converter to the session's format.
        self._rate: int | None = None
        self._odd = b""
        self._format: AudioFormat = PCM16
        self._converter: Converter | None = None
        # Output stream positions are absolute byte offsets since the first push.
        self._ring = bytearray()
        self._ring_start = 0
        self._sent_to = 0
        self._pending = bytearray()
        self._uncommitted = 0  # bytes appended since the last commit or clear
        self._gate_open = False
        self._deferred_deletes: dict[str, list[str]] = {}
        # Responses cut by barge-in and not done yet: messages they still add are
        # never heard. Each leaves at its response.done (or the connection's end).
        # (With the source of the barge-in that cut them.)
        self._cut_responses: dict[str, str] = {}

    # -- the plugin protocol ---------------------------------------------------

    def attach(self, session: Session) -> None:
        """Register the plugin's handlers on ``session`` (a Realtime one: see ``protocols``)."""
        self._session = session
        self.playback.bind(session)
        session.on("input_audio_buffer.speech_started", self._on_server_speech_started)
        session.on("input_audio_buffer.speech_stopped", self._on_server_speech_stopped)
        session.on("response.output_item.added", self._on_output_item_added)
        session.on("response.done", self._on_response_done)
        # A weak receiver: blinker must not keep the plugin (or the session) alive.
        signals.reconnected.connect(self._on_reconnected, sender=session)

    def session_config(self) -> Mapping[str, Any]:
        """Switch server VAD off in ``"client"`` and ``"gated"`` modes; leave it alone otherwise."""
        if self.mode == "server":
            return {}
        return {"turn_detection": None}

    # -- input ---------------------------------------------------------------

    async def push(self, pcm: bytes | bytearray | memoryview, sample_rate: int = 24000) -> None:
        """Take more pcm16 mono microphone audio at ``sample_rate``.

        Any chunk size works: empty chunks, odd byte counts (the dangling byte
        waits for the next chunk) and rate changes mid-stream. Speech found in
        it is reported, forwarded, committed and answered according to the mode.
        """
        session = self._require_session()
        if sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, not {sample_rate}")
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if sample_rate != self._rate:
                self._switch_rate(session, sample_rate)
            data = self._odd + bytes(pcm) if self._odd else bytes(pcm)
            whole = len(data) - len(data) % 2
            self._odd = data[whole:]
            # Slices bound how far detection can lag the ring buffer of sent audio.
            step = 2 * max(1, round(sample_rate * self.chunk_ms / 1000))
            for start in range(0, whole, step):
                await self._process(session, data[start : min(whole, start + step)], sample_rate)

    async def feed(self, chunks: AsyncIterable[bytes], sample_rate: int = 24000) -> None:
        """Push every chunk of an async iterable (a microphone stream), then flush."""
        async for chunk in chunks:
            await self.push(chunk, sample_rate)
        await self.flush()

    async def flush(self) -> None:
        """Send audio waiting to fill a chunk now (at the end of input, say)."""
        session = self._require_session()
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            await self._send(session, final=True)

    def buffer_sizes(self) -> dict[str, int]:
        """Bytes (and items) held in each internal buffer; all stay bounded, whatever the input."""
        return {
            "ring": len(self._ring),
            "pending": len(self._pending),
            "odd": len(self._odd),
            "segmenter": self.segmenter.buffered_bytes,
            "playback_items": self.playback.tracked_items,
            "deferred_deletes": sum(map(len, self._deferred_deletes.values())),
            "cut_responses": len(self._cut_responses),
        }

    @property
    def ring_capacity(self) -> int:
        """Bytes of sent-format audio kept for the pre-roll (and to cover detection latency)."""
        segmenter = self.segmenter
        frame = max(segmenter.frame_ms, segmenter.detector.frame_ms)
        runs = math.ceil(segmenter.min_speech_ms / frame) if frame else 1
        onset_span = runs * (frame + segmenter.onset_gap_ms)
        ms = self.preroll_ms + onset_span + frame + 2 * self.chunk_ms + 50
        return self._format.bytes_for_ms(ms)

    # -- the input pipeline -----------------------------------------------------

    def _require_session(self) -> Session:
        if self._session is None:
            raise RuntimeError("attach the plugin first: vad = session.use(VAD(...))")
        return self._session

    def _switch_rate(self, session: Session, rate: int) -> None:
        if self._converter is not None:
            self._append_ring(self._converter.flush())
            self._queue_if_streaming()
        else:
            self._format = session.input_format
        self._odd = b""
        self._rate = rate
        self._converter = Converter(PCM16, self._format, from_rate=rate)

    async def _process(self, session: Session, piece: bytes, rate: int) -> None:
        assert self._converter is not None
        self._append_ring(self._converter.process(piece))
        if self.mode != "server":
            for event in self.segmenter.push(piece, rate):
                if isinstance(event, SpeechStarted):
                    await self._local_speech_started(session, event)
                else:
                    await self._local_speech_stopped(session, event)
        self._queue_if_streaming()
        await self._send(session)
        if (
            self.mode == "client"
            and not self.segmenter.speaking
            and self._uncommitted >= self._format.bytes_for_ms(self.max_idle_ms)
        ):
            # Keep minutes of silence out of the server's buffer, and out of the next turn.
            await self._restart_buffer(
                session, self._sent_to - self._format.bytes_for_ms(self.preroll_ms)
            )
        excess = len(self._ring) - self.ring_capacity
        if excess > 0:
            del self._ring[:excess]
            self._ring_start += excess

    @property
    def _out_total(self) -> int:
        return self._ring_start + len(self._ring)

    def _offset(self, ms: float) -> int:
        """The byte offset in the sent stream of a time in the pushed stream."""
        return min(self._out_total, self._format.bytes_for_ms(max(0.0, ms)))

    def _append_ring(self, audio: bytes) -> None:
        self._ring += audio

    def _queue_to(self, end: int) -> None:
        end = min(end, self._out_total)
        start = max(self._sent_to, self._ring_start)
        if end > start:
            self._pending += self._ring[start - self._ring_start : end - self._ring_start]
        self._sent_to = max(self._sent_to, end)

    def _queue_if_streaming(self) -> None:
        if self.mode != "gated" or self._gate_open:
            self._queue_to(self._out_total)

    async def _send(self, session: Session, *, final: bool = False) -> None:
        size = max(self._format.bytes_per_sample, self._format.bytes_for_ms(self.chunk_ms))
        pending = self._pending
        while len(pending) >= size or (final and pending):
            piece = bytes(pending[:size])
            del pending[:size]
            await session.input_audio_buffer.append(piece)
            self._uncommitted += len(piece)

    def _server_buffer_start(self) -> int:
        """The offset where the server's input buffer starts: sent, not yet committed."""
        return self._sent_to - len(self._pending) - self._uncommitted

    async def _restart_buffer(self, session: Session, start: int) -> None:
        """Clear the server's input buffer and refill it with the audio from offset ``start``."""
        await session.input_audio_buffer.clear()
        self._uncommitted = 0
        start = max(start, self._ring_start)
        self._sent_to = max(self._sent_to, start)
        self._pending = bytearray(
            self._ring[start - self._ring_start : self._sent_to - self._ring_start]
        )

    # -- client-side turns -----------------------------------------------------

    async def _local_speech_started(self, session: Session, event: SpeechStarted) -> None:
        onset = self._offset(event.audio_start_ms - self.preroll_ms)
        if self.mode == "gated":
            self._sent_to = max(self._sent_to, onset)
            self._gate_open = True
            self._queue_to(self._offset(event.detected_ms))
        elif onset - self._server_buffer_start() > self._format.bytes_for_ms(_TRIM_SLACK_MS):
            # The turn starts at the speech (and its pre-roll), not at the silence before it.
            await self._restart_buffer(session, onset)
        session.emit(
            "vad.speech_started",
            audio_start_ms=event.audio_start_ms,
            detected_ms=event.detected_ms,
            probability=event.probability,
            source="client",
            item_id=None,
        )
        await self._barge_in(session, "client")

    async def _local_speech_stopped(self, session: Session, event: SpeechStopped) -> None:
        self._queue_to(self._offset(event.detected_ms))
        self._gate_open = False
        session.emit(
            "vad.speech_stopped",
            audio_start_ms=event.audio_start_ms,
            audio_end_ms=event.audio_end_ms,
            detected_ms=event.detected_ms,
            probability=event.probability,
            source="client",
            item_id=None,
        )
        await self._end_turn(session)

    async def _end_turn(self, session: Session) -> None:
        await self._send(session, final=True)
        audio_ms = self._format.duration_ms(self._uncommitted)
        self._uncommitted = 0
        if audio_ms >= MIN_COMMIT_MS:
            await session.input_audio_buffer.commit()
            session.emit("vad.committed", audio_ms=audio_ms)
            if self.respond:
                await session.response.create()
        elif audio_ms > 0:
            # The server rejects commits under 100 ms; drop the scrap instead.
            await session.input_audio_buffer.clear()
            session.emit("vad.discarded", audio_ms=audio_ms)

    # -- barge-in ----------------------------------------------------------------

    def turn_detection(self) -> Mapping[str, Any] | None:
        """The server's effective turn detection: as it last reported it, else as configured."""
        session = self._require_session()
        for config in (session.server_config, session.session_config()):
            if "turn_detection" in config:
                value = config["turn_detection"]
                return value if isinstance(value, Mapping) else None
        return _SERVER_DEFAULT_TURN_DETECTION

    def _server_interrupts(self) -> bool:
        detection = self.turn_detection()
        return detection is not None and bool(detection.get("interrupt_response", True))

    async def _barge_in(self, session: Session, source: str) -> None:
        if not self.barge_in:
            return
        playing = self.playback.playing()
        active = session.response.active_id
        unheard = self._unheard(session, playing, active)
        if not playing and not unheard and active is None:
            return
        if active is not None and not (source == "server" and self._server_interrupts()):
            await self._tell_server(
                session,
                "response.cancel",
                functools.partial(session.response.cancel, active, wait=False),
            )
        if active is not None:
            self._cut_responses[active] = source
        if not playing and not unheard:
            session.emit(
                "vad.interrupted", item_id=None, content_index=0, audio_end_ms=0,
                measured=self.playback.measured, deleted=False, response_id=active, source=source,
            )  # fmt: skip
            return
        for item in playing:
            end = math.floor(item.position_ms)
            if end <= 0:
                await self._delete_unheard(
                    session, item.item_id, item.response_id, source, item.content_index
                )
                continue
            self.playback.interrupt(item.item_id, item.content_index, end)
            truncate = functools.partial(
                session.conversation.item.truncate,
                item.item_id,
                audio_end_ms=end,
                content_index=item.content_index,
            )
            await self._tell_server(session, "conversation.item.truncate", truncate)
            session.emit(
                "vad.interrupted", item_id=item.item_id, content_index=item.content_index,
                audio_end_ms=end, measured=item.measured, deleted=False,
                response_id=item.response_id, source=source,
            )  # fmt: skip
        for item_id, response_id in unheard:
            await self._delete_unheard(session, item_id, response_id, source)

    def _unheard(
        self, session: Session, playing: list[PlayingItem], active: str | None
    ) -> list[tuple[str, str]]:
        """The messages of the interrupted responses the user has heard nothing of yet.

        Those are the messages after the one playing (or not started at all):
        queued behind it, still being generated, or without audio. Items that
        are playing are cut by position instead.
        """
        responses = dict.fromkeys(i.response_id for i in playing if i.response_id is not None)
        if active is not None:
            responses[active] = None
        cut = {item.item_id for item in playing}
        found: list[tuple[str, str]] = []
        for response_id in responses:
            messages = [
                item.id
                for item in session.conversation.response_items(response_id)
                if item.id and item.id not in cut and _is_assistant_message(item)
            ]
            found += [(i, response_id) for i in self.playback.unheard(response_id, messages)]
        return found

    async def _delete_unheard(
        self,
        session: Session,
        item_id: str,
        response_id: str | None,
        source: str,
        content_index: int = 0,
    ) -> None:
        """Delete a message nothing of which was heard (once its response is done)."""
        self.playback.interrupt(item_id, content_index, 0)
        if response_id is not None and response_id == session.response.active_id:
            # Deleting an item its response still writes to races the
            # response's own events: delete it once the response is done.
            self._deferred_deletes.setdefault(response_id, []).append(item_id)
        else:
            delete = functools.partial(session.conversation.item.delete, item_id)
            await self._tell_server(session, "conversation.item.delete", delete)
        session.emit(
            "vad.interrupted", item_id=item_id, content_index=content_index, audio_end_ms=0,
            measured=self.playback.measured, deleted=True, response_id=response_id,
            source=source,
        )  # fmt: skip

    # -- server events -------------------------------------------------------------

    async def _on_server_speech_started(self, event: Any) -> None:
        if self.mode != "server" or self._session is None:
            return
        self._session.emit(
            "vad.speech_started", audio_start_ms=float(event.audio_start_ms), detected_ms=None,
            probability=None, source="server", item_id=event.item_id,
        )  # fmt: skip
        await self._barge_in(self._session, "server")

    def _on_server_speech_stopped(self, event: Any) -> None:
        if self.mode != "server" or self._session is None:
            return
        self._session.emit(
            "vad.speech_stopped", audio_start_ms=None, audio_end_ms=float(event.audio_end_ms),
            detected_ms=None, probability=None, source="server", item_id=event.item_id,
        )  # fmt: skip

    async def _on_output_item_added(self, event: Any) -> None:
        # A message a cut response adds after the barge-in is never played.
        session = self._session
        item = event.item
        source = self._cut_responses.get(event.response_id)
        if session is None or source is None or not item.id or not _is_assistant_message(item):
            return
        # Only a spoken response's: the text of a written one was shown, not played.
        if self.playback.unheard(event.response_id, [item.id]):
            await self._delete_unheard(session, item.id, event.response_id, source)

    async def _on_response_done(self, event: Any) -> None:
        response_id = event.response.id
        if response_id is None or self._session is None:
            return
        self._cut_responses.pop(response_id, None)
        session = self._session
        for item_id in self._deferred_deletes.pop(response_id, []):
            if item_id in session.conversation:
                delete = functools.partial(session.conversation.item.delete, item_id)
                await self._tell_server(session, "conversation.item.delete", delete)

    @staticmethod
    async def _tell_server(
        session: Session, what: str, send: Callable[[], Awaitable[object]]
    ) -> None:
        """Send a barge-in's consequence, if there is a connection to send it on.

        Replaying a recording, between connections, or once closed there is no
        server to tell (and no reply to wait for): the local side of the
        barge-in (playback cut, ``vad.interrupted``) happens all the same.
        """
        if session.state != "open":
            logger.debug("barge-in: not sending %s, the session is %s", what, session.state)
            return
        try:
            await send()
        except SessionClosedError:
            logger.debug("barge-in: %s not sent, the session closed meanwhile", what)

    def _on_reconnected(self, session: Any, **_: Any) -> None:
        # A new server session starts with an empty input buffer.
        self._uncommitted = 0
        self._deferred_deletes.clear()
        self._cut_responses.clear()


def _is_assistant_message(item: Any) -> bool:
    return bool(item.type == "message" and item.role in (None, "assistant"))
