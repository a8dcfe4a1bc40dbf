"""The server's frames read into events, and what is not quite an event reported.

A run's reader (and a replay) hands every frame it receives to a
:class:`FrameParser`. A frame that is no event (binary, not JSON, a known type
that fails its model) is reported and dropped; an event of a type this library
does not know is reported and still dispatched; a typed event parsed leniently
(it came without fields its model documents, see
:attr:`~realtime_events.events.ServerEvent.missing_fields`) is logged at debug
level, once per event type and set of missing fields, so that the leniency is
visible without a line per frame. :func:`replay_frames` feeds a recording's
frames through the same parser, offline. A Live session's parser is given
:data:`~realtime_events.live.parse.LIVE_EVENTS` to parse with.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from types import SimpleNamespace

import anyio

from . import signals
from .errors import InvalidFrameError
from .events import Event, ServerEvent, UnknownServerEvent
from .events.parse import REALTIME_EVENTS, EventUnion
from .recording import read_recording

__all__ = ["FrameParser", "last_error_in", "replay_frames"]

# The session's logger: frame reports have always been the session's, and logging
# configurations filter on it.
logger = logging.getLogger("realtime_events.session")


@functools.lru_cache(maxsize=16)
def _routine(models: tuple[type[ServerEvent], ...]) -> frozenset[type[ServerEvent]]:
    """The classes whose events need nothing after ``validate``, shared by a protocol's parsers.

    No lenient parse to log (no omittable field), and no ``error``, which a
    reader keeps an eye on.
    """
    return frozenset(
        model for model in models if not model.omittable_fields and model.canonical_type != "error"
    )


@functools.lru_cache(maxsize=64)
def _without(
    routine: frozenset[type[ServerEvent]], absorbs: tuple[type[ServerEvent], ...]
) -> frozenset[type[ServerEvent]]:
    return routine.difference(absorbs)


class FrameParser:
    """Parses one session's frames into events and reports what does not parse cleanly.

    ``sender`` is the sender of the signals it sends (``event_received``,
    ``event_invalid``, ``event_unknown``): the session. ``events`` are the server
    events of the session's protocol (Realtime's by default). Calling the parser
    with a frame's bytes and whether it was a text frame returns the event, or
    None for a frame that is no event.

    A reader on the hot path may instead call :attr:`validate` itself: an event
    of one of the :attr:`routine` classes needs nothing more while nobody
    follows ``event_received``; any other event goes through :meth:`checked`,
    and a frame that ``validate`` refuses through the parser itself.
    """

    def __init__(self, sender: object, events: EventUnion = REALTIME_EVENTS) -> None:
        self._sender = sender
        self._parse = events.parse
        #: The protocol's union ``validate_json``: raises ValidationError for an irregular frame.
        self.validate = events.validate
        #: The classes whose events need nothing after ``validate``: no lenient parse
        #: to log (no omittable field), and no ``error``, which a reader keeps an eye on.
        #: Shared by every parser of the protocol, as a set of each one's own would be
        #: an object the garbage collector walks for as long as its session lives.
        self.routine = _routine(events.models)
        # The lenient parses logged already: (event type, missing fields), made at the
        # first. Bounded by the models: each has a handful of omittable fields.
        self._lenient: set[tuple[str, tuple[str, ...]]] | None = None

    def fast_path(self, absorbs: tuple[type[ServerEvent], ...]) -> frozenset[type[ServerEvent]]:
        """The :attr:`routine` classes but ``absorbs``: what a reader may take on its fast path."""
        return _without(self.routine, absorbs)

    def __call__(self, data: bytes, text: bool) -> ServerEvent | None:
        """Parse one frame; report (and drop) what is not an event."""
        if not text:
            self._report_invalid(data, InvalidFrameError("binary frame", data))
            return None
        try:
            event = self._parse(data)
        except InvalidFrameError as exc:
            self._report_invalid(data, exc)
            return None
        if type(event) is UnknownServerEvent:
            self._report_unknown(data, event)
        return self.checked(event)

    def checked(self, event: ServerEvent) -> ServerEvent:
        """Log a lenient parse and send ``event_received``: what follows every parse."""
        if event.omittable_fields:  # a class attribute: the common case costs one test
            missing = event.missing_fields
            if missing:
                self._report_lenient(event, missing)
        if signals.event_received.receivers:
            signals.send(signals.event_received, self._sender, event=event)
        return event

    def _report_invalid(self, frame: bytes, error: Exception, event: Event | None = None) -> None:
        """Log and signal (``event_invalid``) a frame that is not a valid event."""
        logger.warning("invalid frame from the server (%s): %.200r", error, frame)
        signals.send(signals.event_invalid, self._sender, frame=frame, error=error, event=event)

    def _report_unknown(self, frame: bytes, event: UnknownServerEvent) -> None:
        if event.validation_error is not None:
            self._report_invalid(frame, event.validation_error, event)
        else:
            logger.info(
                "unknown server event type %r (dispatched as UnknownServerEvent)", event.type
            )
            signals.send(signals.event_unknown, self._sender, event=event)

    def _report_lenient(self, event: ServerEvent, missing: tuple[str, ...]) -> None:
        key = (event.type, missing)
        if self._lenient is None:
            self._lenient = set()
        elif key in self._lenient:
            return
        self._lenient.add(key)
        logger.debug(
            "%s came without %s, which its model documents; dispatched with %s None "
            "(logged once per event type and missing fields)",
            event.type,
            ", ".join(missing),
            "it" if len(missing) == 1 else "them",
        )


async def replay_frames(
    recording: str | os.PathLike[str],
    parse: Callable[[bytes, bool], ServerEvent | None],
    dispatch: Callable[[ServerEvent], Awaitable[None]],
    *,
    speed: float = 0.0,
) -> int:
    """Parse the received frames of a recording and dispatch their events; return how many.

    ``speed`` 1.0 keeps the recorded timing, 2.0 is twice as fast, 0 as fast as possible.
    """
    frames = [frame for frame in read_recording(recording) if frame.direction == "recv"]
    count = 0
    previous = frames[0].t if frames else 0.0
    for frame in frames:
        if speed > 0:
            await anyio.sleep(max(frame.t - previous, 0.0) / speed)
        previous = frame.t
        data = bytes.fromhex(frame.data) if frame.binary else frame.data.encode()
        event = parse(data, not frame.binary)
        if event is not None:
            await dispatch(event)
            count += 1
    return count


def last_error_in(frames: Sequence[tuple[bytes, bool]]) -> SimpleNamespace | None:
    """The ``message`` and ``code`` of the last ``error`` event among unparsed ``frames``.

    A session's reader queues frames and its dispatcher parses them later; when
    the connection closes, the close names the server's last error, which may
    still wait in the queue. Only frames that mention ``"error"`` are read, with
    ``json``: no event is made, and no handler sees anything.
    """
    for data, text in reversed(frames):
        if not text or b'"error"' not in data:
            continue
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("type") == "error":
            detail = event.get("error")
            found = detail if isinstance(detail, dict) else event
            return SimpleNamespace(message=found.get("message"), code=found.get("code"))
    return None
