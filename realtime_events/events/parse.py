"""Parsing of server frames and validation of client events.

:func:`parse_server_event` is on the hot path of every connection: a frame that
matches a known event costs one ``validate_json`` call over a discriminated union,
and everything else (diagnosing bad frames, keeping unknown events) happens only
after that call has failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, TypeVar, Union, get_args

import pydantic_core
from pydantic import Field, TypeAdapter, ValidationError

from ..errors import InvalidEventError, InvalidFrameError
from . import (
    client,
    conversation,
    input_audio_buffer,
    mcp,
    misc,
    output_audio_buffer,
    response,
    session,
)
from ._base import ClientEvent, ServerEvent, UnknownServerEvent

__all__ = [
    "CLIENT_EVENTS",
    "CLIENT_EVENT_CLASSES",
    "REALTIME_EVENTS",
    "SERVER_EVENTS",
    "SERVER_EVENT_CLASSES",
    "AnyClientEvent",
    "AnyServerEvent",
    "EventUnion",
    "parse_client_event",
    "parse_server_event",
]

_E = TypeVar("_E", bound=ClientEvent | ServerEvent)


def event_models(
    base: type[_E], *modules: ModuleType, leave_out: tuple[type, ...] = ()
) -> tuple[type[_E], ...]:
    """The public subclasses of ``base`` defined in ``modules``, in definition order.

    Shared with the Live protocol's parser (:mod:`realtime_events.live.parse`).
    """
    return tuple(
        value
        for module in modules
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, base)
        and value.__module__ == module.__name__
        and not name.startswith("_")
        and value not in leave_out
    )


# The one list of events is their definitions: a public model in one of these
# modules is parsed, dispatched, exported (see the package) and typed by the
# generated overloads. Private classes (``_ContentEvent``) are shared bases.
#: Every server event model.
SERVER_EVENTS: tuple[type[ServerEvent], ...] = event_models(
    ServerEvent,
    response,
    conversation,
    input_audio_buffer,
    output_audio_buffer,
    mcp,
    session,
    misc,
)
#: Every client event model.
CLIENT_EVENTS: tuple[type[ClientEvent], ...] = event_models(ClientEvent, client)

if TYPE_CHECKING:
    # A union built at run time is no static type: checkers see the base class.
    AnyServerEvent: TypeAlias = ServerEvent
    AnyClientEvent: TypeAlias = ClientEvent
else:
    # Built once, here: the discriminator makes validation one dict lookup on
    # ``type``, whatever the order or the number of members. ``Union[...]``
    # because a tuple of classes has no ``|`` spelling (UP007 would drop it).
    #: Any known server event, discriminated on ``type`` (both spellings of renamed events).
    AnyServerEvent = Annotated[Union[SERVER_EVENTS], Field(discriminator="type")]  # noqa: UP007
    #: Any known client event, discriminated on ``type``.
    AnyClientEvent = Annotated[Union[CLIENT_EVENTS], Field(discriminator="type")]  # noqa: UP007

_SERVER_ADAPTER: TypeAdapter[AnyServerEvent] = TypeAdapter(AnyServerEvent)
_CLIENT_ADAPTER: TypeAdapter[AnyClientEvent] = TypeAdapter(AnyClientEvent)
# The core validator's own method: TypeAdapter.validate_json only forwards its
# default options to it, a Python call per frame that the hot path can skip.
_validate_server_json = _SERVER_ADAPTER.validator.validate_json


def classes_by_type(models: tuple[type[_E], ...]) -> dict[str, type[_E]]:
    """Every wire spelling of each model's ``type`` -> the model."""
    # The ``type`` literals are the single source of truth for wire spellings.
    return {name: cls for cls in models for name in get_args(cls.model_fields["type"].annotation)}


#: Every wire spelling of every known server event (GA and beta) -> its class.
SERVER_EVENT_CLASSES: dict[str, type[ServerEvent]] = classes_by_type(SERVER_EVENTS)

#: Every client event type (both dialects) -> its class.
CLIENT_EVENT_CLASSES: dict[str, type[ClientEvent]] = classes_by_type(CLIENT_EVENTS)


def parse_server_event(data: bytes | bytearray | str) -> ServerEvent:
    """Parse one text frame from the server into its event model.

    A known event that lacks an omittable field (one the SDK documents but real
    servers leave out) is still its typed model, with ``None`` there and the field
    named in ``missing_fields``: the one ``validate_json`` call accepts it. An event
    whose ``type`` is unknown, or that lacks one of its ``needed_fields`` or has a
    field of the wrong type, comes back as :class:`UnknownServerEvent` with every
    field kept; in the second case its ``validation_error`` says what did not match.

    Raises:
        InvalidFrameError: the frame is not JSON, not a JSON object, or has no string
            ``type``.
    """
    try:
        return _validate_server_json(data)  # type: ignore[no-any-return]
    except ValidationError as error:
        return irregular_server_event(data, error, SERVER_EVENT_CLASSES)


def irregular_server_event(
    data: bytes | bytearray | str,
    error: ValidationError,
    classes: Mapping[str, type[ServerEvent]],
) -> ServerEvent:
    """The frame that failed the union's ``validate_json``: kept whole, or refused.

    ``classes`` are the protocol's known types (a known one also gets the error of
    its own class). Shared with the Live protocol's parser.

    Raises:
        InvalidFrameError: the frame is not JSON, not a JSON object, or has no
            string ``type``.
    """
    frame = bytes(data) if isinstance(data, bytearray) else data
    try:
        # The same parser as validate_json, so both paths agree on what is JSON.
        obj = pydantic_core.from_json(data)
    except ValueError as exc:
        raise InvalidFrameError(f"server frame is not valid JSON: {exc}", frame) from exc
    if not isinstance(obj, dict):
        raise InvalidFrameError(
            f"server frame is a JSON {_json_kind(obj)}, not an object", frame
        ) from error
    event_type = obj.get("type")
    if not isinstance(event_type, str):
        raise InvalidFrameError("server frame has no string 'type' field", frame) from error
    cls = classes.get(event_type)
    event = UnknownServerEvent.model_validate(obj)
    if cls is not None:
        try:
            # Validating against the one class gives an error without the union's
            # discriminator noise in every location.
            cls.model_validate(obj)
        except ValidationError as exc:
            event._validation_error = exc
        else:  # pragma: no cover - validate_json and model_validate agree in practice
            event._validation_error = error
    return event


@dataclass(frozen=True, slots=True, eq=False)
class EventUnion:
    """One protocol's server events, as a session's frame parser takes them.

    ``parse`` reads any frame (see :func:`parse_server_event`); ``validate`` is
    the one ``validate_json`` call over the discriminated union that ``parse``
    starts with, which raises :class:`~pydantic.ValidationError` for every frame
    that needs more (an unknown type, a bad payload, no JSON), and returns an
    instance of one of ``models`` for every other. A reader can call
    ``validate`` directly and hand ``parse`` only what it refused: a Python call
    less per frame on the path every event takes.
    """

    models: tuple[type[ServerEvent], ...]
    validate: Callable[[bytes | bytearray | str], ServerEvent]
    parse: Callable[[bytes | bytearray | str], ServerEvent]


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def parse_client_event(event: ClientEvent | Mapping[str, Any]) -> ClientEvent:
    """Return a client event model: a model as given, or a mapping validated into one.

    Raises:
        InvalidEventError: the mapping has no known ``type`` or its fields do not match
            that event; the message names the event type and the bad fields, and the
            :class:`pydantic.ValidationError` is chained.
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
            describe_client_error(data.get("type"), exc, CLIENT_EVENT_CLASSES, _UNION_BRANCHES)
        ) from exc


# The model branches of the dict-or-model fields of client events (see client.py).
_UNION_BRANCHES = frozenset(
    {
        "dict[str,any]",
        "ConversationItem",
        "RealtimeSessionInfo",
        "ResponseCreateParams",
        "TranscriptionSessionConfig",
    }
)


def describe_client_error(
    event_type: Any,
    error: ValidationError,
    classes: Mapping[str, type[ClientEvent]],
    branches: frozenset[str],
    *,
    protocol: str = "",
) -> str:
    """What is wrong with a client event, by field: the message of :class:`InvalidEventError`.

    ``classes`` are the protocol's client events, ``branches`` the model names of
    its mapping-or-model fields (a field fails once per branch: name the field,
    not the branches), ``protocol`` a word naming the protocol in the message
    (``"Live "``). Shared with the Live protocol's parser.
    """
    if event_type is None:
        return "client event has no 'type' field"
    if not isinstance(event_type, str) or event_type not in classes:
        known = ", ".join(sorted(classes))
        return f"unknown {protocol}client event type {event_type!r} (known: {known})"
    problems: dict[str, list[str]] = {}
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if loc and loc[0] == event_type:  # the discriminated union's tag
            loc = loc[1:]
        where = ".".join(str(part) for part in loc if part not in branches) or "(event)"
        # A configuration's check raised InvalidConfigError (a ValueError): its own words.
        message = detail["msg"].removeprefix("Value error, ")
        messages = problems.setdefault(where, [])
        if message not in messages:
            messages.append(message)
    described = "; ".join(f"{where}: {' / '.join(msgs)}" for where, msgs in problems.items())
    return f"invalid {event_type!r} client event: {described}"


#: The Realtime protocol's server events (both dialects).
REALTIME_EVENTS = EventUnion(SERVER_EVENTS, _validate_server_json, parse_server_event)
