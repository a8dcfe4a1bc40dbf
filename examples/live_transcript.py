"""Print a conversation's transcript live, as it grows, then the final transcript.

By default the conversation runs against an in-process LocalRealtimeServer with
its demo model (no API key, no network). ``--live`` talks to the real API
instead (``OPENAI_API_KEY`` must be set).

The script types four user messages. The second asks for the weather, which the
model answers by calling a ``get_weather`` tool (answered here); during the
fourth reply the "user" barges in after 0.8 s of audio, so that turn ends
interrupted and keeps only the words that were heard.

    python examples/live_transcript.py
    python examples/live_transcript.py --pace 0 --save call.md
    python examples/live_transcript.py --live
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from realtime_events import Session
from realtime_events.testing import DemoModel, LocalRealtimeServer
from realtime_events_transcript import Transcript

PROMPTS = [
    "Hello!",
    "What's the weather in Paris?",
    "What time is it?",
    "Tell me something interesting about lighthouses, in a few sentences.",
]
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
#: How much of the last reply the user hears before interrupting it.
HEARD_MS = 800


class LivePrinter:
    """Prints each turn as its text streams in: one labelled line per turn."""

    LABELS = {
        "user": "User",
        "assistant": "Assistant",
        "tool_call": "Tool call",
        "tool_output": "Tool output",
    }

    def __init__(self) -> None:
        self._current: str | None = None

    def _line(self, item_id: str, role: str) -> None:
        if self._current != item_id:
            if self._current is not None:
                print()
            print(f"{self.LABELS.get(role, role)}: ", end="")
            self._current = item_id

    def updated(self, event: Any) -> None:
        if event.turn.role in self.LABELS and event.delta:
            self._line(event.turn.item_id, event.turn.role)
            print(event.delta, end="", flush=True)

    def interrupted(self, event: Any) -> None:
        turn = event.turn
        self._line(turn.item_id, turn.role)
        print(f"  [interrupted at {event.audio_end_ms} ms; heard: {turn.text!r}]", flush=True)
        self._current = None


@asynccontextmanager
async def make_session(live: bool, pace: float) -> AsyncIterator[Session]:
    """A session on the real API, or on a local server with the demo model."""
    options: dict[str, Any] = {
        "instructions": "You are a friendly, concise voice assistant.",
        "turn_detection": None,
        "config": {"tools": [WEATHER_TOOL]},
    }
    if live:
        yield Session("gpt-realtime", **options)
        return
    async with LocalRealtimeServer(model=DemoModel(), pace=pace) as server:
        yield Session(url=server.url, **options)


async def converse(session: Session, transcript: Transcript) -> None:
    """Send the prompts one at a time, waiting for each spoken answer."""
    received_ms: dict[str, float] = {}
    barge_in = {"armed": False, "sent": False}

    @session.on("response.function_call_arguments.done")
    async def answer_tool(event: Any) -> None:
        city = json.loads(event.arguments or "{}").get("city", "somewhere")
        output = {"city": city, "temp_c": 21, "conditions": "sunny"}
        await session.conversation.item.create(
            {"type": "function_call_output", "call_id": event.call_id, "output": json.dumps(output)}
        )
        await session.response.create()  # sent once the tool-call response is done

    @session.on("response.output_audio.delta")
    async def listen(event: Any) -> None:
        # Stand-in for a speaker and a microphone: the "user" cuts the last
        # answer off once enough of it has played.
        received_ms[event.item_id] = session.conversation.audio_received_ms(event.item_id)
        if barge_in["armed"] and received_ms[event.item_id] >= 2 * HEARD_MS:
            barge_in.update(armed=False, sent=True)
            await session.response.cancel()
            await session.conversation.item.truncate(event.item_id, audio_end_ms=HEARD_MS)

    async with session.stream("transcript.*", buffer=100_000, overflow="drop_oldest") as events:
        for number, prompt in enumerate(PROMPTS, 1):
            barge_in["armed"] = number == len(PROMPTS)
            await session.send_text(prompt)
            with anyio.fail_after(60):
                async for event in events:
                    if event.type == "transcript.turn_completed" and event.turn.role == "assistant":
                        break
        if barge_in["sent"] and transcript[-1].audio_end_ms is None:
            # The answer ended before the truncation was confirmed: wait for it.
            with anyio.fail_after(10):
                async for event in events:
                    if event.type == "transcript.turn_interrupted":
                        break


async def main(live: bool, pace: float, save: str | None) -> None:
    async with make_session(live, pace) as session:
        transcript = session.use(Transcript(save_to=save))
        printer = LivePrinter()
        session.on("transcript.updated", printer.updated)
        session.on("transcript.turn_interrupted", printer.interrupted)
        async with session:
            await converse(session, transcript)
        print("\n\n--- transcript ---")
        print(transcript.text(tools=True))
        if save:
            print(f"\n(saved to {save})")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="use the real API (OPENAI_API_KEY)")
    parser.add_argument(
        "--pace", type=float, default=1.0, help="local server: seconds per second of audio"
    )
    parser.add_argument("--save", help="also write the transcript here (.md, .json or .txt)")
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    args = parser.parse_args(argv)
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    return args


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    anyio.run(main, args.live, args.pace, args.save, backend=args.backend)
