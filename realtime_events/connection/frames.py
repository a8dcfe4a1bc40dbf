"""Received frames made into messages: the fast splitter beside websockets' parser.

websockets' generator-based parser costs several microseconds per frame, and a
busy Realtime session delivers thousands of small frames per second. The common
case, a whole, unmasked, unfragmented text or binary frame with no reserved bits,
is split off the byte stream here; every other frame (control frames, fragments,
anything malformed) goes to the protocol whole, in order, so its parser always
starts at a frame boundary and keeps doing the checks, the pong and close
replies, and the closing handshake. No I/O: the connection feeds the bytes in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from websockets.frames import Frame
from websockets.protocol import Protocol, State

__all__ = ["FrameSplitter", "Message", "too_big_reason"]


class Message(NamedTuple):
    """One complete WebSocket message (fragments already joined)."""

    data: bytes
    text: bool


_new_tuple = tuple.__new__


def too_big_reason(size: int, max_size: int) -> str:
    """The close reason for a message of ``size`` bytes over ``max_size``."""
    # A close reason holds 123 bytes at most: this stays under 80.
    return f"message of {size} bytes exceeds max_size ({max_size} bytes)"


class FrameSplitter:
    """Split whole data frames off the byte stream; hand every other frame to the protocol.

    The splitter is inactive until :meth:`start`, and stops for good (giving the
    protocol back the whole byte stream) once the connection is no longer open.
    It reports to its connection through three callables: ``deliver`` takes each
    message split off, ``on_frame`` each frame the protocol parsed from what was
    handed to it (at once, so messages keep their order), and ``fail`` the close
    code and reason when a frame announces more than ``max_size`` bytes (None: no
    limit), at its header, before any of it is buffered.
    """

    def __init__(
        self,
        protocol: Protocol,
        *,
        max_size: int | None,
        deliver: Callable[[Message], None],
        on_frame: Callable[[Frame], None],
        fail: Callable[[int, str], None],
    ) -> None:
        self.protocol = protocol
        self.max_size = max_size
        self._deliver = deliver
        self._on_frame = on_frame
        self._fail = fail
        self.active = False
        self._pending = bytearray()  # the start of a frame split across reads
        self._pending_need = 0  # that frame's whole size, once its header is known
        self._fragmented = False  # the protocol is assembling a fragmented message

    def start(self) -> None:
        """Start splitting, if the protocol allows it; call right after the handshake.

        That is the one moment the protocol's parser is known to sit on a frame
        boundary, so splitting starts then or never. Extensions (compression) and
        the protocol's debug logging need every frame to go through its parser.
        """
        protocol = self.protocol
        self.active = (
            protocol.state is State.OPEN and not protocol.extensions and not protocol.debug
        )

    def receive_data(self, data: bytes) -> None:
        """Take the frames of ``data``, the next bytes read from the stream."""
        pending = self._pending
        if self.protocol.state is not State.OPEN:
            self.stop(data)
            return
        pos = 0
        if pending:
            need = self._pending_need - len(pending)
            if self._pending_need and need <= len(data):
                # Complete the frame split by the previous read, then go on in
                # ``data`` itself: joining whole reads would copy every byte twice.
                pending += data[:need]
                head = bytes(pending)
                pending.clear()
                self._pending_need = 0
                if not self._split(head, 0):
                    self.stop(data[need:])
                    return
                pos = need
            else:
                pending += data
                if len(pending) < self._pending_need:
                    return
                # Only a header was split (the frame's size was unknown): rare and short.
                data = bytes(pending)
                pending.clear()
        self._pending_need = 0
        if not self._split(data, pos):
            self.stop(b"")

    def stop(self, data: bytes = b"") -> None:
        """Give the protocol back the whole byte stream: what is pending, then ``data``."""
        self.active = False
        if self._pending:
            self.protocol.receive_data(bytes(self._pending))
            self._pending.clear()
        if data:
            self.protocol.receive_data(data)

    def _split(self, data: bytes, pos: int) -> bool:
        """Take the frames of ``data`` from ``pos``; keep a partial one for the next read.

        Return False, having handed the protocol the frames that were taken from it,
        once the connection is no longer open: the caller gives it the rest.
        """
        protocol = self.protocol
        deliver = self._deliver
        max_size = self.max_size
        size = len(data)
        while size - pos >= 2:
            first = data[pos]
            second = data[pos + 1]
            length = second & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
                start = pos + 10
            if max_size is not None and length > max_size:
                # Refused at the header, before buffering any of it: a peer could
                # announce 2^63 bytes and keep sending.
                self._fail(1009, too_big_reason(length, max_size))
                return False
            if second & 0x80:
                start += 4  # masked: a protocol error from a server; the protocol says so
            end = start + length
            if end > size:
                self._pending_need = end - pos
                break
            if (first == 0x81 or first == 0x82) and not second & 0x80 and not self._fragmented:
                # tuple.__new__ itself: a NamedTuple's own __new__ is a Python
                # function, a call per message on the path every event takes.
                deliver(_new_tuple(Message, (data[start:end], first == 0x81)))
            else:
                self._forward(first, data[pos:end])
                if protocol.state is not State.OPEN:
                    if end < size:
                        self._pending += data[end:]
                    return False
            pos = end
        if pos < size:
            self._pending += data[pos:]
        return True

    def _forward(self, first: int, frame: bytes) -> None:
        """Hand one whole frame to the protocol and take its events now, keeping the order."""
        opcode = first & 0x0F
        if opcode in (1, 2) and not first & 0x80:
            self._fragmented = True
        elif opcode == 0 and first & 0x80:
            self._fragmented = False
        protocol = self.protocol
        protocol.receive_data(frame)
        for event in protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
