"""The session configuration, written once and sent in either dialect's shape.

GA nests audio settings (``audio.input.format``, ``audio.output.voice``...) and
requires ``type: "realtime"``; beta keeps them flat (``input_audio_format``,
``voice``...). Users and plugins set dialect-neutral fields; :func:`to_wire`
builds the ``session`` object of a ``session.update`` for the session's dialect.
Any field this module doesn't know passes through unchanged, so new server
options work without a library release.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .audio import AudioFormat
from .events.names import Dialect

__all__ = ["NEUTRAL_FIELDS", "from_wire", "response_to_wire", "to_wire"]

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
