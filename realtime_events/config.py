"""The session configuration, written once and sent in either dialect's shape.

GA nests audio settings (``audio.input.format``, ``audio.output.voice``...) and
requires ``type: "realtime"``; beta keeps them flat (``input_audio_format``,
``voice``...). Users and plugins set dialect-neutral fields; :func:`to_wire`
builds the ``session`` object of a ``session.update`` for the session's dialect.
Any field this module doesn't know passes through unchanged, so new server
options work without a library release. :func:`check_config` refuses, before
anything is sent, the values of known fields that the API would refuse (or,
worse, read as something else).

A value may be a plain mapping or a settings model of
:mod:`realtime_events.events.settings` (``turn_detection=SemanticVad(eagerness="high")``);
a model is sent as the fields it was given.

``type: "transcription"`` makes the configuration a transcription session's: it
takes only the input settings (``input_audio_format``,
``input_audio_transcription``, ``input_audio_noise_reduction``,
``turn_detection``) and ``include``. GA sends it in ``session.update`` like any
other; beta sends it, without ``type``, in ``transcription_session.update``
(:func:`update_event` picks the event).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._config_checks import CHECKS, REASONING_EFFORTS, VOICES, check_mapping, plain
from .audio import AudioFormat
from .errors import InvalidConfigError
from .events._base import ClientEvent
from .events.client import SessionUpdateEvent, TranscriptionSessionUpdateEvent
from .events.names import Dialect
from .events.payloads import REALTIME_ONLY_FIELDS

__all__ = [
    "NEUTRAL_FIELDS",
    "REASONING_EFFORTS",
    "TRANSCRIPTION_FIELDS",
    "VOICES",
    "check_config",
    "from_wire",
    "is_transcription",
    "response_to_wire",
    "to_wire",
    "update_event",
    "wire_field",
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

#: What a transcription session takes, besides ``type``; anything else that a
#: realtime session knows (``voice``, ``instructions``...) is refused in one.
TRANSCRIPTION_FIELDS = frozenset(
    {
        "input_audio_format",
        "input_audio_transcription",
        "input_audio_noise_reduction",
        "turn_detection",
        "include",
        "audio",
    }
)


def is_transcription(config: Mapping[str, Any]) -> bool:
    """Whether ``config`` is a transcription session's (``type: "transcription"``)."""
    return config.get("type") == "transcription"


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


def _merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """Merge a nested mapping into ``target``, copying: the caller's stays as it was."""
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        elif isinstance(value, Mapping):
            target[key] = {}
            _merge(target[key], value)
        else:
            target[key] = value


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    for key in parents:
        target = target.setdefault(key, {})
    target[leaf] = value


def to_wire(config: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """Build the ``session`` object of ``session.update`` for ``dialect``.

    A transcription session's (``type: "transcription"``) too; beta's goes in
    ``transcription_session.update``, see :func:`update_event`.
    """
    wire: dict[str, Any] = {"type": "realtime"} if dialect == "ga" else {}
    for name, value in config.items():
        value = plain(value)
        if name == "type" and dialect == "beta":
            continue  # beta tells the kinds of session apart by the update event
        if name == "output_modalities" or name == "modalities":
            key, modalities = _modalities(value, dialect)
            wire[key] = modalities
        elif name == "audio" and dialect == "ga" and isinstance(value, Mapping):
            _merge(wire.setdefault("audio", {}), value)
        elif name in _FIELDS:
            if name in ("input_audio_format", "output_audio_format"):
                value = _format(value, dialect)
            ga_path, beta_key = _FIELDS[name]
            _put(wire, ga_path if dialect == "ga" else beta_key, value)
        else:
            wire[name] = value
    return wire


#: The neutral per-response fields that GA's ``response.create`` nests under ``audio``.
_RESPONSE_AUDIO = ("voice", "output_audio_format")


def response_to_wire(overrides: Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """Translate the per-response overrides of ``response.create`` for ``dialect``.

    GA takes the voice and the output format under ``audio.output``, as a
    session does; beta keeps them flat. An ``audio`` object given as such
    (GA) merges with them, the caller's left as it was.
    """
    wire: dict[str, Any] = {}
    for name, value in overrides.items():
        value = plain(value)
        if name == "output_audio_format":
            value = _format(value, dialect)
        if name == "audio" and dialect == "ga" and isinstance(value, Mapping):
            _merge(wire.setdefault("audio", {}), value)
        elif name in _RESPONSE_AUDIO and dialect == "ga":
            _put(wire, _FIELDS[name][0], value)
        elif name in ("output_modalities", "modalities"):
            key, modalities = _modalities(value, dialect)
            wire[key] = modalities
        elif name == "max_output_tokens" and dialect == "beta":
            wire["max_response_output_tokens"] = value
        else:
            wire[name] = value
    return wire


def update_event(config: Mapping[str, Any], dialect: Dialect) -> ClientEvent:
    """The client event that sends ``config`` in ``dialect``.

    ``session.update``, but ``transcription_session.update`` for a beta
    transcription session.
    """
    session = to_wire(config, dialect)
    if dialect == "beta" and is_transcription(config):
        return TranscriptionSessionUpdateEvent(session=session)
    return SessionUpdateEvent(session=session)


def _get(source: Mapping[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(source, Mapping) or key not in source:
            return _MISSING
        source = source[key]
    return source


_MISSING: Any = object()


def wire_field(session: Mapping[str, Any], name: str) -> Any:
    """One neutral field of a server's ``session`` object, as :func:`from_wire` reads it.

    None when the object does not have it. For a session's audio formats,
    read at every new answer: reading them all costs some forty lookups more.
    """
    found = _field_at(session, name)
    return None if found is None else found[1]


def _field_at(session: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    """Where a neutral field sits in a server's ``session`` object (GA first), and its value."""
    for path in _FIELDS[name]:
        value = _get(session, path)
        if value is not _MISSING:
            return path, value
    return None


def from_wire(session: Mapping[str, Any]) -> dict[str, Any]:
    """Read a server's ``session`` object, in either dialect's shape, into neutral names.

    The inverse of :func:`to_wire`: ``audio.input.turn_detection`` (GA) and
    ``turn_detection`` (beta) both become ``turn_detection``; fields this module
    doesn't know are kept under their own names.
    """
    neutral: dict[str, Any] = {}
    consumed = {"audio", "type", "modalities", "max_response_output_tokens"}
    for name in _FIELDS:
        found = _field_at(session, name)
        if found is not None:
            path, neutral[name] = found
            consumed.add(path)
    for key in ("output_modalities", "modalities"):
        if key in session and session[key] is not None:
            neutral["output_modalities"] = ["audio"] if "audio" in session[key] else ["text"]
    for key, value in session.items():
        if key not in consumed and key not in neutral:
            neutral[key] = value
    return neutral


# -- checking --------------------------------------------------------------------


def _check_audio(field: str, value: Any) -> None:
    """Check a GA-shaped ``audio`` object, field by field, under its GA paths."""
    check_mapping(field, value, ("input", "output"), "{'input': {...}, 'output': {...}}")
    for name, (ga_path, _) in _FIELDS.items():
        if ga_path.startswith("audio."):
            found = _get({"audio": value}, ga_path)
            if found is not _MISSING:
                CHECKS.get(name, _no_check)(ga_path, plain(found))


def _no_check(field: str, value: Any) -> None:
    """For a field whose values the server judges."""


_CHECKS: dict[str, Callable[[str, Any], None]] = {**CHECKS, "audio": _check_audio}


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse a configuration the API would refuse, before anything is sent.

    Checks the fields whose allowed values are known: the output modalities,
    the voice, the audio formats (also nested GA-style under ``audio``), turn
    detection (both kinds), transcription, noise reduction, the tools (function
    and MCP) and the tool choice, reasoning, truncation, the prompt, tracing,
    ``include``, and the ranges of temperature, speed and max_output_tokens.
    A key inside a known object that looks like a typo of a known one is refused;
    other fields pass unchecked, for the server to judge. A transcription
    session's configuration (``type: "transcription"``) is refused any realtime
    session's field. Raises :class:`InvalidConfigError` naming the field, the
    value and the allowed values.
    """
    if is_transcription(config):
        realtime_only = [name for name in config if name in REALTIME_ONLY_FIELDS]
        if realtime_only:
            raise InvalidConfigError(
                f"{realtime_only[0]} is not a setting of a transcription session "
                f"(type='transcription'): it takes {', '.join(sorted(TRANSCRIPTION_FIELDS))}",
                realtime_only[0],
            )
        audio = plain(config.get("audio"))
        if isinstance(audio, Mapping) and "output" in audio:
            raise InvalidConfigError(
                "audio.output is not a setting of a transcription session (type='transcription')",
                "audio.output",
            )
    for field, value in config.items():
        check = _CHECKS.get(field)
        if check is not None:
            check(field, plain(value))
