"""Workers as separate processes: ``realtime-events worker`` started, killed and drained."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent


class WorkerProcess:
    """One ``realtime-events worker`` process running ``nats_app:make_session``."""

    def __init__(self, url: str, *, name: str, capacity: int = 10, drain_timeout: float = 30.0):
        self.args = [
            sys.executable, "-m", "realtime_events", "worker",
            "--nats", url, "--app", "nats_app:make_session",
            "--capacity", str(capacity), "--drain-timeout", str(drain_timeout),
            "--lease-ttl", "2", "--id", name,
        ]  # fmt: skip
        self.name = name
        self.process: asyncio.subprocess.Process | None = None
        # A file, not a pipe: a worker that logs a lot must never block on a full pipe.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by stop())
        self._kept_log = ""  # what it held, once stop() closed it

    async def start(self, timeout: float = 30.0) -> WorkerProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, stderr=self._log, env=env
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if b"ready" not in line:
            await self.process.wait()
            raise RuntimeError(f"worker {self.name} did not start: {self.log()}")
        return self

    def log(self) -> str:
        """What the worker wrote on stderr so far."""
        if self._log.closed:
            return self._kept_log
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def kill(self) -> None:
        """kill -9."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: drain."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self) -> None:
        """Kill the worker if it still runs, and close its log (``log()`` still reads it)."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if not self._log.closed:
            self._kept_log = self.log()
            self._log.close()


async def start_workers(url: str, count: int, **options: object) -> list[WorkerProcess]:
    workers = [WorkerProcess(url, name=f"w{i}", **options) for i in range(count)]  # type: ignore[arg-type]
    return list(await asyncio.gather(*(w.start() for w in workers)))
