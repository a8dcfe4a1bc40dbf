"""A JSONL recording (see :mod:`realtime_events.recording`) as log entries the page can scrub.

The page reads the file and sends its text; it is parsed here with the
library's own reader, each frame typed as the session would type it (server
frames as server events, client frames as client events), so the log, the
filter and the timeline treat a recording exactly as a live session. The audio
the recording holds (the user's appends, the assistant's deltas) rides along
for playback.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from ..errors import InvalidEventError, InvalidFrameError, RecordingError
from ..events import Event, PluginEvent, parse_client_event, parse_server_event
from ..events.names import canonical
from ..recording import read_recording
from .protocol import Entry, Kind, ProtocolError, abbreviate, event_json

__all__ = ["recording_entries"]

_AUDIO = {
    ("recv", "response.output_audio.delta"): "delta",
    ("send", "input_audio_buffer.append"): "audio",
}


def recording_entries(text: str, name: str) -> tuple[list[Entry], list[dict[str, Any]]]:
    """Parse a recording's text: its entries (to filter) and the page's messages for them.

    Raises :class:`ProtocolError` naming the line when the text is not a recording.
    """
    handle, path = tempfile.mkstemp(suffix=".jsonl")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        try:
            frames = list(read_recording(path))
        except RecordingError as error:
            where = str(error).replace(path, name)
            raise ProtocolError(where) from None
    finally:
        os.unlink(path)
    entries: list[Entry] = []
    messages: list[dict[str, Any]] = []
    for seq, frame in enumerate(frames, 1):
        kind: Kind = "server" if frame.direction == "recv" else "client"
        event = _event(frame.direction, frame.data, frame.binary)
        entries.append(Entry(seq, kind, event.type, type(event)))
        raw = event_json(event)
        message: dict[str, Any] = {
            "type": "entry",
            "seq": seq,
            "t": frame.t,
            "kind": kind,
            "name": event.type,
            "event": abbreviate(raw),
        }
        field = _AUDIO.get((frame.direction, canonical(event.type)))
        if field is not None and isinstance(raw.get(field), str):
            message["audio"] = raw[field]
        messages.append(message)
    return entries, messages


def _event(direction: str, data: str, binary: bool) -> Event:
    if binary:
        return PluginEvent.model_construct(type="frame.binary", size=len(data) // 2)
    try:
        if direction == "recv":
            return parse_server_event(data)
        return parse_client_event(json.loads(data))
    except (InvalidFrameError, InvalidEventError, ValueError) as error:
        return PluginEvent.model_construct(type="frame.invalid", error=str(error), data=data[:2000])
