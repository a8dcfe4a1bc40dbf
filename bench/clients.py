"""The clients the benchmark measures, each receiving a whole stream from the bench server.

Every client takes the stream's URL and a :class:`Tally`, counts each event it
gets (and, for a paced stream, records the receive-to-handler latency from the
send time stamped in ``event_id``), and returns when the server closes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import connect as ws_connect

from realtime_events import Session
from realtime_events.connection import connect as re_connect
from realtime_events.errors import ConnectionClosedError
from realtime_events.events import ServerEvent, parse_server_event

from .stream import stamp_of

#: GA names of every event type in the bench streams (GA names also match beta events).
HANDLED_TYPES = (
    "session.created",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "response.output_text.delta",
    "response.output_text.done",
    "rate_limits.updated",
    "response.created",
    "response.output_item.added",
    "conversation.item.added",
    "conversation.item.created",
    "response.content_part.added",
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
)

MODEL = "gpt-realtime"
#: What every client sends first, as a real one configures its session.
SESSION_UPDATE = json.dumps({"type": "session.update", "session": {"type": "realtime"}})


@dataclass
class Tally:
    """What a client received: events, and latencies in nanoseconds when stamped."""

    events: int = 0
    latencies: list[int] = field(default_factory=list)
    #: The type of each event in ``latencies``, in the same order.
    kinds: list[str] = field(default_factory=list)
    stamped: bool = False

    def note(self, event_id: str | None, kind: str) -> None:
        """Record the latency of one event whose ``event_id`` carries a send time."""
        if event_id:
            sent = stamp_of(event_id)
            if sent:
                self.latencies.append(time.monotonic_ns() - sent)
                self.kinds.append(kind)


Client = Callable[[str, Tally], Awaitable[None]]


# -- what a user writes without a framework ----------------------------------


async def raw_json(url: str, tally: Tally) -> None:
    """websockets' asyncio client, ``recv`` + ``json.loads``, counting types."""
    types: dict[str, int] = {}
    stamped = tally.stamped
    async with ws_connect(url, max_size=None, compression=None) as ws:
        await ws.send(SESSION_UPDATE)
        try:
            while True:
                # recv() as a user writes it: text frames come decoded, and
                # json.loads takes a str faster than bytes (no encoding sniffing).
                obj = json.loads(await ws.recv())
                kind = obj["type"]
                types[kind] = types.get(kind, 0) + 1
                if stamped:
                    tally.note(obj["event_id"], kind)
        except websockets.ConnectionClosed:
            pass
    tally.events += sum(types.values())


async def aiohttp_json(url: str, tally: Tally) -> None:
    """aiohttp's WebSocket client (a compiled frame reader) + ``json.loads``, counting types."""
    import aiohttp

    types: dict[str, int] = {}
    stamped = tally.stamped
    text = aiohttp.WSMsgType.TEXT
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, max_msg_size=0, compress=0, autoping=True) as ws,
    ):
        await ws.send_str(SESSION_UPDATE)
        async for message in ws:
            if message.type is not text:
                break
            obj = json.loads(message.data)
            kind = obj["type"]
            types[kind] = types.get(kind, 0) + 1
            if stamped:
                tally.note(obj["event_id"], kind)
    tally.events += sum(types.values())


# -- floors: this library's connection, then the cheapest parsing ------------


async def our_json(url: str, tally: Tally) -> None:
    """This library's connection + ``json.loads``, counting types: the fair raw floor."""
    types: dict[str, int] = {}
    stamped = tally.stamped
    loads = json.loads
    ws = await re_connect(url, ping_interval=None)
    await ws.send(SESSION_UPDATE)
    try:
        while True:
            for data, _text in await ws.recv_batch():
                # Decoded first: json.loads(bytes) sniffs the encoding in Python,
                # about 1 us per small event more than decode() + json.loads(str).
                obj = loads(data.decode())
                kind = obj["type"]
                types[kind] = types.get(kind, 0) + 1
                if stamped:
                    tally.note(obj["event_id"], kind)
    except ConnectionClosedError:
        pass
    finally:
        await ws.close()
    tally.events += sum(types.values())


async def our_msgspec(url: str, tally: Tally) -> None:
    """This library's connection + a msgspec typed union: the floor of typed decoding."""
    from .typed_floor import decode

    types: dict[type, int] = {}
    ws = await re_connect(url, ping_interval=None)
    await ws.send(SESSION_UPDATE)
    try:
        while True:
            for data, _text in await ws.recv_batch():
                kind = type(decode(data))
                types[kind] = types.get(kind, 0) + 1
    except ConnectionClosedError:
        pass
    finally:
        await ws.close()
    tally.events += sum(types.values())


async def our_validate(url: str, tally: Tally) -> None:
    """This library's connection + its pydantic ``validate_json``, no handlers, no core."""
    n = 0
    ws = await re_connect(url, ping_interval=None)
    await ws.send(SESSION_UPDATE)
    try:
        while True:
            for data, _text in await ws.recv_batch():
                parse_server_event(data)
                n += 1
    except ConnectionClosedError:
        pass
    finally:
        await ws.close()
    tally.events += n


async def raw_validate(url: str, tally: Tally) -> None:
    """websockets' asyncio client + this library's pydantic ``validate_json`` on the raw bytes."""
    n = 0
    async with ws_connect(url, max_size=None, compression=None) as ws:
        await ws.send(SESSION_UPDATE)
        try:
            while True:
                parse_server_event(await ws.recv(decode=False))
                n += 1
        except websockets.ConnectionClosed:
            pass
    tally.events += n


async def ws_frames(url: str, tally: Tally) -> None:
    """websockets' asyncio client receiving messages, no parsing."""
    n = 0
    async with ws_connect(url, max_size=None, compression=None) as ws:
        await ws.send(SESSION_UPDATE)
        try:
            while True:
                await ws.recv(decode=False)
                n += 1
        except websockets.ConnectionClosed:
            pass
    tally.events += n


async def our_frames(url: str, tally: Tally) -> None:
    """realtime_events.connection receiving messages with ``recv_batch``, no parsing."""
    n = 0
    ws = await re_connect(url, ping_interval=None)
    await ws.send(SESSION_UPDATE)
    try:
        while True:
            n += len(await ws.recv_batch())
    except ConnectionClosedError:
        pass
    finally:
        await ws.close()
    tally.events += n


# -- the official SDK -----------------------------------------------------


def _sdk(url: str) -> Any:
    from openai import AsyncOpenAI

    return AsyncOpenAI(api_key="x", websocket_base_url=url).realtime.connect(model=MODEL)


async def sdk_iter(url: str, tally: Tally) -> None:
    """The openai SDK: ``async for event in connection``."""
    n = 0
    stamped = tally.stamped
    async with _sdk(url) as connection:
        await connection.session.update(session={"type": "realtime"})
        async for event in connection:
            n += 1
            if stamped:
                tally.note(getattr(event, "event_id", None), event.type)
    tally.events += n


async def sdk_dispatch(url: str, tally: Tally) -> None:
    """The openai SDK: ``connection.on(type, handler)`` per type, then ``dispatch_events()``."""
    async with _sdk(url) as connection:
        await connection.session.update(session={"type": "realtime"})

        def handle(event: Any) -> None:
            tally.events += 1

        seen = set(HANDLED_TYPES) | {
            "response.audio.delta",
            "response.audio.done",
            "response.audio_transcript.delta",
            "response.audio_transcript.done",
            "response.text.delta",
            "response.text.done",
        }
        for name in seen:
            connection.on(name, handle)
        await connection.dispatch_events()


# -- realtime-events --------------------------------------------------------


def _session(url: str) -> Session:
    # Keepalive on, as a user gets it (websockets' and aiohttp's clients keep theirs).
    return Session(model=MODEL, url=url, reconnect=False)


def _counting_handler(tally: Tally) -> Callable[[Any], None]:
    if tally.stamped:

        def stamped(event: Any) -> None:
            tally.events += 1
            tally.note(event.event_id, event.type)

        return stamped

    def handle(event: Any) -> None:
        tally.events += 1

    return handle


async def session_sync(url: str, tally: Tally) -> None:
    """A Session with one sync handler per event type: typed, validated, ordered."""
    session = _session(url)
    handler = _counting_handler(tally)
    for name in HANDLED_TYPES:
        session.on(name, handler)
    await session.run()


async def session_async(url: str, tally: Tally) -> None:
    """A Session with one async handler per event type."""
    session = _session(url)
    inner = _counting_handler(tally)

    async def handler(event: Any) -> None:
        inner(event)

    for name in HANDLED_TYPES:
        session.on(name, handler)
    await session.run()


async def session_star(url: str, tally: Tally) -> None:
    """A Session with a single ``"*"`` handler."""
    session = _session(url)
    count = _counting_handler(tally)

    def server_events(event: Any) -> None:
        # "*" also sees the events the core and plugins emit; count the server's.
        if isinstance(event, ServerEvent):
            count(event)

    session.on("*", server_events)
    await session.run()


async def session_transcript(url: str, tally: Tally) -> None:
    """A Session with the transcript plugin attached, plus a ``"*"`` counter."""
    from realtime_events_transcript import Transcript

    session = _session(url)
    transcript = session.use(Transcript())
    count = _counting_handler(tally)

    def server_events(event: Any) -> None:
        # The plugin's own events (transcript.*) also reach "*"; count the server's.
        if isinstance(event, ServerEvent):
            count(event)

    session.on("*", server_events)
    await session.run()
    assert transcript.turns, "the transcript plugin saw no turn"
