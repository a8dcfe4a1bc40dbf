"""Record every frame of a session to JSON Lines, for replay and for bug reports.

Each line is ``{"t": seconds since start, "dir": "send" | "recv", "data": frame}``;
binary frames are stored as hex with ``"binary": true``. Credentials never
appear: they travel in handshake headers, which are not recorded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

__all__ = ["RecordedFrame", "Recorder", "read_recording"]

Direction = Literal["send", "recv"]


class Recorder:
    """Appends frames to a JSONL file as they are sent and received."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: IO[str] = self.path.open("a", encoding="utf-8")
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
    """Yield the frames of a recording in order."""
    with Path(path).open(encoding="utf-8") as file:
        for line in file:
            if line.strip():
                raw = json.loads(line)
                yield RecordedFrame(raw["t"], raw["dir"], raw["data"], raw.get("binary", False))
