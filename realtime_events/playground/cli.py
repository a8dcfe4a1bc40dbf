"""``realtime-events playground``: serve the page around a session factory and open it.

By default each page talks to a built-in local Realtime server (the demo
model, no key); ``--live`` talks to the real API with ``OPENAI_API_KEY``, which
stays in this process; ``--url`` to any Realtime endpoint; ``--app
module:function`` to your own factory (it returns a ``Session`` or a
:class:`~.bridge.Bot`).

For the core command line: :func:`register` has the signature of a
``realtime_events.cli`` subcommand; :func:`add_arguments` and :func:`run`
are the same pieces for any ``argparse`` parser, and :func:`main` a whole
program.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import webbrowser
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import anyio

from .._ctrl_c import INTERRUPTED, interruptible
from ..plugins import PluginNotFoundError
from ..session import Session
from ..testing import DemoModel, LocalRealtimeServer
from .bridge import Bot
from .server import BotFactory, Playground

__all__ = ["add_arguments", "demo_bot", "main", "register", "run"]


def get_weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp_c": 21, "sky": "clear"}


def demo_bot(url: str | None, *, model: str | None = None, dialect: str = "ga") -> Bot:
    """A session with the installed plugins: VAD (barge-in), transcript, tools (a weather tool).

    ``url=None`` is the real API (the key from ``OPENAI_API_KEY``).
    """
    session = Session(
        model,
        url=url,
        dialect="beta" if dialect == "beta" else "ga",
        instructions="You are a friendly assistant. Be brief.",
        voice="marin",
        output_modalities=["audio"],
        input_audio_transcription={"model": "whisper-1"},
    )
    for name in ("transcript", "tools"):
        try:
            plugin = session.use(name)
        except PluginNotFoundError:
            continue
        if name == "tools":
            plugin.function(get_weather)
    try:
        vad = session.use("vad")
    except PluginNotFoundError:
        return Bot(session)
    return Bot(session, listen=vad.push, playback=vad.playback)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the playground's options to ``parser``."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--live", action="store_true", help="the real API (OPENAI_API_KEY)")
    where.add_argument("--url", help="a Realtime endpoint (ws:// or wss://)")
    where.add_argument("--app", help="module:function making each page's Session or Bot")
    parser.add_argument("--model", default=None, help="the model (default: the endpoint's)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve the page on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    parser.add_argument("--pace", type=float, default=0.0, help="the local server's pacing")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    if not any(action.dest == "dialect" for action in parser._actions):
        parser.add_argument("--dialect", choices=["ga", "beta"], default="ga")


def _app(spec: str) -> BotFactory:
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise SystemExit(f"--app takes module:function, not {spec!r}")
    sys.path.insert(0, os.getcwd())
    factory: BotFactory = getattr(importlib.import_module(module_name), name)
    return factory


async def run(args: argparse.Namespace, *_: Any) -> int:
    """Serve the playground as ``args`` say until interrupted; return the exit status."""
    dialect = str(getattr(args, "dialect", "ga") or "ga")
    async with AsyncExitStack() as stack:
        factory: BotFactory
        if args.app:
            factory = _app(args.app)
        elif args.live or args.url:
            if args.live and not os.environ.get("OPENAI_API_KEY"):
                print("--live needs OPENAI_API_KEY in the environment", file=sys.stderr)
                return 2
            url = None if args.live else args.url
            factory = _factory(url, args.model, dialect)
        else:
            server = await stack.enter_async_context(
                LocalRealtimeServer(model_factory=DemoModel, pace=args.pace)
            )
            factory = _factory(server.url, args.model, dialect)
        try:
            playground = await stack.enter_async_context(
                Playground(factory, host=args.host, port=args.port)
            )
        except OSError as error:
            print(f"cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
            return 1
        print(f"playground at {playground.url} (Ctrl-C to stop)", flush=True)
        if not args.no_open:
            webbrowser.open(playground.url)
        await anyio.sleep_forever()
    return 0


def _factory(url: str | None, model: str | None, dialect: str) -> Callable[[], Bot]:
    return lambda: demo_bot(url, model=model, dialect=dialect)


def register(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``playground`` to ``realtime-events`` (the core command line calls it)."""
    parser = commands.add_parser(
        "playground", parents=parents, help="a web page to watch and talk to a session"
    )
    add_arguments(parser)
    parser.set_defaults(run=run)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``realtime-events playground`` as a program of its own."""
    parser = argparse.ArgumentParser(prog="realtime-events playground", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args(argv)
    try:
        return anyio.run(interruptible, lambda: run(args), backend=args.backend)
    except KeyboardInterrupt:  # before the watch began, or a second Ctrl-C
        return INTERRUPTED
