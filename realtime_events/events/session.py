"""Server events about the session: ``session.*`` and beta ``transcription_session.updated``."""

from __future__ import annotations

from typing import ClassVar, Literal

from ._base import ServerEvent
from .payloads import RealtimeSessionInfo


class SessionCreatedEvent(ServerEvent):
    """``session.created``: the first server event of a connection, with the session's config."""

    canonical_type: ClassVar[str] = "session.created"

    type: Literal["session.created"]
    event_id: str
    session: RealtimeSessionInfo


class SessionUpdatedEvent(ServerEvent):
    """``session.updated``: a ``session.update`` was applied; ``session`` is the new config."""

    canonical_type: ClassVar[str] = "session.updated"

    type: Literal["session.updated"]
    event_id: str
    session: RealtimeSessionInfo


class TranscriptionSessionUpdatedEvent(ServerEvent):
    """``transcription_session.updated`` (beta only): a transcription session's new config.

    GA reports the same thing with ``session.updated`` and ``session.type ==
    "transcription"``.
    """

    canonical_type: ClassVar[str] = "transcription_session.updated"

    type: Literal["transcription_session.updated"]
    event_id: str
    session: RealtimeSessionInfo
