"""Closed sessions, and the plugins attached to them, can be garbage-collected.

Issue 12, point 3: every ``Session`` stayed alive after it closed (blinker
receivers connected with ``weak=False`` pointed back to it). Each test opens
and closes sessions against an independent Realtime peer (``tests/peers.py``,
in its own process), keeps only weak references, and collects.

An ended session, and the errors it keeps, hold no frame of its run: a frame a
kept traceback reaches keeps its locals alive, and a kept error raised again
and again must not pile up the frames of every raise.
"""

from __future__ import annotations

import gc
import sys
import traceback
import weakref
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import ConnectionClosedError, RealtimeError, Session
from realtime_events_tools import Tools
from realtime_events_transcript import Transcript
from realtime_events_vad import VAD

sys.path.insert(0, str(Path(__file__).parent))  # the peers sit next to the tests
from _lifecycle import library_frames, nothing_left_unclosed
from peers import Peer, running

pytestmark = pytest.mark.anyio

CYCLES = 200


@pytest.fixture
def peer() -> Iterator[Peer]:
    with running("realtime") as peer:
        yield peer


def alive(refs: list[weakref.ref[object]]) -> list[object]:
    """What is still alive of ``refs`` after a full collection."""
    gc.collect()
    return [obj for obj in (ref() for ref in refs) if obj is not None]


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"sunny in {city}"


async def test_closed_sessions_are_collected(anyio_backend: str, peer: Peer) -> None:
    refs: list[weakref.ref[object]] = []
    with anyio.fail_after(60):
        for _ in range(CYCLES):
            session = Session(url=peer.url, api_key="test")
            async with session:
                pass
            refs.append(weakref.ref(session))
            del session
    left = alive(refs)
    assert not left, f"{len(left)} of {CYCLES} closed sessions are still alive"


async def _run_in_a_task_group(session: Session) -> None:
    created = anyio.Event()
    session.on("session.created", lambda event: created.set())
    async with anyio.create_task_group() as group:
        group.start_soon(session.run)  # the reader runs in the run's own task
        await created.wait()
        await session.close()


async def _start_in_a_task_group(session: Session) -> None:
    async with anyio.create_task_group() as group:
        await group.start(session.run)  # the reader runs in a task of its own
        await session.close()


async def _start_detached(session: Session) -> None:
    await session.start()  # the run belongs to the event loop
    await session.close()


@pytest.mark.parametrize("way", [_run_in_a_task_group, _start_in_a_task_group, _start_detached])
async def test_sessions_run_every_other_way_are_collected(
    anyio_backend: str, peer: Peer, way: Callable[[Session], Awaitable[None]]
) -> None:
    refs: list[weakref.ref[object]] = []
    with anyio.fail_after(60), nothing_left_unclosed():
        for _ in range(CYCLES // 4):
            session = Session(url=peer.url, api_key="test")
            await way(session)
            assert session.state == "closed"
            refs.append(weakref.ref(session))
            del session
        # A detached run's task may still be on its way out when close() returns.
        await anyio.sleep(0.1)
    left = alive(refs)
    assert not left, f"{len(left)} of {CYCLES // 4} closed sessions are still alive"


async def test_sessions_with_plugins_and_a_turn_are_collected(
    anyio_backend: str, peer: Peer
) -> None:
    refs: list[weakref.ref[object]] = []
    with anyio.fail_after(30):
        for _ in range(5):
            tools, transcript, vad = Tools([get_weather]), Transcript(), VAD()
            session = Session(url=peer.url, api_key="test", plugins=[tools, transcript, vad])
            async with session:
                await session.send_text("hello", respond=False)
                request = await session.response.create()
                done = await request.done()
                assert done.response.status == "completed"
            refs += [weakref.ref(obj) for obj in (session, tools, transcript, vad)]
            del session, tools, transcript, vad, request, done
    left = alive(refs)
    assert not left, f"still alive: {sorted({type(obj).__name__ for obj in left})}"


async def test_sessions_with_plugins_leave_nothing_unclosed(anyio_backend: str, peer: Peer) -> None:
    # The tools plugin outlives its runs; its job queue was a memory stream that
    # nothing closed, so every Tools warned when collected.
    with nothing_left_unclosed(), anyio.fail_after(30):
        for _ in range(3):
            tools = Tools([get_weather])
            session = Session(url=peer.url, api_key="test", plugins=[tools, Transcript(), VAD()])
            async with session:
                await session.send_text("hello", respond=False)
                request = await session.response.create()
                assert (await request.done()).response.status == "completed"
                async with session.stream("response.done") as dones:
                    with anyio.move_on_after(0.05):
                        await dones.receive()
            del session, tools, request, dones


async def test_sessions_left_by_a_cancel_are_collected(anyio_backend: str, peer: Peer) -> None:
    refs: list[weakref.ref[object]] = []
    with anyio.fail_after(30):
        for _ in range(5):
            session = Session(url=peer.url, api_key="test")
            with anyio.CancelScope() as scope:
                async with session:
                    scope.cancel()  # lands while connected, at the next checkpoint
                    await anyio.sleep(5)
            assert scope.cancelled_caught
            refs.append(weakref.ref(session))
            del session
    left = alive(refs)
    assert not left, f"{len(left)} of 5 cancelled sessions are still alive"


async def _closed_by_the_user(session: Session) -> None:
    async with session:
        await session.send_text("hello", respond=False)


async def _closed_by_the_server(session: Session) -> None:
    await session.run()  # a close with 1000 ends the run as asked for


@pytest.mark.parametrize(
    ("peer_args", "ending"),
    [
        (["realtime"], _closed_by_the_user),
        (["last-words", "--delay", "1"], _closed_by_the_server),  # once the session opened
    ],
)
async def test_an_ended_session_keeps_no_frame_of_its_run(
    anyio_backend: str, peer_args: list[str], ending: Callable[[Session], Awaitable[None]]
) -> None:
    # The close error the connection and the response tracker keep carried the
    # traceback it was raised with: the reader's frames and their locals lived
    # as long as the ended session, which an application often keeps to read
    # its conversation.
    with running(*peer_args) as peer, anyio.fail_after(10):
        session = Session(url=peer.url, api_key="test", reconnect=False)
        await ending(session)
        assert session.state == "closed"
        assert library_frames(session) == []


async def test_a_failed_request_raised_again_carries_only_its_own_frames(
    anyio_backend: str,
) -> None:
    # A request and a turn keep why they failed and raise it from every call that
    # waits: raised as it was, each raise added its frames to those of the calls
    # before.
    with running("last-words", "--delay", "1", "--code", "1011") as peer, anyio.fail_after(10):
        session = Session(url=peer.url, api_key="test", reconnect=False)
        pending: list[Any] = []

        async def ask_until_closed() -> None:
            async with session:
                pending.append(session.expect_reply())
                pending.append(await session.response.create())  # never answered, then closed
                await anyio.sleep(10)

        with pytest.raises(ConnectionClosedError):  # the run's failure ends the block
            await ask_until_closed()
        turn, request = pending
        depths = []
        for wait in (request.created, request.done, turn.wait) * 2:
            with pytest.raises(RealtimeError) as caught:
                await wait()
            depths.append(len(traceback.extract_tb(caught.value.__traceback__)))
    assert depths[:3] == depths[3:]
