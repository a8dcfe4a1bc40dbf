"""The soxr resampling engine: libsoxr (a C resampler) behind the same streaming contract.

What :class:`~realtime_events.audio.Resampler` runs when the ``soxr`` package is
installed (``pip install realtime-events[audio]``). soxr runs in float32 here,
not int16: its float path gives the same samples whatever the chunking (its
int16 path does not, by a unit or two), and the rounding and clipping to PCM16
are done here, as the pure-Python engine does them. Output is aligned with the
input (soxr compensates its own delay) and :meth:`flush` completes the stream
to exactly ``ceil(n * to_rate / from_rate)`` frames, so both engines give the
same length for the same input.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["SoxrEngine", "soxr_available"]


@functools.cache
def soxr_available() -> bool:
    """Tell whether soxr (and numpy) can be imported; tried once per process."""
    try:
        import numpy  # noqa: F401
        import soxr  # noqa: F401
    except ImportError:
        return False
    return True


class SoxrEngine:
    """Converts whole PCM16 frames with a ``soxr.ResampleStream``, streaming."""

    def __init__(self, from_rate: int, to_rate: int, channels: int, up: int, down: int) -> None:
        """Open a high-quality soxr stream from ``from_rate`` to ``to_rate`` Hz."""
        import numpy
        import soxr

        self._np: Any = numpy
        self._stream: Any = soxr.ResampleStream(
            from_rate, to_rate, channels, dtype="float32", quality="HQ"
        )
        self._up, self._down, self.channels = up, down, channels
        self._empty = numpy.zeros((0, channels), dtype=numpy.float32)
        self._low, self._high = numpy.float32(-32768), numpy.float32(32767)
        self._dtype = numpy.dtype("<i2")
        self.reset()

    def reset(self) -> None:
        """Forget the stream in progress."""
        self._stream.clear()
        self._frames_in = 0
        self._frames_out = 0

    def _pcm(self, out: Any) -> bytes:
        np = self._np
        # In place, and minimum/maximum rather than clip: on 20 ms chunks numpy's
        # per-call overhead is most of the cost (clip alone costs more than soxr).
        pcm = np.rint(out)
        np.minimum(pcm, self._high, out=pcm)
        np.maximum(pcm, self._low, out=pcm)
        self._frames_out += len(pcm)
        data: bytes = pcm.astype(self._dtype).tobytes()
        return data

    def process(self, frames: bytes | memoryview) -> bytes:
        """Convert whole frames of little-endian PCM16; return the output they complete."""
        np = self._np
        samples = np.frombuffer(frames, dtype=self._dtype)
        self._frames_in += len(samples) // self.channels
        block = samples.astype(np.float32).reshape(-1, self.channels)
        return self._pcm(self._stream.resample_chunk(block))

    def flush(self) -> bytes:
        """Return the output still held back, completed to the stream's exact length; reset."""
        np = self._np
        total = -(-self._frames_in * self._up // self._down)
        out = self._stream.resample_chunk(self._empty, last=True)
        missing = total - self._frames_out
        if len(out) > missing:
            out = out[: max(0, missing)]
        elif len(out) < missing:
            # soxr rounds the length, the contract takes the ceiling: one frame of silence.
            pad = np.zeros((missing - len(out), self.channels), dtype=np.float32)
            out = np.concatenate([out, pad])
        result = self._pcm(out)
        self.reset()
        return result
