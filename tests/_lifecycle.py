"""What the Session lifecycle tests share: bounds, signals caught as they come, and hygiene."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, FunctionType, ModuleType
from typing import Any

import anyio
from blinker import Signal

import realtime_events
from realtime_events import Session

CLOSE_TIMEOUT = 1.0
SLACK = 3.0  # scheduling slack on a loaded machine: a bound, not a speed


def record(signal: Signal, session: Session) -> list[dict[str, Any]]:
    """The keyword arguments of every ``signal`` the session sends, in order."""
    seen: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        seen.append(kwargs)

    signal.connect(receive, sender=session, weak=False)
    return seen


def flag(signal: Signal, session: Session) -> anyio.Event:
    """An event set the first time the session sends ``signal``."""
    seen = anyio.Event()

    def receive(sender: Any, **kwargs: Any) -> None:
        seen.set()

    signal.connect(receive, sender=session, weak=False)
    return seen


@contextmanager
def nothing_left_unclosed() -> Iterator[None]:
    """Fail if anything the block let go of warns, once collected, that it was never closed.

    Python hides ResourceWarning by default, so a memory stream, socket or file
    that a session or plugin never closes goes unseen until a user runs with
    ``-X dev``. Earlier garbage is collected first: it is not the block's.
    """
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed, f"left unclosed: {unclosed}"


_PACKAGE = str(Path(realtime_events.__file__).parent)


# Where the walk stops: what the whole process shares. A function leads to its
# module's globals, and blinker's named signals to every receiver an earlier test
# connected (and what it recorded).
_SHARED = (type, ModuleType, FunctionType, Signal)


def library_frames(root: object) -> list[str]:
    """The library's frames reachable from ``root``: the functions they ran.

    A frame a stored exception's traceback reaches keeps its locals alive for as
    long as the exception is kept.
    """
    seen = {id(root)}
    todo = [root]
    found = []
    while todo:
        for referent in gc.get_referents(todo.pop()):
            if id(referent) in seen or isinstance(referent, _SHARED):
                continue
            seen.add(id(referent))
            todo.append(referent)
            if isinstance(referent, FrameType) and referent.f_code.co_filename.startswith(_PACKAGE):
                found.append(referent.f_code.co_qualname)
    return found
