"""A voice bot: microphone in, speaker out, client-side VAD and barge-in.

    python examples/voice_bot.py                      # microphone + speaker, local server
    python examples/voice_bot.py --file tests/audio/hello_there.wav
    python examples/voice_bot.py --file tests/audio/hello_there.wav --file tests/audio/stop.wav
    python examples/voice_bot.py --live               # the real API ($OPENAI_API_KEY)
    python examples/voice_bot.py --mode gated         # or client (default), server

The microphone and speaker need ``sounddevice`` (``pip install sounddevice``; it
needs PortAudio). ``--file some.wav`` plays a WAV as the microphone instead,
followed by two seconds of silence, and exits after the reply (given twice,
the second file talks over the first reply: barge-in); without sounddevice the
reply then plays on a silent virtual speaker that keeps real time, so the
playback tracker still sees realistic positions.

Talk over the assistant to interrupt it: the VAD plugin cancels the response
and truncates the assistant's item at what the speaker actually played, which
the speaker reports with ``vad.playback.played(...)`` as it plays.
"""

from __future__ import annotations

import argparse
import importlib
import os
import queue
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio

from realtime_events import Session
from realtime_events.audio import PCM16, read_wav
from realtime_events.testing import DemoModel, LocalRealtimeServer
from realtime_events_vad import VAD, PlaybackTracker

RATE = 24000  # the Realtime API's pcm16 rate, both ways
CHUNK_MS = 20


def load_sounddevice(needed_for: str) -> ModuleType:
    """Import sounddevice, or exit with how to install it."""
    try:
        return importlib.import_module("sounddevice")
    except (ImportError, OSError) as exc:  # OSError: PortAudio itself is missing
        sys.exit(
            f"{needed_for} needs the 'sounddevice' package and PortAudio "
            f"(pip install sounddevice; apt-get install libportaudio2): {exc}\n"
            "Use --file some.wav to play a WAV file as the microphone instead."
        )


class Speaker:
    """A playback queue of assistant audio that reports what it plays to the tracker.

    ``take(n)`` is called by whatever plays the audio (a sounddevice callback
    thread, or the virtual speaker) and reports each piece with
    ``tracker.played``, so barge-in truncates at what was really heard.
    """

    def __init__(self, tracker: PlaybackTracker) -> None:
        self.tracker = tracker
        self._queue: deque[tuple[str, int, bytes]] = deque()
        self._lock = threading.Lock()

    def write(self, item_id: str, content_index: int, pcm: bytes) -> None:
        with self._lock:
            self._queue.append((item_id, content_index, pcm))

    def drop(self) -> None:
        """Forget everything queued (the user interrupted)."""
        with self._lock:
            self._queue.clear()
        self.tracker.cleared()

    @property
    def idle(self) -> bool:
        with self._lock:
            return not self._queue

    def take(self, size: int) -> bytes:
        """Up to ``size`` bytes of queued audio, padded with silence, reporting what played."""
        out = bytearray()
        with self._lock:
            while self._queue and len(out) < size:
                item_id, content_index, pcm = self._queue[0]
                piece = pcm[: size - len(out)]
                if len(piece) < len(pcm):
                    self._queue[0] = (item_id, content_index, pcm[len(piece) :])
                else:
                    self._queue.popleft()
                out += piece
                self.tracker.played(item_id, content_index, piece)
        return bytes(out) + bytes(size - len(out))


async def virtual_speaker(speaker: Speaker) -> None:
    """Consume the queue in real time, like a sound card would, without making a sound."""
    size = PCM16.bytes_for_ms(CHUNK_MS)
    while True:
        speaker.take(size)
        await anyio.sleep(CHUNK_MS / 1000)


def open_speaker(sd: ModuleType, speaker: Speaker) -> Any:
    """A sounddevice output stream that plays the speaker's queue."""

    def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
        outdata[:] = speaker.take(2 * frames)

    stream = sd.RawOutputStream(
        samplerate=RATE, channels=1, dtype="int16", blocksize=RATE * CHUNK_MS // 1000,
        callback=callback,
    )  # fmt: skip
    stream.start()
    return stream


async def microphone(sd: ModuleType, rate: int) -> AsyncIterator[bytes]:
    """Chunks of pcm16 from the default input device, at ``rate``."""
    chunks: queue.Queue[bytes] = queue.Queue(maxsize=200)

    def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
        # When the bot falls behind, drop a chunk rather than block the audio thread.
        with suppress(queue.Full):
            chunks.put_nowait(bytes(indata))

    with sd.RawInputStream(
        samplerate=rate, channels=1, dtype="int16", blocksize=rate * CHUNK_MS // 1000,
        callback=callback,
    ):  # fmt: skip
        while True:
            yield await anyio.to_thread.run_sync(chunks.get, abandon_on_cancel=True)


async def wav_microphone(pcm: bytes, rate: int) -> AsyncIterator[bytes]:
    """A WAV file's audio as the microphone, in real time, then two seconds of silence."""
    pcm += bytes(2 * rate * 2)
    step = 2 * (rate * CHUNK_MS // 1000)
    for start in range(0, len(pcm), step):
        yield pcm[start : start + step]
        await anyio.sleep(CHUNK_MS / 1000)


def describe(session: Session, vad: VAD, speaker: Speaker) -> None:
    """Print what happens, and wire playback and barge-in."""

    @session.on("response.output_audio.delta")
    def play(event: Any) -> None:
        # Audio of an interrupted item can still arrive before the cancel lands.
        if not vad.playback.is_interrupted(event.item_id):
            speaker.write(event.item_id, event.content_index, event.audio)

    @session.on("vad.interrupted")
    def interrupted(event: Any) -> None:
        speaker.drop()
        how = "measured" if event.measured else "estimated"
        cut = "deleted" if event.deleted else f"truncated at {event.audio_end_ms} ms ({how})"
        print(f"  [barge-in: assistant item {cut}]")

    @session.on("vad.speech_started")
    def speaking(event: Any) -> None:
        print(f"  [you: speaking at {event.audio_start_ms / 1000:.2f} s]")

    @session.on("conversation.item.input_audio_transcription.completed")
    def user_said(event: Any) -> None:
        print(f"you: {event.transcript}")

    @session.on("response.output_audio_transcript.done")
    def assistant_said(event: Any) -> None:
        if event.transcript:
            print(f"assistant: {event.transcript}")

    @session.on("error")
    def error(event: Any) -> None:
        print(f"  [server error: {event.error.message}]")


async def main(args: argparse.Namespace) -> None:
    sd = None if args.file else load_sounddevice("the microphone")
    if sd is None:
        try:
            sd = importlib.import_module("sounddevice")
        except (ImportError, OSError):
            print("(sounddevice is not available: the reply plays on a silent virtual speaker)")
    async with AsyncExitStack() as stack:
        if args.live:
            session = Session(model=args.model, voice="alloy",
                              instructions="You are a friendly voice assistant. Be brief.",
                              input_audio_transcription={"model": "whisper-1"})  # fmt: skip
        else:
            # pace=1: the local server streams its audio in real time, as the real one does.
            server = await stack.enter_async_context(
                LocalRealtimeServer(model=DemoModel(), pace=1.0)
            )
            session = Session(url=server.url, input_audio_transcription={"model": "whisper-1"})
        vad = session.use(VAD(mode=args.mode))
        speaker = Speaker(vad.playback)
        describe(session, vad, speaker)
        await stack.enter_async_context(session)
        async with anyio.create_task_group() as tasks:
            if sd is not None:
                stack.callback(open_speaker(sd, speaker).close)
            else:
                tasks.start_soon(virtual_speaker, speaker)
            if args.file:
                async with session.stream("response.done") as dones:
                    for name in args.file:
                        pcm, rate = read_wav(Path(name))
                        await vad.feed(wav_microphone(pcm, rate), sample_rate=rate)
                    async for done in dones:  # noqa: B007 (the reply to the last turn)
                        if not session.response.active:
                            break
                # Let the reply finish playing: what was received, less what was played.
                for item in done.response.output or []:
                    if item.id is not None:
                        left = vad.playback.received_ms(item.id) - vad.playback.position_ms(item.id)
                        await anyio.sleep(max(0.0, left) / 1000 + 0.2)
            else:
                assert sd is not None
                print("Listening: speak; talk over the assistant to interrupt it (Ctrl-C ends).")
                await vad.feed(microphone(sd, args.rate), sample_rate=args.rate)
            tasks.cancel_scope.cancel()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--file", action="append",
        help="a WAV file to use as the microphone (repeat it: the next one talks over the reply)",
    )  # fmt: skip
    parser.add_argument("--live", action="store_true", help="use the real API ($OPENAI_API_KEY)")
    parser.add_argument("--model", default="gpt-realtime", help="the model, with --live")
    parser.add_argument("--mode", choices=["client", "gated", "server"], default="client")
    parser.add_argument("--rate", type=int, default=RATE, help="the microphone's sample rate")
    args = parser.parse_args(argv)
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    return args


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        anyio.run(main, parse_args())
