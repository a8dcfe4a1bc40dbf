"""The allowed values of each session and response setting, for :func:`.config.check_config`.

One check per field, called with the field's name (or its path, such as
``audio.input.turn_detection``) and a plain value; it raises
:class:`InvalidConfigError` naming the field, the value and what is allowed,
with the closest allowed value when the value looks like a typo. Values the API
takes but this module does not know how to judge pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from pydantic import BaseModel

from .audio import AudioFormat
from .errors import InvalidConfigError

__all__ = [
    "CHECKS",
    "REASONING_EFFORTS",
    "VOICES",
    "check_bool",
    "check_choice",
    "check_mapping",
    "check_str",
    "check_strings",
    "invalid",
    "is_int",
    "plain",
]

#: The built-in voices, as the API lists them; a custom voice is ``{"id": "voice_..."}``.
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
#: The reasoning efforts of reasoning models (``reasoning.effort``).
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
_MODALITIES = ("text", "audio")
_FORMATS = (
    "'pcm16', 'g711_ulaw', 'g711_alaw', {'type': 'audio/pcm', 'rate': 24000}, "
    "{'type': 'audio/pcmu'}, {'type': 'audio/pcma'} or an AudioFormat"
)
_TURN_DETECTION_TYPES = ("server_vad", "semantic_vad")
_EAGERNESS = ("low", "medium", "high", "auto")
_TOOL_CHOICES = ("auto", "none", "required")
_NOISE_REDUCTION_TYPES = ("near_field", "far_field")
_SESSION_TYPES = ("realtime", "transcription")
_TRUNCATION_MODES = ("auto", "disabled")
_INCLUDE = ("item.input_audio_transcription.logprobs",)
_APPROVALS = ("always", "never")
_CALLERS = ("direct", "programmatic")
_CONNECTORS = (
    "connector_dropbox",
    "connector_gmail",
    "connector_googlecalendar",
    "connector_googledrive",
    "connector_microsoftteams",
    "connector_outlookcalendar",
    "connector_outlookemail",
    "connector_sharepoint",
)
# The fields of each kind of turn detection; ``type`` says which kind.
_VAD_COMMON = ("type", "create_response", "interrupt_response")
_SERVER_VAD = (
    *_VAD_COMMON,
    "threshold",
    "prefix_padding_ms",
    "silence_duration_ms",
    "idle_timeout_ms",
)
_SEMANTIC_VAD = (*_VAD_COMMON, "eagerness")


def plain(value: Any) -> Any:
    """A settings model as the mapping it stands for (the fields it was given), at any depth."""
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_unset=True, by_alias=True)
    if isinstance(value, Mapping):
        return {key: plain(entry) for key, entry in value.items()}
    if isinstance(value, list | tuple):
        return [plain(entry) for entry in value]
    return value


def invalid(field: str, value: Any, allowed: str) -> InvalidConfigError:
    """The error for ``field=value``, saying what is allowed instead."""
    return InvalidConfigError(f"invalid {field}={value!r}: allowed {allowed}", field)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(map(repr, values))


def _hint(value: Any, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(value, choices, n=1) if isinstance(value, str) else []
    return f"; did you mean {close[0]!r}?" if close else ""


def check_choice(field: str, value: Any, choices: tuple[str, ...], extra: str = "") -> None:
    """Refuse a value that is not one of ``choices``, suggesting the closest."""
    if value not in choices:
        raise invalid(field, value, f"{_listed(choices)}{extra}{_hint(value, choices)}")


def check_mapping(field: str, value: Any, keys: tuple[str, ...], example: str) -> Mapping[str, Any]:
    """Refuse a value that is not a mapping, or a key that is a typo of one of ``keys``.

    A key unlike any known one passes, for a newer server to judge.
    """
    if not isinstance(value, Mapping):
        raise invalid(field, value, f"a mapping such as {example}")
    for key in value:
        if key not in keys:
            close = difflib.get_close_matches(str(key), keys, n=1, cutoff=0.8)
            if close:
                raise InvalidConfigError(
                    f"unknown {field} setting {key!r}: did you mean {close[0]!r}?", f"{field}.{key}"
                )
    return value


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is an integer (``True`` and ``False`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_str(field: str, value: Any, allowed: str = "a string") -> None:
    """Refuse a value that is neither None nor a string."""
    if value is not None and not isinstance(value, str):
        raise invalid(field, value, allowed)


def check_bool(field: str, value: Any) -> None:
    """Refuse a value that is neither None nor a bool."""
    if value is not None and not isinstance(value, bool):
        raise invalid(field, value, "True or False")


def check_strings(field: str, value: Any) -> None:
    """Refuse a value that is neither None nor a list (or tuple) of strings."""
    if value is not None and (
        isinstance(value, str)
        or not isinstance(value, list | tuple)
        or not all(isinstance(entry, str) for entry in value)
    ):
        raise invalid(field, value, "a list of strings")


def _check_modalities(field: str, value: Any) -> None:
    allowed = "['text'], ['audio'] or ['text', 'audio'] (audio comes with its transcript)"
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple) or not value:
        raise invalid(field, value, allowed)
    for entry in value:
        if entry not in _MODALITIES:
            raise invalid(field, value, f"{allowed}; {entry!r} is not a modality")


def _check_voice(field: str, value: Any) -> None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return  # a custom voice
    check_choice(field, value, VOICES, ", or a custom voice {'id': ...}")


def _check_format(field: str, value: Any) -> None:
    try:
        AudioFormat.from_wire(value)
    except (ValueError, TypeError, KeyError):
        raise invalid(field, value, _FORMATS) from None


def _check_turn_detection(field: str, value: Any) -> None:
    if value is None:
        return  # turn detection off
    if not isinstance(value, Mapping):
        raise invalid(field, value, "None or a mapping such as {'type': 'server_vad'}")
    kind = value.get("type", "server_vad")
    check_choice(f"{field}.type", kind, _TURN_DETECTION_TYPES)
    keys = _SERVER_VAD if kind == "server_vad" else _SEMANTIC_VAD
    check_mapping(field, value, (*_SERVER_VAD, *_SEMANTIC_VAD), "{'type': 'server_vad'}")
    for key in value:
        if key in (*_SERVER_VAD, *_SEMANTIC_VAD) and key not in keys:
            raise InvalidConfigError(
                f"{field}.{key} is not a setting of {kind} turn detection: "
                f"it takes {', '.join(keys[1:])}",
                f"{field}.{key}",
            )
    if value.get("eagerness") is not None:
        check_choice(f"{field}.eagerness", value["eagerness"], _EAGERNESS)
    threshold = value.get("threshold")
    if threshold is not None and not (_is_number(threshold) and 0.0 <= threshold <= 1.0):
        raise invalid(f"{field}.threshold", threshold, "a number from 0.0 to 1.0")
    for key in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        ms = value.get(key)
        if ms is not None and not (is_int(ms) and ms >= 0):
            raise invalid(f"{field}.{key}", ms, "a whole number of milliseconds, 0 or more")
    for key in ("create_response", "interrupt_response"):
        check_bool(f"{field}.{key}", value.get(key))


def _check_tool_choice(field: str, value: Any) -> None:
    allowed = (
        f"{_listed(_TOOL_CHOICES)}, {{'type': 'function', 'name': ...}} "
        "or {'type': 'mcp', 'server_label': ...} (and an optional 'name')"
    )
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            raise invalid(field, value, f"{allowed}{_hint(value, _TOOL_CHOICES)}")
        return
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind == "function" and isinstance(value.get("name"), str):
            return
        if kind == "mcp" and isinstance(value.get("server_label"), str):
            check_str(f"{field}.name", value.get("name"), "a tool's name")
            return
    raise invalid(field, value, allowed)


def _in_range(low: float, high: float) -> Callable[[str, Any], None]:
    def check(field: str, value: Any) -> None:
        if not (_is_number(value) and low <= value <= high):
            raise invalid(field, value, f"a number from {low:g} to {high:g}")

    return check


def _check_max_tokens(field: str, value: Any) -> None:
    if value == "inf":
        return
    if not (is_int(value) and 1 <= value <= 4096):
        raise invalid(field, value, "an integer from 1 to 4096, or 'inf'")


def _check_noise_reduction(field: str, value: Any) -> None:
    if value is None:
        return
    types = _listed(_NOISE_REDUCTION_TYPES)
    if not isinstance(value, Mapping) or value.get("type") not in _NOISE_REDUCTION_TYPES:
        kind = value.get("type") if isinstance(value, Mapping) else None
        raise invalid(
            field,
            value,
            f"None or {{'type': ...}} with type {types}{_hint(kind, _NOISE_REDUCTION_TYPES)}",
        )
    check_mapping(field, value, ("type", "strength"), "{'type': 'near_field'}")
    strength = value.get("strength")
    if strength is not None and not (_is_number(strength) and strength >= 0):
        raise invalid(f"{field}.strength", strength, "a number, 0 or more")


def _check_transcription(field: str, value: Any) -> None:
    if value is None:
        return  # transcription off
    keys = ("model", "language", "prompt", "languages", "keywords", "delay")
    check_mapping(field, value, keys, "{'model': 'gpt-4o-transcribe', 'language': 'en'}")
    for key in ("model", "language", "prompt"):
        check_str(f"{field}.{key}", value.get(key))
    for key in ("languages", "keywords"):
        check_strings(f"{field}.{key}", value.get(key))
    if value.get("delay") is not None:
        check_choice(f"{field}.delay", value["delay"], REASONING_EFFORTS)


def _check_reasoning(field: str, value: Any) -> None:
    if value is None:
        return
    check_mapping(field, value, ("effort",), "{'effort': 'low'}")
    if value.get("effort") is not None:
        check_choice(f"{field}.effort", value["effort"], REASONING_EFFORTS)


def _check_truncation(field: str, value: Any) -> None:
    allowed = (
        f"{_listed(_TRUNCATION_MODES)} or {{'type': 'retention_ratio', 'retention_ratio': ...}}"
    )
    if isinstance(value, str):
        if value not in _TRUNCATION_MODES:
            raise invalid(field, value, f"{allowed}{_hint(value, _TRUNCATION_MODES)}")
        return
    if not isinstance(value, Mapping) or value.get("type") != "retention_ratio":
        raise invalid(field, value, allowed)
    check_mapping(field, value, ("type", "retention_ratio", "token_limits"), allowed)
    ratio = value.get("retention_ratio")
    if not (_is_number(ratio) and 0.0 <= ratio <= 1.0):
        raise invalid(f"{field}.retention_ratio", ratio, "a number from 0.0 to 1.0")
    limits = value.get("token_limits")
    if limits is not None:
        check_mapping(
            f"{field}.token_limits", limits, ("post_instructions",), "{'post_instructions': 8000}"
        )
        budget = limits.get("post_instructions")
        if budget is not None and not (is_int(budget) and budget >= 1):
            raise invalid(f"{field}.token_limits.post_instructions", budget, "a positive integer")


def _check_prompt(field: str, value: Any) -> None:
    if value is None:
        return
    example = "{'id': 'pmpt_...', 'version': '2', 'variables': {...}}"
    check_mapping(field, value, ("id", "version", "variables"), example)
    if not isinstance(value.get("id"), str):
        raise invalid(field, value, f"a mapping with the prompt's 'id', such as {example}")
    check_str(f"{field}.version", value.get("version"))
    variables = value.get("variables")
    if variables is not None and not isinstance(variables, Mapping):
        raise invalid(f"{field}.variables", variables, "a mapping of names to values")


def _check_tracing(field: str, value: Any) -> None:
    if value is None or value == "auto":
        return
    allowed = "None (off), 'auto' or {'workflow_name': ..., 'group_id': ..., 'metadata': {...}}"
    if isinstance(value, str):
        raise invalid(field, value, f"{allowed}{_hint(value, ('auto',))}")
    check_mapping(field, value, ("workflow_name", "group_id", "metadata"), allowed)
    for key in ("workflow_name", "group_id"):
        check_str(f"{field}.{key}", value.get(key))
    metadata = value.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise invalid(f"{field}.metadata", metadata, "a mapping")


def _check_include(field: str, value: Any) -> None:
    check_strings(field, value)
    for entry in value or ():
        check_choice(field, entry, _INCLUDE)


def _check_function_tool(field: str, tool: Mapping[str, Any]) -> None:
    keys = ("type", "name", "description", "parameters")
    check_mapping(field, tool, keys, "{'type': 'function', 'name': ...}")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise invalid(f"{field}.name", tool.get("name"), "the function's name")
    check_str(f"{field}.description", tool.get("description"))
    parameters = tool.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise invalid(f"{field}.parameters", parameters, "a JSON schema (a mapping)")


def _check_tool_filter(field: str, value: Any) -> None:
    check_mapping(field, value, ("tool_names", "read_only"), "{'tool_names': [...]}")
    check_strings(f"{field}.tool_names", value.get("tool_names"))
    check_bool(f"{field}.read_only", value.get("read_only"))


def _check_mcp_tool(field: str, tool: Mapping[str, Any]) -> None:
    keys = (
        "type", "server_label", "server_url", "server_description", "connector_id",
        "authorization", "headers", "allowed_tools", "require_approval", "tunnel_id",
        "defer_loading", "allowed_callers",
    )  # fmt: skip
    check_mapping(field, tool, keys, "{'type': 'mcp', 'server_label': ..., 'server_url': ...}")
    if not isinstance(tool.get("server_label"), str) or not tool["server_label"]:
        raise invalid(f"{field}.server_label", tool.get("server_label"), "a label for the server")
    if not any(tool.get(key) for key in ("server_url", "connector_id", "tunnel_id")):
        raise InvalidConfigError(
            f"{field} needs one of server_url, connector_id or tunnel_id", f"{field}.server_url"
        )
    for key in ("server_url", "server_description", "authorization", "tunnel_id"):
        check_str(f"{field}.{key}", tool.get(key))
    if tool.get("connector_id") is not None:
        check_choice(f"{field}.connector_id", tool["connector_id"], _CONNECTORS)
    headers = tool.get("headers")
    if headers is not None and not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise invalid(f"{field}.headers", headers, "a mapping of header names to strings")
    allowed_tools = tool.get("allowed_tools")
    if isinstance(allowed_tools, Mapping):
        _check_tool_filter(f"{field}.allowed_tools", allowed_tools)
    else:
        check_strings(f"{field}.allowed_tools", allowed_tools)
    approval = tool.get("require_approval")
    if isinstance(approval, Mapping):
        check_mapping(f"{field}.require_approval", approval, _APPROVALS, "{'never': {...}}")
        for key in _APPROVALS:
            if approval.get(key) is not None:
                _check_tool_filter(f"{field}.require_approval.{key}", approval[key])
    elif approval is not None:
        check_choice(f"{field}.require_approval", approval, _APPROVALS, ", or a filter")
    check_bool(f"{field}.defer_loading", tool.get("defer_loading"))
    check_strings(f"{field}.allowed_callers", tool.get("allowed_callers"))
    for caller in tool.get("allowed_callers") or ():
        check_choice(f"{field}.allowed_callers", caller, _CALLERS)


def _check_tools(field: str, value: Any) -> None:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
        raise invalid(field, value, "a list of tools")
    for index, tool in enumerate(value):
        where = f"{field}.{index}"
        tool = plain(tool)
        if not isinstance(tool, Mapping):
            raise invalid(where, tool, "a mapping such as {'type': 'function', 'name': ...}")
        kind = tool.get("type")
        if kind == "mcp":
            _check_mcp_tool(where, tool)
        else:
            check_choice(f"{where}.type", kind, ("function", "mcp"))
            _check_function_tool(where, tool)


def _check_session_type(field: str, value: Any) -> None:
    check_choice(field, value, _SESSION_TYPES)


#: Field name -> its check, called with the field's name (or path) and a plain value.
CHECKS: dict[str, Callable[[str, Any], None]] = {
    "type": _check_session_type,
    "output_modalities": _check_modalities,
    "modalities": _check_modalities,
    "voice": _check_voice,
    "input_audio_format": _check_format,
    "output_audio_format": _check_format,
    "turn_detection": _check_turn_detection,
    "input_audio_transcription": _check_transcription,
    "input_audio_noise_reduction": _check_noise_reduction,
    "tools": _check_tools,
    "tool_choice": _check_tool_choice,
    "temperature": _in_range(0.6, 1.2),
    "speed": _in_range(0.25, 1.5),
    "max_output_tokens": _check_max_tokens,
    "max_response_output_tokens": _check_max_tokens,
    "reasoning": _check_reasoning,
    "truncation": _check_truncation,
    "prompt": _check_prompt,
    "parallel_tool_calls": check_bool,
    "tracing": _check_tracing,
    "include": _check_include,
}
