"""The command line: ``python -m realtime_events demo | serve | replay | tail``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import anyio

from . import __version__
from .console import EventPrinter
from .errors import RealtimeError
from .plugins import PluginNotFoundError, load
from .session import Session
from .testing import DemoModel, LocalRealtimeServer

__all__ = ["main"]

DEMO_TURNS = (
    "Hello!",
    "What's the weather in Paris?",
    "Thanks, that's all.",
)


def _backend(args: argparse.Namespace) -> str:
    return str(args.backend)


def _optional_plugin(session: Session, name: str, printer: EventPrinter) -> Any:
    try:
        plugin = load(name)
    except PluginNotFoundError:
        printer.line("note", f"plugin {name!r} not installed; continuing without it", "dim")
        return None
    return session.use(plugin)


async def _demo(args: argparse.Namespace) -> int:
    printer = EventPrinter(color=None if args.color == "auto" else args.color == "always")
    if args.live:
        if not os.environ.get("OPENAI_API_KEY"):
            print("--live needs OPENAI_API_KEY in the environment", file=sys.stderr)
            return 2
        return await _converse(None, args, printer)
    async with LocalRealtimeServer(model=DemoModel(), pace=args.pace) as server:
        printer.line("server", f"local Realtime server at {server.url}", "dim")
        return await _converse(server.url, args, printer)


async def _converse(url: str | None, args: argparse.Namespace, printer: EventPrinter) -> int:
    session = Session(
        args.model,
        url=url,
        dialect=args.dialect,
        instructions="You are a friendly assistant. Be brief.",
        voice="marin",
        output_modalities=["audio"],
    )
    tools = _optional_plugin(session, "tools", printer)
    transcript = _optional_plugin(session, "transcript", printer)
    if tools is not None:
        tools.function(get_weather)

    session.on("*", printer)
    async with session:
        for text in DEMO_TURNS:
            printer.line("you", text, "bold", "green")
            await session.send_text(text)
            await _settle(session)
    if transcript is not None:
        print()
        print(printer.paint("Transcript", "bold"))
        print(transcript.text())
    return 0


def get_weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp_c": 21, "sky": "clear"}


async def _settle(session: Session, timeout: float = 60.0) -> None:
    """Wait until the turn is over: a response that called no tool (tools chain responses)."""
    with anyio.fail_after(timeout):
        while True:
            done = await session.wait_for("response.done")
            output = done.response.output or []
            if not any(item.type == "function_call" for item in output):
                return


async def _serve(args: argparse.Namespace) -> int:
    server = LocalRealtimeServer(host=args.host, port=args.port, pace=args.pace, replay=args.replay)
    async with server:
        print(f"local Realtime server listening at {server.url} (Ctrl-C to stop)", flush=True)
        await anyio.sleep_forever()
    return 0


async def _replay(args: argparse.Namespace) -> int:
    printer = EventPrinter(color=None if args.color == "auto" else args.color == "always")
    session = Session(url="ws://replay.invalid")
    session.on("*", printer)
    count = await session.replay(args.file, speed=args.speed)
    printer.line("replay", f"{count} events", "dim")
    return 0


async def _tail(args: argparse.Namespace) -> int:
    printer = EventPrinter(color=None if args.color == "auto" else args.color == "always")
    session = Session(args.model, url=args.url, dialect=args.dialect, reconnect=False)
    session.on("*", printer)
    await session.run()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m realtime_events",
        description="Typed event handling for the OpenAI Realtime API.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--color", choices=["auto", "always", "never"], default="auto")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="talk to the built-in local server (no key needed)")
    demo.add_argument("--live", action="store_true", help="use the real API (OPENAI_API_KEY)")
    demo.add_argument("--model", default="gpt-realtime")
    demo.add_argument("--dialect", choices=["ga", "beta"], default="ga")
    demo.add_argument("--pace", type=float, default=0.05, help="wall seconds per audio second")
    demo.set_defaults(run=_demo)

    serve = commands.add_parser("serve", help="run the local Realtime server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--pace", type=float, default=1.0, help="wall seconds per audio second")
    serve.add_argument("--replay", metavar="FILE", help="serve a recording instead of a model")
    serve.set_defaults(run=_serve)

    replay = commands.add_parser("replay", help="print a recorded session (JSONL)")
    replay.add_argument("file")
    replay.add_argument("--speed", type=float, default=0.0, help="0: as fast as possible")
    replay.set_defaults(run=_replay)

    tail = commands.add_parser("tail", help="print the events of any Realtime endpoint")
    tail.add_argument("url")
    tail.add_argument("--model", default=None)
    tail.add_argument("--dialect", choices=["ga", "beta"], default="ga")
    tail.set_defaults(run=_tail)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )

    async def run() -> int:
        result: int = await args.run(args)
        return result

    try:
        return anyio.run(run, backend=_backend(args))
    except KeyboardInterrupt:
        return 130
    except RealtimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
