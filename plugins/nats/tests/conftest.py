"""The NATS plugin's tests run on asyncio only (nats-py is asyncio-only), against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from realtime_events_nats.testing import NatsServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server with JetStream on a free port, its store in this test's directory."""
    with NatsServer(tmp_path / "jetstream") as server:
        yield server
