"""The Live server's ``error`` event, and the mistakes only the Live protocol has.

A client mistake is the Realtime engine's :class:`ClientError` (its field
readers raise it with the same codes and messages); this module renders it
in the Live shape: ``error.client_event_id`` names the command at fault, and
the event carries it at the top level too.
"""

from __future__ import annotations

from ..engine._constants import JSON
from ..engine._errors import ClientError

#: The Live models the local server answers as.
LIVE_MODELS = ("gpt-live-1", "gpt-live-1.1")


def error_payload(exc: ClientError, client_event_id: str | None) -> JSON:
    """The ``error`` object of a Live ``error`` event."""
    payload: JSON = {
        "type": exc.error_type,
        "code": exc.code or "invalid_request_error",
        "message": exc.message,
        "param": exc.param,
    }
    if client_event_id is not None:
        payload["client_event_id"] = client_event_id
    return payload


def not_started() -> ClientError:
    """A command before ``session.start``: the socket has no session yet."""
    return ClientError(
        "The session has not started. Send session.start first and wait for session.started.",
        "session_not_started",
        "type",
    )


def already_started() -> ClientError:
    """A second ``session.start`` on a socket whose session runs."""
    return ClientError(
        "The session has already started; session.start can only be sent once.",
        "session_already_started",
        "type",
    )


def session_closed() -> ClientError:
    """A command after ``session.close``."""
    return ClientError("The session is closed.", "session_closed")


def immutable(param: str) -> ClientError:
    """``immutable_field_update``: a startup setting a ``session.update`` tried to change."""
    return ClientError(
        f"Cannot update '{param}' after the session has started.", "immutable_field_update", param
    )


def requires_responses(kind: str) -> ClientError:
    """``response.*`` commands in a session that does not delegate to Responses."""
    return ClientError(f"{kind} requires Responses delegation.", "invalid_request_error")


def requires_decisions(kind: str) -> ClientError:
    """``decision.*`` commands in a session with no Decisions to run."""
    return ClientError(
        f"{kind} requires Decisions delegation or a Decisions trigger.", "invalid_request_error"
    )


def unknown_delegation(delegation_id: str) -> ClientError:
    """An append naming a delegation this session never created (or not a client one)."""
    return ClientError(
        f"Unknown client delegation: '{delegation_id}'.", "delegation_not_found", "delegation_id"
    )


def fixture_active(kind: str) -> ClientError:
    """Context appends are refused while an audio fixture plays."""
    return ClientError(
        f"{kind} is rejected while an audio fixture is active.", "audio_fixture_active"
    )


def too_long(param: str, limit: int) -> ClientError:
    """Appended content above its token limit."""
    return ClientError(
        f"Invalid '{param}': the content is limited to {limit} tokens.",
        "string_above_max_length",
        param,
    )
