"""Parsing of Live server frames and validation of Live client events.

The same contract as :mod:`realtime_events.events.parse`, for the other
protocol: :func:`parse_live_server_event` costs one ``validate_json`` call over
a discriminated union for a known event, and only a frame that fails it pays
for the diagnosis; an unknown or invalid event comes back as
:class:`~realtime_events.events.UnknownServerEvent` with every field kept.
:func:`parse_live_client_event` refuses a bad client event with the event type
and the bad fields named.

The name tables (:data:`LIVE_SERVER_EVENT_CLASSES`,
:data:`LIVE_CLIENT_EVENT_CLASSES`) are what a session speaking Live checks
handler names against and what the typed overloads are generated from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import Field, TypeAdapter, ValidationError

from ..errors import InvalidEventError
from ..events._base import ClientEvent, ServerEvent
from ..events.parse import (
    EventUnion,
    classes_by_type,
    describe_client_error,
    event_models,
    irregular_server_event,
)
from . import client, events

__all__ = [
    "LIVE_CLIENT_EVENTS",
    "LIVE_CLIENT_EVENT_CLASSES",
    "LIVE_EVENTS",
    "LIVE_SERVER_EVENTS",
    "LIVE_SERVER_EVENT_CLASSES",
    "AnyLiveClientEvent",
    "AnyLiveServerEvent",
    "parse_live_client_event",
    "parse_live_server_event",
]

# The one list of events is their definitions, as for Realtime: a public model of
# events.py or client.py is parsed, validated and named here.
#: Every Live server event model: the SDK's 28, and WebRTC's ``session.paused`` and ``resumed``.
LIVE_SERVER_EVENTS: tuple[type[ServerEvent], ...] = event_models(ServerEvent, events)
#: Every Live client event model: the SDK's 15, and the sideband's ``transport.dtmf.send``.
#: (A fork's ``session.start`` is :class:`~.client.LiveForkSessionStartEvent`, built directly.)
LIVE_CLIENT_EVENTS: tuple[type[ClientEvent], ...] = event_models(
    ClientEvent, client, leave_out=(client.LiveForkSessionStartEvent,)
)

if TYPE_CHECKING:
    AnyLiveServerEvent: TypeAlias = ServerEvent
    AnyLiveClientEvent: TypeAlias = ClientEvent
else:
    #: Any known Live server event, discriminated on ``type``.
    AnyLiveServerEvent = Annotated[Union[LIVE_SERVER_EVENTS], Field(discriminator="type")]  # noqa: UP007
    #: Any known Live client event, discriminated on ``type``.
    AnyLiveClientEvent = Annotated[Union[LIVE_CLIENT_EVENTS], Field(discriminator="type")]  # noqa: UP007

_SERVER_ADAPTER: TypeAdapter[AnyLiveServerEvent] = TypeAdapter(AnyLiveServerEvent)
_CLIENT_ADAPTER: TypeAdapter[AnyLiveClientEvent] = TypeAdapter(AnyLiveClientEvent)
# The core validator's own method, skipping TypeAdapter's per-call forwarding.
_validate_server_json = _SERVER_ADAPTER.validator.validate_json


#: Every Live server event type -> its class.
LIVE_SERVER_EVENT_CLASSES: dict[str, type[ServerEvent]] = classes_by_type(LIVE_SERVER_EVENTS)
#: Every Live client event type -> its class.
LIVE_CLIENT_EVENT_CLASSES: dict[str, type[ClientEvent]] = classes_by_type(LIVE_CLIENT_EVENTS)


def parse_live_server_event(data: bytes | bytearray | str) -> ServerEvent:
    """Parse one text frame from a Live server into its event model.

    A known event that lacks an omittable field (a timeline position, the
    final usage) is still its typed model, with the field named in
    ``missing_fields``. An event whose ``type`` is unknown, or that lacks a
    needed field or has one of the wrong type, comes back as
    :class:`UnknownServerEvent` with every field kept; in the second case its
    ``validation_error`` says what did not match.

    Raises:
        InvalidFrameError: the frame is not JSON, not a JSON object, or has no string
            ``type``.
    """
    try:
        return _validate_server_json(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        return irregular_server_event(data, error, LIVE_SERVER_EVENT_CLASSES)


def parse_live_client_event(event: ClientEvent | Mapping[str, Any]) -> ClientEvent:
    """Return a Live client event model: a model as given, or a mapping validated into one.

    Raises:
        InvalidEventError: the mapping has no known Live ``type`` or its fields do not
            match that event; the message names the event type and the bad fields
            (a configuration's by their path), and the ValidationError is chained.
    """
    if isinstance(event, ClientEvent):
        return event
    if not isinstance(event, Mapping):
        raise InvalidEventError(
            f"a client event must be a ClientEvent or a mapping, not {type(event).__name__}"
        )
    data = dict(event)
    try:
        return _CLIENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise InvalidEventError(
            describe_client_error(
                data.get("type"), exc, LIVE_CLIENT_EVENT_CLASSES, _UNION_BRANCHES, protocol="Live "
            )
        ) from exc


# The model branches of the mapping-or-model fields of client events (see client.py).
_UNION_BRANCHES = frozenset(
    {"dict[str,any]", "LiveSessionConfig", "LiveSessionUpdate", "LiveDecisionItem"}
)


#: The Live protocol's server events, as a session's frame parser takes them.
LIVE_EVENTS = EventUnion(LIVE_SERVER_EVENTS, _validate_server_json, parse_live_server_event)
