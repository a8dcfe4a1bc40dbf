"""Reconnection against independent peers: bounded, storm-free, patient, and quiet.

Issue 12, points 6 (``close()`` during a reconnect backoff), 4 (no reconnect
storm; ``max_attempts`` holds), 7 (the default policy rides out a 60 s outage;
``Retry-After`` is honoured; 401 is final) and 9 (replay does not re-announce
items to handlers). Every peer is a server of ``tests/peers.py`` in its own
process, killed and restarted on the same port where the test needs an outage.
"""

from __future__ import annotations

import contextlib
import random
import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

from realtime_events import (
    AuthenticationError,
    ConnectionFailedError,
    RealtimeError,
    ReconnectPolicy,
    Session,
    signals,
)
from realtime_events.events import ConversationItemAddedEvent, ResponseDoneEvent

sys.path.insert(0, str(Path(__file__).parent))  # the peers sit next to the tests
from _lifecycle import CLOSE_TIMEOUT, SLACK, flag
from peers import Peer, running

pytestmark = pytest.mark.anyio

QUICK = ReconnectPolicy(initial_delay=0.05, max_delay=0.5, max_attempts=30)


async def serve_quietly(session: Session) -> None:
    """Run the session until it ends, whatever ends it."""
    with contextlib.suppress(RealtimeError):
        await session.run()


async def wait_connections(peer: Peer, count: int, *, timeout: float = 8.0) -> None:
    """Wait until the peer has seen ``count`` connections."""
    reached = await anyio.to_thread.run_sync(peer.wait_connections, count, timeout)
    assert reached, f"the peer saw {peer.connections} connections, not {count}"


async def settle() -> None:
    """Give the peer's connection log a moment to catch up with what happened."""
    await anyio.sleep(0.5)


async def turn(session: Session, text: str) -> ResponseDoneEvent:
    """One user message and the response to it."""
    await session.send_text(text, respond=False)
    request = await session.response.create()
    with anyio.fail_after(5):
        return await request.done()


async def outage(peer: Peer, session: Session) -> None:
    """SIGKILL the peer, restart it on the same port, and wait for the session to be back."""
    back = flag(signals.reconnected, session)
    peer.kill()
    await anyio.to_thread.run_sync(peer.restart)
    with anyio.fail_after(8):
        await back.wait()


# -- 6. close() during a reconnect backoff ---------------------------------------


async def test_close_during_a_reconnect_backoff(anyio_backend: str) -> None:
    with running("realtime") as peer:
        policy = ReconnectPolicy(initial_delay=8.0, max_delay=8.0)
        session = Session(
            url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT, reconnect=policy
        )
        backing_off = flag(signals.reconnecting, session)
        with anyio.fail_after(20):
            async with session:
                peer.kill()
                with anyio.fail_after(8):
                    await backing_off.wait()
                started = anyio.current_time()
                with anyio.move_on_after(CLOSE_TIMEOUT + 10):
                    await session.close()
                elapsed = anyio.current_time() - started
        assert elapsed <= CLOSE_TIMEOUT + SLACK
        assert session.state == "closed"


# -- 4. no reconnect storm --------------------------------------------------------


async def test_max_attempts_holds_against_a_peer_that_drops_every_connection(
    anyio_backend: str,
) -> None:
    # Every connection is configured, then dropped: each handshake succeeds.
    with running("drop", "--after", "1") as peer:
        policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.5, max_attempts=2)
        session = Session(url=peer.url, api_key="test", reconnect=policy)
        with pytest.raises(ConnectionFailedError), anyio.fail_after(9):
            await session.run()
        await settle()
        assert 1 < peer.connections <= 3  # the first connection and two attempts


async def test_default_policy_does_not_storm(anyio_backend: str) -> None:
    with running("drop", "--after", "1") as peer:
        session = Session(url=peer.url, api_key="test", close_timeout=CLOSE_TIMEOUT)
        with anyio.fail_after(5 + CLOSE_TIMEOUT + SLACK + 2):
            async with anyio.create_task_group() as group:
                group.start_soon(serve_quietly, session)
                await anyio.sleep(5)
                await session.close()
        await settle()
        assert 1 < peer.connections <= 8


async def test_reconnects_to_a_peer_restarted_on_the_same_port(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test", reconnect=QUICK)
        with anyio.fail_after(15):
            async with session:
                await turn(session, "hello")
                await outage(peer, session)
                done = await turn(session, "still there?")
        assert done.response.status == "completed"
        assert peer.connections == 2


# -- 7. a patient default policy, Retry-After, final 401 ---------------------------


async def test_default_policy_rides_out_a_minute_of_outage(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The least total wait the default policy can make: every delay with its
    # jitter at the minimum (random.uniform(a, b) returning the lower bound).
    monkeypatch.setattr(random, "uniform", lambda a, b: min(a, b))
    policy = ReconnectPolicy()
    assert policy.max_attempts is not None  # a finite policy must still wait a minute
    delays = [policy.delay(attempt) for attempt in range(1, policy.max_attempts + 1)]
    assert sum(delays) >= 60.0
    assert min(delays) > 0  # no busy loop


async def test_retry_after_is_honoured(anyio_backend: str) -> None:
    # The first connection is configured then dropped; every later one is
    # refused with 503 and Retry-After: 2, where the policy alone waits 0.05 s.
    args = ("--status", "503", "--retry-after", "2", "--accept-first", "1")
    with running("refuse", *args) as peer:
        policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.1, max_attempts=5)
        session = Session(url=peer.url, api_key="test", reconnect=policy)
        with anyio.fail_after(12):
            async with anyio.create_task_group() as group:
                group.start_soon(serve_quietly, session)
                await wait_connections(peer, 3, timeout=9)
                await session.close()
        first_refusal, next_attempt = peer.connect_times[1:3]
        assert next_attempt - first_refusal >= 1.5


async def test_401_on_the_first_connection_is_final(anyio_backend: str) -> None:
    with running("refuse", "--status", "401") as peer:
        session = Session(url=peer.url, api_key="test", reconnect=QUICK)
        with anyio.fail_after(8), pytest.raises(AuthenticationError):
            async with session:
                pytest.fail("the session opened")
        await settle()
        assert peer.connections == 1


async def test_401_on_a_reconnect_is_final(anyio_backend: str) -> None:
    with running("refuse", "--status", "401", "--accept-first", "1") as peer:
        session = Session(url=peer.url, api_key="test", reconnect=QUICK)
        with anyio.fail_after(8), pytest.raises(AuthenticationError):
            await session.run()
        await settle()
        assert peer.connections == 2


# -- 9. replay does not re-announce items -----------------------------------------


async def test_replayed_items_are_announced_once(anyio_backend: str) -> None:
    with running("realtime") as peer:
        session = Session(url=peer.url, api_key="test", reconnect=QUICK)
        announced: Counter[str] = Counter()

        @session.on("conversation.item.added")
        def count(event: ConversationItemAddedEvent) -> None:
            announced[event.item.id or ""] += 1

        with anyio.fail_after(25):
            async with session:
                await turn(session, "one")
                await turn(session, "two")
                for _ in range(3):
                    await outage(peer, session)
                # The restored items' echoes come before this turn's events.
                await turn(session, "three")
        assert len(session.conversation) == 6
        assert len(announced) == 6  # three user messages, three answers
        assert set(announced.values()) == {1}, announced
