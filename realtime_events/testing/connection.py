"""One client connection of the local server, whatever protocol it speaks: the shared I/O.

:class:`EngineConnection` drives a Sans-I/O engine over a WebSocket: it
feeds the engine each client frame and sends what it answers, streams the
runs it pops from ``next_response`` (paced by their audio), tells it every
:data:`TICK_SECONDS` the wall time that passed while it needs that (a
ticker task runs only then), and injects the
:class:`Faults` asked for. A lock orders the sends of the reader, the ticker
and the streamer as the engine made them. Each protocol's connection
(:mod:`.realtime_connection`, :mod:`.live_connection`) says only what
differs: how long an event's audio plays, what a session cap sends, when the
session is over, and what a lost client means to the engine.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import anyio
import anyio.abc
from websockets.http11 import Request

from ..connection import WebSocket
from ..errors import ConnectionClosedError
from ..recording import RecordedFrame, read_recording

__all__ = ["REFUSED_CLOSE_CODE", "TICK_SECONDS", "Engine", "EngineConnection", "Faults"]

#: How often a connection tells its engine how much wall time passed, in seconds.
TICK_SECONDS = 0.1
#: The close code of a connection the server refuses after the handshake (the real one's).
REFUSED_CLOSE_CODE = 4000


@dataclass
class Faults:
    """Faults to inject into every connection (each can also be triggered on demand).

    ``drop_after``: drop TCP without a close frame after this many server events.
    ``stall_after`` / ``stall_for``: stop sending for ``stall_for`` seconds after
    that many events. ``session_cap``: like the real server's cap on a session's
    length, close with ``cap_close_code`` after that many seconds (a Realtime
    session gets the ``session_expired`` error first, a Live one
    ``session.closed`` with reason ``expired``). ``malformed_after``: after
    that many events, send a frame that is not JSON (once).
    """

    drop_after: int | None = None
    stall_after: int | None = None
    stall_for: float = 0.0
    session_cap: float | None = None
    cap_close_code: int = 1001
    malformed_after: int | None = None


class Engine(Protocol):
    """What a connection uses of a protocol's Sans-I/O engine."""

    def start(self) -> Sequence[Mapping[str, Any]]:
        """The events a new socket gets before the client speaks."""
        ...

    def receive(self, frame: bytes) -> Sequence[Mapping[str, Any]]:
        """The events one client frame causes at once."""
        ...

    def next_response(self) -> Iterable[Mapping[str, Any]] | None:
        """The next run of events ready to stream, made lazily as it is iterated."""
        ...

    def advance(self, ms: float) -> Sequence[Mapping[str, Any]]:
        """The events ``ms`` of wall time cause."""
        ...

    def needs_time(self) -> bool:
        """Whether wall time can cause anything now, so the connection must tell it."""
        ...


EngineT = TypeVar("EngineT", bound=Engine)


@dataclass
class EngineConnection(Generic[EngineT]):
    """One client connected to the server, driving its protocol's engine."""

    websocket: WebSocket
    engine: EngineT
    request: Request
    faults: Faults
    pace: float
    received: list[dict[str, Any]] = field(default_factory=list)
    sent_events: deque[Mapping[str, Any]] = field(default_factory=lambda: deque(maxlen=10_000))
    sent: int = 0
    #: Whether the ticker telling the engine the wall time runs (only while it needs it).
    ticking: bool = False
    _tasks: anyio.abc.TaskGroup | None = None
    _wake: anyio.Event = field(default_factory=anyio.Event)
    _cancel: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    # Held from asking the engine for events to sending them, so that what the reader,
    # the ticker and the streamer get from it goes out in the order the engine made it.
    _order: anyio.Lock = field(default_factory=anyio.Lock)

    #: The frame the ``malformed_after`` fault sends: a protocol event cut short.
    MALFORMED: ClassVar[str] = '{"type": "error", "oops": '

    @property
    def path(self) -> str:
        """The path the client connected to, query included."""
        return self.request.path

    async def send_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Write server events, applying the connection's faults."""
        for event in events:
            await self._fault_point()
            await self.websocket.send(json.dumps(event, separators=(",", ":")))
            self.sent_events.append(event)
            self.sent += 1

    async def send_raw(self, data: str | bytes, *, binary: bool = False) -> None:
        """Write a frame as it is, valid or not."""
        await self.websocket.send(data, text=not binary)

    async def drop(self) -> None:
        """Drop the TCP connection without a close frame."""
        await self.websocket.abort(1006)
        self._cancel.cancel()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection with a close frame."""
        await self.websocket.close(code, reason)
        self._cancel.cancel()

    # ------------------------------------------------------- what protocols say

    def audio_ms(self, event: Mapping[str, Any]) -> float:
        """How long ``event``'s audio plays, in ms (the streamer waits that long, times pace)."""
        raise NotImplementedError

    def expire(self, seconds: float) -> Sequence[Mapping[str, Any]]:
        """The events a session hitting the cap of ``seconds`` gets before the close."""
        raise NotImplementedError

    def finished(self) -> bool:
        """Whether the session is over, so the socket closes (code 1000) after the last send."""
        return False

    def lost(self) -> None:
        """The socket is gone without the session ending: tell the engine."""

    # ------------------------------------------------------------------ serving

    async def _fault_point(self) -> None:
        faults = self.faults
        if faults.drop_after is not None and self.sent >= faults.drop_after:
            await self.drop()
            raise ConnectionClosedError(1006, "dropped by fault injection")
        if faults.stall_after is not None and self.sent == faults.stall_after:
            faults.stall_after = None
            await anyio.sleep(faults.stall_for)
        if faults.malformed_after is not None and self.sent == faults.malformed_after:
            faults.malformed_after = None
            await self.websocket.send(self.MALFORMED)

    async def serve(self) -> None:
        """Run the connection until the client, a fault or the session's end closes it.

        A connection the engine refuses (its first event is an ``error``) gets
        that error, then a close with code 4000, as the real server does.
        """
        try:
            with self._cancel:
                opening = self.engine.start()
                async with self._order:
                    await self.send_events(opening)
                refusal = _refusal(opening)
                if refusal is not None:
                    await self.close(REFUSED_CLOSE_CODE, refusal)
                    return
                async with anyio.create_task_group() as task_group:
                    self._tasks = task_group
                    task_group.start_soon(self._stream_responses)
                    self._tick_if_needed()
                    if self.faults.session_cap is not None:
                        task_group.start_soon(self._cap, self.faults.session_cap)
                    while True:
                        data, _text = await self.websocket.recv()
                        self._remember(data)
                        async with self._order:
                            await self.send_events(self.engine.receive(data))
                        await self._close_if_finished()
                        self._tick_if_needed()
                        self._wake.set()
        except* ConnectionClosedError:
            pass  # the client left, or a fault dropped it: either way this connection is over
        finally:
            # Also when the server shuts down: the client must see the socket close.
            await self.websocket.abort()
            self.lost()

    async def serve_recording(
        self, recording: str | os.PathLike[str] | Sequence[RecordedFrame]
    ) -> None:
        """Send a recording's server frames with their timing (scaled by ``pace``), then close.

        ``recording`` is a file or the frames read from one. Client frames are
        read and kept in ``received`` but not answered: the recording already
        holds the answers.
        """
        if isinstance(recording, str | os.PathLike):
            recording = list(read_recording(recording))
        frames = [frame for frame in recording if frame.direction == "recv"]
        try:
            with self._cancel:
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(self._read_and_ignore)
                    previous = frames[0].t if frames else 0.0
                    for frame in frames:
                        await anyio.sleep(max(frame.t - previous, 0.0) * self.pace)
                        previous = frame.t
                        if frame.binary:
                            await self.send_raw(bytes.fromhex(frame.data), binary=True)
                        else:
                            await self.send_raw(frame.data)
                    await self.close(1000, "end of recording")
        except* ConnectionClosedError:
            pass  # the client left, or a fault dropped it: either way this connection is over
        finally:
            await self.websocket.abort()

    async def _read_and_ignore(self) -> None:
        while True:
            data, _text = await self.websocket.recv()
            self._remember(data)

    def _remember(self, data: bytes) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            return
        if isinstance(event, dict):
            self.received.append(event)

    async def _close_if_finished(self) -> None:
        if self.finished() and not self.websocket.closed:
            await self.close(1000)

    async def _stream_responses(self) -> None:
        while True:
            run = self.engine.next_response()
            if run is None:
                await self._wake.wait()
                self._wake = anyio.Event()
                continue
            await self._stream(run)

    async def _stream(self, run: Iterable[Mapping[str, Any]]) -> None:
        events = iter(run)
        while True:
            async with self._order:
                # The run makes each event when asked: asked and sent under one hold.
                event = next(events, None)
                if event is None:
                    return
                await self.send_events([event])
            delay = self.audio_ms(event) / 1000 * self.pace
            # Yield even when not pacing, so client frames (a cancel) are read between events.
            await anyio.sleep(delay)

    def _tick_if_needed(self) -> None:
        """Start the ticker if the engine needs wall time now (a frame may have configured it)."""
        if not self.ticking and self._tasks is not None and self.engine.needs_time():
            self.ticking = True
            self._tasks.start_soon(self._tick)

    async def _tick(self) -> None:
        """Tell the engine the wall time passing; send what it causes, wake the streamer.

        The time is measured, not assumed, so a late wake-up under load still
        counts all of it (server VAD's idle timeout, Live's usage reports). It
        stops once the engine no longer needs the time (the idle timeout was
        turned off, the Live session closed); a frame that needs it again
        starts it again.
        """
        try:
            last = anyio.current_time()
            while self.engine.needs_time():
                await anyio.sleep(TICK_SECONDS)
                now = anyio.current_time()
                async with self._order:
                    events = self.engine.advance((now - last) * 1000)
                    last = now
                    await self.send_events(events)
                if events:
                    self._wake.set()
        finally:
            self.ticking = False

    async def _cap(self, seconds: float) -> None:
        await anyio.sleep(seconds)
        async with self._order:
            await self.send_events(self.expire(seconds))
        await self.close(self.faults.cap_close_code, "session expired")


def _refusal(opening: Sequence[Mapping[str, Any]]) -> str | None:
    """The close reason when the engine refused the connection, as the real server words it."""
    if not opening or opening[0].get("type") != "error":
        return None
    error = opening[0].get("error") or {}
    code = error.get("code")
    kind = str(error.get("type") or "invalid_request_error")
    return f"{kind}.{code}" if code else kind
