"""A text bot with two tools, talking to a local demo server (or the real API with --live).

    python examples/tools_bot.py "What's the weather in Paris?" "What time is it?"
    python examples/tools_bot.py            # type your questions; Ctrl-D ends
    python examples/tools_bot.py --live     # the OpenAI Realtime API ($OPENAI_API_KEY)

Without --live a LocalRealtimeServer with the DemoModel runs in-process: it
calls get_weather for weather questions (and tells the time by itself).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
import anyio.to_thread

from realtime_events import Session
from realtime_events.testing import DemoModel, LocalRealtimeServer
from realtime_events_tools import ToolError, Tools


async def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
) -> dict[str, Any]:
    """Current weather for a city.

    Args:
        city: The city, e.g. "Paris".
        unit: The temperature unit.
    """
    await anyio.sleep(0.2)  # stands in for a call to a weather service
    temperature = 21 if unit == "celsius" else 70
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": "sunny"}


def get_time(timezone: str = "UTC") -> str:
    """The current local time in a time zone.

    Args:
        timezone: An IANA time zone name, e.g. "Europe/Paris".
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {timezone!r}; use an IANA name") from None
    return datetime.now(zone).strftime("%H:%M")


def make_session(**options: Any) -> Session:
    """A text session with the two tools, printing the conversation as it goes."""
    session = Session(
        instructions="You are a concise assistant. Use the tools for weather and time.",
        output_modalities=["text"],
        **options,
    )
    session.use(Tools([get_weather, get_time], timeout=10))

    @session.on("tools.call_finished")
    def show_call(event: Any) -> None:
        print(f"  [{event.call.name}({event.call.arguments}) -> {event.call.output}]")

    @session.on("response.output_text.done")
    def show_answer(event: Any) -> None:
        print(f"bot: {event.text}")

    return session


async def chat(session: Session, prompts: AsyncIterator[str]) -> None:
    async with session:
        async for prompt in prompts:
            # The whole turn: the tool calls, their outputs, then the answer.
            await session.ask(prompt, timeout=60)


async def from_args(prompts: Iterable[str]) -> AsyncIterator[str]:
    for prompt in prompts:
        print(f"you: {prompt}")
        yield prompt


async def from_stdin() -> AsyncIterator[str]:
    while True:
        try:
            line = await anyio.to_thread.run_sync(input, "you: ")
        except EOFError:
            return
        if line.strip():
            yield line


@asynccontextmanager
async def demo_server() -> AsyncIterator[str]:
    async with LocalRealtimeServer(model=DemoModel()) as server:
        yield server.url


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompts", nargs="*", help="what to say (default: read from stdin)")
    parser.add_argument("--live", action="store_true", help="use the OpenAI Realtime API")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    prompts = from_args(args.prompts) if args.prompts else from_stdin()
    if args.live:
        await chat(make_session(model="gpt-realtime"), prompts)
    else:
        async with demo_server() as url:
            await chat(make_session(url=url), prompts)


if __name__ == "__main__":
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        sys.exit(130)
