"""Input audio: appends in the session's format, server-side turn detection, transcript deltas.

Live has no input buffer the client commits: the server finds turns itself.
Audio goes through the local server's voice activity detector (the
Realtime engine's ``server_vad`` defaults); when a turn ends, the model
transcribes it and the transcript reaches the client as
``session.input_transcript.delta`` fragments spread over the speech's span
of the session timeline. Speech starting while the model talks interrupts it.

Muting sends silence to the model (so a turn in progress ends), and input
arriving while an audio fixture plays is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ...audio import AudioFormat
from ..engine._constants import JSON
from ..engine._errors import appended_audio
from ..engine._items import to_pcm16
from ..models import Model
from ..vad import SpeechStarted, VadSettings, VoiceActivityDetector
from ._runs import words_of

#: Audio kept before a turn starts, beyond the detector's prefix padding.
_KEEP_MS = 1000.0


class InputHost(Protocol):
    """What input audio uses of the engine."""

    @property
    def model(self) -> Model:
        """The model that hears turns."""
        ...

    def event(self, kind: str, **fields: Any) -> JSON:
        """A server event with a new ``event_id``."""
        ...

    def barge_in(self) -> None:
        """The user started speaking: the model stops talking."""
        ...

    def user_turn(self, text: str, last_delta_id: str | None) -> list[JSON]:
        """A turn was heard and transcribed: what answering it causes at once."""
        ...


class InputAudio:
    """The input audio of one Live session, in ``fmt``, and its turn detection."""

    def __init__(self, host: InputHost, fmt: AudioFormat) -> None:
        self._host = host
        self._fmt = fmt
        self._vad = VoiceActivityDetector(VadSettings(), sample_rate=fmt.sample_rate)
        self._pcm = bytearray()  # pcm16 heard since _pcm_start_ms
        self._pcm_start_ms = 0.0
        self._odd_byte = b""
        self.stream_ms = 0.0  # all input audio appended, in ms
        self._speech_start: float | None = None
        self.muted = False
        self.dropping = False  # an audio fixture plays: input is not heard

    def append(self, event: Mapping[str, Any]) -> list[JSON]:
        """``session.input_audio.append``: no acknowledgment; turns found may cause events."""
        data = appended_audio(event)
        fmt = self._fmt
        data = self._odd_byte + data
        whole = len(data) - len(data) % fmt.bytes_per_sample
        self._odd_byte, data = data[whole:], data[:whole]
        duration = fmt.duration_ms(len(data))
        if self.dropping:
            # Input during fixture playback is dropped and not replayed; time still passes.
            self._skip(duration)
            return []
        pcm = to_pcm16(data, fmt)
        if self.muted:
            pcm = bytes(len(pcm))  # the model hears silence
        self._pcm.extend(pcm)
        self.stream_ms += duration
        events: list[JSON] = []
        for found in self._vad.push(pcm):
            if isinstance(found, SpeechStarted):
                self._speech_start = float(found.audio_start_ms)
                self._host.barge_in()
            else:
                events += self._turn(float(found.audio_end_ms))
        if self._speech_start is None:
            self._trim()
        return events

    def _skip(self, duration: float) -> None:
        """Audio not heard: the detector and the buffer move on past it."""
        self.stream_ms += duration
        self._vad.reset(skip_to_ms=round(self.stream_ms))
        self._speech_start = None
        self._pcm.clear()
        self._pcm_start_ms = self.stream_ms

    def _trim(self) -> None:
        """Outside a turn, keep only the audio a turn starting soon could reach back to."""
        excess = self.stream_ms - self._pcm_start_ms - _KEEP_MS
        if excess > 0:
            cut = 2 * round(excess * self._fmt.sample_rate / 1000)
            del self._pcm[:cut]
            self._pcm_start_ms += cut / 2 * 1000 / self._fmt.sample_rate

    def _turn(self, end_ms: float) -> list[JSON]:
        """A turn ended at ``end_ms``: transcribe it, send its transcript, answer it."""
        start = self._speech_start if self._speech_start is not None else end_ms
        self._speech_start = None
        rate = self._fmt.sample_rate
        lo = 2 * max(0, round((start - self._pcm_start_ms) * rate / 1000))
        hi = 2 * max(0, round((end_ms - self._pcm_start_ms) * rate / 1000))
        pcm = bytes(self._pcm[lo:hi])
        text = self._host.model.transcribe(pcm, rate) or ""
        fragments = words_of(text)
        events: list[JSON] = []
        span = max(end_ms - start, 1.0) / max(len(fragments), 1)
        for index, fragment in enumerate(fragments):
            events.append(
                self._host.event(
                    "session.input_transcript.delta",
                    delta=fragment,
                    start_ms=round(start + index * span),
                    end_ms=round(start + (index + 1) * span),
                )
            )
        last = events[-1]["event_id"] if events else None
        return events + self._host.user_turn(text.strip(), last)

    def mute(self) -> None:
        """The model hears silence until :meth:`unmute`."""
        self.muted = True

    def unmute(self) -> None:
        """The model hears the input again."""
        self.muted = False
