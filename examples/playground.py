"""The playground around your own bot: watch its events, talk to it, scrub its recordings.

Run it, open the address it prints, press "start microphone" or type. It talks
to the built-in local server; with ``--live``, to the real API with
``OPENAI_API_KEY``, and the key stays in this process (the page never sees it).

    python examples/playground.py            # the local server, no key
    python examples/playground.py --live     # the real API ($OPENAI_API_KEY)
"""

from __future__ import annotations

import argparse
import os

import anyio

from realtime_events import Session
from realtime_events.playground import Bot, Playground
from realtime_events.testing import DemoModel, LocalRealtimeServer
from realtime_events_tools import Tools
from realtime_events_transcript import Transcript
from realtime_events_vad import VAD


def make_bot(url: str | None) -> Bot:
    """One page's bot: your session, with the VAD plugin for the microphone and barge-in."""
    session = Session(url=url, instructions="You are a helpful assistant. Be brief.")
    tools = session.use(Tools())
    session.use(Transcript())
    vad = session.use(VAD())

    @tools.function
    async def get_weather(city: str) -> dict[str, object]:
        """Current weather for a city."""
        return {"city": city, "temp_c": 21}

    # The page's microphone goes to the VAD plugin; what it played tells barge-in where to cut.
    return Bot(session, listen=vad.push, playback=vad.playback)


async def main(args: argparse.Namespace) -> None:
    async with LocalRealtimeServer(model_factory=DemoModel, pace=0) as server:
        url = None if args.live else server.url
        async with Playground(lambda: make_bot(url), port=args.port) as playground:
            print(f"playground at {playground.url} (Ctrl-C to stop)", flush=True)
            await anyio.sleep_forever()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--live", action="store_true", help="use the real API ($OPENAI_API_KEY)")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    return args


if __name__ == "__main__":
    anyio.run(main, parse_args())
