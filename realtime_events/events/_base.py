"""Base classes shared by every event model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError


class Event(BaseModel):
    """Anything dispatched to handlers: a server event, a client event or a plugin event.

    Unknown fields are kept (``extra="allow"``), so a newer server never loses data
    on an older client.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: str


class ServerEvent(Event):
    """An event sent by the Realtime server.

    Each concrete subclass accepts every wire spelling of its event in ``type``
    (the GA name and, for the six renamed events, the beta name) and keeps the
    spelling it received. ``canonical_type`` is the GA name that dispatch keys on.
    """

    canonical_type: ClassVar[str] = ""
    beta_type: ClassVar[str | None] = None


class ClientEvent(Event):
    """An event sent by the client to the Realtime server.

    ``type`` always counts as set, so ``model_dump_json(exclude_unset=True)`` writes
    exactly the fields the caller gave plus the event type.
    """

    canonical_type: ClassVar[str] = ""

    event_id: str | None = None

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.add("type")

    def to_json(self) -> bytes:
        """Serialize for the wire: the fields that were set, and ``type``."""
        return self.model_dump_json(exclude_unset=True, by_alias=True).encode()


class UnknownServerEvent(ServerEvent):
    """A server event whose ``type`` this library does not know, or that failed validation.

    Every field of the frame is kept as an extra attribute (``event.model_extra``).
    ``validation_error`` is set when the type is known but the payload did not match
    its model; it is ``None`` for a type that is simply new.
    """

    _validation_error: ValidationError | None = PrivateAttr(default=None)

    @property
    def validation_error(self) -> ValidationError | None:
        """The error that made a known event fall back to this class, if any."""
        return self._validation_error


class PluginEvent(Event):
    """An event published by a plugin with ``Session.emit``: a name and any fields.

    Fields are attributes (``event.turn``) and may hold any Python object; they
    are not validated.
    """

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)
