"""Refuse, before anything is sent, a Live configuration the API would refuse.

:func:`check_live_config` judges what ``session.start`` (or a call's accept,
or a fork) carries; ``what="update"`` judges a ``session.update``. Each error
is an :class:`~realtime_events.errors.InvalidConfigError` naming the field by
its path (``delegation.responses.tools.0.name``), the value and what is
allowed, with the closest known name when a key or a value looks like a typo.
A Realtime setting that Live has no place for (``voice`` at the top level,
``turn_detection``, ``tools``...) is refused with where it goes instead, or
why there is nothing to set. Keys unlike any known one pass, for a newer
server to judge, as :func:`realtime_events.config.check_config` does.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Literal

from .._config_checks import (
    check_bool,
    check_choice,
    check_mapping,
    check_str,
    check_strings,
    invalid,
    is_int,
    plain,
)
from ..errors import InvalidConfigError
from .config import LIVE_MODELS

__all__ = ["BUILT_IN_VOICES", "LiveConfigKind", "check_live_config"]

#: What a configuration is for: ``session.start``, a SIP call's accept, a
#: ``session.update``, or a fork's ``session.start``.
LiveConfigKind = Literal["start", "accept", "update", "fork"]

#: The built-in voices of the Live models; a custom voice is ``{"id": "voice_..."}``.
BUILT_IN_VOICES = (
    "alloy", "ash", "ballad", "beacon", "bossa", "cedar", "cinder", "coral", "delta",
    "echo", "gleam", "marin", "meridian", "quartz", "ripple", "sage", "shida", "shimmer",
    "stone", "tempo", "verse", "vesper", "willow",
)  # fmt: skip

_START_KEYS = (
    "model", "audio", "client", "delegation", "input", "instructions",
    "safety_identifier", "store", "triggers",
)  # fmt: skip
_KEYS: dict[str, tuple[str, ...]] = {
    "start": _START_KEYS,
    "accept": (*_START_KEYS, "type"),
    "update": ("delegation", "triggers"),
    "fork": ("audio", "client", "delegation", "store"),
}
_EXAMPLES = {
    "start": "{'model': 'gpt-live-1', 'instructions': ...}",
    "accept": "{'model': 'gpt-live-1', 'instructions': ...}",
    "update": "{'delegation': {...}, 'triggers': [...]}",
    "fork": "{'store': True}",
}

#: Realtime settings that Live has no place for, and what to do instead.
_REALTIME_ONLY = {
    "voice": "the voice goes in audio.output.voice ({'audio': {'output': {'voice': 'marin'}}})",
    "input_audio_format": "Live has one audio.format for both directions",
    "output_audio_format": "Live has one audio.format for both directions",
    "output_modalities": "a Live model always speaks, with its transcript",
    "modalities": "a Live model always speaks, with its transcript",
    "turn_detection": "turn detection is the server's in Live: there is nothing to set",
    "input_audio_transcription": (
        "Live always transcribes both sides (session.input_transcript.delta "
        "and session.output_transcript.delta)"
    ),
    "input_audio_noise_reduction": "Live has no noise reduction setting",
    "tools": (
        "Live delegates tools: give them to a Responses backend "
        "(delegation={'type': 'responses', 'responses': {'model': ..., 'tools': [...]}}), "
        "or handle session.delegation.created yourself (delegation={'type': 'client'})"
    ),
    "tool_choice": "the Responses backend has it: delegation.responses.tool_choice",
    "temperature": "Live has no temperature setting",
    "speed": "Live has no speed setting",
    "max_output_tokens": (
        "Live has no output token limit; the Responses backend's is "
        "delegation.responses.max_output_tokens"
    ),
    "tracing": "Live has no tracing setting",
    "truncation": "Live compacts its context itself",
}
#: Settings fixed at startup, named when a ``session.update`` tries to change them.
_IMMUTABLE = ("model", "instructions", "audio", "input", "client", "store", "safety_identifier")

_PCM_RATES = (16000, 24000)
_G711_RATE = 8000
_FORMAT_TYPES = ("audio/pcm", "audio/pcmu", "audio/pcma")
_FORMAT_EXAMPLE = (
    "{'type': 'audio/pcm', 'rate': 24000} (or 16000), {'type': 'audio/pcmu', 'rate': 8000} "
    "or {'type': 'audio/pcma', 'rate': 8000}"
)
_DELEGATION_TYPES = ("client", "responses", "decisions")
_RESPONSES_KEYS = (
    "model", "instructions", "max_output_tokens", "parallel_tool_calls", "reasoning",
    "service_tier", "text", "tool_choice", "tools",
)  # fmt: skip
_SERVICE_TIERS = ("auto", "default", "flex", "priority", "fast_tier_temp_pilot", "ultrafast")
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
_SUMMARIES = ("concise", "detailed", "auto")
_VERBOSITY = ("low", "medium", "high")
_TOOL_CHOICES = ("auto", "none", "required")
_TOOL_TYPES = (
    "function", "web_search", "file_search", "code_interpreter", "shell", "image_generation",
    "mcp", "custom", "namespace", "tool_search", "programmatic_tool_calling", "computer",
    "apply_patch",
)  # fmt: skip
_QUESTION_TYPES = ("choice", "predicate", "score")
_TRIGGER_EVENTS = ("session.input_transcript.delta", "session.output_transcript.delta")
_ROLES = ("developer", "user", "assistant")
_MAX_INPUT_MESSAGES = 128
_STATUSES = ("incomplete", "completed")


def check_live_config(config: Mapping[str, Any] | Any, what: LiveConfigKind = "start") -> None:
    """Refuse a Live configuration the API would refuse, before anything is sent.

    ``config`` is a mapping or a model of :mod:`realtime_events.live.config`
    (a :class:`~.config.LiveSessionConfig` for ``"start"``). ``what`` says
    where it goes: ``"start"`` (``session.start``: ``model`` is required),
    ``"accept"`` (a SIP call: the media format is negotiated, so no
    ``audio.format``), ``"update"`` (``session.update``: only the delegation
    settings and the triggers; a backend's ``model`` may be left out) or
    ``"fork"`` (overrides of a stored session: no new model, only a Responses
    delegation). Raises :class:`InvalidConfigError` naming the field.
    """
    config = plain(config)
    keys = _KEYS[what]
    if not isinstance(config, Mapping):
        raise invalid("session", config, f"a mapping such as {_EXAMPLES[what]}")
    for key in config:
        _check_key(str(key), keys, what)
    if what in ("start", "accept"):
        _check_model(config.get("model"))
    if what == "accept":
        check_choice("type", config.get("type", "live"), ("live",))
    for key in ("instructions", "safety_identifier"):
        check_str(key, config.get(key))
    check_bool("store", config.get("store"))
    if config.get("audio") is not None:
        _check_audio(config["audio"], what)
    if config.get("client") is not None:
        _check_client(config["client"])
    if config.get("delegation") is not None:
        _check_delegation(config["delegation"], what)
    if config.get("input") is not None:
        _check_input(config["input"])
    if config.get("triggers") is not None:
        _check_triggers(config["triggers"])


def _check_key(key: str, keys: tuple[str, ...], what: LiveConfigKind) -> None:
    if key in keys:
        return
    if key in _REALTIME_ONLY:
        raise InvalidConfigError(f"{key} is not a Live setting: {_REALTIME_ONLY[key]}", key)
    if what == "update" and key in _IMMUTABLE:
        raise InvalidConfigError(
            f"{key} cannot change after the Live session started: "
            "session.update takes only delegation and triggers",
            key,
        )
    if what == "fork" and key == "model":
        raise InvalidConfigError("a fork keeps the stored session's model: leave model out", key)
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.8)
    if close:
        raise InvalidConfigError(f"unknown Live setting {key!r}: did you mean {close[0]!r}?", key)


def _check_model(model: Any) -> None:
    if not isinstance(model, str) or not model:
        raise invalid("model", model, f"the Live model's name ({_listed(LIVE_MODELS)})")
    if model in LIVE_MODELS:
        return
    if model.startswith(("gpt-realtime", "gpt-4o")):
        raise InvalidConfigError(
            f"{model!r} is a Realtime model: a Live session takes {_listed(LIVE_MODELS)}",
            "model",
        )
    close = difflib.get_close_matches(model, LIVE_MODELS, n=1, cutoff=0.8)
    if close:
        raise InvalidConfigError(
            f"unknown Live model {model!r}: did you mean {close[0]!r}?", "model"
        )


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(map(repr, values))


def _non_negative_int(field: str, value: Any) -> None:
    if value is not None and not (is_int(value) and value >= 0):
        raise invalid(field, value, "a whole number, 0 or more")


def _check_list(field: str, value: Any, what: str) -> list[Any]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
        raise invalid(field, value, what)
    return list(value)


# -- audio ------------------------------------------------------------------------


def _check_audio(audio: Any, what: LiveConfigKind) -> None:
    example = "{'format': {...}, 'output': {'voice': 'marin'}}"
    keys = ("format",) if what == "fork" else ("format", "output")
    check_mapping("audio", audio, keys, example)
    if what == "fork" and "output" in audio:
        raise InvalidConfigError("a fork keeps the stored session's voice", "audio.output")
    if audio.get("format") is not None:
        if what == "accept":
            raise InvalidConfigError(
                "a SIP call negotiates its media format: leave audio.format out", "audio.format"
            )
        _check_format("audio.format", audio["format"])
    output = audio.get("output")
    if output is not None:
        check_mapping("audio.output", output, ("voice",), "{'voice': 'marin'}")
        if output.get("voice") is not None:
            _check_voice("audio.output.voice", output["voice"])


def _check_format(field: str, value: Any) -> None:
    check_mapping(field, value, ("type", "rate"), _FORMAT_EXAMPLE)
    kind, rate = value.get("type"), value.get("rate")
    check_choice(f"{field}.type", kind, _FORMAT_TYPES)
    if kind == "audio/pcm" and rate not in _PCM_RATES:
        raise invalid(f"{field}.rate", rate, "16000 or 24000 for audio/pcm")
    if kind != "audio/pcm" and rate != _G711_RATE:
        raise invalid(f"{field}.rate", rate, f"8000 for {kind}")


def _check_voice(field: str, value: Any) -> None:
    if isinstance(value, Mapping):
        check_mapping(field, value, ("id",), "{'id': 'voice_...'}")
        if isinstance(value.get("id"), str) and value["id"]:
            return
    check_choice(field, value, BUILT_IN_VOICES, ", or a custom voice {'id': ...}")


# -- the frontend's data channel --------------------------------------------------


def _check_client(client: Any) -> None:
    check_mapping("client", client, ("data_channel",), "{'data_channel': {...}}")
    channel = client.get("data_channel")
    if channel is None:
        return
    field = "client.data_channel"
    keys = ("allowed_client_events", "allowed_server_events")
    check_mapping(field, channel, keys, "{'allowed_server_events': 'all'}")
    allowed = channel.get("allowed_client_events")
    if allowed is not None and allowed != "all":
        check_strings(f"{field}.allowed_client_events", allowed)
    selectors = channel.get("allowed_server_events")
    if selectors is None or selectors == "all":
        return
    where = f"{field}.allowed_server_events"
    for index, selector in enumerate(_check_list(where, selectors, "'all' or a list")):
        _check_selector(f"{where}.{index}", selector)


def _check_selector(field: str, selector: Any) -> None:
    check_mapping(field, selector, ("type", "response_event"), "{'type': 'session.started'}")
    kind, nested = selector.get("type"), selector.get("response_event")
    check_str(f"{field}.type", kind)
    if kind == "response.event" and not isinstance(nested, str):
        raise invalid(f"{field}.response_event", nested, "the nested Responses event's type")
    if kind != "response.event" and nested is not None:
        raise InvalidConfigError(
            f"{field}.response_event is only for type 'response.event'", f"{field}.response_event"
        )


# -- delegation -------------------------------------------------------------------


def _check_delegation(delegation: Any, what: LiveConfigKind) -> None:
    field = "delegation"
    if not isinstance(delegation, Mapping):
        raise invalid(field, delegation, "None or a mapping such as {'type': 'client'}")
    kind = delegation.get("type")
    kinds = ("responses",) if what == "fork" else _DELEGATION_TYPES
    check_choice(f"{field}.type", kind, kinds)
    check_mapping(
        field, delegation, ("type", "acknowledgement_delay_ms", str(kind)), "{'type': ...}"
    )
    for other in _DELEGATION_TYPES:
        if other != kind and other != "client" and other in delegation:
            raise InvalidConfigError(
                f"{field}.{other} is the backend of a {other!r} delegation, not of {kind!r}",
                f"{field}.{other}",
            )
    _non_negative_int(
        f"{field}.acknowledgement_delay_ms", delegation.get("acknowledgement_delay_ms")
    )
    needed = what in ("start", "accept")
    if kind == "responses":
        backend = delegation.get("responses")
        if backend is not None or needed:
            _check_responses(f"{field}.responses", backend, needed)
    elif kind == "decisions":
        backend = delegation.get("decisions")
        if backend is not None or needed:
            _check_decisions(f"{field}.decisions", backend, needed)


def _check_responses(field: str, backend: Any, needed: bool) -> None:
    check_mapping(field, backend, _RESPONSES_KEYS, "{'model': 'gpt-5.2', 'tools': [...]}")
    model = backend.get("model")
    if (needed or model is not None) and not (isinstance(model, str) and model):
        raise invalid(f"{field}.model", model, "the Responses model's name")
    check_str(f"{field}.instructions", backend.get("instructions"))
    tokens = backend.get("max_output_tokens")
    if tokens is not None and not (is_int(tokens) and tokens >= 1):
        raise invalid(f"{field}.max_output_tokens", tokens, "a whole number, 1 or more")
    check_bool(f"{field}.parallel_tool_calls", backend.get("parallel_tool_calls"))
    if backend.get("service_tier") is not None:
        check_choice(f"{field}.service_tier", backend["service_tier"], _SERVICE_TIERS)
    reasoning = backend.get("reasoning")
    if reasoning is not None:
        check_mapping(f"{field}.reasoning", reasoning, ("effort", "summary"), "{'effort': 'low'}")
        if reasoning.get("effort") is not None:
            check_choice(f"{field}.reasoning.effort", reasoning["effort"], _EFFORTS)
        if reasoning.get("summary") is not None:
            check_choice(f"{field}.reasoning.summary", reasoning["summary"], _SUMMARIES)
    text = backend.get("text")
    if text is not None:
        check_mapping(f"{field}.text", text, ("verbosity",), "{'verbosity': 'low'}")
        if text.get("verbosity") is not None:
            check_choice(f"{field}.text.verbosity", text["verbosity"], _VERBOSITY)
    choice = backend.get("tool_choice")
    if isinstance(choice, str):
        check_choice(f"{field}.tool_choice", choice, _TOOL_CHOICES, ", or a mapping")
    elif choice is not None and not isinstance(choice, Mapping):
        raise invalid(f"{field}.tool_choice", choice, f"{_listed(_TOOL_CHOICES)} or a mapping")
    if backend.get("tools") is not None:
        tools = _check_list(f"{field}.tools", backend["tools"], "a list of tools")
        for index, tool in enumerate(tools):
            _check_tool(f"{field}.tools.{index}", tool)


def _check_tool(field: str, tool: Any) -> None:
    if not isinstance(tool, Mapping):
        raise invalid(field, tool, "a mapping such as {'type': 'function', 'name': ...}")
    check_choice(f"{field}.type", tool.get("type"), _TOOL_TYPES)
    if tool["type"] != "function":
        return  # the backend's own tools: their settings are the Responses API's to judge
    keys = ("type", "name", "description", "parameters", "strict")
    check_mapping(field, tool, keys, "{'type': 'function', 'name': ...}")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise invalid(f"{field}.name", tool.get("name"), "the function's name")
    check_str(f"{field}.description", tool.get("description"))
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise invalid(f"{field}.parameters", parameters, "a JSON schema (a mapping)")
    check_bool(f"{field}.strict", tool.get("strict"))


def _check_decisions(field: str, backend: Any, needed: bool) -> None:
    check_mapping(field, backend, ("model", "questions"), "{'model': ..., 'questions': [...]}")
    model = backend.get("model")
    if (needed or model is not None) and not (isinstance(model, str) and model):
        raise invalid(f"{field}.model", model, "the Decision model's name")
    questions = backend.get("questions")
    if questions is not None or needed:
        _check_questions(f"{field}.questions", questions)


def _check_questions(field: str, questions: Any) -> None:
    entries = _check_list(field, questions, "a non-empty list of questions")
    if not entries:
        raise invalid(field, questions, "a non-empty list of questions")
    for index, question in enumerate(entries):
        where = f"{field}.{index}"
        keys = ("type", "name", "instructions", "choices", "levels")
        check_mapping(where, question, keys, "{'type': 'predicate', 'instructions': ...}")
        kind = question.get("type")
        check_choice(f"{where}.type", kind, _QUESTION_TYPES)
        instructions = question.get("instructions")
        if not isinstance(instructions, str | list | tuple):
            raise invalid(f"{where}.instructions", instructions, "a string or a list of parts")
        check_str(f"{where}.name", question.get("name"))
        for key, kind_needing in (("choices", "choice"), ("levels", "score")):
            value = question.get(key)
            if kind == kind_needing:
                _check_list(f"{where}.{key}", value, f"a list (a {kind} question needs {key})")
            elif value is not None:
                raise InvalidConfigError(
                    f"{where}.{key} is only for a {kind_needing!r} question", f"{where}.{key}"
                )


# -- history and triggers ----------------------------------------------------------


def _check_input(messages: Any) -> None:
    entries = _check_list("input", messages, "a list of text messages")
    if len(entries) > _MAX_INPUT_MESSAGES:
        raise InvalidConfigError(
            f"input has {len(entries)} messages: at most {_MAX_INPUT_MESSAGES} are allowed",
            "input",
        )
    for index, message in enumerate(entries):
        field = f"input.{index}"
        keys = ("role", "content", "id", "status", "type")
        check_mapping(field, message, keys, "{'role': 'user', 'content': [{'text': ...}]}")
        role = message.get("role")
        check_choice(f"{field}.role", role, _ROLES)
        if message.get("type") is not None:
            check_choice(f"{field}.type", message["type"], ("message",))
        if message.get("status") is not None:
            check_choice(f"{field}.status", message["status"], _STATUSES)
        check_str(f"{field}.id", message.get("id"))
        content = message.get("content")
        allowed = "a list of exactly one text part, such as [{'type': 'input_text', 'text': ...}]"
        if not isinstance(content, list | tuple) or len(content) != 1:
            raise invalid(f"{field}.content", content, allowed)
        part = content[0]
        where = f"{field}.content.0"
        check_mapping(where, part, ("type", "text"), "{'type': 'input_text', 'text': ...}")
        if not isinstance(part.get("text"), str):
            raise invalid(f"{where}.text", part.get("text"), "the message's text")
        types = ("text", "output_text") if role == "assistant" else ("input_text",)
        if part.get("type") is not None:
            check_choice(f"{where}.type", part["type"], types)


def _check_triggers(triggers: Any) -> None:
    entries = _check_list("triggers", triggers, "a list of triggers (empty: none)")
    seen: set[str] = set()
    for index, trigger in enumerate(entries):
        field = f"triggers.{index}"
        keys = ("type", "event_type", "decisions")
        example = "{'type': 'decisions', 'event_type': ..., 'decisions': {'questions': [...]}}"
        check_mapping(field, trigger, keys, example)
        check_choice(f"{field}.type", trigger.get("type", "decisions"), ("decisions",))
        event_type = trigger.get("event_type")
        check_choice(f"{field}.event_type", event_type, _TRIGGER_EVENTS)
        if event_type in seen:
            raise InvalidConfigError(
                f"{field}: a second trigger for {event_type!r} (at most one per event type)",
                f"{field}.event_type",
            )
        seen.add(event_type)
        decisions = trigger.get("decisions")
        check_mapping(f"{field}.decisions", decisions, ("questions",), "{'questions': [...]}")
        _check_questions(f"{field}.decisions.questions", decisions.get("questions"))
