"""Misbehaving WebSocket servers for the connection's fault tests, each in its own process.

They share no code with ``realtime_events``: every peer but one speaks raw
sockets (the handshake and the frames written by hand), and ``websockets``
is a plain ``websockets`` server. A peer prints ``port <n>`` once it listens,
serves one connection, then stays until it is killed (or its stdin closes,
so a peer never outlives the test run).

Behaviours (the first argument):

- ``stop-reading [--talk [--ping]]``: completes the handshake, then never reads
  again, with a small receive buffer, so the client's sends block once the
  kernel buffers are full; with ``--talk`` it keeps sending a small text frame
  every 0.1 s (followed by a ping with ``--ping``), so the client never hears
  silence;
- ``websockets``: a plain ``websockets`` server that echoes every message (and
  answers pings); tests SIGSTOP it;
- ``last-words --frames N --end close|fin|rst [--with-handshake]``: sends N
  text frames ``{"n": i}``, then a close frame (1000, "bye") unless ``--end fin``,
  and closes TCP at once (``rst``: with SO_LINGER 0, a reset); they follow the
  101 response after 0.2 s, or with ``--with-handshake`` in the same write;
- ``announce --size N [--stream]``: sends ``{"n": 0}``, then the header of a
  text frame of N bytes, and with ``--stream`` keeps sending its payload for as
  long as the client takes it;
- ``frames --sizes A,B,...``: sends text frames of those payload sizes;
- ``fragments --size S --count C``: sends ``{"n": 0}``, then one text message
  in C fragments of S bytes each;
- ``deaf``: completes the handshake, then reads and drops everything, never
  answering a close frame nor closing TCP.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_STARTUP_TIMEOUT = 15.0
# A small receive buffer on the peer: the TCP window it advertises stays small,
# so a client's send blocks after a few MiB at most.
_SMALL_RCVBUF = 4096


# --------------------------------------------------------------------------- test side


@dataclass
class PeerProcess:
    """A running peer: its address and its process."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        """The ``ws://`` URL the peer listens on."""
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    def pause(self) -> None:
        """SIGSTOP the peer: its sockets stay open, but it no longer reads or answers."""
        self.process.send_signal(signal.SIGSTOP)


@contextlib.contextmanager
def running(behaviour: str, *args: str) -> Iterator[PeerProcess]:
    """Run a peer with ``behaviour`` and options ``args`` for the block; always kill it."""
    # stdin is a pipe the peer watches: it exits if this process goes away.
    process = subprocess.Popen(
        [sys.executable, __file__, behaviour, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the peer listens (or dies)
        if not first.startswith("port "):
            raise RuntimeError(f"peer {behaviour!r} did not start: {first!r}")
        yield PeerProcess(process, int(first.split()[1]))
    finally:
        process.kill()  # SIGKILL also ends a SIGSTOPped process
        process.wait(timeout=_STARTUP_TIMEOUT)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


# --------------------------------------------------------------------------- peer side


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """An unmasked server frame, written by hand."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def text(n: int) -> bytes:
    return frame(0x1, b'{"n": %d}' % n)


def close_frame(code: int, reason: str) -> bytes:
    return frame(0x8, struct.pack("!H", code) + reason.encode())


def _listen(rcvbuf: int | None) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf is not None:
        # Set before listen(): accepted sockets inherit it, and the window scale
        # is fixed by the SYN, so setting it later would not shrink the window.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def _handshake_response(sock: socket.socket) -> bytes:
    """Read the client's upgrade request; return the 101 response (not sent yet)."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("client left during the handshake")
        request += chunk
    key = b""
    for line in request.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def _accept_one(rcvbuf: int | None = None) -> socket.socket:
    listener = _listen(rcvbuf)
    print(f"port {listener.getsockname()[1]}", flush=True)
    sock, _ = listener.accept()
    listener.close()
    return sock


def _stop_reading(options: argparse.Namespace) -> None:
    sock = _accept_one(rcvbuf=_SMALL_RCVBUF)
    sock.sendall(_handshake_response(sock))
    n = 0
    while options.talk:
        try:
            sock.sendall(text(n) + (frame(0x9, b"ping") if options.ping else b""))
        except OSError:
            break
        n += 1
        time.sleep(0.1)
    _wait_forever()


def _last_words(options: argparse.Namespace) -> None:
    sock = _accept_one()
    response = _handshake_response(sock)
    words = b"".join(text(n) for n in range(options.frames))
    if options.end != "fin":
        words += close_frame(1000, "bye")
    if options.with_handshake:
        sock.sendall(response + words)
    else:
        sock.sendall(response)
        time.sleep(0.2)  # so the client reads the words apart from the handshake
        sock.sendall(words)
    if options.end == "rst":
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    _wait_forever()


def _announce(options: argparse.Namespace) -> None:
    sock = _accept_one()
    sock.sendall(_handshake_response(sock) + text(0))
    sock.sendall(struct.pack("!BBQ", 0x81, 127, options.size))
    zeros = bytes(65536)
    while options.stream:
        try:
            sock.sendall(zeros)
        except OSError:
            break
    _wait_forever()


def _frames(options: argparse.Namespace) -> None:
    sock = _accept_one()
    sock.sendall(_handshake_response(sock))
    for size in options.sizes.split(","):
        sock.sendall(frame(0x1, b"x" * int(size)))
    _wait_forever()


def _fragments(options: argparse.Namespace) -> None:
    sock = _accept_one()
    sock.sendall(_handshake_response(sock) + text(0))
    piece = b"x" * options.size
    for index in range(options.count):
        opcode = 0x1 if index == 0 else 0x0
        with contextlib.suppress(OSError):
            sock.sendall(frame(opcode, piece, fin=index == options.count - 1))
    _wait_forever()


def _deaf(options: argparse.Namespace) -> None:
    sock = _accept_one()
    sock.sendall(_handshake_response(sock))
    with contextlib.suppress(OSError):
        while sock.recv(65536):
            pass
    _wait_forever()


def _websockets(options: argparse.Namespace) -> None:
    from websockets.sync.server import ServerConnection, serve

    def handler(connection: ServerConnection) -> None:
        for message in connection:
            connection.send(message)

    with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        print(f"port {server.socket.getsockname()[1]}", flush=True)
        server.serve_forever()


def _wait_forever() -> None:
    while True:
        time.sleep(3600)


def _exit_with_parent() -> None:
    sys.stdin.read()  # returns at EOF: the test process is gone
    os._exit(0)


BEHAVIOURS = {
    "stop-reading": _stop_reading,
    "websockets": _websockets,
    "last-words": _last_words,
    "announce": _announce,
    "frames": _frames,
    "fragments": _fragments,
    "deaf": _deaf,
}


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("behaviour", choices=sorted(BEHAVIOURS))
    parser.add_argument("--talk", action="store_true")
    parser.add_argument("--ping", action="store_true")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--end", choices=["close", "fin", "rst"], default="close")
    parser.add_argument("--with-handshake", action="store_true")
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--sizes", default="")
    parser.add_argument("--count", type=int, default=2)
    options = parser.parse_args(argv)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    BEHAVIOURS[options.behaviour](options)


if __name__ == "__main__":
    main(sys.argv[1:])
