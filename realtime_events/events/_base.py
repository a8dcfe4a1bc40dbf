"""Base classes shared by every event model."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

_T = TypeVar("_T")


class _OmittedByRealServers:
    """The marker of :data:`Omittable` fields, found in their ``FieldInfo.metadata``."""

    def __repr__(self) -> str:
        return "OMITTABLE"


OMITTABLE = _OmittedByRealServers()

#: A field the SDK documents as always sent that real servers omit (``usage`` of a
#: whisper-1 transcription, say). It is optional, defaults to ``None`` and is listed
#: in :attr:`ServerEvent.missing_fields` when it is ``None``. ``Optional`` because a
#: generic alias cannot be written with ``|`` around a type variable at run time.
Omittable = Annotated[Optional[_T], OMITTABLE]  # noqa: UP045


class Event(BaseModel):
    """Anything dispatched to handlers: a server event, a client event or a plugin event.

    Unknown fields are kept (``extra="allow"``), so a newer server never loses data
    on an older client.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    #: The GA name a server or client event's class is dispatched by; "" for an
    #: event class of many names (a plugin's). Defined here so that reading it off
    #: any event class is a plain lookup: a missing class attribute goes through
    #: pydantic's metaclass, which raises and catches an error on every dispatch.
    canonical_type: ClassVar[str] = ""

    type: str


class ServerEvent(Event):
    """An event sent by the Realtime server.

    Each concrete subclass accepts every wire spelling of its event in ``type``
    (the GA name and, for the six renamed events, the beta name) and keeps the
    spelling it received. ``canonical_type`` is the GA name that dispatch keys on.
    """

    canonical_type: ClassVar[str] = ""
    beta_type: ClassVar[str | None] = None
    #: The fields without which the event cannot be used (besides ``type``): those
    #: with no default. A frame that lacks one is not this event but an
    #: :class:`UnknownServerEvent` whose ``validation_error`` names the field.
    needed_fields: ClassVar[frozenset[str]] = frozenset()
    #: The :data:`Omittable` fields: documented as always sent, tolerated missing.
    omittable_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        # Read off the annotations once per class, so the two lists cannot drift
        # from the models: a field is needed by having no default, omittable by
        # its marker.
        fields = cls.model_fields
        cls.needed_fields = frozenset(
            name for name, info in fields.items() if info.is_required() and name != "type"
        )
        cls.omittable_fields = tuple(
            name for name, info in fields.items() if OMITTABLE in info.metadata
        )

    @property
    def missing_fields(self) -> tuple[str, ...]:
        """The omittable fields this event came without (or with ``null``), in field order.

        Empty for a frame that has everything its model documents. Computed when
        read, so parsing pays nothing for it.
        """
        return tuple(name for name in self.omittable_fields if getattr(self, name) is None)


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
