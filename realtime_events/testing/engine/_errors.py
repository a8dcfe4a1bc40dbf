"""The real server's error taxonomy, and the readers of JSON fields that raise it.

A client mistake is a :class:`ClientError`: the engine answers it with an
``error`` event whose code, message and ``param`` read like the real server's,
and the session goes on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

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
