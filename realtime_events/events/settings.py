"""Typed session and response settings: what ``session.update`` and ``response.create`` configure.

The objects inside a session configuration (turn detection, transcription, noise
reduction, tools, tool choice, reasoning, truncation, tracing, prompt, audio) and
inside a response's overrides, modelled on the GA API with the beta spellings kept
where they differ. They follow the conventions of :mod:`.payloads`: every field is
optional, unknown fields are kept, and enumerated values are plain ``str``, so a
newer server never turns a whole event into a validation failure. What the API
accepts is checked on the way out, by :func:`realtime_events.config.check_config`.

Objects that come in kinds (turn detection, tools, tool choice, truncation) parse
into the model of their ``type`` (:class:`ServerVad`, :class:`McpTool`...), and into
their base model, every field kept, when the ``type`` is one this library does not
know. A kind's ``type`` has its default and counts as set, so ``SemanticVad()``
is sent as ``{"type": "semantic_vad"}``.

Settings used to be plain dicts, and they still read like one: ``tool["name"]``
and ``tool.get("name")`` give what the server sent (a ``KeyError`` or the default
for a field it did not send).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeAlias, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

__all__ = [
    "AudioConfig",
    "AudioFormatConfig",
    "AudioInputConfig",
    "AudioOutputConfig",
    "AudioTranscription",
    "CustomVoice",
    "FunctionTool",
    "FunctionToolChoice",
    "McpApprovalFilter",
    "McpTool",
    "McpToolChoice",
    "McpToolFilter",
    "NoiseReduction",
    "Prompt",
    "Reasoning",
    "RetentionRatioTruncation",
    "SemanticVad",
    "ServerVad",
    "Setting",
    "TokenLimits",
    "Tool",
    "ToolChoice",
    "ToolChoiceSetting",
    "ToolSetting",
    "TracingConfig",
    "TracingSetting",
    "Truncation",
    "TruncationSetting",
    "TurnDetection",
    "TurnDetectionSetting",
    "VoiceSetting",
]


class Setting(BaseModel):
    """Base of the settings models: extra fields kept, readable by key like the dict it was."""

    model_config = ConfigDict(extra="allow")

    #: Whether this class is a kind (its ``type`` has a default), worked out once
    #: per class: ``model_post_init`` runs for every setting of every event.
    _sends_type: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.__pydantic_fields__.get("type")
        cls._sends_type = field is not None and field.default is not None

    def model_post_init(self, context: Any, /) -> None:
        # A kind's ``type`` (``ServerVad.type``) is part of what it says: always sent.
        if self._sends_type:
            self.__pydantic_fields_set__.add("type")

    def __getitem__(self, key: str) -> Any:
        """The value of a field the server sent (or the caller set), or of an extra field."""
        if key in self:
            return getattr(self, key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self.model_fields_set or key in (self.model_extra or {})

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]``, or ``default`` for a field that was not sent."""
        return getattr(self, key) if key in self else default


#: The tags of the kinds' unions: they name a branch in a validation error's
#: location, not a field, and :mod:`.client` leaves them out of its messages.
KIND_TAGS: set[str] = set()


def _kinds(base: type[Setting], *kinds: type[Setting], default: str | None = None) -> Discriminator:
    """Parse into the kind a ``type`` names (``default`` when absent), else into ``base``."""
    known = {kind.model_fields["type"].default: kind.__name__ for kind in kinds}
    KIND_TAGS.update(cls.__name__ for cls in (base, *kinds))

    def kind_of(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            return next((k.__name__ for k in kinds if isinstance(value, k)), base.__name__)
        if not isinstance(value, dict):
            return None  # not an object: the error below
        tag = value.get("type", default)
        return known.get(tag, base.__name__) if isinstance(tag, str) else base.__name__

    return Discriminator(
        kind_of,
        custom_error_type="setting_type",
        custom_error_message=f"Input should be a valid dictionary or instance of {base.__name__}",
    )


# -- audio ---------------------------------------------------------------------


class AudioFormatConfig(Setting):
    """A GA audio format: ``{"type": "audio/pcm", "rate": 24000}``, ``audio/pcmu``, ``audio/pcma``.

    Beta names its formats with strings (``pcm16``, ``g711_ulaw``, ``g711_alaw``);
    :class:`realtime_events.audio.AudioFormat` converts between the two.
    """

    type: str | None = None
    #: The sample rate; only ``audio/pcm`` has one (24000).
    rate: int | None = None


class AudioTranscription(Setting):
    """Transcription of the user's audio: ``audio.input.transcription`` (beta: ``input_audio_...``).

    ``model`` is ``whisper-1``, ``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``,
    ``gpt-4o-transcribe-diarize``, ``gpt-realtime-whisper``... ``language`` is an
    ISO-639-1 code; ``prompt`` guides the model (keywords for ``whisper-1``, free
    text for the ``gpt-4o`` models).
    """

    model: str | None = None
    language: str | None = None
    prompt: str | None = None
    #: Possible languages of the audio (``gpt-transcribe`` models).
    languages: list[str] | None = None
    #: Words or phrases to listen for (``gpt-transcribe`` models).
    keywords: list[str] | None = None
    #: How long to wait before emitting text: ``minimal`` to ``xhigh`` (``gpt-realtime-whisper``).
    delay: str | None = None


class NoiseReduction(Setting):
    """Noise reduction of input audio: ``near_field`` (headsets) or ``far_field`` (rooms)."""

    type: str | None = None
    #: Suppression strength (higher suppresses more; 1 when first enabled).
    strength: float | None = None


class TurnDetection(Setting):
    """Voice activity detection: :class:`ServerVad` or :class:`SemanticVad`.

    This base holds a kind of turn detection this library does not know, every
    field kept. ``None`` instead of an object turns detection off (push to talk).
    """

    type: str | None = None
    #: Whether a response starts when the user stops speaking.
    create_response: bool | None = None
    #: Whether the user speaking interrupts (cancels) a response in progress.
    interrupt_response: bool | None = None


class ServerVad(TurnDetection):
    """``server_vad``: turns end after a stretch of silence (beta's default kind).

    ``idle_timeout_ms`` starts a response (and sends
    ``input_audio_buffer.timeout_triggered``) when the user stays silent that long
    after the model finished speaking.
    """

    type: Literal["server_vad"] = "server_vad"
    #: Activation threshold, 0.0 to 1.0; higher needs louder audio.
    threshold: float | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    idle_timeout_ms: int | None = None


class SemanticVad(TurnDetection):
    """``semantic_vad``: a model judges from the words whether the user has finished.

    ``eagerness`` is ``low``, ``medium``, ``high`` or ``auto``: how soon to answer.
    """

    type: Literal["semantic_vad"] = "semantic_vad"
    eagerness: str | None = None


#: ``turn_detection``: a kind of turn detection, or ``None`` for none. A missing
#: ``type`` is ``server_vad``, as in beta.
TurnDetectionSetting: TypeAlias = Annotated[
    Union[  # noqa: UP007 - tagged members have no ``|`` spelling
        Annotated[ServerVad, Tag("ServerVad")],
        Annotated[SemanticVad, Tag("SemanticVad")],
        Annotated[TurnDetection, Tag("TurnDetection")],
    ],
    _kinds(TurnDetection, ServerVad, SemanticVad, default="server_vad"),
]


class CustomVoice(Setting):
    """A custom voice, named by its id (``{"id": "voice_..."}``) instead of a built-in name."""

    id: str | None = None


#: ``voice``: a built-in voice's name (``marin``, ``cedar``, ``alloy``...) or a custom voice.
VoiceSetting: TypeAlias = Annotated[str | CustomVoice, Field(union_mode="left_to_right")]


class AudioInputConfig(Setting):
    """GA ``audio.input``: the format of input audio and what is done with it."""

    format: AudioFormatConfig | None = None
    transcription: AudioTranscription | None = None
    noise_reduction: NoiseReduction | None = None
    turn_detection: TurnDetectionSetting | None = None


class AudioOutputConfig(Setting):
    """GA ``audio.output`` (of a session, or of a response without ``speed``)."""

    format: AudioFormatConfig | None = None
    voice: VoiceSetting | None = None
    #: Speaking speed, 0.25 to 1.5.
    speed: float | None = None


class AudioConfig(Setting):
    """GA ``audio``: the ``input`` and ``output`` audio settings."""

    input: AudioInputConfig | None = None
    output: AudioOutputConfig | None = None


# -- tools -----------------------------------------------------------------------


class Tool(Setting):
    """A tool the model may call: :class:`FunctionTool` or :class:`McpTool`.

    This base holds a kind of tool this library does not know, every field kept.
    """

    type: str | None = None


class FunctionTool(Tool):
    """A function the application runs: its name, description and JSON-schema ``parameters``."""

    type: Literal["function"] = "function"
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None


class McpToolFilter(Setting):
    """A choice of an MCP server's tools: by name, or the read-only ones."""

    tool_names: list[str] | None = None
    read_only: bool | None = None


class McpApprovalFilter(Setting):
    """Which MCP tools ``always`` and which ``never`` need the application's approval."""

    always: McpToolFilter | None = None
    never: McpToolFilter | None = None


class McpTool(Tool):
    """An MCP server (``server_url`` or ``tunnel_id``) or an OpenAI connector (``connector_id``).

    The server runs the calls itself; ``require_approval`` (``always``, ``never``
    or a :class:`McpApprovalFilter`) says which ones wait for an
    ``mcp_approval_response`` from the application.
    """

    type: Literal["mcp"] = "mcp"
    server_label: str | None = None
    server_url: str | None = None
    server_description: str | None = None
    #: ``connector_gmail``, ``connector_googledrive``, ``connector_sharepoint``...
    connector_id: str | None = None
    #: An OAuth access token for the server or connector.
    authorization: str | None = None
    #: HTTP headers sent to the server.
    headers: dict[str, str] | None = None
    allowed_tools: Annotated[
        list[str] | McpToolFilter | None, Field(union_mode="left_to_right")
    ] = None
    require_approval: Annotated[
        str | McpApprovalFilter | None, Field(union_mode="left_to_right")
    ] = None
    #: A Secure MCP Tunnel to reach the server through, instead of ``server_url``.
    tunnel_id: str | None = None
    #: Whether the server's tools are listed only when the model asks for them.
    defer_loading: bool | None = None
    #: Who may call the tools: ``direct`` and/or ``programmatic``.
    allowed_callers: list[str] | None = None


#: One entry of ``tools``.
ToolSetting: TypeAlias = Annotated[
    Union[  # noqa: UP007 - tagged members have no ``|`` spelling
        Annotated[FunctionTool, Tag("FunctionTool")],
        Annotated[McpTool, Tag("McpTool")],
        Annotated[Tool, Tag("Tool")],
    ],
    _kinds(Tool, FunctionTool, McpTool),
]


class ToolChoice(Setting):
    """A forced tool: :class:`FunctionToolChoice` or :class:`McpToolChoice`.

    This base holds a kind this library does not know, every field kept.
    """

    type: str | None = None


class FunctionToolChoice(ToolChoice):
    """Force a call of the function ``name``."""

    type: Literal["function"] = "function"
    name: str | None = None


class McpToolChoice(ToolChoice):
    """Force a call of a tool (``name``, or any) of the MCP server ``server_label``."""

    type: Literal["mcp"] = "mcp"
    server_label: str | None = None
    name: str | None = None


_ToolChoiceKind: TypeAlias = Annotated[
    Union[  # noqa: UP007 - tagged members have no ``|`` spelling
        Annotated[FunctionToolChoice, Tag("FunctionToolChoice")],
        Annotated[McpToolChoice, Tag("McpToolChoice")],
        Annotated[ToolChoice, Tag("ToolChoice")],
    ],
    _kinds(ToolChoice, FunctionToolChoice, McpToolChoice),
]
#: ``tool_choice``: a mode (``auto``, ``none``, ``required``) or a forced tool.
ToolChoiceSetting: TypeAlias = Annotated[str | _ToolChoiceKind, Field(union_mode="left_to_right")]


# -- the model's behaviour -----------------------------------------------------------


class Reasoning(Setting):
    """Reasoning of reasoning models (``gpt-realtime-2``): ``effort``, ``minimal`` to ``xhigh``."""

    effort: str | None = None


class Prompt(Setting):
    """A stored prompt template: its ``id``, an optional ``version``, and its ``variables``.

    A variable is a string or an input object (``input_text``, ``input_image``,
    ``input_file``).
    """

    id: str | None = None
    version: str | None = None
    variables: dict[str, Any] | None = None


class TokenLimits(Setting):
    """The token limits of truncation: ``post_instructions``, the conversation's budget."""

    post_instructions: int | None = None


class Truncation(Setting):
    """How the conversation is cut when it outgrows the context: :class:`RetentionRatioTruncation`.

    This base holds a kind this library does not know; the simple modes are the
    strings ``auto`` and ``disabled``.
    """

    type: str | None = None


class RetentionRatioTruncation(Truncation):
    """Truncate down to ``retention_ratio`` (0.0 to 1.0) of the budget, to truncate less often."""

    type: Literal["retention_ratio"] = "retention_ratio"
    retention_ratio: float | None = None
    token_limits: TokenLimits | None = None


_TruncationKind: TypeAlias = Annotated[
    Union[  # noqa: UP007 - tagged members have no ``|`` spelling
        Annotated[RetentionRatioTruncation, Tag("RetentionRatioTruncation")],
        Annotated[Truncation, Tag("Truncation")],
    ],
    _kinds(Truncation, RetentionRatioTruncation),
]
#: ``truncation``: ``auto``, ``disabled`` or a :class:`RetentionRatioTruncation`.
TruncationSetting: TypeAlias = Annotated[str | _TruncationKind, Field(union_mode="left_to_right")]


class TracingConfig(Setting):
    """Traces of the session in OpenAI's dashboard, under a workflow name, group and metadata."""

    workflow_name: str | None = None
    group_id: str | None = None
    metadata: dict[str, Any] | None = None


#: ``tracing``: ``auto`` (default names), a :class:`TracingConfig`, or ``None`` for off.
TracingSetting: TypeAlias = Annotated[str | TracingConfig, Field(union_mode="left_to_right")]
