"""The app the test workers run (``--app nats_app:make_session``), and the model it talks to.

A job's config says where the local Realtime server is (``url``) and, for
scripted sessions, what to ask before closing (``script``, ``hold``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio

from realtime_events import Session
from realtime_events.testing import ReplyContext, Say
from realtime_events_nats import Job


class RecallModel:
    """Answers with every user message of the conversation so far: its context, visible."""

    def reply(self, context: ReplyContext) -> list[Say]:
        said = [
            part.get("text", "")
            for item in context.items
            if item.get("type") == "message" and item.get("role") == "user"
            for part in item.get("content", [])
            if part.get("text")
        ]
        return [Say("recall: " + " | ".join(said))]

    def transcribe(self, pcm: bytes, sample_rate: int) -> str | None:
        return None


class Probe:
    """A plugin with commands (``probe.whoami``, ``probe.fail``) and an optional script."""

    name = "probe"

    def __init__(self, job: Job) -> None:
        self.job = job
        self.commands = {"whoami": self.whoami, "fail": self.fail}
        self.session: Session | None = None

    def attach(self, session: Session) -> None:
        self.session = session

    async def whoami(self) -> dict[str, Any]:
        return {"session_id": self.job.session_id, "worker": self.job.worker}

    async def fail(self, why: str = "no reason") -> None:
        raise ValueError(f"refused: {why}")

    async def run(self, session: Session) -> None:
        config: Mapping[str, Any] = self.job.config
        script = config.get("script")
        if script is None:
            return
        # Plugin tasks start with the run, before the connection is open.
        while session.state != "open":  # noqa: ASYNC110
            await anyio.sleep(0.01)
        for text in script:
            await session.ask(text, timeout=30)
        await anyio.sleep(float(config.get("hold", 0)))
        await session.close()


def make_session(job: Job) -> Session:
    if job.config.get("fail"):
        raise RuntimeError("this job asks the factory to fail")
    return Session(
        url=job.config["url"],
        output_modalities=["text"],
        plugins=[Probe(job)],
    )
