"""Peer servers written in the test suite, each run in its own process.

They share no code with ``realtime_events``: the WebSocket peers are plain
``websockets`` servers, the others raw sockets. A peer prints ``port <n>`` once
it listens, then ``connect <count> <time.monotonic()>`` for every connection
(every handshake, refused ones included), so a test can count them and time
them: on Linux the monotonic clock is shared by every process.

Behaviours (``--behaviour``):

- ``realtime``: a minimal Realtime GA server (session, items, text responses);
- ``drop``: like ``realtime``, then drops the TCP connection (RST) once it has
  read ``--after`` client events (0: right after ``session.created``);
- ``stop-reading``: raw socket; completes the handshake, sends
  ``session.created``, and never reads again, so the client's sends block once
  the buffers are full;
- ``last-words``: raw socket; sends ``session.created`` and an ``error``
  (``model_not_found``), then a close frame with ``--code`` (1000) after
  ``--delay`` seconds (0: in the same write as the handshake's answer);
- ``refuse``: answers the handshake with HTTP ``--status`` (and ``Retry-After:
  --retry-after`` when given); the first ``--accept-first`` connections are
  accepted instead and treated as ``drop`` (after one client event);
- ``silent``: raw socket; accepts TCP and never answers the handshake.

:func:`running` starts one and always kills it; the :class:`Peer` it yields has
the ``ws://`` URL, the process (to SIGKILL or SIGSTOP), and the connection log.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_STARTUP_TIMEOUT = 15.0


# --------------------------------------------------------------------------- test side


@dataclass
class Peer:
    """A peer process, its address, and the connections it reported."""

    behaviour: str
    args: tuple[str, ...]
    port: int = 0
    process: subprocess.Popen[str] | None = None
    _log: list[tuple[int, float]] = field(default_factory=list)
    _logged: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        """The ``ws://`` URL the peer listens on."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """How many connections the peer saw, over every restart."""
        return len(self._log)

    @property
    def connect_times(self) -> list[float]:
        """When each connection arrived (``time.monotonic()`` of the peer)."""
        return [at for _, at in self._log]

    def start(self) -> None:
        """Start the peer process (on ``port``; 0 picks one) and wait until it listens."""
        command = [sys.executable, __file__, "--behaviour", self.behaviour]
        command += ["--port", str(self.port), *self.args]
        # stdin is a pipe the peer watches: it exits when this process goes away.
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.process = process
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the peer listens (or dies)
        if not first.startswith("port "):
            self.kill()
            raise RuntimeError(f"peer {self.behaviour!r} did not start: {first!r}")
        self.port = int(first.split()[1])
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            words = line.split()
            if words and words[0] == "connect":
                with self._logged:
                    self._log.append((int(words[1]), float(words[2])))
                    self._logged.notify_all()

    def wait_connections(self, count: int, timeout: float) -> bool:
        """Block until the peer has seen ``count`` connections; False on timeout."""
        with self._logged:
            return self._logged.wait_for(lambda: len(self._log) >= count, timeout)

    def kill(self) -> None:
        """SIGKILL the peer process and reap it."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def restart(self) -> None:
        """Kill the peer and start it again on the same port (blocking: use a thread)."""
        self.kill()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                # The port may take a moment to be free again after the kill.
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def pause(self) -> None:
        """SIGSTOP the peer: it keeps its sockets but does nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a paused peer."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def running(behaviour: str, *args: str, port: int = 0) -> Iterator[Peer]:
    """Run a peer with ``behaviour`` and options ``args`` for the block; always kill it."""
    peer = Peer(behaviour, tuple(args), port=port)
    try:
        peer.start()
        yield peer
    finally:
        with contextlib.suppress(ProcessLookupError):
            if peer.process is not None and peer.process.poll() is None:
                peer.process.send_signal(signal.SIGCONT)  # a stopped process can't die
        peer.kill()


# --------------------------------------------------------------------------- peer side


class _Counter:
    """Counts connections and reports each one on stdout."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def report(self) -> int:
        with self._lock:
            self.count += 1
            print(f"connect {self.count} {time.monotonic():.6f}", flush=True)
            return self.count


_ids = itertools.count(1)


def _new_id(prefix: str) -> str:
    return f"{prefix}_peer{os.getpid()}x{next(_ids):06d}"


def _event(kind: str, **fields: Any) -> JSON:
    return {"type": kind, "event_id": _new_id("event"), **fields}


def _session_object() -> JSON:
    """A plausible GA session, as ``session.created`` carries it."""
    pcm = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": _new_id("sess"),
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": int(time.time()) + 3600,
        "audio": {
            "input": {
                "format": pcm,
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "create_response": True,
                    "interrupt_response": True,
                    "idle_timeout_ms": None,
                },
            },
            "output": {"format": pcm, "voice": "alloy", "speed": 1.0},
        },
        "include": None,
    }


class _Realtime:
    """One connection's state in the minimal Realtime GA server."""

    REPLY = ("Hello ", "from the ", "peer.")

    def __init__(self) -> None:
        self.session = _session_object()
        self.items: list[str] = []

    def start(self) -> list[JSON]:
        return [_event("session.created", session=self.session)]

    def receive(self, frame: str | bytes) -> list[JSON]:
        try:
            event = json.loads(frame)
        except ValueError:
            return [self.error("invalid_json", "The frame is not JSON.")]
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "session.update":
            update = event.get("session") or {}
            self.session.update({k: v for k, v in update.items() if k != "audio"})
            if isinstance(update.get("audio"), dict):
                for side in ("input", "output"):
                    part = update["audio"].get(side)
                    if isinstance(part, dict):
                        self.session["audio"][side].update(part)
            return [_event("session.updated", session=self.session)]
        if kind == "conversation.item.create":
            return self._create_item(event)
        if kind == "response.create":
            return self._respond()
        return []  # audio appends, cancels...: nothing to say

    def error(self, code: str, message: str) -> JSON:
        detail = {"type": "invalid_request_error", "code": code, "message": message}
        return _event("error", error={**detail, "param": None, "event_id": None})

    def _create_item(self, event: JSON) -> list[JSON]:
        item = dict(event.get("item") or {})
        item.setdefault("id", _new_id("item"))
        item.setdefault("object", "realtime.item")
        item.setdefault("status", "completed")
        previous = event.get("previous_item_id") or (self.items[-1] if self.items else None)
        self.items.append(item["id"])
        return [
            _event("conversation.item.added", previous_item_id=previous, item=item),
            _event("conversation.item.done", previous_item_id=previous, item=item),
        ]

    def _respond(self) -> list[JSON]:
        response_id, item_id = _new_id("resp"), _new_id("item")
        previous = self.items[-1] if self.items else None
        self.items.append(item_id)
        text = "".join(self.REPLY)
        item: JSON = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        done_item = {
            **item,
            "status": "completed",
            "content": [{"type": "output_text", "text": text}],
        }
        response: JSON = {
            "object": "realtime.response",
            "id": response_id,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": "conv_peer",
            "output_modalities": ["text"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "alloy"}},
            "usage": None,
            "metadata": None,
        }
        at = {"response_id": response_id, "output_index": 0}
        part = {**at, "item_id": item_id, "content_index": 0}
        return [
            _event("response.created", response=response),
            _event("response.output_item.added", **at, item=item),
            _event("conversation.item.added", previous_item_id=previous, item=item),
            *(_event("response.output_text.delta", **part, delta=delta) for delta in self.REPLY),
            _event("response.output_text.done", **part, text=text),
            _event("response.output_item.done", **at, item=done_item),
            _event("conversation.item.done", previous_item_id=previous, item=done_item),
            _event(
                "response.done", response={**response, "status": "completed", "output": [done_item]}
            ),
        ]


def _drop(connection: Any) -> None:
    """Drop the TCP connection with a reset: no close frame, no FIN handshake."""
    sock = connection.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.transport.abort()


async def _serve_websockets(options: argparse.Namespace) -> None:
    from http import HTTPStatus

    from websockets.asyncio.server import ServerConnection, serve
    from websockets.http11 import Request, Response

    counter = _Counter()

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        number = counter.report()
        if options.behaviour != "refuse" or number <= options.accept_first:
            return None
        status = HTTPStatus(options.status)
        response = connection.respond(status, f"{status.phrase}\n")
        if options.retry_after is not None:
            response.headers["Retry-After"] = str(options.retry_after)
        return response

    async def handler(connection: ServerConnection) -> None:
        state = _Realtime()
        send = connection.send
        for first in state.start():
            await send(json.dumps(first))
        behaviour = options.behaviour
        after = options.after if behaviour == "drop" else 1 if behaviour == "refuse" else None
        if after == 0:
            _drop(connection)
            return
        read = 0
        async for frame in connection:
            for answer in state.receive(frame):
                await send(json.dumps(answer))
            read += 1
            if after is not None and read >= after:
                _drop(connection)
                return

    async with serve(
        handler,
        "127.0.0.1",
        options.port,
        process_request=process_request,
        max_size=None,
        ping_interval=None,
        compression=None,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"port {port}", flush=True)
        await server.serve_forever()


def _listen(port: int, *, receive_buffer: int | None = None) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if receive_buffer is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    print(f"port {listener.getsockname()[1]}", flush=True)
    return listener


def _frame(opcode: int, data: bytes) -> bytes:
    """One unmasked (server-to-client) frame."""
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + data


def _text_frame(event: JSON) -> bytes:
    return _frame(0x1, json.dumps(event).encode())


def _close_frame(code: int, reason: str) -> bytes:
    return _frame(0x8, struct.pack("!H", code) + reason.encode())


def _accept(conn: socket.socket) -> bytes:
    """Read the HTTP upgrade request; return the answer that accepts it (not sent yet)."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        request += chunk
    key = ""
    for line in request.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
    return (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
    ).encode()


def _stop_reading(conn: socket.socket, options: argparse.Namespace) -> None:
    """Accept, say ``session.created``, and never read again."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    created = _event("session.created", session=_session_object())
    conn.sendall(_accept(conn) + _text_frame(created))


def _last_words(conn: socket.socket, options: argparse.Namespace) -> None:
    """Say ``session.created`` and why the session can't go on, then close (1000 by default).

    Without a delay, everything goes in the write that accepts the handshake:
    the client has it all before it can send a single frame.
    """
    model = "gpt-realtime"
    message = f"The model '{model}' does not exist or you do not have access to it."
    words = _text_frame(_event("session.created", session=_session_object()))
    words += _text_frame(_Realtime().error("model_not_found", message))
    close = _close_frame(options.code, options.reason)
    if options.delay:
        conn.sendall(_accept(conn) + words)
        time.sleep(options.delay)
        conn.sendall(close)
    else:
        conn.sendall(_accept(conn) + words + close)
    # The server closes TCP once the client answered the close (bounded wait).
    conn.settimeout(5)
    with contextlib.suppress(OSError):
        _until_close_frame(conn)
    conn.close()


def _until_close_frame(conn: socket.socket) -> None:
    """Read client frames until a close frame (or the end of the connection)."""
    buffer = b""
    while True:
        while len(buffer) >= 2:
            opcode, size = buffer[0] & 0x0F, buffer[1] & 0x7F
            offset = 2
            if size == 126 and len(buffer) >= 4:
                size, offset = struct.unpack("!H", buffer[2:4])[0], 4
            elif size == 127 and len(buffer) >= 10:
                size, offset = struct.unpack("!Q", buffer[2:10])[0], 10
            elif size >= 126:
                break
            offset += 4 if buffer[1] & 0x80 else 0  # the client's masking key
            if len(buffer) < offset + size:
                break
            if opcode == 0x8:
                return
            buffer = buffer[offset + size :]
        chunk = conn.recv(65536)
        if not chunk:
            return
        buffer += chunk


def _serve_raw(options: argparse.Namespace) -> None:
    counter = _Counter()
    serve = {"stop-reading": _stop_reading, "last-words": _last_words}.get(options.behaviour)
    # A small receive window (inherited by accepted sockets) fills sooner.
    listener = _listen(options.port, receive_buffer=4096 if serve is _stop_reading else None)
    held: list[socket.socket] = []  # never closed: silent and stopped peers keep them
    while True:
        conn, _ = listener.accept()
        counter.report()
        held.append(conn)
        if serve is not None:
            threading.Thread(target=serve, args=(conn, options), daemon=True).start()


def _exit_with_parent() -> None:
    """End this process when the test process closes our stdin (or dies)."""
    sys.stdin.read()
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--behaviour",
        required=True,
        choices=["realtime", "drop", "stop-reading", "last-words", "refuse", "silent"],
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--after", type=int, default=0, help="drop: client events read first")
    parser.add_argument("--delay", type=float, default=0.0, help="last-words: before closing")
    parser.add_argument("--reason", default="", help="last-words: the close reason")
    parser.add_argument("--code", type=int, default=1000, help="last-words: the close code")
    parser.add_argument("--status", type=int, default=503, help="refuse: the HTTP status")
    parser.add_argument("--retry-after", type=int, default=None, help="refuse: Retry-After")
    parser.add_argument("--accept-first", type=int, default=0, help="refuse: accept these first")
    options = parser.parse_args(argv)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    if options.behaviour in ("silent", "stop-reading", "last-words"):
        _serve_raw(options)
    else:
        asyncio.run(_serve_websockets(options))


if __name__ == "__main__":
    main()
