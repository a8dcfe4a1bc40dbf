"""The Live session's configuration as typed models: what ``session.start`` carries.

A Live session is configured once, at startup: the model, the frontend
instructions, the audio format and voice, the text history it starts from
(``input``), who handles the work the model delegates (your application, a
Responses backend with its own tools, or the Decisions API), transcript
triggers, storage and the frontend data channel's permissions. Afterwards only
the delegation settings and the triggers change (``session.update``, see
:class:`LiveSessionUpdate`).

The same models read the server's snapshots (``session.started``,
``session.updated``, ``session.closed``; :class:`LiveSessionInfo`), so they are
lenient the way :mod:`realtime_events.events.payloads` is: unknown fields are
kept, enumerated values are plain ``str`` (a new voice or delegation kind must
not turn a whole event into a validation failure) and the union types of the
API (delegation kinds, audio formats, decision questions) are one flat model
each, told apart by ``type``. The allowed values are judged by
:func:`realtime_events.live.checks.check_live_config` instead, before anything
is sent. Deeper settings of a Responses backend (reasoning, text, tool choice,
tools other than functions) are kept as plain mappings, sent as given.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "LIVE_MODELS",
    "LiveAudio",
    "LiveAudioFormat",
    "LiveAudioOutput",
    "LiveClientConfig",
    "LiveCustomVoice",
    "LiveDataChannelConfig",
    "LiveDecisionQuestion",
    "LiveDecisionTrigger",
    "LiveDecisionsBackend",
    "LiveDelegation",
    "LiveForkConfig",
    "LiveFunctionTool",
    "LiveInputMessage",
    "LiveResponsesBackend",
    "LiveServerEventSelector",
    "LiveSessionConfig",
    "LiveSessionInfo",
    "LiveSessionUpdate",
    "LiveTextPart",
    "LiveTriggerDecisions",
]

#: The Live models the API names; another name is sent as given.
LIVE_MODELS = ("gpt-live-1", "gpt-live-1.1")


class _Model(BaseModel):
    """A settings object: extra fields kept, only the fields given are sent."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Tagged(_Model):
    """A settings object whose ``type`` has a default that is always sent.

    ``LiveFunctionTool(name="f")`` must go out with ``"type": "function"`` even
    though the caller did not write it, so ``type`` always counts as set.
    """

    def model_post_init(self, context: Any, /) -> None:
        self.__pydantic_fields_set__.add("type")


class LiveAudioFormat(_Model):
    """The audio encoding of a Live WebSocket, both directions.

    ``audio/pcm`` (mono 16-bit little-endian) at ``rate`` 16000 or 24000, or
    G.711 ``audio/pcmu`` / ``audio/pcma`` at 8000. WebRTC and SIP negotiate
    their own format and take none.
    """

    type: str
    rate: int | None = None


class LiveCustomVoice(_Model):
    """A custom voice, by its id (``voice_...``)."""

    id: str


class LiveAudioOutput(_Model):
    """The voice of the model's speech: a built-in name or a custom voice. Fixed at startup."""

    voice: str | LiveCustomVoice | None = None


class LiveAudio(_Model):
    """Startup audio settings: the WebSocket's ``format`` and the output voice. Fixed at startup."""

    format: LiveAudioFormat | None = None
    output: LiveAudioOutput | None = None


class LiveFunctionTool(_Tagged):
    """A function the Responses backend may call; your application runs it.

    The call arrives nested in a ``response.event``; the output goes back with
    ``response.item.create`` (a ``function_call_output`` item), then
    ``response.create`` lets the backend continue.
    """

    type: str = "function"
    name: str
    description: str | None = None
    #: A JSON schema of the arguments.
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


# A function tool is typed; the backend's other tools (web_search, file_search,
# mcp, shell...) stay the caller's mappings. Left to right, so that a mapping
# of another tool type is not forced into the function model.
_Tool = Annotated[LiveFunctionTool | dict[str, Any], Field(union_mode="left_to_right")]


class LiveResponsesBackend(_Model):
    """The Responses model that handles delegated work: its model, prompt and tools.

    ``model`` is required at startup; in a ``session.update`` every field is
    optional and the omitted ones keep their values.
    """

    model: str | None = None
    #: The backend's own prompt, separate from the Live model's instructions.
    instructions: str | None = None
    max_output_tokens: int | None = None
    parallel_tool_calls: bool | None = None
    #: ``{"effort": ..., "summary": ...}``.
    reasoning: dict[str, Any] | None = None
    service_tier: str | None = None
    #: ``{"verbosity": ...}``.
    text: dict[str, Any] | None = None
    #: ``"auto"``, ``"none"``, ``"required"`` or a mapping naming a tool.
    tool_choice: str | dict[str, Any] | None = None
    tools: list[_Tool] | None = None


class LiveDecisionQuestion(_Model):
    """A Decision question: ``choice`` (``choices``), ``predicate`` or ``score`` (``levels``)."""

    type: str
    #: A string, or a list of ``input_text`` / ``input_image`` / ``input_json`` parts.
    instructions: str | list[dict[str, Any]]
    name: str | None = None
    choices: list[dict[str, Any]] | None = None
    levels: list[dict[str, Any]] | None = None


class LiveDecisionsBackend(_Model):
    """The Decisions model and the questions it answers for delegated work."""

    model: str | None = None
    questions: list[LiveDecisionQuestion] | None = None


class LiveDelegation(_Model):
    """Who handles work the Live model delegates: ``client``, ``responses`` or ``decisions``.

    ``client``: your application, told by ``session.delegation.created`` and
    answering with ``session.commentary.append`` (or thinking, instructions)
    naming the delegation. ``responses``: a Responses backend
    (:class:`LiveResponsesBackend`) whose stream arrives as ``response.event``.
    ``decisions``: the Decision API (:class:`LiveDecisionsBackend`), answered
    as ``decision.event``. The kind cannot change after startup.
    """

    type: str
    #: How long to wait before an automatic spoken acknowledgement of a delegation.
    acknowledgement_delay_ms: int | None = None
    responses: LiveResponsesBackend | None = None
    decisions: LiveDecisionsBackend | None = None


class LiveTextPart(_Model):
    """The one text part of a history message: ``input_text``, or ``output_text`` (assistant)."""

    text: str
    type: str | None = None


class LiveInputMessage(_Model):
    """A message of the history a session starts from: ``developer``, ``user``, ``assistant``."""

    role: str
    content: list[LiveTextPart]
    id: str | None = None
    status: str | None = None
    type: str | None = None


class LiveTriggerDecisions(_Model):
    """The questions a transcript trigger asks the Decision API."""

    questions: list[LiveDecisionQuestion]


class LiveDecisionTrigger(_Tagged):
    """Ask the Decision API questions on each transcript delta of one side of the conversation.

    ``event_type`` is ``session.input_transcript.delta`` or
    ``session.output_transcript.delta``; at most one trigger per event type.
    """

    type: str = "decisions"
    event_type: str
    decisions: LiveTriggerDecisions


class LiveServerEventSelector(_Model):
    """A server event a WebRTC frontend may receive; ``response_event`` for ``response.event``."""

    type: str
    response_event: str | None = None


class LiveDataChannelConfig(_Model):
    """Which events an untrusted WebRTC frontend may send and receive: ``"all"`` or a list."""

    allowed_client_events: str | list[str] | None = None
    allowed_server_events: str | list[LiveServerEventSelector] | None = None


class LiveClientConfig(_Model):
    """Startup-only capabilities of an untrusted WebRTC frontend."""

    data_channel: LiveDataChannelConfig | None = None


class _SessionSettings(_Model):
    """The settings a Live session has besides its model."""

    audio: LiveAudio | None = None
    client: LiveClientConfig | None = None
    delegation: LiveDelegation | None = None
    #: Text-only history, at most 128 messages with one text part each.
    input: list[LiveInputMessage] | None = None
    #: The frontend prompt: voice, conversation, when to delegate. Fixed at startup.
    instructions: str | None = None
    safety_identifier: str | None = None
    #: Keep the session for forking and recording download (default False).
    store: bool | None = None
    triggers: list[LiveDecisionTrigger] | None = None


class LiveSessionConfig(_SessionSettings):
    """What ``session.start`` carries: the model and the startup settings."""

    model: str


class LiveSessionInfo(LiveSessionConfig):
    """The server's snapshot of a session: its settings resolved, with its id.

    ``id`` is what the sideband, fork and recording endpoints take. ``status``
    is ``active`` even in ``session.closed``'s final snapshot.
    """

    id: str
    expires_at: int | None = None
    status: str | None = None


class LiveSessionUpdate(_Model):
    """What ``session.update`` may change: the delegation settings (same kind) and the triggers.

    Omitted settings keep their values; ``triggers=[]`` turns triggers off.
    """

    delegation: LiveDelegation | None = None
    triggers: list[LiveDecisionTrigger] | None = None


class LiveForkConfig(_Model):
    """Overrides for a fork of a stored session; empty inherits everything (no new model)."""

    audio: LiveAudio | None = None
    client: LiveClientConfig | None = None
    delegation: LiveDelegation | None = None
    store: bool | None = None
