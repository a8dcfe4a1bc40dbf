"""Payload models carried inside Live server events: usage, errors, delegations, decisions.

Lenient like :mod:`realtime_events.events.payloads`: extra fields are kept and
enumerated values are plain ``str``. A Decision item is one flat model for its
eight kinds (messages, function and custom tool calls and their outputs), told
apart by ``type``; the native Decision API response inside ``decision.event``
and the Responses event inside ``response.event`` stay mappings, as the SDK
keeps the latter.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "LiveContextWindow",
    "LiveDecisionItem",
    "LiveDecisionResult",
    "LiveDelegationInfo",
    "LiveErrorDetail",
    "LiveTransportError",
    "LiveUsage",
]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")


class LiveUsage(_Payload):
    """Cumulative billable duration of a session; do not add up values of several events."""

    seconds: float
    #: WebRTC sessions: the active and paused parts of ``seconds``.
    active_seconds: int | None = None
    paused_seconds: int | None = None


class LiveContextWindow(_Payload):
    """How full the context is: active tokens over the model's limit (compaction lowers it)."""

    usage_ratio: float


class LiveErrorDetail(_Payload):
    """What went wrong: ``code`` (``unknown_parameter``...), ``message``, ``type``, ``param``.

    ``client_event_id`` is the ``event_id`` of the client event that caused it, when given.
    """

    code: str
    message: str
    type: str
    client_event_id: str | None = None
    param: str | None = None


class LiveTransportError(_Payload):
    """Why an outbound SIP call could not be set up (``type`` is ``call_error``)."""

    code: str
    message: str
    type: str
    param: str | None = None


class LiveDelegationInfo(_Payload):
    """Delegated work: its ``id`` and ``target`` (``client``, ``responses`` or ``decisions``).

    Metadata only: the task itself is in the conversation. ``id`` is the
    ``delegation_id`` to answer a client delegation with; ``response_id`` is the
    Responses API response of a ``responses`` delegation.
    """

    id: str
    target: str
    type: str | None = None
    response_id: str | None = None


class LiveDecisionResult(_Payload):
    """The event nested in ``decision.event``: ``decision.completed`` and its ``decision``.

    ``decision`` is the native Decision API response (its model, ordered
    answers and usage), kept as the mapping it came as.
    """

    type: str
    decision: dict[str, Any]


class LiveDecisionItem(_Payload):
    """An input item of future decisions: a message, or a tool call or its output.

    ``type`` is ``message`` (with ``role`` and ``content``), ``function_call``
    (``call_id``, ``name``, ``arguments``), ``function_call_output``
    (``call_id``, ``output``), ``custom_tool_call`` (``call_id``, ``name``,
    ``input``) or ``custom_tool_call_output``. The server's copy has an ``id``.
    """

    type: str | None = None
    id: str | None = None
    role: str | None = None
    #: A message's content: a string, or parts (``input_text``, ``input_image``...).
    content: str | list[dict[str, Any]] | None = None
    call_id: str | None = None
    name: str | None = None
    namespace: str | None = None
    arguments: str | None = None
    input: str | None = None
    output: str | list[dict[str, Any]] | None = None
    status: str | None = None
