"""The real server's error taxonomy, and the readers of JSON fields that raise it.

A client mistake is a :class:`ClientError`: the engine answers it with an
``error`` event whose code, message and ``param`` read like the real server's,
and the session goes on.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from typing import Any

from ...audio import MAX_APPEND_BYTES
from ._constants import JSON


class ClientError(Exception):
    """A client mistake, answered with an ``error`` event; the session goes on."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type

    def payload(self, client_event_id: str | None) -> JSON:
        """The ``error`` event's ``error`` object; ``event_id`` names the client event at fault."""
        return {
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": client_event_id,
        }


#: What the real server answers when it fails on an event: a bug must not end the session.
SERVER_ERROR = ClientError(
    "The server had an error while processing your request. Sorry about that!",
    error_type="server_error",
)


def json_kind(value: Any) -> str:
    """How the real server names a JSON value's type in its messages: ``an integer``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def missing(param: str) -> ClientError:
    """``missing_required_parameter``: ``param`` is required and absent."""
    return ClientError(
        f"Missing required parameter: '{param}'.", "missing_required_parameter", param
    )


def unknown(param: str) -> ClientError:
    """``unknown_parameter``: the server does not know ``param``."""
    return ClientError(f"Unknown parameter: '{param}'.", "unknown_parameter", param)


def wrong_type(param: str, expected: str, value: Any) -> ClientError:
    """``invalid_type``: ``param`` holds ``value`` where ``expected`` was expected."""
    return ClientError(
        f"Invalid type for '{param}': expected {expected}, but got {json_kind(value)} instead.",
        "invalid_type",
        param,
    )


def bad_value(param: str, value: Any, supported: Sequence[str]) -> ClientError:
    """``invalid_value``: ``value`` is not one of ``supported``, listed in the message."""
    quoted = [f"'{s}'" for s in supported]
    listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}"
    if len(quoted) == 2:
        listed = f"{quoted[0]} and {quoted[1]}"
    return ClientError(
        f"Invalid value: '{value}'. Supported values are: {listed}.", "invalid_value", param
    )


def out_of_range(param: str, value: Any, low: float, high: float) -> ClientError:
    """``decimal_above_max_value`` / ``decimal_below_min_value``: outside ``low``..``high``."""
    return ClientError(
        f"Invalid '{param}': expected a value between {low:g} and {high:g}, but got {value}.",
        "decimal_above_max_value" if value > high else "decimal_below_min_value",
        param,
    )


def key_set(names: str) -> frozenset[str]:
    """The allowed keys of an object, written as one space-separated string."""
    return frozenset(names.split())


def get_str(obj: Mapping[str, Any], key: str, param: str) -> str | None:
    """``obj[key]`` if it is a string, None if absent or null; ``param`` names it in errors."""
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise wrong_type(param, "a string", value)
    return value


def require_str(obj: Mapping[str, Any], key: str, param: str) -> str:
    """``obj[key]``, which must be a string."""
    value = get_str(obj, key, param)
    if value is None:
        raise missing(param)
    return value


def get_int(obj: Mapping[str, Any], key: str, param: str) -> int | None:
    """``obj[key]`` if it is an integer (not a boolean), None if absent or null."""
    value = obj.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise wrong_type(param, "an integer", value)
    return value


def require_int(obj: Mapping[str, Any], key: str, param: str) -> int:
    """``obj[key]``, which must be an integer."""
    value = get_int(obj, key, param)
    if value is None:
        raise missing(param)
    return value


def get_number(obj: Mapping[str, Any], key: str, param: str) -> float | None:
    """``obj[key]`` as a float if it is a number (not a boolean), None if absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(param, "a number", value)
    return float(value)


def get_bool(obj: Mapping[str, Any], key: str, param: str) -> bool | None:
    """``obj[key]`` if it is a boolean, None if absent or null."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise wrong_type(param, "a boolean", value)
    return value


def require_list(obj: Mapping[str, Any], key: str, param: str) -> list[Any]:
    """``obj[key]``, which must be an array."""
    value = obj.get(key)
    if value is None:
        raise missing(param)
    if not isinstance(value, list):
        raise wrong_type(param, "an array", value)
    return value


def objects(value: Any, param: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each entry of ``value`` (an array of objects) with its name in errors, ``param[i]``.

    Entries are checked as they are reached, so the first mistake is the one reported.
    """
    if not isinstance(value, list):
        raise wrong_type(param, "an array", value)
    for index, entry in enumerate(value):
        where = f"{param}[{index}]"
        yield where, get_object(entry, where)


def require_audio(obj: Mapping[str, Any]) -> bytes:
    """The bytes of ``obj``'s base64 ``audio``; missing or not base64 is the client's error."""
    audio = require_str(obj, "audio", "audio")
    try:
        return base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(
            "Invalid 'audio': the audio must be base64-encoded.", "invalid_value", "audio"
        ) from None


def appended_audio(obj: Mapping[str, Any]) -> bytes:
    """An append's audio, as :func:`require_audio`, at most 15 MiB of base64 as the API allows."""
    data = require_audio(obj)
    if len(data) > MAX_APPEND_BYTES:
        raise ClientError(
            "Invalid 'audio': the audio of one event can be at most 15 MiB.",
            "invalid_value",
            "audio",
        )
    return data


def get_object(value: Any, param: str) -> Mapping[str, Any]:
    """``value``, which must be a JSON object."""
    if not isinstance(value, Mapping):
        raise wrong_type(param, "an object", value)
    return value


def only(obj: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    """Reject the first key of ``obj`` not in ``allowed`` as ``unknown_parameter``."""
    for key in obj:
        if key not in allowed:
            raise unknown(f"{prefix}.{key}")


def read_frame(frame: str | bytes) -> Mapping[str, Any]:
    """A client frame's JSON object; not JSON, or not an object, is the client's error."""
    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes | bytearray) else frame
        event = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ClientError(f"Invalid JSON: {exc}", "invalid_json") from None
    if not isinstance(event, dict):
        raise ClientError(
            f"Invalid type for event: expected an object, but got {json_kind(event)} instead.",
            "invalid_type",
        )
    return event


def answer_frame(
    frame: str | bytes,
    kinds: Collection[str],
    handle: Callable[[str, Mapping[str, Any]], list[JSON]],
    error: Callable[[ClientError, str | None], JSON],
    logger: logging.Logger,
) -> list[JSON]:
    """Hand one client frame to ``handle`` by its ``type`` (one of ``kinds``); return its events.

    Never raises for bad input: a client's mistake (not a JSON object, no or
    an unknown ``type``, a :class:`ClientError` from ``handle``) is answered
    with one ``error`` event made by ``error``, naming the client's event id.
    Any other exception is logged on ``logger`` and answered with
    :data:`SERVER_ERROR`: a bug must not end the session, as on the real server.
    """
    client_event_id: str | None = None
    try:
        event = read_frame(frame)
        raw_id = event.get("event_id")
        client_event_id = raw_id if isinstance(raw_id, str) else None
        kind = event.get("type")
        if kind is None:
            raise missing("type")
        if not isinstance(kind, str):
            raise wrong_type("type", "a string", kind)
        if kind not in kinds:
            raise bad_value("type", kind, tuple(kinds))
        return handle(kind, event)
    except ClientError as exc:
        return [error(exc, client_event_id)]
    except Exception:
        logger.exception("the engine failed on a client event; answering with server_error")
        return [error(SERVER_ERROR, client_event_id)]
