"""Response requests: a ``response.create`` read against the session, and the model's context.

A :class:`Request` is the session's settings with the event's overrides, in
either dialect; :func:`reply_context` is what the model sees of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...audio import AudioFormat
from ...events.names import Dialect
from ..models import ReplyContext, ToolOutput
from ._constants import JSON
from ._conversation import Conversation
from ._errors import (
    ClientError,
    bad_value,
    get_bool,
    get_number,
    get_object,
    get_str,
    key_set,
    objects,
    only,
    require_str,
)
from ._items import Item, tokens
from ._session import (
    Config,
    parse_format,
    parse_max_tokens,
    parse_modalities,
    parse_reasoning,
    parse_tool_choice,
    parse_tools,
    parse_voice,
)

_GA_RESPONSE_KEYS = key_set(
    "conversation input instructions max_output_tokens metadata output_modalities tool_choice"
    " tools audio prompt parallel_tool_calls reasoning"
)
_BETA_RESPONSE_KEYS = key_set(
    "conversation input instructions max_response_output_tokens metadata modalities"
    " output_audio_format temperature tool_choice tools voice"
)


@dataclass(slots=True)
class Request:
    """A response to make: the session's settings with the ``response.create`` overrides."""

    audio: bool
    modalities: tuple[str, ...]
    voice: str
    output_format: AudioFormat
    instructions: str
    tools: list[JSON]
    tool_choice: Any
    max_output_tokens: int | str
    temperature: float
    metadata: JSON | None = None
    model: str = "gpt-realtime"
    reasoning: JSON | None = None
    parallel_tool_calls: bool | None = None
    in_conversation: bool = True
    context: list[Item] | None = None  # out-of-band input; None means the conversation


def parse_request(
    overrides: Mapping[str, Any], config: Config, dialect: Dialect, conversation: Conversation
) -> Request:
    """The session's settings with a ``response.create``'s overrides, validated."""
    ga = dialect == "ga"
    only(overrides, _GA_RESPONSE_KEYS if ga else _BETA_RESPONSE_KEYS, "response")
    modalities_key = "output_modalities" if ga else "modalities"
    modalities = config.modalities
    if overrides.get(modalities_key) is not None:
        param = f"response.{modalities_key}"
        modalities = parse_modalities(overrides[modalities_key], param, dialect)
    voice, fmt = _request_audio(overrides, config, dialect)
    target = overrides.get("conversation", "auto")  # "none" makes the response out-of-band
    if target not in (None, "auto", "none"):
        raise bad_value("response.conversation", target, ("auto", "none"))
    request = Request(
        audio="audio" in modalities,
        modalities=modalities,
        voice=voice,
        output_format=fmt,
        instructions=config.instructions,
        tools=config.tools,
        tool_choice=config.tool_choice,
        max_output_tokens=config.max_output_tokens,
        temperature=config.temperature,
        model=config.model,
        reasoning=config.reasoning,
        parallel_tool_calls=config.parallel_tool_calls,
        in_conversation=target != "none",
    )
    _request_overrides(request, overrides, dialect, conversation)
    return request


def _request_audio(
    overrides: Mapping[str, Any], config: Config, dialect: Dialect
) -> tuple[str, AudioFormat]:
    """The voice and output format of a response: the session's, unless overridden."""
    voice, fmt = config.voice_name, config.output_format
    if dialect == "ga":
        audio = get_object(overrides.get("audio") or {}, "response.audio")
        output = get_object(audio.get("output") or {}, "response.audio.output")
        voice_value, format_value = output.get("voice"), output.get("format")
        voice_param, format_param = (
            "response.audio.output.voice",
            "response.audio.output.format",
        )
    else:
        voice_value, format_value = overrides.get("voice"), overrides.get("output_audio_format")
        voice_param, format_param = "response.voice", "response.output_audio_format"
    if voice_value is not None:
        parsed = parse_voice(voice_value, voice_param, dialect)
        voice = str(parsed.get("id", "")) if isinstance(parsed, dict) else parsed
    if format_value is not None:
        fmt = parse_format(format_value, format_param, dialect)
    return voice, fmt


def _request_overrides(
    request: Request, overrides: Mapping[str, Any], dialect: Dialect, conversation: Conversation
) -> None:
    """Apply the overrides beyond modalities and audio to ``request``."""
    instructions = get_str(overrides, "instructions", "response.instructions")
    if instructions is not None:
        request.instructions = instructions
    if overrides.get("tools") is not None:
        request.tools = parse_tools(overrides["tools"], "response.tools")
    if overrides.get("tool_choice") is not None:
        param = "response.tool_choice"
        request.tool_choice = parse_tool_choice(overrides["tool_choice"], param, dialect)
    max_key = "max_output_tokens" if dialect == "ga" else "max_response_output_tokens"
    if overrides.get(max_key) is not None:
        param = f"response.{max_key}"
        request.max_output_tokens = parse_max_tokens(overrides[max_key], param)
    temperature = get_number(overrides, "temperature", "response.temperature")
    if temperature is not None:
        request.temperature = temperature
    if overrides.get("metadata") is not None:
        request.metadata = dict(get_object(overrides["metadata"], "response.metadata"))
    if overrides.get("reasoning") is not None:
        request.reasoning = parse_reasoning(overrides["reasoning"], "response.reasoning")
    parallel = get_bool(overrides, "parallel_tool_calls", "response.parallel_tool_calls")
    if parallel is not None:
        request.parallel_tool_calls = parallel
    if overrides.get("input") is not None:
        request.context = _parse_input(overrides["input"], conversation)


def _parse_input(value: Any, conversation: Conversation) -> list[Item]:
    """Out-of-band input: references to conversation items, and new items."""
    items: list[Item] = []
    for p, entry in objects(value, "response.input"):
        if entry.get("type") == "item_reference":
            ref = require_str(entry, "id", f"{p}.id")
            found = conversation.find(ref or "")
            if found is None:
                raise ClientError(f"Item with id '{ref}' not found.", "invalid_value", f"{p}.id")
            items.append(found)
        else:
            items.append(conversation.parse_item(entry, p))
    return items


def reply_context(
    request: Request, items: Sequence[Item], conversation: Sequence[Item], session: JSON
) -> ReplyContext:
    """What the model is given to reply to ``items``; ``conversation`` names the tools called."""
    names = {
        item.call_id: item.name for item in [*conversation, *items] if item.type == "function_call"
    }
    outputs: list[ToolOutput] = []
    for item in reversed(items):
        if item.type == "message":
            break
        if item.type == "function_call_output":
            outputs.insert(
                0, ToolOutput(item.call_id or "", names.get(item.call_id), item.output or "")
            )
        elif item.type == "mcp_call" and (item.output is not None or item.error is not None):
            # The server ran it: the model reads its output (or its error) like a function's.
            text = item.output if item.output is not None else json.dumps(item.error)
            outputs.insert(0, ToolOutput(item.id, item.name, text))
    user = next((i for i in reversed(items) if i.type == "message" and i.role == "user"), None)
    return ReplyContext(
        items=tuple(item.for_model() for item in items),
        session=session,
        tools=tuple(t for t in request.tools if t.get("type") == "function"),
        user_text=user.text() if user is not None else None,
        tool_outputs=tuple(outputs),
        instructions=request.instructions,
        output_modalities=request.modalities,
        tool_choice=request.tool_choice,
        model=request.model,
        reasoning_effort=(request.reasoning or {}).get("effort"),
    )


def input_tokens(request: Request, items: Sequence[Item]) -> dict[str, int]:
    """Plausible input token counts of a response: its instructions and its context."""
    return {
        "text": tokens(request.instructions)
        + sum(tokens(item.text()) for item in items if item.audio_format is None),
        "audio": sum(
            math.ceil(c.audio_ms(item.audio_format) / 100) for item in items for c in item.content
        ),
    }
