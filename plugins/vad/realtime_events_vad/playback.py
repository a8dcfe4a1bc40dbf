"""How much of the assistant's audio the user has actually heard.

The server streams audio faster than real time, so what was *received* is
not what was *played*. Truncating an interrupted item at the received length
leaves words in the model's context that the user never heard; truncating
beyond it is an error. The :class:`PlaybackTracker` answers "where is playback
now?" for each assistant audio item:

- **measured**, when the application reports what its speaker played with
  :meth:`PlaybackTracker.played` (and :meth:`PlaybackTracker.cleared` when it
  drops what it had queued). Once the application reports anything, the
  tracker trusts only its reports: an item it never reported has played 0 ms.
- **estimated** otherwise, from the wall clock: an item starts playing when
  its first audio delta arrives (or when the item before it would have
  finished) and plays in real time.

Either way the position is clamped to the audio received, so a truncate can
never exceed it.

A response may hold several audio messages (a spoken preamble, then the
answer): each is tracked on its own, from position 0, and plays after the one
before it. An item whose audio is complete (``response.output_audio.done``) is
no longer waiting for more, even while its response streams the next message.

``played`` and ``cleared`` may be called from any thread (an audio callback);
the tracker guards its state with a lock.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from realtime_events.audio import PCM16, AudioFormat

if TYPE_CHECKING:
    from realtime_events import Session

__all__ = ["PlaybackTracker", "PlayingItem"]

Key = tuple[str, int]

_AUDIO_PART_TYPES = frozenset({"audio", "output_audio"})


@dataclass(slots=True)
class _Track:
    item_id: str
    content_index: int
    response_id: str | None
    audio: bool = False  # an audio part was announced or audio arrived
    first_delta_at: float | None = None
    started_at: float | None = None  # estimated start of playback (wall clock)
    played_ms: float = 0.0  # reported by the application
    stopped_at_ms: float | None = None  # playback ended here (cleared, or interrupted)
    interrupted: bool = False
    complete: bool = False  # all its audio arrived: nothing more is coming


@dataclass(frozen=True, slots=True)
class PlayingItem:
    """An assistant audio item with audio still to play: where playback is, and how it is known."""

    item_id: str
    content_index: int
    response_id: str | None
    position_ms: float
    received_ms: float
    measured: bool


class PlaybackTracker:
    """Tracks the playback position of assistant audio items, measured or estimated.

    Fed by the session's events once bound (the VAD plugin binds it), and by
    the application through :meth:`played` and :meth:`cleared`.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_items: int = 32) -> None:
        self._clock = clock
        self._max_items = max_items
        self._tracks: OrderedDict[Key, _Track] = OrderedDict()
        self._lock = threading.Lock()
        self._measured = False
        self._session: Session | None = None

    # -- the application's side ---------------------------------------------

    def played(
        self,
        item_id: str,
        content_index: int = 0,
        bytes_or_ms: bytes | bytearray | memoryview | float = 0.0,
    ) -> None:
        """Report that more of an item was played: the audio bytes themselves, or milliseconds.

        Call it as the speaker consumes audio (from an output callback, say);
        the amounts add up. Bytes are in the session's output format.
        """
        if isinstance(bytes_or_ms, bytes | bytearray | memoryview):
            ms = self._format().duration_ms(len(bytes_or_ms))
        else:
            ms = float(bytes_or_ms)
            if ms < 0 or math.isnan(ms):
                raise ValueError(f"played milliseconds must be non-negative, not {bytes_or_ms!r}")
        with self._lock:
            self._measured = True
            track = self._track((item_id, content_index), None)
            track.played_ms += ms

    def cleared(self) -> None:
        """Report that the application dropped all audio it had queued: nothing plays any more."""
        with self._lock:
            self._measured = True
            for track in self._tracks.values():
                if track.stopped_at_ms is None:
                    track.stopped_at_ms = track.played_ms

    # -- reading ---------------------------------------------------------------

    @property
    def measured(self) -> bool:
        """True once the application reports playback (positions are then measured)."""
        return self._measured

    def position_ms(self, item_id: str, content_index: int = 0) -> float:
        """Where playback of an item is, in ms, clamped to the audio received (0 if unknown)."""
        with self._lock:
            track = self._tracks.get((item_id, content_index))
            return 0.0 if track is None else self._position(track, self._clock())

    def received_ms(self, item_id: str, content_index: int = 0) -> float:
        """Milliseconds of an item's audio received (``session.conversation.audio_received_ms``)."""
        with self._lock:
            track = self._tracks.get((item_id, content_index))
            return 0.0 if track is None else self._received(track)

    def playing(self) -> list[PlayingItem]:
        """Audio items with audio still to play, in playback order.

        An item counts while its played position is short of what it received,
        or while its response is still active (more audio is coming, or none
        arrived yet), unless the application cleared its playback or barge-in
        interrupted it.
        """
        now = self._clock()
        session = self._session
        active = session.response.active_id if session is not None else None
        with self._lock:
            found = []
            for track in self._tracks.values():
                if not track.audio or track.interrupted or track.stopped_at_ms is not None:
                    continue
                received = self._received(track)
                position = self._position(track, now)
                streaming = (
                    active is not None and track.response_id == active and not track.complete
                )
                # Caught up with audio still streaming is still playing (more is
                # coming); caught up with complete audio is done.
                if position >= received and not streaming:
                    continue
                found.append(
                    PlayingItem(
                        track.item_id,
                        track.content_index,
                        track.response_id,
                        position,
                        received,
                        self._measured,
                    )
                )
            return found

    def is_interrupted(self, item_id: str) -> bool:
        """True when barge-in cut this item: late audio for it should not be played."""
        with self._lock:
            return any(t.interrupted for (i, _), t in self._tracks.items() if i == item_id)

    def unheard(self, response_id: str, item_ids: list[str]) -> list[str]:
        """Of a spoken response's messages ``item_ids``, those the user heard nothing of.

        A response is spoken once any of its items has audio. Its messages with no
        audio played yet (none received, or all still queued) were never heard,
        nor were messages without audio; items already cut are left out. A
        response without audio has nothing unheard: its text was shown, not played.
        """
        now = self._clock()
        with self._lock:
            tracks = self._tracks.values()
            if not any(t.audio and t.response_id == response_id for t in tracks):
                return []
            found = []
            for item_id in item_ids:
                mine = [t for t in tracks if t.item_id == item_id]
                if any(t.interrupted for t in mine):
                    continue
                if all(self._position(t, now) <= 0 for t in mine):
                    found.append(item_id)
            return found

    @property
    def tracked_items(self) -> int:
        """How many items the tracker holds (bounded by ``max_items``)."""
        return len(self._tracks)

    # -- the session's side ----------------------------------------------------

    def bind(self, session: Session) -> None:
        """Follow ``session``'s output audio events (the VAD plugin calls this)."""
        self._session = session
        session.on("response.output_item.added", self._on_output_item)
        session.on("response.content_part.added", self._on_part_added)
        session.on("response.output_audio.delta", self._on_audio_delta)
        session.on("response.output_audio.done", self._on_audio_done)
        session.on("response.output_item.done", self._on_output_item_done)
        session.on("conversation.item.deleted", self._on_deleted)

    def interrupt(self, item_id: str, content_index: int, at_ms: float) -> None:
        """Mark an item as cut at ``at_ms`` by barge-in: it is no longer playing."""
        with self._lock:
            track = self._track((item_id, content_index), None)
            track.interrupted = True
            track.stopped_at_ms = at_ms

    def _on_output_item(self, event: Any) -> None:
        item = event.item
        if item.id and item.type == "message" and item.role in (None, "assistant"):
            with self._lock:
                self._track((item.id, 0), event.response_id)

    def _on_part_added(self, event: Any) -> None:
        part = event.part
        if part is not None and part.type in _AUDIO_PART_TYPES:
            with self._lock:
                self._track((event.item_id, event.content_index), event.response_id).audio = True

    def _on_audio_delta(self, event: Any) -> None:
        now = self._clock()
        with self._lock:
            track = self._track((event.item_id, event.content_index), event.response_id)
            track.audio = True
            if track.first_delta_at is None:
                track.first_delta_at = now
                track.started_at = max(now, self._previous_end(track))

    def _on_audio_done(self, event: Any) -> None:
        with self._lock:
            track = self._tracks.get((event.item_id, event.content_index))
            if track is not None:
                track.complete = True

    def _on_output_item_done(self, event: Any) -> None:
        with self._lock:
            for (item_id, _), track in self._tracks.items():
                if item_id == event.item.id:
                    track.complete = True

    def _on_deleted(self, event: Any) -> None:
        with self._lock:
            for key in [k for k in self._tracks if k[0] == event.item_id]:
                del self._tracks[key]

    # -- internals (call with the lock held) -----------------------------------

    def _format(self) -> AudioFormat:
        session = self._session
        return session.output_format if session is not None else PCM16

    def _track(self, key: Key, response_id: str | None) -> _Track:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(key[0], key[1], response_id)
            while len(self._tracks) > self._max_items:
                self._tracks.popitem(last=False)
        elif track.response_id is None:
            track.response_id = response_id
        return track

    def _received(self, track: _Track) -> float:
        session = self._session
        if session is None:
            return 0.0
        return session.conversation.audio_received_ms(track.item_id, track.content_index)

    def _position(self, track: _Track, now: float) -> float:
        if track.stopped_at_ms is not None:
            position = track.stopped_at_ms
        elif self._measured:
            position = track.played_ms
        elif track.started_at is None:
            position = 0.0
        else:
            position = max(0.0, (now - track.started_at) * 1000.0)
        return max(0.0, min(position, self._received(track)))

    def _previous_end(self, track: _Track) -> float:
        """When the item before ``track`` would finish playing in real time (estimates)."""
        end = 0.0
        for other in self._tracks.values():
            if other is track:
                break
            if other.started_at is not None and not other.interrupted:
                end = max(end, other.started_at + self._received(other) / 1000.0)
        return end
