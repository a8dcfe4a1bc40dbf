"""Rendering turns as plain text, Markdown and JSON, and saving them to a file."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .turn import Role, Turn

__all__ = ["LABELS", "render_json", "render_markdown", "render_text", "save"]

#: How each role is introduced in text and Markdown.
LABELS: Mapping[Role, str] = {
    "user": "User",
    "assistant": "Assistant",
    "system": "System",
    "tool_call": "Tool call",
    "tool_output": "Tool output",
    "other": "Item",
}


def _body(turn: Turn) -> str | None:
    """What a line says about ``turn``, or None when there is nothing to show."""
    if turn.role == "tool_call":
        return f"{turn.name or '?'}({turn.arguments or ''})"
    if turn.role == "tool_output":
        return turn.output or ""
    if turn.role == "other":
        return f"[{turn.item_type}] {turn.text}".rstrip()
    if turn.text:
        return turn.text
    if turn.status == "failed":
        return "[inaudible]"
    if turn.interrupted:
        return ""  # cut off before a word was heard: still a turn
    return None


def _selected(turns: Iterable[Turn], tools: bool) -> list[tuple[Turn, str]]:
    shown: list[tuple[Turn, str]] = []
    for turn in turns:
        if not tools and not turn.is_message:
            continue
        body = _body(turn)
        if body is not None:
            shown.append((turn, body))
    return shown


def _label(turn: Turn, labels: Mapping[str, str] | None) -> str:
    if labels and turn.role in labels:
        return labels[turn.role]
    return LABELS[turn.role]


def render_text(
    turns: Iterable[Turn],
    *,
    tools: bool = False,
    marks: bool = True,
    labels: Mapping[str, str] | None = None,
) -> str:
    """``"User: ...\\nAssistant: ..."``, one line per turn.

    ``tools`` includes tool calls and outputs; ``marks`` appends
    ``[interrupted]`` to turns that were cut off; ``labels`` renames roles
    (``{"user": "Caller"}``).
    """
    lines = []
    for turn, body in _selected(turns, tools):
        line = f"{_label(turn, labels)}: {body}".rstrip()
        if marks and turn.interrupted:
            line += " [interrupted]"
        lines.append(line)
    return "\n".join(lines)


def render_markdown(
    turns: Iterable[Turn],
    *,
    title: str | None = "Transcript",
    tools: bool = False,
    labels: Mapping[str, str] | None = None,
) -> str:
    """A Markdown document: a bold label per turn, tool entries as code."""
    blocks = [f"# {title}"] if title else []
    for turn, body in _selected(turns, tools):
        label = _label(turn, labels)
        if turn.is_tool:
            body = f"`{body}`" if "`" not in body else f"``{body}``"
        text = f"**{label}:** {body}".rstrip()
        if turn.interrupted:
            text += " *(interrupted)*"
        blocks.append(text)
    return "\n\n".join(blocks) + "\n"


def render_json(turns: Iterable[Turn], *, indent: int | None = 2) -> str:
    """Every turn as a JSON array of objects (see :meth:`Turn.to_dict`)."""
    data: list[dict[str, Any]] = [turn.to_dict() for turn in turns]
    return json.dumps(data, indent=indent, ensure_ascii=False)


def save(turns: Iterable[Turn], path: str | os.PathLike[str]) -> Path:
    """Write the turns to ``path``: JSON for ``.json``, Markdown for ``.md``, else text."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".json":
        content = render_json(turns) + "\n"
    elif suffix in (".md", ".markdown"):
        content = render_markdown(turns)
    else:
        content = render_text(turns) + "\n"
    target.write_text(content, encoding="utf-8")
    return target
