"""A Live client's connection to the local server: what differs from the shared I/O.

The engine is a :class:`~realtime_events.testing.live.LiveEngine`, one per
connection, as each primary WebSocket is a new server session: nothing is
sent before the client's ``session.start``; speech is paced by the Live
:func:`~realtime_events.testing.live.audio_ms`; once the engine has sent
``session.closed`` the socket closes with 1000; the session cap ends the
session as ``expired``; and a client gone without closing ends it as
``connection_lost``.

A running session also serves sidebands (:class:`LiveSideband`): observers
attached at ``/v1/live/sessions/{id}/attach``. Each gets a copy of every
server event the primary connection is sent, and the sideband-only
reflection of the primary's input audio (``session.input_audio.append``);
its commands go to the same engine, and what they cause goes out as the
primary's own events do (an ``error`` only to the sideband that caused it).
A sideband may not send ``session.start`` nor append input audio.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ..connection import WebSocket
from ..errors import ConnectionClosedError
from .connection import EngineConnection
from .live import LiveEngine, audio_ms

__all__ = ["LiveServerConnection", "LiveSideband"]

#: What a sideband may not send: the session is started already, and its input
#: audio comes from the primary transport.
SIDEBAND_REFUSED = {
    "session.start": "a sideband attaches to a started session: it never sends session.start",
    "session.input_audio.append": "input audio comes from the primary transport, "
    "not from a sideband",
}


@dataclass
class LiveSideband:
    """One sideband observer attached to a running Live connection.

    What the primary is sent (and the reflections) is queued by
    :meth:`push` without waiting, and written by :meth:`serve` in order; the
    queue's end (the primary's session or socket is over) closes it with 1000.
    """

    websocket: WebSocket
    primary: LiveServerConnection
    received: list[dict[str, Any]] = field(default_factory=list)
    sent_events: list[Mapping[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Unbounded: a slow observer must never hold the primary's session back.
        streams: tuple[
            MemoryObjectSendStream[Mapping[str, Any]], MemoryObjectReceiveStream[Mapping[str, Any]]
        ] = anyio.create_memory_object_stream(math.inf)
        self._outbox, self._inbox = streams

    def push(self, event: Mapping[str, Any]) -> None:
        """Queue ``event`` for this observer (dropped once it is gone)."""
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._outbox.send_nowait(event)

    def end(self) -> None:
        """No more events: the observer's socket closes once the queued ones are written."""
        self._outbox.close()

    async def serve(self) -> None:
        """Write the queued events and read the observer's commands until either side ends."""
        try:
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(self._read)
                async with self._inbox:
                    async for event in self._inbox:
                        await self.websocket.send(json.dumps(event, separators=(",", ":")))
                        self.sent_events.append(event)
                await self.websocket.close(1000)
                task_group.cancel_scope.cancel()
        except* ConnectionClosedError:
            pass  # the observer left: the session it watched goes on
        finally:
            self._outbox.close()
            self.primary.sidebands.remove(self)
            await self.websocket.abort()

    async def _read(self) -> None:
        while True:
            data, _text = await self.websocket.recv()
            event = _json(data)
            if event is not None:
                self.received.append(event)
            await self.primary.from_sideband(self, data, event)


@dataclass
class LiveServerConnection(EngineConnection[LiveEngine]):
    """One Live client connected to the server; ``sidebands`` are its session's observers."""

    sidebands: list[LiveSideband] = field(default_factory=list)
    _ended: bool = False

    MALFORMED: ClassVar[str] = '{"type": "session.output_transcript.delta", "oops": '

    @property
    def session_id(self) -> str | None:
        """The id of this connection's server session, once it started and while it runs."""
        if self._ended or not self.engine.started or self.engine.closed:
            return None
        return str(self.engine.session_id)

    def attach(self, websocket: WebSocket) -> LiveSideband:
        """A sideband observer of this connection's session (serve it with ``serve()``)."""
        sideband = LiveSideband(websocket, self)
        self.sidebands.append(sideband)
        return sideband

    async def send_events(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Write server events to the client, and a copy of each to every sideband."""
        for event in events:
            await super().send_events([event])
            for sideband in self.sidebands:
                sideband.push(event)

    def _remember(self, data: bytes) -> None:
        super()._remember(data)
        event = _json(data)
        if event is not None and event.get("type") == "session.input_audio.append":
            audio = event.get("audio")
            if isinstance(audio, str) and self.engine.started:
                # Sideband-only: the primary's input audio, as it was appended.
                reflected = {"type": "session.input_audio.append", "audio": audio}
                for sideband in self.sidebands:
                    sideband.push(reflected)

    async def from_sideband(
        self, sideband: LiveSideband, data: bytes, event: Mapping[str, Any] | None
    ) -> None:
        """Run a sideband's command on this session's engine; send what it causes."""
        kind = event.get("type") if event is not None else None
        async with self._order:
            if isinstance(kind, str) and kind in SIDEBAND_REFUSED:
                answer = [self.engine.event("error", error=_refusal(kind, event))]
            else:
                answer = list(self.engine.receive(data))
            own = [each for each in answer if each.get("type") == "error"]
            for each in own:
                sideband.push(each)
            await self.send_events([each for each in answer if each.get("type") != "error"])
        await self._close_if_finished()
        self._tick_if_needed()
        self._wake.set()

    def audio_ms(self, event: Mapping[str, Any]) -> float:
        """How long a Live output audio delta plays, in ms (0 for other events)."""
        return audio_ms(event)

    def expire(self, seconds: float) -> Sequence[Mapping[str, Any]]:
        """``session.closed`` with reason ``expired`` (nothing if the session never started)."""
        return self.engine.close("expired")

    def finished(self) -> bool:
        """True once the engine has ended the session (``session.closed`` was sent)."""
        return self.engine.closed

    def lost(self) -> None:
        """The socket is gone: a session not closed ends as ``connection_lost``; sidebands end."""
        self._ended = True
        self.engine.close("connection_lost")
        for sideband in list(self.sidebands):
            sideband.end()


def _json(data: bytes | str) -> dict[str, Any] | None:
    try:
        event = json.loads(data)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _refusal(kind: str, event: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``error`` object a sideband gets for a command only the primary may send."""
    error: dict[str, Any] = {
        "type": "invalid_request_error",
        "code": "sideband_not_allowed",
        "message": f"{kind} is not allowed on a sideband: {SIDEBAND_REFUSED[kind]}",
        "param": "type",
    }
    client_event_id = event.get("event_id") if event is not None else None
    if isinstance(client_event_id, str):
        error["client_event_id"] = client_event_id
    return error
