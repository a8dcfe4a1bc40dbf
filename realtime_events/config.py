"""The session configuration, written once and sent in either dialect's shape.

GA nests audio settings (``audio.input.format``, ``audio.output.voice``...) and
requires ``type: "realtime"``; beta keeps them flat (``input_audio_format``,
``voice``...). Users and plugins set dialect-neutral fields; :func:`to_wire`
builds the ``session`` object of a ``session.update`` for the session's dialect.
Any field this module doesn't know passes through unchanged, so new server
options work without a library release. :func:`check_config` refuses, before
anything is sent, the values of known fields that the API would refuse (or,
worse, read as something else).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from .audio import AudioFormat
from .errors import InvalidConfigError
from .events.names import Dialect

__all__ = [
    "NEUTRAL_FIELDS",
    "VOICES",
    "check_config",
    "from_wire",
    "response_to_wire",
    "to_wire",
]

#: Neutral field -> (GA path, beta key). Paths are dotted, into nested objects.
_FIELDS: dict[str, tuple[str, str]] = {
    "voice": ("audio.output.voice", "voice"),
    "speed": ("audio.output.speed", "speed"),
    "input_audio_format": ("audio.input.format", "input_audio_format"),
    "output_audio_format": ("audio.output.format", "output_audio_format"),
    "turn_detection": ("audio.input.turn_detection", "turn_detection"),
    "input_audio_transcription": ("audio.input.transcription", "input_audio_transcription"),
    "input_audio_noise_reduction": ("audio.input.noise_reduction", "input_audio_noise_reduction"),
    "max_output_tokens": ("max_output_tokens", "max_response_output_tokens"),
}

NEUTRAL_FIELDS = frozenset({*_FIELDS, "output_modalities", "instructions", "tools", "tool_choice"})


def _modalities(value: Any, dialect: Dialect) -> tuple[str, Any]:
    modalities = list(value)
    if dialect == "beta":
        # Beta audio responses always carry their transcript as text too.
        return "modalities", ["text", "audio"] if "audio" in modalities else ["text"]
    # GA accepts exactly one output modality; audio includes its transcript.
    return "output_modalities", ["audio"] if "audio" in modalities else ["text"]


def _format(value: Any, dialect: Dialect) -> Any:
    if isinstance(value, AudioFormat):
        return value.to_wire(dialect)
    try:
        return AudioFormat.from_wire(value).to_wire(dialect)
    except (ValueError, TypeError, KeyError):
        return value  # not one we know: the server will judge it


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value


def to_wire(config: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """Build the ``session`` object of ``session.update`` for ``dialect``."""
    wire: dict[str, Any] = {"type": "realtime"} if dialect == "ga" else {}
    for name, value in config.items():
        if name == "output_modalities" or name == "modalities":
            key, modalities = _modalities(value, dialect)
            wire[key] = modalities
        elif name in _FIELDS:
            if name in ("input_audio_format", "output_audio_format"):
                value = _format(value, dialect)
            ga_path, beta_key = _FIELDS[name]
            _put(wire, ga_path if dialect == "ga" else beta_key, value)
        else:
            wire[name] = value
    return wire


def response_to_wire(overrides: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """Translate the per-response overrides of ``response.create`` for ``dialect``."""
    wire = dict(overrides)
    for name in ("output_modalities", "modalities"):
        if name in wire:
            key, modalities = _modalities(wire.pop(name), dialect)
            wire[key] = modalities
    if dialect == "beta" and "max_output_tokens" in wire:
        wire["max_response_output_tokens"] = wire.pop("max_output_tokens")
    return wire


def _get(source: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(source, Mapping) or key not in source:
            return _MISSING
        source = source[key]
    return source


_MISSING: Any = object()


def from_wire(session: Mapping[str, Any]) -> dict[str, Any]:
    """Read a server's ``session`` object, in either dialect's shape, into neutral names.

    The inverse of :func:`to_wire`: ``audio.input.turn_detection`` (GA) and
    ``turn_detection`` (beta) both become ``turn_detection``; fields this module
    doesn't know are kept under their own names.
    """
    neutral: dict[str, Any] = {}
    consumed = {"audio", "type", "modalities", "max_response_output_tokens"}
    for name, (ga_path, beta_key) in _FIELDS.items():
        for path in (ga_path, beta_key):
            value = _get(session, path)
            if value is not _MISSING:
                neutral[name] = value
                consumed.add(path)
                break
    for key in ("output_modalities", "modalities"):
        if key in session and session[key] is not None:
            neutral["output_modalities"] = ["audio"] if "audio" in session[key] else ["text"]
    for key, value in session.items():
        if key not in consumed and key not in neutral:
            neutral[key] = value
    return neutral


# -- checking --------------------------------------------------------------------

#: The built-in voices, as the API lists them; a custom voice is ``{"id": "voice_..."}``.
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")
_MODALITIES = ("text", "audio")
_FORMATS = (
    "'pcm16', 'g711_ulaw', 'g711_alaw', {'type': 'audio/pcm', 'rate': 24000}, "
    "{'type': 'audio/pcmu'}, {'type': 'audio/pcma'} or an AudioFormat"
)
_TURN_DETECTION_TYPES = ("server_vad", "semantic_vad")
_EAGERNESS = ("low", "medium", "high", "auto")
_TOOL_CHOICES = ("auto", "none", "required")
_NOISE_REDUCTION_TYPES = ("near_field", "far_field")


def _invalid(field: str, value: Any, allowed: str) -> InvalidConfigError:
    return InvalidConfigError(f"invalid {field}={value!r}: allowed {allowed}", field)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(map(repr, values))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_modalities(field: str, value: Any) -> None:
    allowed = "['text'], ['audio'] or ['text', 'audio'] (audio comes with its transcript)"
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple) or not value:
        raise _invalid(field, value, allowed)
    for entry in value:
        if entry not in _MODALITIES:
            raise _invalid(field, value, f"{allowed}; {entry!r} is not a modality")


def _check_voice(field: str, value: Any) -> None:
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return  # a custom voice
    if value in VOICES:
        return
    close = difflib.get_close_matches(value, VOICES, n=1) if isinstance(value, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise _invalid(field, value, f"{_listed(VOICES)}, or a custom voice {{'id': ...}}{hint}")


def _check_format(field: str, value: Any) -> None:
    try:
        AudioFormat.from_wire(value)
    except (ValueError, TypeError, KeyError):
        raise _invalid(field, value, _FORMATS) from None


def _check_turn_detection(field: str, value: Any) -> None:
    if value is None:
        return  # turn detection off
    if not isinstance(value, Mapping):
        raise _invalid(field, value, "None or a mapping such as {'type': 'server_vad'}")
    kind = value.get("type", "server_vad")
    if kind not in _TURN_DETECTION_TYPES:
        raise _invalid(f"{field}.type", kind, _listed(_TURN_DETECTION_TYPES))
    eagerness = value.get("eagerness")
    if kind == "semantic_vad" and eagerness is not None and eagerness not in _EAGERNESS:
        raise _invalid(f"{field}.eagerness", eagerness, _listed(_EAGERNESS))
    threshold = value.get("threshold")
    if threshold is not None and not (_is_number(threshold) and 0.0 <= threshold <= 1.0):
        raise _invalid(f"{field}.threshold", threshold, "a number from 0.0 to 1.0")


def _check_tool_choice(field: str, value: Any) -> None:
    allowed = (
        f"{_listed(_TOOL_CHOICES)}, {{'type': 'function', 'name': ...}} "
        "or {'type': 'mcp', 'server_label': ...}"
    )
    if isinstance(value, str):
        if value not in _TOOL_CHOICES:
            raise _invalid(field, value, allowed)
        return
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind == "function" and isinstance(value.get("name"), str):
            return
        if kind == "mcp" and isinstance(value.get("server_label"), str):
            return
    raise _invalid(field, value, allowed)


def _in_range(low: float, high: float) -> Callable[[str, Any], None]:
    def check(field: str, value: Any) -> None:
        if not (_is_number(value) and low <= value <= high):
            raise _invalid(field, value, f"a number from {low:g} to {high:g}")

    return check


def _check_max_tokens(field: str, value: Any) -> None:
    if value == "inf":
        return
    if not (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4096):
        raise _invalid(field, value, "an integer from 1 to 4096, or 'inf'")


def _check_noise_reduction(field: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or value.get("type") not in _NOISE_REDUCTION_TYPES:
        types = _listed(_NOISE_REDUCTION_TYPES)
        raise _invalid(field, value, f"None or {{'type': ...}} with type {types}")


_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "output_modalities": _check_modalities,
    "modalities": _check_modalities,
    "voice": _check_voice,
    "input_audio_format": _check_format,
    "output_audio_format": _check_format,
    "turn_detection": _check_turn_detection,
    "tool_choice": _check_tool_choice,
    "temperature": _in_range(0.6, 1.2),
    "speed": _in_range(0.25, 1.5),
    "max_output_tokens": _check_max_tokens,
    "input_audio_noise_reduction": _check_noise_reduction,
}


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse a configuration the API would refuse, before anything is sent.

    Checks the dialect-neutral fields whose allowed values are known (the
    output modalities, the voice, the audio formats, turn detection, the tool
    choice, and the ranges of temperature, speed and max_output_tokens);
    other fields pass unchecked, for the server to judge. Raises
    :class:`InvalidConfigError` naming the field, the value and the allowed values.
    """
    for field, value in config.items():
        check = _CHECKS.get(field)
        if check is not None:
            check(field, value)
