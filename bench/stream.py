"""The realistic server streams the benchmark replays, pre-serialized to WebSocket frames.

Two mixes. ``audio``: a voice turn as the Realtime server sends it:
``response.created``, the output item and its content part, many 100 ms audio
deltas (base64 of 4,800 bytes of pcm16 at 24 kHz) interleaved with transcript
deltas, then the done events and ``response.done`` with usage. ``small``: a
text turn after the user spoke, only small events: the speech and commit
events, the user's transcription deltas, many text deltas of one word, the
done events, ``response.done`` and ``rate_limits.updated``. Both dialects: GA
names (``response.output_audio.delta``) and beta names (``response.audio.delta``).

Every id of a turn carries the token :data:`TURN_TOKEN`, a fixed-width
placeholder the server swaps for the turn number with one ``bytes.replace`` per
turn, so ids stay distinct over a long stream without re-serializing anything.
Every ``event_id`` starts with :data:`STAMP_TOKEN`, which the paced server
overwrites with its send time (``time.monotonic_ns``) for latency measurements.
"""

from __future__ import annotations

import base64
import json
import random
import struct
from dataclasses import dataclass
from typing import Any, Literal

Dialect = Literal["ga", "beta"]
Mix = Literal["audio", "small"]

#: Six characters outside the base64 alphabet, so audio never contains them.
TURN_TOKEN = b"t_0000"
#: ``ev_`` plus 19 digits: room for ``time.monotonic_ns()``.
STAMP_TOKEN = b"ev_" + b"0" * 19
STAMP_DIGITS = 19

AUDIO_CHUNK_BYTES = 4800  # 100 ms of 24 kHz mono pcm16
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "we")


@dataclass(frozen=True)
class Frame:
    """One server message: the JSON payload, and the whole WebSocket frame carrying it."""

    payload: bytes
    wire: bytes
    type: str


def ws_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """Encode an unmasked (server to client) WebSocket frame with FIN set."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return header + payload


CLOSE_FRAME = ws_frame(struct.pack("!H", 1000), opcode=0x8)


def _names(dialect: Dialect) -> dict[str, str]:
    if dialect == "ga":
        return {
            "audio_delta": "response.output_audio.delta",
            "audio_done": "response.output_audio.done",
            "transcript_delta": "response.output_audio_transcript.delta",
            "transcript_done": "response.output_audio_transcript.done",
            "item_added": "conversation.item.added",
            "part_type": "output_audio",
            "text_delta": "response.output_text.delta",
            "text_done": "response.output_text.done",
        }
    return {
        "audio_delta": "response.audio.delta",
        "audio_done": "response.audio.done",
        "transcript_delta": "response.audio_transcript.delta",
        "transcript_done": "response.audio_transcript.done",
        "item_added": "conversation.item.created",
        "part_type": "audio",
        "text_delta": "response.text.delta",
        "text_done": "response.text.done",
    }


class _Builder:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.counter = 0

    def add(self, event: dict[str, Any]) -> None:
        self.counter += 1
        # The stamp placeholder first, then a per-turn unique suffix.
        event_id = f"{STAMP_TOKEN.decode()}_{TURN_TOKEN.decode()}_{self.counter:05d}"
        body = {"type": event["type"], "event_id": event_id, **event}
        payload = json.dumps(body, separators=(",", ":")).encode()
        self.frames.append(Frame(payload, ws_frame(payload), body["type"]))


def session_created(dialect: Dialect) -> Frame:
    """The first event of every connection."""
    session: dict[str, Any] = {
        "id": "sess_bench",
        "object": "realtime.session",
        "model": "gpt-realtime",
        "instructions": "You are a benchmark.",
        "voice": "alloy",
    }
    if dialect == "ga":
        session["type"] = "realtime"
        session["output_modalities"] = ["audio"]
        session["audio"] = {
            "input": {"format": {"type": "audio/pcm", "rate": 24000}},
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"},
        }
    else:
        session["modalities"] = ["audio", "text"]
        session["input_audio_format"] = "pcm16"
        session["output_audio_format"] = "pcm16"
    builder = _Builder()
    builder.add({"type": "session.created", "session": session})
    return builder.frames[0]


def turn(dialect: Dialect, audio_deltas: int, *, seed: int = 7) -> list[Frame]:
    """One assistant voice turn with ``audio_deltas`` 100 ms audio chunks."""
    names = _names(dialect)
    rng = random.Random(seed)
    audio = base64.b64encode(rng.randbytes(AUDIO_CHUNK_BYTES)).decode()
    tok = TURN_TOKEN.decode()
    response_id, item_id = f"resp_{tok}", f"item_{tok}"
    modalities_key = "output_modalities" if dialect == "ga" else "modalities"
    words = [rng.choice(WORDS) for _ in range(audio_deltas)]
    transcript = " ".join(words)
    b = _Builder()
    b.add(
        {
            "type": "response.created",
            "response": {
                "id": response_id,
                "object": "realtime.response",
                "status": "in_progress",
                "status_details": None,
                "output": [],
                "usage": None,
                modalities_key: ["audio"],
            },
        }
    )
    item: dict[str, Any] = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    b.add({"type": "response.output_item.added", "response_id": response_id,
           "output_index": 0, "item": item})  # fmt: skip
    b.add({"type": names["item_added"], "previous_item_id": None, "item": item})
    where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    b.add(
        {
            "type": "response.content_part.added",
            **where,
            "part": {"type": names["part_type"], "transcript": ""},
        }
    )
    for index, word in enumerate(words):
        b.add({"type": names["audio_delta"], **where, "delta": audio})
        text = word if index == 0 else " " + word
        b.add({"type": names["transcript_delta"], **where, "delta": text})
    b.add({"type": names["audio_done"], **where})
    b.add({"type": names["transcript_done"], **where, "transcript": transcript})
    part = {"type": names["part_type"], "transcript": transcript}
    b.add({"type": "response.content_part.done", **where, "part": part})
    done_item = {**item, "status": "completed", "content": [part]}
    b.add({"type": "response.output_item.done", "response_id": response_id,
           "output_index": 0, "item": done_item})  # fmt: skip
    if dialect == "ga":
        b.add({"type": "conversation.item.done", "previous_item_id": None, "item": done_item})
    usage = {
        "total_tokens": 1500 + audio_deltas * 12,
        "input_tokens": 900,
        "output_tokens": 600 + audio_deltas * 12,
        "input_token_details": {"cached_tokens": 0, "text_tokens": 120, "audio_tokens": 780},
        "output_token_details": {"text_tokens": 120, "audio_tokens": 480 + audio_deltas * 12},
    }
    b.add(
        {
            "type": "response.done",
            "response": {
                "id": response_id,
                "object": "realtime.response",
                "status": "completed",
                "status_details": None,
                "output": [done_item],
                "usage": usage,
                modalities_key: ["audio"],
            },
        }
    )
    return b.frames


def small_turn(dialect: Dialect, text_deltas: int, *, seed: int = 7) -> list[Frame]:
    """One text turn after the user spoke: ``text_deltas`` one-word deltas, small events only."""
    names = _names(dialect)
    rng = random.Random(seed)
    tok = TURN_TOKEN.decode()
    response_id, item_id, user_id = f"resp_{tok}", f"item_{tok}", f"user_{tok}"
    modalities_key = "output_modalities" if dialect == "ga" else "modalities"
    words = [rng.choice(WORDS) for _ in range(text_deltas)]
    heard = [rng.choice(WORDS) for _ in range(max(1, text_deltas // 4))]
    b = _Builder()
    b.add({"type": "input_audio_buffer.speech_started", "audio_start_ms": 1000, "item_id": user_id})
    b.add({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 2500, "item_id": user_id})
    b.add({"type": "input_audio_buffer.committed", "previous_item_id": None, "item_id": user_id})
    user_item: dict[str, Any] = {
        "id": user_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": None}],
    }
    b.add({"type": names["item_added"], "previous_item_id": None, "item": user_item})
    for index, word in enumerate(heard):
        b.add({"type": "conversation.item.input_audio_transcription.delta", "item_id": user_id,
               "content_index": 0, "delta": word if index == 0 else " " + word})  # fmt: skip
    b.add(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": user_id,
            "content_index": 0,
            "transcript": " ".join(heard),
            "usage": {"type": "duration", "seconds": 1.5},
        }
    )
    response = {
        "id": response_id,
        "object": "realtime.response",
        "status": "in_progress",
        "status_details": None,
        "output": [],
        "usage": None,
        modalities_key: ["text"],
    }
    b.add({"type": "response.created", "response": response})
    item: dict[str, Any] = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    b.add({"type": "response.output_item.added", "response_id": response_id,
           "output_index": 0, "item": item})  # fmt: skip
    b.add({"type": names["item_added"], "previous_item_id": user_id, "item": item})
    where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    b.add({"type": "response.content_part.added", **where, "part": {"type": "text", "text": ""}})
    for index, word in enumerate(words):
        b.add({"type": names["text_delta"], **where, "delta": word if index == 0 else " " + word})
    text = " ".join(words)
    b.add({"type": names["text_done"], **where, "text": text})
    part = {"type": "text", "text": text}
    b.add({"type": "response.content_part.done", **where, "part": part})
    done_item = {**item, "status": "completed", "content": [part]}
    b.add({"type": "response.output_item.done", "response_id": response_id,
           "output_index": 0, "item": done_item})  # fmt: skip
    if dialect == "ga":
        b.add({"type": "conversation.item.done", "previous_item_id": user_id, "item": done_item})
    usage = {
        "total_tokens": 300 + text_deltas,
        "input_tokens": 300,
        "output_tokens": text_deltas,
        "input_token_details": {"cached_tokens": 0, "text_tokens": 120, "audio_tokens": 180},
        "output_token_details": {"text_tokens": text_deltas, "audio_tokens": 0},
    }
    done = {**response, "status": "completed", "output": [done_item], "usage": usage}
    b.add({"type": "response.done", "response": done})
    limits = [
        {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 0.06},
        {"name": "tokens", "limit": 50000, "remaining": 49000, "reset_seconds": 1.2},
    ]
    b.add({"type": "rate_limits.updated", "rate_limits": limits})
    return b.frames


def mix_turn(mix: Mix, dialect: Dialect, deltas: int) -> list[Frame]:
    """The frames of one turn of ``mix``: ``deltas`` audio (or text) deltas."""
    return turn(dialect, deltas) if mix == "audio" else small_turn(dialect, deltas)


def turn_blob(frames: list[Frame]) -> bytes:
    """Concatenate the wire frames of a turn: the server writes it in one call."""
    return b"".join(frame.wire for frame in frames)


def stamp_split(frame: Frame) -> tuple[bytes, bytes]:
    """Split a wire frame around its stamp digits, so a sender can splice the time in."""
    at = frame.wire.index(STAMP_TOKEN) + len(b"ev_")
    return frame.wire[:at], frame.wire[at + STAMP_DIGITS :]


def stamp_of(event_id: str) -> int:
    """The send time (``time.monotonic_ns``) the paced server wrote into ``event_id``."""
    return int(event_id[3 : 3 + STAMP_DIGITS])


@dataclass(frozen=True)
class Plan:
    """What a connection receives: ``session.created`` then ``turns`` turns of ``mix``."""

    dialect: Dialect
    turns: int
    audio_deltas: int
    mix: Mix = "audio"

    def segments(self) -> tuple[object, ...]:
        """The bench server's URL path for this stream."""
        return ("stream", self.dialect, self.turns, self.audio_deltas, self.mix)

    def turn_frames(self) -> list[Frame]:
        """The frames of one turn (every turn has the same types and sizes)."""
        return mix_turn(self.mix, self.dialect, self.audio_deltas)

    def events(self) -> int:
        """How many events the connection receives in all."""
        return 1 + self.turns * len(self.turn_frames())

    def payload_bytes(self) -> int:
        """How many payload bytes the connection receives in all."""
        per_turn = sum(len(f.payload) for f in self.turn_frames())
        return len(session_created(self.dialect).payload) + self.turns * per_turn

    def type_counts(self) -> dict[str, int]:
        """How many events of each wire type the connection receives."""
        counts: dict[str, int] = {"session.created": 1}
        for frame in self.turn_frames():
            counts[frame.type] = counts.get(frame.type, 0) + self.turns
        return counts
