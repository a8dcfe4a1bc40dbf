"""Session configuration: parse and apply ``session.update``, render the session; both dialects.

:class:`Config` is the session's effective configuration in the engine's own
form; the GA and beta wire shapes are read into it and rendered from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...audio import PCM16, AudioFormat
from ...events.names import Dialect
from ._constants import DEFAULT_INSTRUCTIONS, JSON
from ._errors import (
    ClientError,
    bad_value,
    get_bool,
    get_int,
    get_number,
    get_object,
    get_str,
    key_set,
    missing,
    objects,
    only,
    out_of_range,
    require_str,
    wrong_type,
)

_TRANSCRIPTION_KEYS = frozenset({"model", "language", "prompt", "delay", "keywords", "languages"})
_SERVER_VAD_KEYS = key_set(
    "type threshold prefix_padding_ms silence_duration_ms idle_timeout_ms create_response"
    " interrupt_response"
)
_SEMANTIC_VAD_KEYS = frozenset({"type", "eagerness", "create_response", "interrupt_response"})
# How long semantic VAD waits at each eagerness; it has no silence knob of its own.
EAGERNESS_SILENCE_MS = {"low": 1200, "medium": 700, "auto": 700, "high": 300}


@dataclass(slots=True)
class Config:
    """A session's effective configuration, independent of the dialect's wire shape."""

    model: str
    modalities: tuple[str, ...]
    voice: str | JSON
    input_format: AudioFormat = PCM16
    output_format: AudioFormat = PCM16
    instructions: str = DEFAULT_INSTRUCTIONS
    speed: float = 1.0
    turn_detection: JSON | None = None
    transcription: JSON | None = None
    noise_reduction: JSON | None = None
    tools: list[JSON] = field(default_factory=list)
    tool_choice: Any = "auto"
    max_output_tokens: int | str = "inf"
    temperature: float = 0.8
    tracing: Any = None
    truncation: Any = "auto"
    prompt: Any = None
    include: Any = None
    reasoning: JSON | None = None
    parallel_tool_calls: bool | None = None
    #: ``realtime`` (a conversation) or ``transcription`` (input transcription only).
    type: str = "realtime"

    @property
    def voice_name(self) -> str:
        """The voice's name: a built-in voice, or a custom voice's ``id``."""
        if isinstance(self.voice, Mapping):
            return str(self.voice.get("id", ""))
        return self.voice


def default_config(dialect: Dialect) -> Config:
    """The configuration a new session starts with in ``dialect``, as the real server's."""
    vad: JSON = {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "create_response": True,
        "interrupt_response": True,
    }
    if dialect == "ga":
        return Config(
            model="gpt-realtime",
            modalities=("audio",),
            voice="marin",
            turn_detection={**vad, "idle_timeout_ms": None},
        )
    return Config(
        model="gpt-4o-realtime-preview",
        modalities=("text", "audio"),
        voice="alloy",
        turn_detection=vad,
    )


def transcription_config(config: Config) -> Config:
    """A transcription session's starting configuration: input audio only, server VAD on."""
    return dataclasses.replace(config, type="transcription", tools=[], transcription=None)


def parse_modalities(value: Any, param: str, dialect: Dialect) -> tuple[str, ...]:
    """Output modalities: ``text`` or ``audio`` (GA), ``text`` or ``audio`` and ``text`` (beta)."""
    if not isinstance(value, list):
        raise wrong_type(param, "an array", value)
    for index, entry in enumerate(value):
        if entry not in ("text", "audio"):
            raise bad_value(f"{param}[{index}]", entry, ("text", "audio"))
    chosen = set(value)
    if dialect == "ga":
        allowed, shown = ({"text"}, {"audio"}), "['text'] and ['audio']"
    else:
        allowed, shown = ({"text"}, {"text", "audio"}), "['text'] and ['audio', 'text']"
    if chosen not in allowed or len(value) != len(chosen):
        raise ClientError(
            f"Invalid modalities: {value}. Supported combinations are: {shown}.",
            "invalid_value",
            param,
        )
    return tuple(value)


def parse_format(value: Any, param: str, dialect: Dialect) -> AudioFormat:
    """An audio format: a name (beta) or a ``{"type", "rate"}`` object (GA)."""
    if dialect == "beta":
        if value not in ("pcm16", "g711_ulaw", "g711_alaw"):
            raise bad_value(param, value, ("pcm16", "g711_ulaw", "g711_alaw"))
        return AudioFormat.from_wire(value)
    obj = get_object(value, param)
    only(obj, frozenset({"type", "rate"}), param)
    kind = require_str(obj, "type", f"{param}.type")
    if kind not in ("audio/pcm", "audio/pcmu", "audio/pcma"):
        raise bad_value(f"{param}.type", kind, ("audio/pcm", "audio/pcmu", "audio/pcma"))
    rate = get_int(obj, "rate", f"{param}.rate")
    if rate is not None and (kind != "audio/pcm" or rate != 24000):
        raise bad_value(f"{param}.rate", rate, ("24000",))
    return AudioFormat.from_wire(kind)


def _parse_turn_detection(value: Any, param: str, dialect: Dialect) -> JSON | None:
    """Turn detection, server or semantic VAD, with the real defaults; None turns it off."""
    if value is None:
        return None
    obj = get_object(value, param)
    kind = require_str(obj, "type", f"{param}.type")
    if kind not in ("server_vad", "semantic_vad"):
        raise bad_value(f"{param}.type", kind, ("server_vad", "semantic_vad"))
    keys = _SERVER_VAD_KEYS if kind == "server_vad" else _SEMANTIC_VAD_KEYS
    if dialect == "beta":
        keys = keys - {"idle_timeout_ms"}
    only(obj, keys, param)
    result: JSON = {"type": kind}
    if kind == "server_vad":
        threshold = get_number(obj, "threshold", f"{param}.threshold")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise out_of_range(f"{param}.threshold", threshold, 0.0, 1.0)
        result["threshold"] = 0.5 if threshold is None else threshold
        for key, default in (("prefix_padding_ms", 300), ("silence_duration_ms", 500)):
            number = get_int(obj, key, f"{param}.{key}")
            if number is not None and number < 0:
                raise out_of_range(f"{param}.{key}", number, 0, 10000)
            result[key] = default if number is None else number
        if dialect == "ga":
            result["idle_timeout_ms"] = get_int(obj, "idle_timeout_ms", f"{param}.idle_timeout_ms")
    else:
        eagerness = obj.get("eagerness", "auto")
        if eagerness not in EAGERNESS_SILENCE_MS:
            raise bad_value(f"{param}.eagerness", eagerness, ("low", "medium", "high", "auto"))
        result["eagerness"] = eagerness
    for key in ("create_response", "interrupt_response"):
        flag = get_bool(obj, key, f"{param}.{key}")
        result[key] = True if flag is None else flag
    return result


def _parse_transcription(value: Any, param: str, dialect: Dialect) -> JSON | None:
    """Input audio transcription settings; None turns it off."""
    if value is None:
        return None
    obj = get_object(value, param)
    only(
        obj,
        _TRANSCRIPTION_KEYS if dialect == "ga" else frozenset({"model", "language", "prompt"}),
        param,
    )
    for key in ("model", "language", "prompt"):
        get_str(obj, key, f"{param}.{key}")
    return dict(obj)


def _parse_noise_reduction(value: Any, param: str) -> JSON | None:
    """Input noise reduction settings; None turns it off."""
    if value is None:
        return None
    obj = get_object(value, param)
    only(obj, frozenset({"type", "strength"}), param)
    kind = obj.get("type")
    if kind is not None and kind not in ("near_field", "far_field"):
        raise bad_value(f"{param}.type", kind, ("near_field", "far_field"))
    return dict(obj)


def parse_tools(value: Any, param: str) -> list[JSON]:
    """Tools: functions (checked) and MCP servers (kept as sent)."""
    tools: list[JSON] = []
    for where, tool in objects(value, param):
        kind = tool.get("type", "function")
        if kind == "function":
            only(tool, frozenset({"type", "name", "description", "parameters"}), where)
            require_str(tool, "name", f"{where}.name")
            get_str(tool, "description", f"{where}.description")
            tools.append({"type": "function", **tool})
        elif kind == "mcp":
            tools.append(dict(tool))
        else:
            raise bad_value(f"{where}.type", kind, ("function", "mcp"))
    return tools


def parse_tool_choice(value: Any, param: str, dialect: Dialect) -> Any:
    """``auto``, ``none``, ``required``, or (GA) a function or MCP tool to call."""
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, str) or dialect == "beta":
        raise bad_value(param, value, ("auto", "none", "required"))
    obj = get_object(value, param)
    if obj.get("type") not in ("function", "mcp"):
        raise bad_value(f"{param}.type", obj.get("type"), ("function", "mcp"))
    return dict(obj)


def parse_max_tokens(value: Any, param: str) -> int | str:
    """Maximum output tokens: 1 to 4096, or ``inf``."""
    if value == "inf":
        return "inf"
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(param, "an integer or 'inf'", value)
    if not 1 <= value <= 4096:
        raise out_of_range(param, value, 1, 4096)
    return value


#: Reasoning efforts of reasoning models (``gpt-realtime-2``), in the order errors list them.
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")


def parse_reasoning(value: Any, param: str) -> JSON | None:
    """``reasoning: {"effort": ...}``; None leaves the model's default."""
    if value is None:
        return None
    obj = get_object(value, param)
    only(obj, frozenset({"effort"}), param)
    effort = obj.get("effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise bad_value(f"{param}.effort", effort, REASONING_EFFORTS)
    return {"effort": effort}


# The built-in voices the real API accepts by name, in the order its errors list them.
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")


def parse_voice(value: Any, param: str, dialect: Dialect) -> str | JSON:
    """A built-in voice by name, or (GA) a custom voice ``{"id": ...}``."""
    if isinstance(value, str):
        if value not in VOICES:
            raise bad_value(param, value, VOICES)
        return value
    if dialect == "ga" and isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return dict(value)
    raise wrong_type(param, "a string", value)


def _parse_speed(value: Any, param: str) -> float:
    """Speech speed, 0.25 to 1.5."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(param, "a number", value)
    if not 0.25 <= value <= 1.5:
        raise out_of_range(param, value, 0.25, 1.5)
    return float(value)


_GA_SESSION_KEYS = key_set(
    "type model instructions output_modalities audio tools tool_choice max_output_tokens"
    " tracing truncation prompt include parallel_tool_calls reasoning"
)
_BETA_SESSION_KEYS = key_set(
    "model instructions modalities voice input_audio_format output_audio_format"
    " input_audio_transcription turn_detection tools tool_choice temperature"
    " max_response_output_tokens tracing speed input_audio_noise_reduction client_secret"
)


def _apply_ga_session(config: Config, session: Mapping[str, Any], *, require_type: bool) -> Config:
    """``config`` with a GA session object applied."""
    p = "session"
    kind = session.get("type")
    if kind is None and require_type:
        raise missing("session.type")
    if kind is not None and kind not in ("realtime", "transcription"):
        raise bad_value("session.type", kind, ("realtime", "transcription"))
    if kind is not None and kind != config.type:
        # The type is fixed when the connection opens (``?intent=transcription``).
        raise ClientError(
            f"Passing a {kind} session update event to a {config.type} session is not allowed.",
            "invalid_parameter",
            "session.type",
        )
    if config.type == "transcription":
        return _apply_transcription_session(config, session)
    only(session, _GA_SESSION_KEYS, p)
    new = dataclasses.replace(config, tools=list(config.tools))
    if "model" in session:
        new.model = get_str(session, "model", "session.model") or new.model
    if "instructions" in session:
        new.instructions = get_str(session, "instructions", "session.instructions") or ""
    if "output_modalities" in session:
        new.modalities = parse_modalities(
            session["output_modalities"], "session.output_modalities", "ga"
        )
    if "audio" in session:
        _apply_ga_audio(new, get_object(session["audio"], "session.audio"))
    _apply_common(new, session, "ga", max_tokens_key="max_output_tokens")
    for key in ("truncation", "prompt", "include"):
        if key in session:
            setattr(new, key, session[key])
    if "reasoning" in session:
        new.reasoning = parse_reasoning(session["reasoning"], "session.reasoning")
    if "parallel_tool_calls" in session:
        param = "session.parallel_tool_calls"
        new.parallel_tool_calls = get_bool(session, "parallel_tool_calls", param)
    return new


def _apply_transcription_session(config: Config, session: Mapping[str, Any]) -> Config:
    """``config`` with a GA transcription session object applied: input audio and ``include``."""
    only(session, frozenset({"type", "audio", "include"}), "session")
    new = dataclasses.replace(config)
    if "audio" in session:
        _apply_ga_audio(new, get_object(session["audio"], "session.audio"), output=False)
    if "include" in session:
        new.include = session["include"]
    model = (new.transcription or {}).get("model")
    if model == "gpt-realtime-whisper" and new.turn_detection is not None:
        raise ClientError(
            "Turn detection is not supported for this transcription model.",
            "invalid_value",
            "session.audio.input.turn_detection",
        )
    return new


def _apply_ga_audio(new: Config, audio: Mapping[str, Any], *, output: bool = True) -> None:
    """Apply GA's ``session.audio`` to ``new``: input, and output unless ``output`` is false."""
    only(audio, frozenset({"input", "output"} if output else {"input"}), "session.audio")
    if "input" in audio:
        p = "session.audio.input"
        section = get_object(audio["input"], p)
        only(
            section, frozenset({"format", "transcription", "noise_reduction", "turn_detection"}), p
        )
        if "format" in section:
            new.input_format = parse_format(section["format"], f"{p}.format", "ga")
        if "transcription" in section:
            new.transcription = _parse_transcription(
                section["transcription"], f"{p}.transcription", "ga"
            )
        if "noise_reduction" in section:
            new.noise_reduction = _parse_noise_reduction(
                section["noise_reduction"], f"{p}.noise_reduction"
            )
        if "turn_detection" in section:
            new.turn_detection = _parse_turn_detection(
                section["turn_detection"], f"{p}.turn_detection", "ga"
            )
    if "output" in audio:
        p = "session.audio.output"
        section = get_object(audio["output"], p)
        only(section, frozenset({"format", "voice", "speed"}), p)
        if "format" in section:
            new.output_format = parse_format(section["format"], f"{p}.format", "ga")
        if "voice" in section:
            new.voice = parse_voice(section["voice"], f"{p}.voice", "ga")
        if "speed" in section:
            new.speed = _parse_speed(section["speed"], f"{p}.speed")


def _apply_beta_session(config: Config, session: Mapping[str, Any]) -> Config:
    """``config`` with a beta session object applied."""
    only(session, _BETA_SESSION_KEYS, "session")
    new = dataclasses.replace(config, tools=list(config.tools))
    if "model" in session:
        new.model = get_str(session, "model", "session.model") or new.model
    if "instructions" in session:
        new.instructions = get_str(session, "instructions", "session.instructions") or ""
    if "modalities" in session:
        new.modalities = parse_modalities(session["modalities"], "session.modalities", "beta")
    if "voice" in session:
        new.voice = parse_voice(session["voice"], "session.voice", "beta")
    if "input_audio_format" in session:
        new.input_format = parse_format(
            session["input_audio_format"], "session.input_audio_format", "beta"
        )
    if "output_audio_format" in session:
        new.output_format = parse_format(
            session["output_audio_format"], "session.output_audio_format", "beta"
        )
    if "input_audio_transcription" in session:
        new.transcription = _parse_transcription(
            session["input_audio_transcription"], "session.input_audio_transcription", "beta"
        )
    if "input_audio_noise_reduction" in session:
        new.noise_reduction = _parse_noise_reduction(
            session["input_audio_noise_reduction"], "session.input_audio_noise_reduction"
        )
    if "turn_detection" in session:
        new.turn_detection = _parse_turn_detection(
            session["turn_detection"], "session.turn_detection", "beta"
        )
    if "speed" in session:
        new.speed = _parse_speed(session["speed"], "session.speed")
    if "temperature" in session:
        temperature = get_number(session, "temperature", "session.temperature")
        if temperature is not None and not 0.6 <= temperature <= 1.2:
            raise out_of_range("session.temperature", temperature, 0.6, 1.2)
        new.temperature = new.temperature if temperature is None else temperature
    _apply_common(new, session, "beta", max_tokens_key="max_response_output_tokens")
    return new


def _apply_common(
    new: Config, session: Mapping[str, Any], dialect: Dialect, *, max_tokens_key: str
) -> None:
    """Apply the fields both dialects spell alike (but for the token limit's key)."""
    if "tools" in session:
        new.tools = parse_tools(session["tools"], "session.tools")
    if "tool_choice" in session:
        new.tool_choice = parse_tool_choice(session["tool_choice"], "session.tool_choice", dialect)
    if max_tokens_key in session:
        new.max_output_tokens = parse_max_tokens(
            session[max_tokens_key], f"session.{max_tokens_key}"
        )
    if "tracing" in session:
        new.tracing = session["tracing"]


def _render_ga_session(config: Config, session_id: str, expires_at: int) -> JSON:
    """The session as a GA server shows it."""
    session: JSON = {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": config.model,
        "output_modalities": list(config.modalities),
        "instructions": config.instructions,
        "tools": [dict(t) for t in config.tools],
        "tool_choice": config.tool_choice,
        "max_output_tokens": config.max_output_tokens,
        "tracing": config.tracing,
        "truncation": config.truncation,
        "prompt": config.prompt,
        "expires_at": expires_at,
        "audio": {
            "input": _render_ga_input(config),
            "output": {
                "format": config.output_format.to_wire("ga"),
                "voice": config.voice,
                "speed": config.speed,
            },
        },
        "include": config.include,
    }
    if config.reasoning is not None:
        session["reasoning"] = config.reasoning
    if config.parallel_tool_calls is not None:
        session["parallel_tool_calls"] = config.parallel_tool_calls
    return session


def _render_transcription_session(config: Config, session_id: str, expires_at: int) -> JSON:
    """A GA transcription session as the server shows it: input audio only."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "audio": {"input": _render_ga_input(config)},
        "include": config.include,
    }


def _render_ga_input(config: Config) -> JSON:
    """The input audio of a GA session, realtime or transcription: the same fields in both."""
    return {
        "format": config.input_format.to_wire("ga"),
        "transcription": config.transcription,
        "noise_reduction": config.noise_reduction,
        "turn_detection": config.turn_detection,
    }


def _render_beta_session(config: Config, session_id: str, expires_at: int) -> JSON:
    """The session as a beta server shows it."""
    return {
        "id": session_id,
        "object": "realtime.session",
        "model": config.model,
        "expires_at": expires_at,
        "modalities": list(config.modalities),
        "instructions": config.instructions,
        "voice": config.voice,
        "input_audio_format": config.input_format.name,
        "output_audio_format": config.output_format.name,
        "input_audio_transcription": config.transcription,
        "input_audio_noise_reduction": config.noise_reduction,
        "turn_detection": config.turn_detection,
        "tools": [dict(t) for t in config.tools],
        "tool_choice": config.tool_choice,
        "temperature": config.temperature,
        "max_response_output_tokens": config.max_output_tokens,
        "speed": config.speed,
        "tracing": config.tracing,
    }


def apply_session(
    config: Config, session: Mapping[str, Any], dialect: Dialect, *, require_type: bool
) -> Config:
    """A new configuration: ``config`` with a ``session.update``'s fields, validated.

    ``require_type`` asks for GA's ``session.type``, which the real server
    requires of a client's update but the server's own defaults may leave out.
    """
    if dialect == "ga":
        return _apply_ga_session(config, session, require_type=require_type)
    return _apply_beta_session(config, session)


def render_session(config: Config, dialect: Dialect, session_id: str, expires_at: int) -> JSON:
    """The session object of ``session.created`` / ``session.updated`` in ``dialect``."""
    if config.type == "transcription":
        return _render_transcription_session(config, session_id, expires_at)
    render = _render_ga_session if dialect == "ga" else _render_beta_session
    return render(config, session_id, expires_at)
