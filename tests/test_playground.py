"""The playground's server and bridge, with a plain websockets client as the page.

Both anyio backends; the page's WebSocket and its files over real loopback
sockets; the session on the built-in local server, and on an independent peer
written here (a plain websockets server) to check that what the page sends
reaches the wire as the events it should, and that bad input never does.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request, Response
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import ServerConnection, serve

from realtime_events import Session
from realtime_events.audio import read_wav
from realtime_events.playground import Bot, Playground, demo_bot
from realtime_events.playground.bridge import HELD_MESSAGES
from realtime_events.playground.protocol import MAX_AUDIO_FRAME
from realtime_events.testing import DemoModel, LocalRealtimeServer

sys.path.insert(0, str(Path(__file__).parent))  # the helpers sit next to the tests
from _lifecycle import nothing_left_unclosed

AUDIO = Path(__file__).parent / "audio"
pytestmark = pytest.mark.anyio


class Page:
    """The page's side: websockets' blocking client, run in a worker thread (any backend)."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: str | bytes) -> None:
        await anyio.to_thread.run_sync(self.connection.send, message)

    async def recv(self) -> str | bytes:
        return await anyio.to_thread.run_sync(self.connection.recv, 20)


@asynccontextmanager
async def page(playground: Playground, **options: Any) -> AsyncIterator[Page]:
    """A page's WebSocket, opened as a browser on the playground's page would."""
    options.setdefault("origin", playground.url.rstrip("/"))
    uri = playground.url.replace("http", "ws") + "ws"
    connection = await anyio.to_thread.run_sync(lambda: connect(uri, **options).__enter__())
    try:
        yield Page(connection)
    finally:
        await anyio.to_thread.run_sync(connection.__exit__, None, None, None)


async def until(ws: Page, test: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message from the playground that passes ``test`` (within a generous bound)."""
    with anyio.fail_after(30):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if test(message):
                return message


def entry(name: str, kind: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "entry" and m["name"] == name and kind in (None, m["kind"])


def of_type(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == kind


async def http_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A plain HTTP GET over a loopback socket: the status and the body."""
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    head = {"Host": f"{host}:{port}", **(headers or {})}
    request = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items())
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send((request + "\r\n").encode())
        data = b""
        with anyio.fail_after(10):
            while True:
                try:
                    data += await stream.receive()
                except anyio.EndOfStream:
                    break
    status_line, _, rest = data.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@asynccontextmanager
async def demo_playground() -> AsyncIterator[Playground]:
    async with (
        LocalRealtimeServer(model_factory=DemoModel) as server,
        Playground(lambda: demo_bot(server.url)) as playground,
    ):
        yield playground


async def test_serves_the_page_and_its_files_only() -> None:
    async with demo_playground() as playground:
        status, body = await http_get(playground.url, "/")
        assert status == 200
        assert b"/static/app.js" in body
        for name in ("app.js", "worklet.js", "style.css"):
            status, body = await http_get(playground.url, f"/static/{name}")
            assert status == 200, name
            assert body
        assert (await http_get(playground.url, "/static/../server.py"))[0] == 404
        assert (await http_get(playground.url, "/static/missing.js"))[0] == 404
        # DNS rebinding: another name for this address is refused.
        status, _ = await http_get(playground.url, "/", {"Host": "evil.example:80"})
        assert status == 403


async def test_refuses_other_origins() -> None:
    async with demo_playground() as playground:
        for origin in ("http://evil.example", None):
            with pytest.raises(InvalidStatus) as refused:
                async with page(playground, origin=origin):
                    pass
            assert refused.value.response.status_code == 403
        assert playground.pages == 0
        async with page(playground, origin=f"http://localhost:{playground.port}") as ws:
            assert (await until(ws, of_type("hello")))["rate"] == 24_000


async def test_text_turn_is_logged_with_plugin_events_and_audio() -> None:
    # nothing_left_unclosed: a page's bridge once left its outgoing queue open.
    with nothing_left_unclosed():
        await text_turn_is_logged()


async def text_turn_is_logged() -> None:
    async with demo_playground() as playground, page(playground) as ws:
        hello = await until(ws, of_type("hello"))
        assert hello["barge_in"] is True
        await ws.send(json.dumps({"type": "text", "text": "Hello!"}))
        sent = await until(ws, entry("conversation.item.create", "client"))
        assert sent["event"]["item"]["content"][0]["text"] == "Hello!"
        delta = await until(ws, entry("response.output_audio.delta", "server"))
        assert delta["event"]["delta"].startswith("<audio: ")  # abbreviated in the log...
        assert len(base64.b64decode(delta["audio"])) > 100  # ...and whole for the speaker
        seen: list[dict[str, Any]] = []

        def metrics_seen(message: dict[str, Any]) -> bool:
            seen.append(message)
            return entry("metrics.response")(message)

        metrics = await until(ws, metrics_seen)
        assert metrics["kind"] == "plugin"
        assert metrics["event"]["output_tokens"] > 0
        turns = [m for m in seen if entry("transcript.turn_completed", "plugin")(m)]
        assert turns
        assert all(turn["match"] for turn in turns)


async def test_filter_uses_the_session_pattern_syntax() -> None:
    async with demo_playground() as playground, page(playground) as ws:
        await until(ws, of_type("hello"))
        await ws.send(json.dumps({"type": "text", "text": "Hello!"}))
        await until(ws, entry("response.done"))
        await ws.send(json.dumps({"type": "filter", "pattern": "response.audio.*"}))
        filtered = await until(ws, of_type("filter"))
        assert filtered["live"], "the beta prefix matches the GA audio events too"
        await ws.send(json.dumps({"type": "filter", "pattern": "resp*nse"}))
        error = await until(ws, of_type("error"))
        assert error["about"] == "filter"
        assert "not a pattern" in error["message"]
        await ws.send(json.dumps({"type": "text", "text": "What time is it?"}))
        # The refused pattern left the filter as it was: audio only.
        created = await until(ws, entry("response.created"))
        assert created["match"] is False
        delta = await until(ws, entry("response.output_audio.delta"))
        assert delta["match"] is True
        await ws.send(json.dumps({"type": "filter", "pattern": "vad.*"}))
        # The answer may end before or after the new filter is confirmed: neither
        # "response.audio.*" nor "vad.*" matches its response.done.
        seen: dict[str, dict[str, Any]] = {}
        with anyio.fail_after(30):
            while len(seen) < 2:
                message = json.loads(await ws.recv())
                if of_type("filter")(message) or entry("response.done")(message):
                    seen[message["type"]] = message
        assert seen["entry"]["match"] is False


@contextmanager
def peer(
    release: threading.Event | None = None, *, refuse: bool = False
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An independent Realtime peer (websockets' own server, in a thread): keeps what it gets.

    With ``release``, the handshake (so the session's opening) waits until it is
    set; ``refuse`` then answers it with 403 instead of accepting it.
    """
    received: list[dict[str, Any]] = []

    def hold(connection: ServerConnection, _request: Request) -> Response | None:
        if release is not None:
            release.wait(30)
        return connection.respond(HTTPStatus.FORBIDDEN, "refused\n") if refuse else None

    def handler(connection: ServerConnection) -> None:
        created = {"type": "session.created", "event_id": "e1", "session": {"id": "s1"}}
        connection.send(json.dumps(created))
        for message in connection:
            received.append(json.loads(message))

    with serve(handler, "127.0.0.1", 0, process_request=hold) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v1/realtime", received
        finally:
            server.shutdown()
            thread.join(10)


async def test_bad_input_gets_an_error_and_never_reaches_the_session() -> None:
    with peer() as (url, received):
        async with (
            Playground(lambda: Session(url=url)) as playground,
            page(playground) as ws,
        ):
            hello = await until(ws, of_type("hello"))
            assert hello["barge_in"] is False
            bad: list[str | bytes] = [
                "{not json",
                "[1, 2]",
                json.dumps({"type": "nonsense"}),
                json.dumps({"type": "text", "text": ""}),
                json.dumps({"type": "text", "text": "hi", "extra": 1}),
                json.dumps({"type": "played", "item_id": "x", "ms": -5}),
                json.dumps({"type": "send", "event": {"type": "response.create", "response": 7}}),
                json.dumps({"type": "recording", "name": "x.jsonl", "text": "not a recording\n"}),
                b"\x00" * (MAX_AUDIO_FRAME + 2),
                b"\x00" * 3,
            ]
            for message in bad:
                await ws.send(message)
                error = await until(ws, of_type("error"))
                assert error["message"], message
            assert "at most" in error["message"] or "even" in error["message"]
            # Good input after the bad reaches the peer: the bad left nothing behind.
            pcm, _rate = read_wav(AUDIO / "stop.wav")
            await ws.send(pcm[:4800])
            await ws.send(
                json.dumps({"type": "send", "event": {"type": "input_audio_buffer.clear"}})
            )
            await until(ws, entry("input_audio_buffer.clear", "client"))
            with anyio.fail_after(10):  # sent is not yet read: the peer reads in its thread
                while not received or received[-1]["type"] != "input_audio_buffer.clear":  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            types = [event["type"] for event in received]
            assert types[-2:] == ["input_audio_buffer.append", "input_audio_buffer.clear"]
            assert types.count("input_audio_buffer.append") == 1
            assert "response.create" not in types
            appended = base64.b64decode(received[-2]["audio"])
            assert appended == pcm[:4800]


async def test_what_the_page_sends_before_the_session_is_ready_waits_for_it() -> None:
    release = threading.Event()
    with peer(release) as (url, received):
        async with (
            Playground(lambda: Session(url=url)) as playground,
            page(playground) as ws,
        ):
            # The session is not ready (no session.created yet): no hello, and these wait.
            await ws.send(json.dumps({"type": "text", "text": "Hello as soon as I load"}))
            pcm = b"\x01\x00" * 2400
            await ws.send(pcm)
            await ws.send(json.dumps({"type": "filter", "pattern": "input_audio_buffer.*"}))
            # The filter is the page's own: answered at once, before the session is ready.
            filtered = await until(ws, lambda m: m["type"] in ("filter", "hello", "error"))
            assert filtered["type"] == "filter"
            release.set()
            seen: list[dict[str, Any]] = []

            def appended(message: dict[str, Any]) -> bool:
                seen.append(message)
                return entry("input_audio_buffer.append", "client")(message)

            await until(ws, appended)
    assert [m["type"] for m in seen if m["type"] != "entry"] == ["hello"]
    client = [m["name"] for m in seen if m["type"] == "entry" and m["kind"] == "client"]
    assert client[-3:] == [
        "conversation.item.create",
        "response.create",
        "input_audio_buffer.append",
    ]
    types = [event["type"] for event in received]
    assert "conversation.item.create" in types
    item = received[types.index("conversation.item.create")]["item"]
    assert item["content"][0]["text"] == "Hello as soon as I load"
    assert base64.b64decode(received[types.index("input_audio_buffer.append")]["audio"]) == pcm


async def test_held_messages_are_bounded_and_dropped_if_the_session_fails() -> None:
    release = threading.Event()
    with peer(release, refuse=True) as (url, received):
        async with (
            Playground(lambda: Session(url=url, reconnect=False)) as playground,
            page(playground) as ws,
        ):
            for n in range(HELD_MESSAGES):
                await ws.send(json.dumps({"type": "text", "text": f"turn {n}"}))
            await ws.send(json.dumps({"type": "text", "text": "one too many"}))
            refused = await until(ws, of_type("error"))
            release.set()  # the handshake is refused: the session fails before it was ready
            failed = await until(ws, of_type("error"))
            dropped = await until(ws, of_type("error"))
    assert "not ready yet" in refused["message"]
    assert f"{HELD_MESSAGES} messages" in refused["message"]
    assert "the session failed" in failed["message"]
    assert dropped["message"].startswith(f"{HELD_MESSAGES} messages sent before the session")
    assert received == []


async def test_played_position_reaches_the_bot() -> None:
    reports: list[tuple[str, int, float]] = []
    cleared: list[bool] = []

    class Playback:
        def played(self, item_id: str, content_index: int = 0, bytes_or_ms: Any = 0.0) -> None:
            reports.append((item_id, content_index, float(bytes_or_ms)))

        def cleared(self) -> None:
            cleared.append(True)

    with peer() as (url, _received):
        async with (
            Playground(lambda: Bot(Session(url=url), playback=Playback())) as playground,
            page(playground) as ws,
        ):
            assert (await until(ws, of_type("hello")))["barge_in"] is True
            await ws.send(json.dumps({"type": "played", "item_id": "item_1", "ms": 120.5}))
            await ws.send(json.dumps({"type": "cleared"}))
            await ws.send(json.dumps({"type": "filter", "pattern": "*"}))
            await until(ws, of_type("filter"))  # the page's messages are handled in order
    assert reports == [("item_1", 0, 120.5)]
    assert cleared == [True]


async def test_recording_opens_as_entries_with_audio(tmp_path: Path) -> None:
    path = tmp_path / "talk.jsonl"
    async with LocalRealtimeServer(model_factory=DemoModel) as server:
        async with Session(url=server.url, record=path) as session:
            await session.ask("Hello!", timeout=30)
        async with Playground(lambda: demo_bot(server.url)) as playground, page(playground) as ws:
            await until(ws, of_type("hello"))
            await ws.send(json.dumps({"type": "filter", "pattern": "response.done"}))
            await until(ws, of_type("filter"))
            text = path.read_text()
            await ws.send(json.dumps({"type": "recording", "name": "talk.jsonl", "text": text}))
            recording = await until(ws, of_type("recording"))
    entries = recording["entries"]
    assert len(entries) == len(text.splitlines())
    assert [e["t"] for e in entries] == sorted(e["t"] for e in entries)
    kinds = {(e["kind"], e["name"]) for e in entries}
    assert ("client", "conversation.item.create") in kinds
    assert ("server", "response.done") in kinds
    assert [e["name"] for e in entries if e["match"]] == ["response.done"]
    audio = [e for e in entries if "audio" in e]
    assert audio
    for e in audio:  # shown by size in the log unless a few bytes; whole for the speaker
        shown = e["event"]["delta"]
        assert shown == f"<audio: {len(e['audio']) * 3 // 4} bytes>" or shown == e["audio"]


async def test_a_failing_session_leaves_the_page_up_for_recordings() -> None:
    async with (
        Playground(
            lambda: Session(url="ws://127.0.0.1:9/v1/realtime", reconnect=False)
        ) as playground,
        page(playground) as ws,
    ):
        error = await until(ws, of_type("error"))
        assert "the session failed" in error["message"]
        line = json.dumps({"t": 0.5, "dir": "recv", "data": json.dumps({"type": "nonsense.x"})})
        await ws.send(json.dumps({"type": "recording", "text": line + "\n"}))
        recording = await until(ws, of_type("recording"))
        assert recording["entries"][0]["name"] == "nonsense.x"
