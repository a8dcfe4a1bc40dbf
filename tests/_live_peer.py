"""A Live server for Session tests: a plain ``websockets`` server, in a thread, driving LiveEngine.

It shares no code with the client side of ``realtime_events``: each connection
gets a fresh :class:`~realtime_events.testing.live.LiveEngine` (a new server
session, as a real primary WebSocket is), which answers plain JSON frames
with plain dicts; its runs of speech are streamed as they are ready. The
server runs on an asyncio loop of its own, so tests on either anyio backend
can use it.

Every client event is kept per connection (:attr:`LiveConnection.received`),
with the request path. A test drives it with :meth:`LivePeer.drop` (the TCP
connection is cut, as a network failure would), :meth:`LivePeer.advance`
(session time passes: usage reports) and :meth:`LivePeer.push` (frames of its
own). With ``script=`` it plays a fixed answer instead of the engine: after
``session.start`` it sends those frames as they are (SDK-built frames, or an
``error`` that refuses the start), and it answers ``session.close`` by closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from realtime_events.testing.engine import IdFactory
from realtime_events.testing.live import LIVE_PATH, LiveEngine
from realtime_events.testing.models import Model

JSON = dict[str, Any]
TIMEOUT = 10.0


@dataclass
class LiveConnection:
    """One connection to the peer: its engine and what the client sent on it."""

    path: str
    engine: LiveEngine | None
    received: list[JSON] = field(default_factory=list)
    ws: ServerConnection | None = None

    def types(self, prefix: str = "") -> list[str]:
        """The types of the client events received, those starting with ``prefix``."""
        return [e["type"] for e in self.received if e["type"].startswith(prefix)]


class LivePeer:
    """A Live server on loopback: a LiveEngine per connection, or a fixed script."""

    def __init__(
        self,
        model: Callable[[], Model] | None = None,
        *,
        script: Sequence[JSON] | None = None,
        seed: int = 1,
    ) -> None:
        self._model = model
        self._script = list(script) if script is not None else None
        self._ids = IdFactory(seed)
        #: Every connection, oldest first.
        self.connections: list[LiveConnection] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """The Live endpoint's URL, at the path the SDK uses."""
        return f"ws://127.0.0.1:{self.port}{LIVE_PATH}"

    @property
    def current(self) -> LiveConnection:
        """The newest connection."""
        return self.connections[-1]

    @contextlib.contextmanager
    def running(self) -> Iterator[LivePeer]:
        ready = threading.Event()
        thread = threading.Thread(target=lambda: asyncio.run(self._main(ready)), daemon=True)
        thread.start()
        if not ready.wait(TIMEOUT):
            raise RuntimeError("the peer did not start")
        try:
            yield self
        finally:
            assert self._loop is not None
            assert self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(TIMEOUT)

    # -- driven by the test ------------------------------------------------------

    async def drop(self) -> None:
        """Cut the current connection's TCP stream, without a close frame."""
        await self._call(self._drop)

    async def advance(self, ms: float) -> None:
        """Let ``ms`` of session time pass on the current connection (usage reports)."""
        await self._call(self._advance, ms)

    async def push(self, *frames: JSON) -> None:
        """Send frames of the test's own on the current connection."""
        await self._call(self._send_all, list(frames))

    async def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        assert loop is not None

        def run() -> None:
            asyncio.run_coroutine_threadsafe(fn(*args), loop).result(TIMEOUT)

        await anyio.to_thread.run_sync(run)

    # -- the server's side -------------------------------------------------------

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._serve, "127.0.0.1", 0, compression=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            ready.set()
            await self._stop.wait()

    async def _drop(self) -> None:
        ws = self.current.ws
        assert ws is not None
        ws.transport.abort()

    async def _advance(self, ms: float) -> None:
        engine = self.current.engine
        assert engine is not None
        await self._send_all(engine.advance(ms))

    async def _send_all(self, frames: list[JSON]) -> None:
        ws = self.current.ws
        assert ws is not None
        for event in frames:
            await ws.send(json.dumps(event))

    async def _serve(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        engine = None
        if self._script is None:
            engine = LiveEngine(model=self._model() if self._model else None, ids=self._ids)
        connection = LiveConnection(ws.request.path, engine, ws=ws)
        self.connections.append(connection)
        with contextlib.suppress(ConnectionClosed):
            if engine is None:
                await self._play(connection)
            else:
                await self._drive(connection, engine)

    async def _play(self, connection: LiveConnection) -> None:
        assert connection.ws is not None
        async for frame in connection.ws:
            event = json.loads(frame)
            connection.received.append(event)
            if event["type"] == "session.start":
                await self._send_all(list(self._script or ()))
            elif event["type"] == "session.close":
                return  # closed (1000) without a word, as a server that is going away

    async def _drive(self, connection: LiveConnection, engine: LiveEngine) -> None:
        ws = connection.ws
        assert ws is not None

        async def stream() -> None:
            while not engine.closed:
                run = engine.next_response()
                if run is None:
                    await asyncio.sleep(0.01)
                    continue
                for event in run:
                    await ws.send(json.dumps(event))

        streaming = asyncio.create_task(stream())
        try:
            for event in engine.start():  # nothing, until the client's session.start
                await ws.send(json.dumps(event))
            async for frame in ws:
                connection.received.append(json.loads(frame))
                for event in engine.receive(frame):
                    await ws.send(json.dumps(event))
                if engine.closed:
                    break
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await streaming
