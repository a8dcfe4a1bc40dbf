"""A Live session's configuration: ``session.start`` read and checked, updates, the resource.

The startup settings (model, instructions, audio, input) are fixed once the
session starts; ``session.update`` changes only the delegation's settings
(never its type) and the transcript triggers. Every unknown field is refused
by name, as the real endpoint does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...audio import G711_ALAW, G711_ULAW, PCM16, AudioFormat
from ..engine._constants import JSON
from ..engine._errors import (
    ClientError,
    bad_value,
    get_bool,
    get_int,
    get_object,
    get_str,
    key_set,
    missing,
    objects,
    only,
    require_list,
    require_str,
    wrong_type,
)
from ._errors import LIVE_MODELS, immutable

#: The built-in voices; a custom voice is ``{"id": ...}``.
VOICES = (
    "alloy",
    "ash",
    "ballad",
    "beacon",
    "bossa",
    "cedar",
    "cinder",
    "coral",
    "delta",
    "echo",
    "gleam",
    "marin",
    "meridian",
    "quartz",
    "ripple",
    "sage",
    "shida",
    "shimmer",
    "stone",
    "tempo",
    "verse",
    "vesper",
    "willow",
)
DEFAULT_VOICE = "marin"
#: What a session says it follows when the client gave no instructions.
DEFAULT_INSTRUCTIONS = (
    "You are a helpful voice assistant. Speak naturally and briefly, and delegate tasks you "
    "cannot do yourself."
)
#: PCM at 16 kHz, which Live offers beside the Realtime API's formats.
PCM16_16K = AudioFormat("pcm16", 16000, 2, "audio/pcm")
#: Most messages ``input`` may hold.
MAX_INPUT_ITEMS = 128

_SESSION_KEYS = key_set(
    "model instructions audio client delegation input safety_identifier store triggers"
)
_UPDATE_KEYS = key_set("delegation triggers")
_IMMUTABLE = key_set("model instructions audio client input safety_identifier store")
_RESPONSES_KEYS = key_set(
    "model instructions max_output_tokens parallel_tool_calls reasoning service_tier text "
    "tool_choice tools"
)
_TRANSCRIPT_EVENTS = ("session.input_transcript.delta", "session.output_transcript.delta")
# Live dated snapshots (``gpt-live-1-2026-...``) are the same models.
_LIVE_MODEL = re.compile(r"gpt-live-1(\.1)?(-\d{4}-\d{2}-\d{2})?")


@dataclass(slots=True)
class LiveConfig:
    """The resolved configuration of one Live session, in wire shapes where it has them."""

    model: str
    instructions: str = DEFAULT_INSTRUCTIONS
    voice: str | JSON = DEFAULT_VOICE
    audio_format: AudioFormat = PCM16
    delegation: JSON = field(default_factory=lambda: {"type": "client"})
    input: list[JSON] = field(default_factory=list)
    store: bool | None = None
    safety_identifier: str | None = None
    triggers: list[JSON] = field(default_factory=list)
    client: JSON | None = None

    @property
    def delegation_type(self) -> str:
        """``client``, ``responses`` or ``decisions``."""
        return str(self.delegation["type"])

    @property
    def voice_name(self) -> str:
        """The voice's name, or a custom voice's id: what picks the synthetic pitch."""
        return self.voice if isinstance(self.voice, str) else str(self.voice.get("id", ""))

    @property
    def function_tools(self) -> tuple[JSON, ...]:
        """The Responses backend's function tools (none for other delegations)."""
        tools = self.delegation.get("responses", {}).get("tools") or []
        return tuple(t for t in tools if t.get("type") == "function")

    @property
    def questions(self) -> list[JSON]:
        """The Decisions delegation's questions (none for other delegations)."""
        return list(self.delegation.get("decisions", {}).get("questions") or [])

    def trigger(self, event_type: str) -> JSON | None:
        """The Decisions trigger on ``event_type`` deltas, if one is configured."""
        return next((t for t in self.triggers if t["event_type"] == event_type), None)


def parse_start(session: Mapping[str, Any]) -> LiveConfig:
    """The configuration ``session.start`` asks for, or the :class:`ClientError` it deserves."""
    only(session, _SESSION_KEYS, "session")
    model = require_str(session, "model", "session.model")
    if _LIVE_MODEL.fullmatch(model) is None:
        raise bad_value("session.model", model, LIVE_MODELS)
    config = LiveConfig(model=model)
    instructions = get_str(session, "instructions", "session.instructions")
    if instructions and instructions.strip():
        config.instructions = instructions
    if session.get("audio") is not None:
        _read_audio(config, get_object(session["audio"], "session.audio"))
    if session.get("delegation") is not None:
        config.delegation = _read_delegation(session["delegation"], "session.delegation")
    if session.get("input") is not None:
        config.input = _read_input(session["input"])
    config.store = get_bool(session, "store", "session.store")
    config.safety_identifier = get_str(session, "safety_identifier", "session.safety_identifier")
    if session.get("triggers") is not None:
        config.triggers = _read_triggers(session["triggers"], "session.triggers")
    if session.get("client") is not None:
        config.client = dict(get_object(session["client"], "session.client"))
    return config


def apply_update(config: LiveConfig, session: Mapping[str, Any]) -> LiveConfig:
    """``config`` after a ``session.update``: only the delegation's settings and the triggers."""
    for key in session:
        if key in _IMMUTABLE:
            raise immutable(f"session.{key}")
    only(session, _UPDATE_KEYS, "session")
    new = replace(config)
    if "delegation" in session:
        new.delegation = _update_delegation(config.delegation, session["delegation"])
    if session.get("triggers") is not None:
        new.triggers = _read_triggers(session["triggers"], "session.triggers")
    return new


def render(config: LiveConfig, session_id: str, expires_at: int) -> JSON:
    """The session resource ``session.started``, ``.updated`` and ``.closed`` carry."""
    resource: JSON = {
        "id": session_id,
        "expires_at": expires_at,
        "model": config.model,
        "instructions": config.instructions,
        "audio": {
            "output": {"voice": config.voice},
            "format": {
                "type": config.audio_format.ga_type,
                "rate": config.audio_format.sample_rate,
            },
        },
        "delegation": config.delegation,
        "status": "active",
        "input": config.input,
    }
    if config.triggers:
        resource["triggers"] = config.triggers
    if config.store is not None:
        resource["store"] = config.store
    if config.safety_identifier is not None:
        resource["safety_identifier"] = config.safety_identifier
    if config.client is not None:
        resource["client"] = config.client
    return resource


# ----------------------------------------------------------------------- audio


def _read_audio(config: LiveConfig, audio: Mapping[str, Any]) -> None:
    only(audio, key_set("format output"), "session.audio")
    if audio.get("format") is not None:
        config.audio_format = _read_format(get_object(audio["format"], "session.audio.format"))
    if audio.get("output") is not None:
        output = get_object(audio["output"], "session.audio.output")
        only(output, key_set("voice"), "session.audio.output")
        voice = output.get("voice")
        if isinstance(voice, str):
            if voice not in VOICES:
                raise bad_value("session.audio.output.voice", voice, VOICES)
            config.voice = voice
        elif isinstance(voice, Mapping):
            only(voice, key_set("id"), "session.audio.output.voice")
            config.voice = {"id": require_str(voice, "id", "session.audio.output.voice.id")}
        elif voice is not None:
            raise wrong_type("session.audio.output.voice", "a string or an object", voice)


def _read_format(fmt: Mapping[str, Any]) -> AudioFormat:
    param = "session.audio.format"
    only(fmt, key_set("type rate"), param)
    kind = require_str(fmt, "type", f"{param}.type")
    rate = get_int(fmt, "rate", f"{param}.rate")
    if rate is None:
        raise missing(f"{param}.rate")
    if kind == "audio/pcm":
        if rate not in (16000, 24000):
            raise bad_value(f"{param}.rate", rate, ("16000", "24000"))
        return PCM16 if rate == 24000 else PCM16_16K
    if kind in ("audio/pcmu", "audio/pcma"):
        if rate != 8000:
            raise bad_value(f"{param}.rate", rate, ("8000",))
        return G711_ULAW if kind == "audio/pcmu" else G711_ALAW
    raise bad_value(f"{param}.type", kind, ("audio/pcm", "audio/pcmu", "audio/pcma"))


# ------------------------------------------------------------------ delegation


def _ack_delay(obj: Mapping[str, Any], param: str) -> int | None:
    delay = get_int(obj, "acknowledgement_delay_ms", f"{param}.acknowledgement_delay_ms")
    if delay is not None and delay < 0:
        raise ClientError(
            f"Invalid '{param}.acknowledgement_delay_ms': expected a value of at least 0.",
            "integer_below_min_value",
            f"{param}.acknowledgement_delay_ms",
        )
    return delay


def _read_delegation(value: Any, param: str) -> JSON:
    delegation = get_object(value, param)
    kind = require_str(delegation, "type", f"{param}.type")
    result: JSON = {"type": kind}
    if kind == "client":
        only(delegation, key_set("type acknowledgement_delay_ms"), param)
    elif kind == "responses":
        only(delegation, key_set("type responses acknowledgement_delay_ms"), param)
        if delegation.get("responses") is None:
            raise missing(f"{param}.responses")
        result["responses"] = _read_responses(delegation["responses"], f"{param}.responses")
    elif kind == "decisions":
        only(delegation, key_set("type decisions acknowledgement_delay_ms"), param)
        if delegation.get("decisions") is None:
            raise missing(f"{param}.decisions")
        decisions = get_object(delegation["decisions"], f"{param}.decisions")
        only(decisions, key_set("model questions"), f"{param}.decisions")
        result["decisions"] = {
            "model": require_str(decisions, "model", f"{param}.decisions.model"),
            "questions": _read_questions(decisions, f"{param}.decisions"),
        }
    else:
        raise bad_value(f"{param}.type", kind, ("client", "responses", "decisions"))
    delay = _ack_delay(delegation, param)
    if delay is not None:
        result["acknowledgement_delay_ms"] = delay
    return result


def _update_delegation(current: JSON, value: Any) -> JSON:
    param = "session.delegation"
    if value is None:
        raise immutable(f"{param}.type")
    delegation = get_object(value, param)
    kind = require_str(delegation, "type", f"{param}.type")
    if kind != current["type"]:
        raise immutable(f"{param}.type")
    own = {"client": "", "responses": "responses", "decisions": "decisions"}.get(kind, "")
    only(delegation, key_set(f"type acknowledgement_delay_ms {own}"), param)
    new = dict(current)
    delay = _ack_delay(delegation, param)
    if delay is not None:
        new["acknowledgement_delay_ms"] = delay
    if kind == "responses" and delegation.get("responses") is not None:
        changes = _read_responses(delegation["responses"], f"{param}.responses", update=True)
        new["responses"] = {**current["responses"], **changes}
    if kind == "decisions" and delegation.get("decisions") is not None:
        asked = get_object(delegation["decisions"], f"{param}.decisions")
        only(asked, key_set("model questions"), f"{param}.decisions")
        decisions = dict(current["decisions"])
        model = get_str(asked, "model", f"{param}.decisions.model")
        if model is not None:
            decisions["model"] = model
        if asked.get("questions") is not None:
            decisions["questions"] = _read_questions(asked, f"{param}.decisions")
        new["decisions"] = decisions
    return new


def _read_responses(value: Any, param: str, *, update: bool = False) -> JSON:
    responses = get_object(value, param)
    only(responses, _RESPONSES_KEYS, param)
    result = {k: v for k, v in responses.items() if v is not None}
    if not update:
        require_str(responses, "model", f"{param}.model")
    tools = responses.get("tools")
    if tools is not None:
        for where, tool in objects(tools, f"{param}.tools"):
            kind = require_str(tool, "type", f"{where}.type")
            if kind == "function":
                only(tool, key_set("type name description parameters strict"), where)
                require_str(tool, "name", f"{where}.name")
        result["tools"] = [dict(t) for t in tools]
    return result


def _read_questions(decisions: Mapping[str, Any], param: str) -> list[JSON]:
    """``decisions``'s questions (``param`` names ``decisions`` in errors)."""
    questions: list[JSON] = []
    asked = require_list(decisions, "questions", f"{param}.questions")
    for where, question in objects(asked, f"{param}.questions"):
        kind = require_str(question, "type", f"{where}.type")
        needs = {"predicate": "", "choice": "choices", "score": "levels"}
        if kind not in needs:
            raise bad_value(f"{where}.type", kind, tuple(needs))
        only(question, key_set(f"type name instructions {needs[kind]}"), where)
        if question.get("instructions") is None:
            raise missing(f"{where}.instructions")
        if needs[kind]:
            options = question.get(needs[kind])
            if not isinstance(options, list) or not options:
                raise missing(f"{where}.{needs[kind]}")
        questions.append(dict(question))
    return questions


def _read_triggers(value: Any, param: str) -> list[JSON]:
    triggers: list[JSON] = []
    seen: set[str] = set()
    for where, trigger in objects(value, param):
        only(trigger, key_set("type event_type decisions"), where)
        kind = require_str(trigger, "type", f"{where}.type")
        if kind != "decisions":
            raise bad_value(f"{where}.type", kind, ("decisions",))
        event_type = require_str(trigger, "event_type", f"{where}.event_type")
        if event_type not in _TRANSCRIPT_EVENTS:
            raise bad_value(f"{where}.event_type", event_type, _TRANSCRIPT_EVENTS)
        if event_type in seen:
            raise ClientError(
                f"Invalid '{param}': at most one Decisions trigger per event type.",
                "invalid_value",
                f"{where}.event_type",
            )
        seen.add(event_type)
        decisions = get_object(trigger.get("decisions"), f"{where}.decisions")
        only(decisions, key_set("questions"), f"{where}.decisions")
        questions = _read_questions(decisions, f"{where}.decisions")
        triggers.append(
            {"type": kind, "event_type": event_type, "decisions": {"questions": questions}}
        )
    return triggers


# ------------------------------------------------------------------------ input

_ROLES = ("developer", "user", "assistant")


def _read_input(value: Any) -> list[JSON]:
    param = "session.input"
    if not isinstance(value, list):
        raise wrong_type(param, "an array", value)
    if len(value) > MAX_INPUT_ITEMS:
        raise ClientError(
            f"Invalid '{param}': expected at most {MAX_INPUT_ITEMS} messages, "
            f"but got {len(value)}.",
            "array_above_max_length",
            param,
        )
    return [_read_message(message, f"{param}[{i}]") for i, message in enumerate(value)]


def _read_message(value: Any, param: str) -> JSON:
    message = get_object(value, param)
    only(message, key_set("type role content id status"), param)
    role = require_str(message, "role", f"{param}.role")
    if role not in _ROLES:
        raise bad_value(f"{param}.role", role, _ROLES)
    content = message.get("content")
    if not isinstance(content, list) or len(content) != 1:
        raise ClientError(
            f"Invalid '{param}.content': supply exactly one text part.",
            "invalid_value",
            f"{param}.content",
        )
    part = get_object(content[0], f"{param}.content[0]")
    kinds: Sequence[str] = ("text", "output_text") if role == "assistant" else ("input_text",)
    kind = get_str(part, "type", f"{param}.content[0].type")
    if kind is not None and kind not in kinds:
        raise bad_value(f"{param}.content[0].type", kind, kinds)
    text = require_str(part, "text", f"{param}.content[0].text")
    rendered: JSON = {
        "type": "message",
        "role": role,
        "content": [{"type": kind or kinds[0], "text": text}],
    }
    for key in ("id", "status"):
        if message.get(key) is not None:
            rendered[key] = message[key]
    return rendered
