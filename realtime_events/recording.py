"""Record every frame of a session to JSON Lines, for replay and for bug reports.

Each line is ``{"t": seconds since start, "dir": "send" | "recv", "data": frame}``;
binary frames are stored as hex with ``"binary": true``. Credentials never
appear: they travel in handshake headers, which are not recorded.

A :class:`Recorder` is opened once per run of a session (``Session.start``), so
one recording spans the reconnects of that run. By default it overwrites the
file, so a recording holds one run and replays as one; ``mode="a"`` appends
runs one after the other instead (the times of each run start again at 0).
:func:`recording_protocol` tells which protocol a recording speaks (Realtime or
Live), from its first frames, so that a replay can parse it as such.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, get_args

from .endpoint import Protocol
from .errors import RecordingError

__all__ = [
    "RecordMode",
    "RecordedFrame",
    "Recorder",
    "RecordingError",
    "read_recording",
    "recording_protocol",
]

Direction = Literal["send", "recv"]
#: ``"w"``: start the file anew; ``"a"``: add to what it holds.
RecordMode = Literal["w", "a"]


class Recorder:
    """Writes frames to a JSONL file as they are sent and received.

    ``mode="w"`` (the default) truncates the file when the recorder opens;
    ``mode="a"`` appends to it.
    """

    def __init__(self, path: str | os.PathLike[str], *, mode: RecordMode = "w") -> None:
        if mode not in get_args(RecordMode):
            raise ValueError(f"mode must be 'w' or 'a', not {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self._file: IO[str] = self.path.open(mode, encoding="utf-8")
        self._start = time.monotonic()

    def write(self, direction: Direction, data: bytes | str, *, binary: bool = False) -> None:
        """Record one frame."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        record = {"t": round(time.monotonic() - self._start, 6), "dir": direction, "data": text}
        if binary:
            record["binary"] = True
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Flush and close the file."""
        self._file.close()


@dataclass(frozen=True, slots=True)
class RecordedFrame:
    """One frame of a recording."""

    t: float
    direction: Direction
    data: str
    binary: bool = False


def read_recording(path: str | os.PathLike[str]) -> Iterator[RecordedFrame]:
    """Yield the frames of a recording in order.

    Raises :class:`RecordingError` at the first line that is not a frame (with
    the file and line number), and ``OSError`` when the file cannot be read.
    """
    with Path(path).open(encoding="utf-8") as file:
        try:
            for number, line in enumerate(file, 1):
                if line.strip():
                    yield _frame(line, f"{path}:{number}")
        except UnicodeDecodeError:
            raise RecordingError(f"{path}: not a recording (not UTF-8 text)") from None


def _frame(line: str, where: str) -> RecordedFrame:
    try:
        raw = json.loads(line)
    except ValueError:
        raise RecordingError(f"{where}: not a recording (a line is not JSON)") from None
    if not isinstance(raw, dict):
        raise RecordingError(f"{where}: not a recording (a line is not a JSON object)")
    t, direction, data, binary = raw.get("t"), raw.get("dir"), raw.get("data"), raw.get("binary")
    if (
        isinstance(t, bool)
        or not isinstance(t, int | float)
        or direction not in get_args(Direction)
        or not isinstance(data, str)
        or not isinstance(binary, bool | None)
    ):
        raise RecordingError(
            f'{where}: not a recording frame (expected "t", "dir" send/recv and "data")'
        )
    return RecordedFrame(float(t), "send" if direction == "send" else "recv", data, bool(binary))


#: The first frames that only a Live session sends or receives.
_LIVE_OPENINGS = frozenset({"session.start", "session.started"})
#: The first frames that only a Realtime session sends or receives.
_REALTIME_OPENINGS = frozenset(
    {"session.created", "session.update", "transcription_session.update"}
)


def recording_protocol(path: str | os.PathLike[str]) -> Protocol:
    """The protocol a recording speaks: ``"live"`` when it starts a Live session.

    A Live connection's first frames are ``session.start`` and ``session.started``;
    a Realtime one's are ``session.created`` and ``session.update``. A recording
    with neither is taken as Realtime.
    """
    for frame in read_recording(path):
        if frame.binary:
            continue
        try:
            kind: Any = json.loads(frame.data).get("type")
        except (ValueError, AttributeError):
            continue
        if kind in _LIVE_OPENINGS:
            return "live"
        if kind in _REALTIME_OPENINGS:
            return "realtime"
    return "realtime"
