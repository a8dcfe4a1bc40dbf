"""A web page to watch a session's events, talk to the bot and scrub through recordings.

``realtime-events playground`` serves it around the built-in local server;
:class:`Playground` serves it around your own factory::

    async with Playground(make_bot) as playground:
        print(playground.url)
        await anyio.sleep_forever()

The page is plain HTML, JavaScript and CSS shipped in this package; the
session, and any key it uses, stay in this process. See docs/playground.md.
"""

from __future__ import annotations

from .bridge import PAGE_RATE, Bot, PlaybackReports
from .cli import add_arguments, demo_bot, main, register, run
from .server import BotFactory, Playground

__all__ = [
    "PAGE_RATE",
    "Bot",
    "BotFactory",
    "PlaybackReports",
    "Playground",
    "add_arguments",
    "demo_bot",
    "main",
    "register",
    "run",
]
