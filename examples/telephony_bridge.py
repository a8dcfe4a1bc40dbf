"""A telephony bridge: 8 kHz μ-law phone audio in, the assistant's voice back as μ-law.

    python examples/telephony_bridge.py --demo          # a simulated call, then exit
    python examples/telephony_bridge.py --wav my.wav --save reply.wav
    python examples/telephony_bridge.py --demo --live   # the real API ($OPENAI_API_KEY)

Phone networks and providers such as Twilio carry G.711 μ-law at 8 kHz in
20 ms frames (160 bytes). The Realtime API takes μ-law input as it is
(``input_audio_format="g711_ulaw"``), so caller audio passes straight through.
The assistant's audio comes back as 24 kHz PCM16 here and is converted to
8 kHz μ-law frames for the phone with a streaming ``Converter``; set
``--output g711_ulaw`` to have the server send μ-law and skip the conversion.

The phone side is simulated: a WAV file (tests/audio/hello_there.wav by
default) is converted to 20 ms μ-law frames and streamed like a caller, then
silence, so the server's VAD hears the end of the turn. Without --live the
session talks to an in-process LocalRealtimeServer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

from realtime_events import Session
from realtime_events.audio import (
    G711_ULAW,
    PCM16,
    Converter,
    chunks,
    read_wav,
    silence,
    ulaw_decode,
    write_wav,
)
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

FRAME_MS = 20
FRAME_BYTES = G711_ULAW.bytes_for_ms(FRAME_MS)  # 160 bytes: 20 ms at 8 kHz, 1 byte a sample
HELLO = Path(__file__).resolve().parent.parent / "tests" / "audio" / "hello_there.wav"


class Phone:
    """The caller's side of the line: sends μ-law frames, receives μ-law frames."""

    def __init__(self, wav: Path, realtime: bool) -> None:
        pcm, rate = read_wav(wav)
        # What a carrier would deliver: the caller's voice as 8 kHz μ-law.
        self.ulaw = Converter(PCM16, G711_ULAW, from_rate=rate).convert(pcm)
        self.realtime = realtime
        self.received: list[bytes] = []

    async def frames(self) -> AsyncIterator[bytes]:
        """The call's audio in 20 ms frames, then 1.5 s of silence (the caller waits)."""
        for frame in chunks(self.ulaw + silence(1500, G711_ULAW), FRAME_MS, G711_ULAW):
            yield frame
            if self.realtime:
                await anyio.sleep(FRAME_MS / 1000)

    def play(self, frame: bytes) -> None:
        """A frame for the caller's earpiece."""
        self.received.append(frame)


class Bridge:
    """Connects a Phone to a Session: frames in, converted assistant audio out."""

    def __init__(self, session: Session, phone: Phone, output_format: str) -> None:
        self.session = session
        self.phone = phone
        # Streaming conversion keeps the resampler's state across deltas: no clicks.
        self.converter = None if output_format == "g711_ulaw" else Converter(PCM16, G711_ULAW)
        self.pending = b""
        session.on("response.output_audio.delta", self.on_audio)
        session.on("response.output_audio.done", self.on_audio_done)

    async def pump(self) -> None:
        """Forward the caller's frames to the session as they come."""
        count = 0
        async for frame in self.phone.frames():
            await self.session.input_audio_buffer.append(frame)
            count += 1
        print(f"phone -> session: {count} frames of 8 kHz μ-law ({count * FRAME_MS / 1000:.2f} s)")

    def on_audio(self, event: Any) -> None:
        ulaw = event.audio if self.converter is None else self.converter.process(event.audio)
        self.send_frames(ulaw)

    def on_audio_done(self, event: Any) -> None:
        tail = b"" if self.converter is None else self.converter.flush()
        self.send_frames(tail, final=True)

    def send_frames(self, ulaw: bytes, *, final: bool = False) -> None:
        """Cut the audio into whole 20 ms frames: phones expect a steady frame size."""
        self.pending += ulaw
        while len(self.pending) >= FRAME_BYTES:
            self.phone.play(self.pending[:FRAME_BYTES])
            self.pending = self.pending[FRAME_BYTES:]
        if final and self.pending:
            padding = silence(FRAME_MS, G711_ULAW)[: FRAME_BYTES - len(self.pending)]
            self.phone.play(self.pending + padding)
            self.pending = b""


def describe(session: Session) -> None:
    """Print what happens on the call."""

    @session.on("input_audio_buffer.speech_started")
    def started(event: Any) -> None:
        print(f"session: caller started speaking at {event.audio_start_ms} ms")

    @session.on("input_audio_buffer.speech_stopped")
    def stopped(event: Any) -> None:
        print(f"session: caller stopped speaking at {event.audio_end_ms} ms")

    @session.on("conversation.item.input_audio_transcription.completed")
    def heard(event: Any) -> None:
        print(f"caller: {event.transcript}")

    @session.on("response.output_audio_transcript.done")
    def said(event: Any) -> None:
        print(f"assistant: {event.transcript}")

    @session.on("error")
    def error(event: Any) -> None:
        print(f"session: server error: {event.error.message}")


async def main(args: argparse.Namespace) -> None:
    phone = Phone(Path(args.wav), realtime=args.realtime)
    options: dict[str, Any] = {
        "input_audio_format": "g711_ulaw",
        "output_audio_format": args.output,
        "turn_detection": {"type": "server_vad"},
        "input_audio_transcription": {"model": "whisper-1"},
        "instructions": "You answer the phone for a small bakery. Be brief and warm.",
    }
    async with AsyncExitStack() as stack:
        if args.live:
            session = Session(model=args.model, voice="alloy", **options)
        else:
            model = ScriptedModel().when("hello").say("Hello! Thanks for calling. How can I help?")
            model.otherwise("Sorry, I didn't catch that.").hears(HELLO, "hello there")
            server = await stack.enter_async_context(LocalRealtimeServer(model=model))
            session = Session(url=server.url, **options)
        describe(session)
        bridge = Bridge(session, phone, args.output)
        await stack.enter_async_context(session)
        print(f"call connected (session output: {args.output})")
        async with session.stream("response.done") as dones:
            await bridge.pump()
            done = await dones.receive(timeout=60)
        frames = len(phone.received)
        print(
            f"session -> phone: {frames} frames of 8 kHz μ-law "
            f"({frames * FRAME_MS / 1000:.2f} s), response {done.response.status}"
        )
    if args.save:
        # For listening: the caller's earpiece audio, decoded to PCM16 at 8 kHz.
        write_wav(args.save, ulaw_decode(b"".join(phone.received)), G711_ULAW.sample_rate)
        print(f"saved what the caller heard to {args.save}")
    print("call ended")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--demo", action="store_true", help="simulate one call and exit")
    parser.add_argument("--wav", default=str(HELLO), help="what the caller says (a WAV file)")
    parser.add_argument("--save", help="write what the caller heard to this WAV file")
    parser.add_argument("--realtime", action="store_true", help="send frames at 20 ms intervals")
    parser.add_argument("--output", choices=["pcm16", "g711_ulaw"], default="pcm16",
                        help="the session's output format (pcm16 is converted here)")  # fmt: skip
    parser.add_argument("--live", action="store_true", help="use the real API ($OPENAI_API_KEY)")
    parser.add_argument("--model", default="gpt-realtime", help="the model, with --live")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    if args.live:
        args.realtime = True  # the real server's VAD listens in real time
    return args


if __name__ == "__main__":
    try:
        anyio.run(main, parse_args())
    except KeyboardInterrupt:
        sys.exit(130)
