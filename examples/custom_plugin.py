"""Writing a plugin: a profanity filter that masks words in the assistant's stream.

    python examples/custom_plugin.py --demo      # a scripted chat that trips the filter
    python examples/custom_plugin.py --live      # the real API ($OPENAI_API_KEY); type lines

A plugin is any object with a ``name`` and ``attach(session)``; it may add
``session_config()`` (fields merged into the session configuration) and
``async run(session)`` (a background task for the session's lifetime). It
works with ordinary handlers and publishes its own events with
``session.emit("<name>.<event>", ...)``, which the application handles like
any other event. This one publishes:

- ``profanity.text.delta`` (``delta``, ``item_id``): the assistant's text, masked,
  cut on word boundaries so a word split across deltas is still caught;
- ``profanity.text.done`` (``text``, ``item_id``): the whole masked text;
- ``profanity.detected`` (``role``, ``words``, ``item_id``): for user and assistant text;
- ``profanity.report`` (``counts``): now and then, while anything was detected.

It handles Realtime's events only, so it says so in ``protocols``: a Live
session refuses it in ``session.use``, before anything is configured or
attached, with :class:`~realtime_events.PluginNotApplicableError` and the
``protocol_hints`` text telling what to do instead (the demo ends by showing it).

To ship it, put the class in a distribution with an entry point in the group
``realtime_events.plugins``; then ``Session(plugins=["profanity"])`` loads it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import anyio
import anyio.to_thread

from realtime_events import PluginNotApplicableError, Session
from realtime_events.testing import LocalRealtimeServer, ScriptedModel


class ProfanityFilter:
    """Masks listed words in assistant text, and reports them from either side."""

    name = "profanity"
    events = (
        "profanity.text.delta",
        "profanity.text.done",
        "profanity.detected",
        "profanity.report",
    )
    # Its handlers are for Realtime's event names, which a Live session refuses.
    protocols = ("realtime",)
    protocol_hints = {
        "live": "Live has no response text or item events: mask "
        "session.output_transcript.delta in a handler of your own instead",
    }

    def __init__(
        self, words: Iterable[str], *, transcribe_user: bool = False, report_every: float = 5.0
    ) -> None:
        self.words = {word.casefold() for word in words}
        self.transcribe_user = transcribe_user
        self.report_every = report_every
        self.counts: Counter[str] = Counter()
        self._pattern = re.compile(
            r"\b(" + "|".join(re.escape(w) for w in sorted(self.words)) + r")\b", re.IGNORECASE
        )
        self._pending: dict[str, str] = {}  # per item: text after the last word boundary
        self._session: Session | None = None

    def attach(self, session: Session) -> None:
        self._session = session
        session.on("response.output_text.delta", self._on_delta)
        session.on("response.output_audio_transcript.delta", self._on_delta)
        session.on("response.output_text.done", self._on_done)
        session.on("response.output_audio_transcript.done", self._on_done)
        session.on("conversation.item.done", self._on_user_item)
        session.on("conversation.item.input_audio_transcription.completed", self._on_heard)

    def session_config(self) -> Mapping[str, Any]:
        # Spoken user turns can only be checked once they are transcribed.
        if self.transcribe_user:
            return {"input_audio_transcription": {"model": "whisper-1"}}
        return {}

    async def run(self, session: Session) -> None:
        reported: Counter[str] = Counter()
        while True:
            await anyio.sleep(self.report_every)
            if self.counts != reported:
                reported = self.counts.copy()
                session.emit("profanity.report", counts=dict(reported))

    # -- masking -----------------------------------------------------------

    def mask(self, text: str) -> str:
        """``text`` with each listed word replaced by asterisks of the same length."""
        return self._pattern.sub(lambda m: "*" * len(m.group()), text)

    def _found(self, role: str, text: str, item_id: str | None) -> None:
        words = [m.group().casefold() for m in self._pattern.finditer(text)]
        if words and self._session is not None:
            self.counts.update(words)
            self._session.emit("profanity.detected", role=role, words=words, item_id=item_id)

    def _on_delta(self, event: Any) -> None:
        assert self._session is not None
        text = self._pending.pop(event.item_id, "") + event.delta
        # Hold back the last, maybe unfinished word: "he" + "ck" must be caught.
        cut = max(text.rfind(" "), text.rfind("\n")) + 1
        ready, self._pending[event.item_id] = text[:cut], text[cut:]
        if ready:
            self._session.emit(
                "profanity.text.delta", delta=self.mask(ready), item_id=event.item_id
            )

    def _on_done(self, event: Any) -> None:
        assert self._session is not None
        rest = self.mask(self._pending.pop(event.item_id, ""))
        if rest:
            self._session.emit("profanity.text.delta", delta=rest, item_id=event.item_id)
        full = getattr(event, "text", None) or getattr(event, "transcript", "") or ""
        self._session.emit("profanity.text.done", text=self.mask(full), item_id=event.item_id)
        self._found("assistant", full, event.item_id)

    def _on_user_item(self, event: Any) -> None:
        item = event.item
        if item.role == "user":
            text = " ".join(part.text for part in item.content or [] if part.text)
            self._found("user", text, item.id)

    def _on_heard(self, event: Any) -> None:
        self._found("user", event.transcript or "", event.item_id)


DEMO = ["Hello!", "Why is the sky blue, darn it?"]


def show_live_refusal() -> None:
    """A Live session refuses the plugin up front, saying what to do instead."""
    try:
        Session(protocol="live", model="gpt-live-1").use(ProfanityFilter(["darn"]))
    except PluginNotApplicableError as refused:
        print(f"on Live: {refused}")


def make_session(**options: Any) -> tuple[Session, ProfanityFilter]:
    session = Session(output_modalities=["text"], instructions="Be brief.", **options)
    profanity = session.use(ProfanityFilter(["darn", "heck"], report_every=0.5))

    @session.on("response.created")
    def start(event: Any) -> None:
        print("bot: ", end="", flush=True)

    @session.on("profanity.text.delta")
    def stream(event: Any) -> None:
        print(event.delta, end="", flush=True)

    @session.on("profanity.text.done")
    def done(event: Any) -> None:
        print()

    @session.on("profanity.detected")
    def detected(event: Any) -> None:
        print(f"  [profanity from the {event.role}: {', '.join(event.words)}]")

    return session, profanity


async def main(args: argparse.Namespace) -> None:
    async with AsyncExitStack() as stack:
        if args.live:
            session, profanity = make_session(model=args.model)
        else:
            model = (
                ScriptedModel()
                .when("hello")
                .say("Hello there! What the heck can I do for you?")
                .when("sky")
                .say("Rayleigh scattering, darn it: blue light scatters the most. Heck, yes.")
                .otherwise("Heck, I only know about hellos and the sky.")
            )
            server = await stack.enter_async_context(LocalRealtimeServer(model=model))
            session, profanity = make_session(url=server.url)
        async with session, session.stream("profanity.text.done") as answers:
            lines = DEMO if args.demo else await anyio.to_thread.run_sync(sys.stdin.readlines)
            for line in (line.strip() for line in lines):
                if line:
                    print(f"you: {line}")
                    await session.send_text(line)
                    await answers.receive(timeout=60)
    print(f"totals: {dict(profanity.counts)}")
    if args.demo:
        show_live_refusal()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="a short scripted chat")
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
