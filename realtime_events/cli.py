"""The command line: ``realtime-events demo | serve | replay | tail | playground``.

``demo`` and ``tail`` speak either protocol (``--protocol realtime``, the
default, or ``live``); ``replay`` tells a recording's protocol by its first
frames; ``serve`` serves both.

Also run as ``python -m realtime_events``. An installed distribution adds a
subcommand through the entry-point group ``realtime_events.cli`` (see
:data:`CLI_GROUP`), so the core imports none of its dependencies; the NATS
plugin adds ``worker`` this way. A user's mistake (a missing file, a
busy port, a rejected key) ends the command with one line on stderr and exit
status 1; a closed output pipe (``realtime-events demo | head``) ends it quietly
with status 141, as a shell reports a command killed by SIGPIPE; Ctrl-C cancels
the command and ends it with status 130.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import anyio

from . import __version__
from ._ctrl_c import INTERRUPTED, interruptible
from .audio import silence
from .console import EventPrinter
from .dispatch import EventStream
from .errors import RealtimeError
from .live import LIVE_MODELS
from .playground import cli as playground
from .plugins import PluginNotFoundError, load
from .recording import recording_protocol
from .session import Session
from .testing import DemoModel, LocalRealtimeServer, ScriptedModel
from .testing.models import Reply, ReplyContext
from .testing.speech import synthesize

__all__ = ["CLI_GROUP", "main"]

logger = logging.getLogger(__name__)

DEMO_TURNS = (
    "Hello!",
    "What's the weather in Paris?",
    "Thanks, that's all.",
)

#: The entry-point group of plugins' subcommands. Each entry point names a function
#: ``register(commands, parents)``: it adds its parser with
#: ``commands.add_parser(name, parents=parents, help=...)`` (``parents`` carry the
#: common options: --backend, --dialect, --color, -v) and sets ``run`` on it with
#: ``set_defaults(run=...)``, an ``async def run(args, printer) -> int`` that
#: returns the exit status. A :class:`RealtimeError` it raises is printed as one
#: line with exit status 1, like the core commands' mistakes.
CLI_GROUP = "realtime_events.cli"

#: The exit status of a command whose output pipe closed (128 + SIGPIPE).
BROKEN_PIPE = 141


class UserError(Exception):
    """A mistake in the command's input: printed as one line, exit status 1."""


def _backend(args: argparse.Namespace) -> str:
    return str(args.backend)


async def _run(args: argparse.Namespace) -> int:
    """Run the command; Ctrl-C cancels it, and it stops early when its output closes."""
    printer = EventPrinter(color=None if args.color == "auto" else args.color == "always")
    status = await interruptible(lambda: args.run(args, printer))
    if printer.broken:
        raise BrokenPipeError
    return status


@contextmanager
def _until_pipe_breaks(printer: EventPrinter) -> Iterator[None]:
    """Run the block until it ends or the printer's output closes, whichever is first.

    Placed inside ``async with session``: the session then closes as usual.
    """
    with anyio.CancelScope() as scope:
        printer.on_broken_pipe = scope.cancel
        if printer.broken:
            scope.cancel()
        try:
            yield
        finally:
            printer.on_broken_pipe = None


#: The Responses model a Live demo delegates its weather tool to.
LIVE_BACKEND_MODEL = "gpt-5.2"
#: How long the Live demo waits for more of an answer before it speaks again: Live
#: transcripts have no end, so an answer is over when the assistant falls quiet.
LIVE_QUIET_SECONDS = 1.5


def _optional_plugin(session: Session, name: str, printer: EventPrinter, **options: Any) -> Any:
    try:
        plugin = load(name, **options)
    except PluginNotFoundError:
        printer.line("note", f"plugin {name!r} not installed; continuing without it", "dim")
        return None
    return session.use(plugin)


async def _demo(args: argparse.Namespace, printer: EventPrinter) -> int:
    if args.live:
        if not os.environ.get("OPENAI_API_KEY"):
            print("--live needs OPENAI_API_KEY in the environment", file=sys.stderr)
            return 2
        return await (_converse_live if args.protocol == "live" else _converse)(None, args, printer)
    if args.protocol == "live":
        async with LocalRealtimeServer(model=DemoListener(), pace=args.pace) as server:
            printer.line("server", f"local Live server at {server.live_url}", "dim")
            return await _converse_live(server.live_url, args, printer)
    async with LocalRealtimeServer(model=DemoModel(), pace=args.pace) as server:
        printer.line("server", f"local Realtime server at {server.url}", "dim")
        return await _converse(server.url, args, printer)


async def _converse(url: str | None, args: argparse.Namespace, printer: EventPrinter) -> int:
    session = Session(
        args.model or "gpt-realtime",
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
        with _until_pipe_breaks(printer):
            for text in DEMO_TURNS:
                # The printer shows each message once, as the server confirms it ("user").
                await session.ask(text, timeout=60)
    if transcript is not None and not printer.broken:
        print()
        print(printer.paint("Transcript", "bold"))
        print(transcript.text())
    return 0


class DemoListener:
    """The demo model, with ears for the Live demo's synthesized questions.

    The demo model answers text; on Live the user speaks. The local server hears
    each synthesized question through its turn detection, and this model tells it
    which question it was (anything else gets the placeholder transcript).
    """

    def __init__(self) -> None:
        self._mind = DemoModel()
        self._ears = ScriptedModel()
        for text in DEMO_TURNS:
            self._ears.hears(synthesize(text).pcm, text)

    def reply(self, context: ReplyContext) -> Reply:
        """The demo model's answer."""
        return self._mind.reply(context)

    def transcribe(self, pcm: bytes, sample_rate: int) -> str | None:
        """Which of the demo's questions ``pcm`` is."""
        return self._ears.transcribe(pcm, sample_rate)


async def _converse_live(url: str | None, args: argparse.Namespace, printer: EventPrinter) -> int:
    """The demo on Live: each question spoken, heard by the server's turn detection."""
    session = Session(
        protocol="live",
        model=args.model or LIVE_MODELS[0],
        url=url,
        instructions="You are a friendly assistant. Be brief.",
        voice="marin",
    )
    tools = _optional_plugin(session, "tools", printer, backend_model=LIVE_BACKEND_MODEL)
    transcript = _optional_plugin(session, "transcript", printer)
    if tools is not None:
        tools.function(get_weather)

    session.on("*", printer)
    async with session:
        printer.audio_format = session.output_format
        with _until_pipe_breaks(printer):
            async with session.stream("session.output_transcript.delta") as said:
                for text in DEMO_TURNS:
                    speech = synthesize(text).encoded(session.input_format)
                    await session.send_audio(speech + silence(800, session.input_format))
                    await _answered(said)
    if transcript is not None and not printer.broken:
        print()
        print(printer.paint("Transcript", "bold"))
        print(transcript.text())
    return 0


async def _answered(said: EventStream) -> None:
    """Return once the answer has started, then fallen quiet for LIVE_QUIET_SECONDS."""
    with anyio.fail_after(60):
        await said.receive()
    while True:
        with anyio.move_on_after(LIVE_QUIET_SECONDS) as quiet:
            await said.receive()
        if quiet.cancelled_caught:
            return


def get_weather(city: str) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": city, "temp_c": 21, "sky": "clear"}


async def _serve(args: argparse.Namespace, printer: EventPrinter) -> int:
    # The recording is read, and the port bound, before the first line: a missing file
    # or a busy port is reported now, not when a client connects.
    server = LocalRealtimeServer(host=args.host, port=args.port, pace=args.pace, replay=args.replay)
    async with AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(server)
        except OSError as exc:
            if exc.filename is not None:
                raise  # the recording: reported as a file error
            message = f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            raise UserError(message) from exc
        print(f"local Realtime server listening at {server.url} (Ctrl-C to stop)")
        print(f"local Live server listening at {server.live_url}", flush=True)
        await anyio.sleep_forever()
    return 0


async def _replay(args: argparse.Namespace, printer: EventPrinter) -> int:
    session = Session(
        url="ws://replay.invalid", dialect=args.dialect, protocol=recording_protocol(args.file)
    )
    session.on("*", printer)
    with _until_pipe_breaks(printer):
        count = await session.replay(args.file, speed=args.speed)
        printer.line("replay", f"{count} events", "dim")
    return 0


async def _tail(args: argparse.Namespace, printer: EventPrinter) -> int:
    session = Session(
        args.model, url=args.url, dialect=args.dialect, reconnect=False, protocol=args.protocol
    )
    session.on("*", printer)
    async with anyio.create_task_group() as task_group:
        # Ends the run as a close from any task does; the tail then returns.
        printer.on_broken_pipe = lambda: task_group.start_soon(session.close)
        await session.run()
    return 0


def _common_options(*, top: bool, dialect: bool = True) -> argparse.ArgumentParser:
    """Options accepted before and after the command (``--backend trio demo --dialect beta``).

    Only the top level sets defaults: a command's parser leaves an option it was
    not given unset, so it does not overwrite what came before the command.
    """
    options = argparse.ArgumentParser(add_help=False)

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    options.add_argument(
        "--backend", choices=["asyncio", "trio"], default=default("asyncio"), help="event loop"
    )
    if dialect:
        options.add_argument(
            "--dialect",
            choices=["ga", "beta"],
            default=default("ga"),
            help="the protocol's dialect: GA (the default) or beta",
        )
    options.add_argument(
        "--color", choices=["auto", "always", "never"], default=default("auto"), help="ANSI colors"
    )
    options.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="log at debug level"
    )
    return options


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Typed event handling for the OpenAI Realtime API.",
        parents=[_common_options(top=True)],
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = [_common_options(top=False)]

    demo = commands.add_parser(
        "demo", help="talk to the built-in local server (no key needed)", parents=common
    )
    demo.add_argument("--live", action="store_true", help="use the real API (OPENAI_API_KEY)")
    demo.add_argument("--protocol", choices=["realtime", "live"], default="realtime",
                      help="the voice protocol: Realtime (the default) or Live")  # fmt: skip
    demo.add_argument("--model", default=None, help="gpt-realtime, or gpt-live-1 on Live")
    demo.add_argument("--pace", type=float, default=0.05, help="wall seconds per audio second")
    demo.set_defaults(run=_demo)

    # The server speaks both dialects, chosen by each client: no --dialect here.
    serve = commands.add_parser(
        "serve",
        help="run the local Realtime server",
        parents=[_common_options(top=False, dialect=False)],
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--pace", type=float, default=1.0, help="wall seconds per audio second")
    serve.add_argument("--replay", metavar="FILE", help="serve a recording instead of a model")
    serve.set_defaults(run=_serve)

    replay = commands.add_parser("replay", help="print a recorded session (JSONL)", parents=common)
    replay.add_argument("file")
    replay.add_argument("--speed", type=float, default=0.0, help="0: as fast as possible")
    replay.set_defaults(run=_replay)

    tail = commands.add_parser(
        "tail", help="print the events of any Realtime endpoint", parents=common
    )
    tail.add_argument("url")
    tail.add_argument("--model", default=None)
    tail.add_argument("--protocol", choices=["realtime", "live"], default="realtime",
                      help="the protocol the endpoint speaks")  # fmt: skip
    tail.set_defaults(run=_tail)
    playground.register(commands, common)
    _plugin_commands(commands, common)
    return parser


def _plugin_commands(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Let installed plugins add their subcommands (see :data:`CLI_GROUP`).

    A plugin that fails to load, or names a command that exists, is skipped
    with a warning: one broken plugin must not take the whole command line down.
    """
    for entry in importlib.metadata.entry_points(group=CLI_GROUP):
        if entry.name in commands.choices:
            logger.warning("plugin command %r skipped: the name is taken", entry.name)
            continue
        try:
            register = entry.load()
            register(commands, parents)
        except Exception as exc:
            logger.warning("plugin command %r could not be loaded: %s", entry.name, exc)


def _leaf(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member groups (task groups wrap what they raise)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _user_error(exc: BaseException) -> str | None:
    """The line to print for a mistake in the command's input; None for anything else."""
    if isinstance(exc, UserError | RealtimeError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return None


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None, *, prog: str = "realtime-events") -> int:
    """Run the command line; return the exit status."""
    args = _parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    dialect = getattr(args, "dialect", None)  # serve has none: its clients choose
    where = args.backend if dialect is None else f"{args.backend}, dialect {dialect}"
    logger.debug("%s on %s", args.command, where)

    try:
        return anyio.run(_run, args, backend=_backend(args))
    except BaseException as exc:
        leaf = _leaf(exc)
        if isinstance(leaf, KeyboardInterrupt):  # before the watch began, or a second Ctrl-C
            return INTERRUPTED
        if isinstance(leaf, BrokenPipeError):
            _quiet_stdout()
            return BROKEN_PIPE
        message = _user_error(leaf)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
