"""Event names of the two protocol dialects, and the aliases between them."""

from __future__ import annotations

from typing import Literal

Dialect = Literal["ga", "beta"]

#: The six server events GA renamed, beta spelling -> GA spelling.
BETA_TO_GA: dict[str, str] = {
    "response.audio.delta": "response.output_audio.delta",
    "response.audio.done": "response.output_audio.done",
    "response.audio_transcript.delta": "response.output_audio_transcript.delta",
    "response.audio_transcript.done": "response.output_audio_transcript.done",
    "response.text.delta": "response.output_text.delta",
    "response.text.done": "response.output_text.done",
}

#: The same table, GA spelling -> beta spelling.
GA_TO_BETA: dict[str, str] = {ga: beta for beta, ga in BETA_TO_GA.items()}


def canonical(name: str) -> str:
    """Return the GA spelling of an event name (names GA did not rename are unchanged)."""
    return BETA_TO_GA.get(name, name)


def spellings(name: str) -> tuple[str, ...]:
    """Return every wire spelling of an event name, the GA one first."""
    ga = canonical(name)
    beta = GA_TO_BETA.get(ga)
    return (ga, beta) if beta else (ga,)


def for_dialect(name: str, dialect: Dialect) -> str:
    """Return the spelling of an event name that a server of ``dialect`` sends."""
    ga = canonical(name)
    return GA_TO_BETA.get(ga, ga) if dialect == "beta" else ga
