"""Input audio: the buffer's append, commit and clear, server VAD, and input transcription.

Audio the client appends is buffered in the session's input format; a
commit, by the client or by server VAD at the end of speech, turns it into
a user item, which the model hears and, with transcription on, transcribes.
In a transcription session that is all: no turn is ever answered. Server
VAD's idle timeout commits the silence after a response and answers it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..models import Model
from ..vad import SpeechStarted, VadSettings, VoiceActivityDetector
from ._constants import JSON, MIN_COMMIT_MS
from ._conversation import Conversation
from ._errors import ClientError, appended_audio
from ._idle import IdleTimer
from ._items import Content, Item, hear, to_pcm16, tokens
from ._session import EAGERNESS_SILENCE_MS, Config


class AudioHost(Protocol):
    """What the input audio buffer uses of the engine."""

    @property
    def model(self) -> Model:
        """The model that hears committed audio."""
        ...

    @property
    def config(self) -> Config:
        """The session's configuration: input format, turn detection, transcription."""
        ...

    @property
    def new_id(self) -> Callable[[str], str]:
        """The engine's id factory."""
        ...

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...

    def interrupt_response(self) -> None:
        """Server VAD heard speech start and ``interrupt_response`` is on."""
        ...

    def respond_to_turn(self) -> None:
        """Server VAD committed a turn and ``create_response`` is on."""
        ...


class InputAudio:
    """The input audio buffer of one session, with its server VAD."""

    def __init__(self, host: AudioHost, conversation: Conversation) -> None:
        self._host = host
        self._conversation = conversation
        self._buffer = bytearray()
        self._odd_byte = b""  # half a sample, kept for the next append
        self._buffer_start_ms = 0.0  # where the buffer starts in the stream of appended audio
        self._stream_ms = 0.0  # all audio appended so far
        self._vad: VoiceActivityDetector | None = None
        self._vad_offset_ms = 0.0  # where the detector's clock starts in the stream
        self._speech: tuple[str, int] | None = None  # (item id, audio_start_ms) of speech going on
        self.idle = IdleTimer()
        self._reset_vad()

    def reconfigured(self, old: Config) -> None:
        """The session's configuration changed from ``old``: restart what depended on it."""
        new = self._host.config
        if new.input_format != old.input_format:
            self._drop_buffer()
        if new.turn_detection != old.turn_detection or new.input_format != old.input_format:
            self._reset_vad()

    def _reset_vad(self) -> None:
        """A new detector for the session's turn detection (none when it is off)."""
        detection = self._host.config.turn_detection
        self._speech = None
        if detection is None:
            self._vad = None
            return
        if detection["type"] == "server_vad":
            settings = VadSettings(
                threshold=detection["threshold"],
                prefix_padding_ms=detection["prefix_padding_ms"],
                silence_duration_ms=detection["silence_duration_ms"],
            )
        else:
            settings = VadSettings(silence_duration_ms=EAGERNESS_SILENCE_MS[detection["eagerness"]])
        self._vad = VoiceActivityDetector(
            settings, sample_rate=self._host.config.input_format.sample_rate
        )
        self._vad_offset_ms = self._stream_ms

    def append(self, event: Mapping[str, Any]) -> list[JSON]:
        """``input_audio_buffer.append``: buffer the audio; server VAD may start or end a turn."""
        data = appended_audio(event)
        fmt = self._host.config.input_format
        data = self._odd_byte + data
        whole = len(data) - len(data) % fmt.bytes_per_sample
        self._odd_byte = data[whole:]
        data = data[:whole]
        self._buffer.extend(data)
        self._stream_ms += fmt.duration_ms(len(data))
        if self._vad is None or not data:
            return []
        events: list[JSON] = []
        for found in self._vad.push(to_pcm16(data, fmt)):
            if isinstance(found, SpeechStarted):
                events += self._speech_started(found.audio_start_ms + self._vad_offset_ms)
            else:
                events += self._speech_stopped(found.audio_end_ms + self._vad_offset_ms)
        return events + self._idle_timeout()

    def playback_started(self) -> None:
        """The response's first audio is being sent: its playback starts now."""
        self.idle.playback_started(self._stream_ms)

    def response_done(self, playback_ms: float) -> None:
        """A response is done; its audio plays ``playback_ms``: the idle wait starts after it."""
        self.idle.arm(self._stream_ms, playback_ms)

    def advance(self, ms: float) -> list[JSON]:
        """``ms`` of wall time passed without audio: the idle timeout may trigger."""
        self.idle.advance(ms)
        return self._idle_timeout()

    @property
    def idle_timeout_ms(self) -> int | None:
        """Server VAD's ``idle_timeout_ms`` in a realtime session, else None (no idle timeout)."""
        config = self._host.config
        timeout: int | None = (config.turn_detection or {}).get("idle_timeout_ms")
        return timeout if config.type == "realtime" else None

    def _idle_timeout(self) -> list[JSON]:
        """``input_audio_buffer.timeout_triggered`` once the user stayed silent long enough.

        The silence after playback is committed as a user item and answered,
        as the real server does (``create_response`` permitting).
        """
        timeout = self.idle_timeout_ms
        if timeout is None or self._speech is not None:
            return []
        span = self.idle.due(self._stream_ms, timeout)
        if span is None:
            return []
        self.idle.disarm()
        item_id = self._host.new_id("item")
        start, end = span
        events = [
            self._host.event(
                "input_audio_buffer.timeout_triggered",
                audio_start_ms=start,
                audio_end_ms=end,
                item_id=item_id,
            )
        ]
        events += self._commit(item_id, min(start, self._stream_ms), self._stream_ms)
        if (self._host.config.turn_detection or {}).get("create_response"):
            self._host.respond_to_turn()
        return events

    def _speech_started(self, start_ms: float) -> list[JSON]:
        """Server VAD heard speech start at ``start_ms`` of the stream."""
        start = round(max(start_ms, self._buffer_start_ms))
        item_id = self._host.new_id("item")
        self._speech = (item_id, start)
        self.idle.disarm()
        detection = self._host.config.turn_detection or {}
        if detection.get("interrupt_response"):
            self._host.interrupt_response()
        return [
            self._host.event(
                "input_audio_buffer.speech_started", audio_start_ms=start, item_id=item_id
            )
        ]

    def _speech_stopped(self, end_ms: float) -> list[JSON]:
        """Server VAD heard speech end at ``end_ms``: commit the turn, maybe respond."""
        assert self._speech is not None
        item_id, start = self._speech
        end = round(end_ms)
        events = [
            self._host.event("input_audio_buffer.speech_stopped", audio_end_ms=end, item_id=item_id)
        ]
        events += self._commit(item_id, start, end)
        config = self._host.config
        if config.type == "realtime" and (config.turn_detection or {}).get("create_response"):
            self._host.respond_to_turn()
        return events

    def commit(self, event: Mapping[str, Any]) -> list[JSON]:
        """``input_audio_buffer.commit``: the whole buffer becomes a user item."""
        fmt = self._host.config.input_format
        buffered = fmt.duration_ms(len(self._buffer))
        if buffered < MIN_COMMIT_MS:
            raise ClientError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {buffered:.2f}ms of audio.",
                "input_audio_buffer_commit_empty",
            )
        item_id = self._speech[0] if self._speech is not None else self._host.new_id("item")
        events = self._commit(item_id, self._buffer_start_ms, self._stream_ms)
        if self._vad is not None:
            self._vad.reset()
        return events

    def _commit(self, item_id: str, start_ms: float, end_ms: float) -> list[JSON]:
        """Move buffered audio from ``start_ms`` to ``end_ms`` into a new user item."""
        fmt = self._host.config.input_format
        lo = fmt.bytes_for_ms(max(0.0, start_ms - self._buffer_start_ms))
        hi = max(lo, fmt.bytes_for_ms(max(0.0, end_ms - self._buffer_start_ms)))
        audio = bytes(self._buffer[lo:hi])
        del self._buffer[:hi]
        self._buffer_start_ms += fmt.duration_ms(hi)
        self._speech = None
        heard = hear(self._host.model, audio, fmt)
        item = Item(
            item_id,
            "message",
            "user",
            content=[Content("input_audio", audio=bytearray(audio))],
            audio_format=fmt,
            heard=heard,
        )
        previous = self._conversation.append(item)
        events = [
            self._host.event(
                "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
            )
        ]
        events += self._conversation.announce(item, previous)
        if self._host.config.transcription is not None:
            events += self._transcription_events(item, heard or "", fmt.duration_ms(len(audio)))
        return events

    def _transcription_events(self, item: Item, transcript: str, audio_ms: float) -> list[JSON]:
        """Input transcription's deltas and ``completed``, with the model's kind of usage."""
        item.content[0].transcript = transcript
        model = str((self._host.config.transcription or {}).get("model") or "whisper-1")
        kind = "conversation.item.input_audio_transcription"
        whole = model == "whisper-1"  # whisper-1 sends its transcript in one delta
        deltas = [transcript] if whole else re.findall(r"\s*\S+", transcript)
        events = [
            self._host.event(f"{kind}.delta", item_id=item.id, content_index=0, delta=d)
            for d in deltas
        ]
        usage: JSON
        if whole:
            usage = {"type": "duration", "seconds": round(audio_ms / 1000, 3)}
        else:
            audio_tokens = math.ceil(audio_ms / 100)
            text_tokens = tokens(transcript)
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "output_tokens": text_tokens,
                "total_tokens": audio_tokens + text_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            }
        events.append(
            self._host.event(
                f"{kind}.completed",
                item_id=item.id,
                content_index=0,
                transcript=transcript,
                usage=usage,
            )
        )
        return events

    def clear(self, event: Mapping[str, Any]) -> list[JSON]:
        """``input_audio_buffer.clear``: drop the buffer and any speech going on."""
        self._drop_buffer()
        if self._vad is not None:
            self._vad.reset()
        self._speech = None
        return [self._host.event("input_audio_buffer.cleared")]

    def _drop_buffer(self) -> None:
        """Empty the buffer; the stream's clock goes on."""
        self._buffer.clear()
        self._odd_byte = b""
        self._buffer_start_ms = self._stream_ms
