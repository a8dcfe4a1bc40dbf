"""FrameParser and the reader's fast path: every kind of frame is reported as before.

A session's reader validates a frame itself and hands the parser only what is
not routine (see ``Supervisor._events_of``). These tests feed a Session, from a
plain ``websockets`` server, one frame of each kind: routine events, a lenient
parse, an error, an unknown type, a payload that fails its model, a frame that is
no JSON and a binary frame. Handlers, signals and the log must say the same with
and without a receiver of ``event_received`` (which takes every frame off the
fast path).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import anyio
import pydantic
import pytest

from realtime_events import ServerEvent, Session, signals
from realtime_events.errors import InvalidFrameError
from realtime_events.events import UnknownServerEvent
from realtime_events.frames import last_error_in

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _lifecycle import record
from _replaying import replaying

pytestmark = pytest.mark.anyio

TIMEOUT = 10.0
SESSION = {"type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "m"}
COMPLETED = "conversation.item.input_audio_transcription.completed"
#: (what the server sends, text or binary), in order.
FRAMES: list[str | bytes] = [
    json.dumps({"type": "session.created", "event_id": "e1", "session": SESSION}),
    json.dumps({"type": "rate_limits.updated", "event_id": "e2", "rate_limits": []}),
    # Lenient: no usage, which the model documents and real servers leave out.
    json.dumps(
        {
            "type": COMPLETED,
            "event_id": "e3",
            "item_id": "i1",
            "content_index": 0,
            "transcript": "hi",
        }
    ),
    json.dumps(
        {
            "type": "error",
            "event_id": "e4",
            "error": {"type": "invalid_request_error", "code": "x", "message": "bad"},
        }
    ),
    json.dumps({"type": "brand.new.event", "event_id": "e5", "extra": 1}),
    json.dumps({"type": COMPLETED, "event_id": "e6", "content_index": 0}),  # no item_id
    "this is no JSON",
    b"\x00\x01binary",
    json.dumps(
        {
            "type": "input_audio_buffer.speech_started",
            "event_id": "e9",
            "audio_start_ms": 0,
            "item_id": "i2",
        }
    ),
]
#: What handlers of "*" get: every frame but the two that are no event.
DISPATCHED = ["e1", "e2", "e3", "e4", "e5", "e6", "e9"]


def _id(event: ServerEvent) -> Any:
    return getattr(event, "event_id", None)  # every event here has one


@pytest.mark.parametrize("followed", [False, True], ids=["fast path", "event_received followed"])
async def test_every_kind_of_frame_is_dispatched_and_reported_as_before(
    anyio_backend: str, followed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime_events.session")
    with replaying(FRAMES) as url:
        session = Session(url=url)
        seen: list[ServerEvent] = []
        last = anyio.Event()

        def on_any(event: Any) -> None:
            if isinstance(event, ServerEvent):
                seen.append(event)
                if _id(event) == "e9":
                    last.set()

        session.on("*", on_any)
        received = record(signals.event_received, session) if followed else None
        invalid = record(signals.event_invalid, session)
        unknown = record(signals.event_unknown, session)
        async with session:
            with anyio.fail_after(TIMEOUT):
                await last.wait()

    assert [_id(event) for event in seen] == DISPATCHED
    by_id = {_id(event): event for event in seen}
    assert by_id["e3"].missing_fields == ("usage",)
    assert by_id["e4"].type == "error"
    assert type(by_id["e5"]) is UnknownServerEvent
    assert type(by_id["e6"]) is UnknownServerEvent
    assert isinstance(by_id["e6"].validation_error, pydantic.ValidationError)
    if received is not None:
        assert [kwargs["event"] for kwargs in received] == seen
    assert [kwargs["event"] for kwargs in unknown] == [by_id["e5"]]
    # The payload that fails its model (with its event), the text that is no JSON,
    # and the binary frame: each reported once.
    assert [kwargs["event"] for kwargs in invalid] == [by_id["e6"], None, None]
    assert isinstance(invalid[0]["error"], pydantic.ValidationError)
    assert [type(kwargs["error"]) for kwargs in invalid[1:]] == [InvalidFrameError] * 2
    lenient = [r for r in caplog.records if "came without usage" in r.getMessage()]
    assert len(lenient) == 1


def test_the_last_error_among_unparsed_frames_is_found_without_parsing_events() -> None:
    first = {"type": "error", "error": {"message": "first", "code": "a"}}
    last = {"type": "error", "error": {"message": "last", "code": "b"}}
    frames = [
        (json.dumps(first).encode(), True),
        (json.dumps(last).encode(), True),
        (b'{"type": "response.done", "note": "no error here"}', True),
        (b'{"error": "not JSON after all', True),  # mentions "error", is no JSON
        (b'"error"', False),  # binary: never an event
    ]
    found = last_error_in(frames)
    assert found is not None
    assert (found.message, found.code) == ("last", "b")
    flat = {"type": "error", "message": "flat", "code": None}  # no nested error object
    assert last_error_in([(json.dumps(flat).encode(), True)]).message == "flat"  # type: ignore[union-attr]
    assert last_error_in(frames[2:]) is None
