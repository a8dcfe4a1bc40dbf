"""A terminal text chat: type a line, watch the reply stream in, with its latency.

    python examples/text_chat.py               # type your messages; Ctrl-D ends
    echo "Hello!" | python examples/text_chat.py
    python examples/text_chat.py --demo        # a short scripted chat, no typing
    python examples/text_chat.py --live        # the real API ($OPENAI_API_KEY)

Without --live a LocalRealtimeServer with the demo model runs in-process (no
key, no network). Each reply is printed as its text deltas arrive, then a line
of metrics: time to the first token after the message was sent, and tokens used.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack
from typing import Any

import anyio
import anyio.to_thread

from realtime_events import Session
from realtime_events.testing import DemoModel, LocalRealtimeServer

DEMO = ["Hello!", "What time is it?", "Tell me about lighthouses."]


def make_session(**options: Any) -> Session:
    """A text-only session that prints replies as they stream, and their metrics."""
    session = Session(
        instructions="You are a friendly, concise assistant.", output_modalities=["text"], **options
    )

    @session.on("response.created")
    def start(event: Any) -> None:
        print("bot: ", end="", flush=True)

    @session.on("response.output_text.delta")
    def stream(event: Any) -> None:
        print(event.delta, end="", flush=True)

    @session.on("metrics.response")
    def show(event: Any) -> None:
        first = event.time_to_first_text
        latency = f"first token after {first * 1000:.0f} ms" if first is not None else "no text"
        print(f"\n     [{latency}, {event.total_tokens or 0} tokens, {event.status}]")

    @session.on("error")
    def error(event: Any) -> None:
        print(f"\n[server error: {event.error.message}]")

    return session


async def chat(session: Session, lines: AsyncIterator[str]) -> None:
    """Send each line and wait for its reply (and its metrics) before reading the next."""
    async with session, session.stream("metrics.response") as replies:
        async for line in lines:
            await session.send_text(line)
            await replies.receive(timeout=60)


async def scripted(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        print(f"you: {line}")
        yield line


async def typed() -> AsyncIterator[str]:
    """Lines from stdin: a prompt on a terminal, quiet echo when piped."""
    interactive = sys.stdin.isatty()
    while True:
        line = await anyio.to_thread.run_sync(sys.stdin.readline)
        if not line:
            return
        line = line.strip()
        if line:
            if not interactive:
                print(f"you: {line}")
            yield line


async def main(args: argparse.Namespace) -> None:
    if sys.stdin.isatty() and not args.demo:
        print("Type a message and press Enter (Ctrl-D ends).")
    lines = scripted(DEMO) if args.demo else typed()
    async with AsyncExitStack() as stack:
        if args.live:
            session = make_session(model=args.model)
        else:
            server = await stack.enter_async_context(LocalRealtimeServer(model=DemoModel()))
            session = make_session(url=server.url)
        await chat(session, lines)
    print("bye")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="run a short scripted chat")
    parser.add_argument("--live", action="store_true", help="use the real API ($OPENAI_API_KEY)")
    parser.add_argument("--model", default="gpt-realtime", help="the model, with --live")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    return args


if __name__ == "__main__":
    try:
        anyio.run(main, parse_args())
    except KeyboardInterrupt:
        sys.exit(130)
