"""A bot inside a threaded chat framework, through the blocking SyncSession facade.

    python examples/threaded_bot.py --demo      # four users write at once, then exit
    python examples/threaded_bot.py             # type messages as "user: text"; Ctrl-D ends
    python examples/threaded_bot.py --live      # the real API ($OPENAI_API_KEY)

Many frameworks (Discord-style bot libraries, Flask, Slack SDKs) call your
code from their own worker threads and expect an answer back, blocking. Here a
small stand-in framework does exactly that, and the bot answers through one
Realtime session running on a background event loop (``SyncSession``). Each
channel gets its own turn at a time; replies stream into the framework's log
from the session's thread, where handlers run.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

from anyio.from_thread import start_blocking_portal

from realtime_events.sync import SyncSession
from realtime_events.testing import DemoModel, LocalRealtimeServer

DEMO = [
    ("alice", "Hello!"),
    ("bob", "What time is it?"),
    ("carol", "What's the weather in Paris?"),
    ("dave", "Tell me a joke."),
]


class ChatFramework:
    """A stand-in for a threaded chat library: each message is handled on a worker thread."""

    def __init__(self, handler: Callable[[str, str], str], workers: int = 4) -> None:
        self.handler = handler
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chat-worker")
        self.log_lock = threading.Lock()

    def log(self, line: str) -> None:
        with self.log_lock:
            print(line, flush=True)

    def deliver(self, user: str, text: str) -> Any:
        """A message arrives: the framework calls the bot on one of its threads."""

        def work() -> None:
            self.log(f"[{threading.current_thread().name}] {user}: {text}")
            answer = self.handler(user, text)
            self.log(f"[{threading.current_thread().name}] bot -> {user}: {answer}")

        return self.pool.submit(work)

    def run(self, messages: Iterable[tuple[str, str]]) -> None:
        for future in [self.deliver(user, text) for user, text in messages]:
            future.result()
        self.pool.shutdown()


class Bot:
    """Answers messages with one Realtime session; safe to call from any thread."""

    def __init__(self, session: SyncSession) -> None:
        self.session = session
        # One conversation, so one turn at a time: a user's reply must not be
        # generated while another user's message is half added.
        self.turn = threading.Lock()

    def answer(self, user: str, text: str) -> str:
        with self.turn:
            self.session.conversation.item.create(
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": f"{user} says: {text}"}],
                }
            )
            done = self.session.response.create().done()  # blocks until this reply is done
        return reply_text(done) or f"(no answer: {done.response.status})"


def reply_text(done: Any) -> str:
    """The text of a response.done: its messages' text (or audio transcript)."""
    parts = [
        part.text or part.transcript or ""
        for item in done.response.output or []
        for part in item.content or []
    ]
    return "".join(parts).strip()


def from_stdin() -> Iterable[tuple[str, str]]:
    for line in sys.stdin:
        user, sep, text = line.strip().partition(":")
        if sep and text.strip():
            yield user.strip(), text.strip()
        elif line.strip():
            yield "you", line.strip()


def main(args: argparse.Namespace) -> None:
    options: dict[str, Any] = {
        "output_modalities": ["text"],
        "instructions": "You are a helpful bot in a group chat. Be brief.",
    }
    with ExitStack() as stack:
        if args.live:
            sync = SyncSession(model=args.model, **options)
        else:
            url = stack.enter_context(local_server())
            sync = SyncSession(url=url, **options)
        stack.enter_context(sync)
        framework = ChatFramework(Bot(sync).answer)

        @sync.on("response.done")
        def log(event: Any) -> None:
            # Handlers run on the session's own thread, not on the framework's.
            usage = event.response.usage
            tokens = usage.total_tokens if usage is not None else "?"
            framework.log(f"[{threading.current_thread().name}] response done, {tokens} tokens")

        framework.run(DEMO if args.demo else from_stdin())
    print("bye")


@contextmanager
def local_server() -> Iterator[str]:
    """A LocalRealtimeServer with the demo model on a background thread; yields its URL."""
    with start_blocking_portal() as portal:
        server = portal.call(lambda: LocalRealtimeServer(model=DemoModel()))
        with portal.wrap_async_context_manager(server):
            yield server.url


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="four users write at once, then exit")
    parser.add_argument("--live", action="store_true", help="use the real API ($OPENAI_API_KEY)")
    parser.add_argument("--model", default="gpt-realtime", help="the model, with --live")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    return args


if __name__ == "__main__":
    try:
        main(parse_args())
    except KeyboardInterrupt:
        sys.exit(130)
