"""A readable, colored live log of a session's events, for the command line.

One line per meaningful event; streams of deltas are folded into one growing
line per item (text) or a running total (audio), so a person can follow a
conversation without reading JSON. A tool's result is printed after the
response that called it is done, so the log reads the same on every run.

It reads both protocols. A Live session's transcript deltas stream one line
per side's turn (Live turns have no end event: a line ends when the other side
speaks); its speech is totalled when the user speaks again or the session
closes; a Responses backend's stream (``response.event``) shows only its
function calls and its end.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import IO, Any

from .audio import PCM16, AudioFormat, base64_decoded_size
from .events import Event
from .events._base import PluginEvent

__all__ = ["EventPrinter", "supports_color"]

_COLORS = {
    "dim": "2",
    "bold": "1",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


def supports_color(stream: IO[str]) -> bool:
    """Tell whether ``stream`` is a terminal that shows ANSI colors (honours NO_COLOR)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


class EventPrinter:
    """Prints events as they arrive; register it with ``session.on("*", printer)``."""

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        color: bool | None = None,
        audio_format: AudioFormat = PCM16,
    ) -> None:
        self.stream = stream or sys.stdout
        self.audio_format = audio_format
        self.color = supports_color(self.stream) if color is None else color
        #: True once the stream's reader went away (``... | head``); nothing is written after.
        self.broken = False
        #: Called once when that happens, e.g. to stop the program.
        self.on_broken_pipe: Callable[[], object] | None = None
        self._audio_ms: dict[str, float] = {}
        self._streaming: str | None = None
        self._active_responses: set[str] = set()
        # Lines about a response's tool calls that finished before the response did.
        self._held: dict[str, list[tuple[str, str, str]]] = {}
        self._live_audio_ms = 0.0  # a Live answer's speech so far

    def paint(self, text: str, *styles: str) -> str:
        """Wrap ``text`` in ANSI styles when color is on."""
        if not self.color or not styles:
            return text
        codes = ";".join(_COLORS[style] for style in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def line(self, tag: str, text: str, *styles: str) -> None:
        """Print one log line: a fixed-width tag, then the text."""
        self._end_stream()
        self._write(f"{self.paint(f'{tag:>10}', 'dim')}  {self.paint(text, *styles)}\n")

    def _write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:
            # Every later event would fail the same way: stop writing, and say so once.
            self.broken = True
            if self.on_broken_pipe is not None:
                self.on_broken_pipe()

    def _stream_text(self, key: str, label: str, delta: str, *styles: str) -> None:
        if self._streaming != key:
            self._end_stream()
            self._write(f"{self.paint(f'{label:>10}', 'dim')}  ")
            self._streaming = key
        self._write(self.paint(delta, *styles))

    def _end_stream(self) -> None:
        if self._streaming is not None:
            self._streaming = None
            self._write("\n")
            for line in self._held.pop("live", []):
                self.line(*line)

    def __call__(self, event: Event) -> None:
        kind = getattr(type(event), "canonical_type", "") or event.type
        method = getattr(self, "on_" + kind.replace(".", "_"), None)
        if method is not None:
            method(event)
        elif isinstance(event, PluginEvent) or kind.endswith((".delta", ".added", ".in_progress")):
            return  # plugins' own chatter, or folded into the lines above
        else:
            self.line("event", kind, "dim")

    # -- one method per event worth a line ---------------------------------

    def on_session_created(self, event: Any) -> None:
        self.line("session", f"created {getattr(event.session, 'id', '') or ''}", "blue")

    def on_session_updated(self, event: Any) -> None:
        self.line("session", "configured", "blue")

    def on_conversation_item_created(self, event: Any) -> None:
        item = event.item
        if item.type == "message" and item.role == "user" and item.text:
            self.line("user", item.text, "bold", "green")

    on_conversation_item_added = on_conversation_item_created

    def on_conversation_item_input_audio_transcription_completed(self, event: Any) -> None:
        self.line("user", f"(said) {event.transcript}", "bold", "green")

    def on_input_audio_buffer_speech_started(self, event: Any) -> None:
        self.line("vad", f"speech started at {event.audio_start_ms} ms", "yellow")

    def on_input_audio_buffer_speech_stopped(self, event: Any) -> None:
        self.line("vad", f"speech stopped at {event.audio_end_ms} ms", "yellow")

    def on_response_created(self, event: Any) -> None:
        if event.response.id:
            self._active_responses.add(event.response.id)
        self.line("response", f"started {event.response.id or ''}", "dim")

    def on_response_output_text_delta(self, event: Any) -> None:
        self._stream_text(event.item_id, "assistant", event.delta, "cyan")

    def on_response_output_audio_transcript_delta(self, event: Any) -> None:
        self._stream_text(event.item_id, "assistant", event.delta, "cyan")

    def on_response_output_audio_delta(self, event: Any) -> None:
        # Count from the base64 length: printing must not decode audio.
        ms = self.audio_format.duration_ms(base64_decoded_size(event.delta))
        self._audio_ms[event.item_id] = self._audio_ms.get(event.item_id, 0.0) + ms

    def on_response_output_audio_done(self, event: Any) -> None:
        ms = self._audio_ms.pop(event.item_id, 0.0)
        self.line("audio", f"♪ {ms / 1000:.1f} s of speech", "magenta")

    def on_response_function_call_arguments_done(self, event: Any) -> None:
        name = getattr(event, "name", None) or "function"
        self.line("tool call", f"{name}({event.arguments})", "yellow")

    def on_response_done(self, event: Any) -> None:
        response = event.response
        usage = response.usage
        tokens = f", {usage.total_tokens} tokens" if usage and usage.total_tokens else ""
        style = "dim" if response.status == "completed" else "red"
        self.line("response", f"{response.status}{tokens}", style)
        self._active_responses.discard(response.id or "")
        for line in self._held.pop(response.id or "", []):
            self.line(*line)

    def on_conversation_item_truncated(self, event: Any) -> None:
        self.line("truncated", f"{event.item_id} at {event.audio_end_ms} ms", "yellow")

    def on_error(self, event: Any) -> None:
        error = event.error
        self.line("error", f"{error.code or error.type}: {error.message}", "red")

    def on_tools_call_finished(self, event: Any) -> None:
        # Plugin events are read loosely: a third-party tools plugin may differ.
        call = getattr(event, "call", None)
        name = getattr(call, "name", "tool")
        error = getattr(event, "error", None)
        duration = getattr(event, "duration", None)
        took = f" in {duration * 1000:.0f} ms" if isinstance(duration, float) else ""
        if error is not None:
            line = ("tool", f"{name} failed{took}: {error}", "red")
        else:
            line = ("tool", f"{name} -> {getattr(event, 'result', None)!r}{took}", "yellow")
        # A tool runs while its response streams on: wait for that response's last line.
        response_id = getattr(call, "response_id", None)
        if response_id in self._active_responses:
            self._held.setdefault(response_id, []).append(line)
        elif self._streaming == "live assistant":
            # Live: the model speaks while the tool runs; the line waits for its sentence.
            self._held.setdefault("live", []).append(line)
        else:
            self.line(*line)

    def on_metrics_response(self, event: Any) -> None:
        record = getattr(event, "metrics", None)
        first = getattr(record, "time_to_first_delta", None)
        total = getattr(record, "total_time", None)
        if isinstance(first, float) and isinstance(total, float):
            self.line(
                "timing", f"first output after {first * 1000:.0f} ms, done in {total:.2f} s", "dim"
            )

    def on_tools_call_started(self, event: Any) -> None:
        return  # the "tool call" line already announced it

    # -- the Live protocol ------------------------------------------------------

    def on_session_started(self, event: Any) -> None:
        self.line("session", f"started {getattr(event.session, 'id', '') or ''}", "blue")

    def on_session_input_transcript_delta(self, event: Any) -> None:
        self._live_spoken()
        self._stream_text("live user", "user", event.delta, "bold", "green")

    def on_session_output_transcript_delta(self, event: Any) -> None:
        self._stream_text("live assistant", "assistant", event.delta, "cyan")

    def on_session_output_audio_delta(self, event: Any) -> None:
        self._live_audio_ms += self.audio_format.duration_ms(base64_decoded_size(event.delta))

    def _live_spoken(self) -> None:
        """Print the speech of the Live answer that just ended, if any."""
        ms, self._live_audio_ms = self._live_audio_ms, 0.0
        if ms:
            self.line("audio", f"♪ {ms / 1000:.1f} s of speech", "magenta")

    def on_session_delegation_created(self, event: Any) -> None:
        delegation = event.delegation
        self.line("delegated", f"to {delegation.target} ({delegation.id})", "yellow")

    def on_response_event(self, event: Any) -> None:
        nested = event.event if isinstance(event.event, dict) else {}
        kind = nested.get("type")
        item = nested.get("item")
        if not isinstance(item, dict):
            item = {}
        if kind == "response.output_item.done" and item.get("type") == "function_call":
            self.line("tool call", f"{item.get('name')}({item.get('arguments')})", "yellow")
        elif kind in ("response.completed", "response.failed", "response.incomplete"):
            status = kind.removeprefix("response.")
            self.line("backend", status, "dim" if status == "completed" else "red")

    def on_session_commentary_appended(self, event: Any) -> None:
        self.line("context", "commentary appended", "dim")

    def on_session_instructions_appended(self, event: Any) -> None:
        self.line("context", "instructions appended", "dim")

    def on_session_thinking_appended(self, event: Any) -> None:
        self.line("context", "thinking appended", "dim")

    def on_session_input_audio_muted(self, event: Any) -> None:
        self.line("input", "muted", "yellow")

    def on_session_input_audio_unmuted(self, event: Any) -> None:
        self.line("input", "unmuted", "yellow")

    def on_session_usage_updated(self, event: Any) -> None:
        return  # periodic bookkeeping; session.closed carries the final usage

    def on_info(self, event: Any) -> None:
        self.line("info", f"{event.code}: {event.message}", "dim")

    def on_session_closed(self, event: Any) -> None:
        self._live_spoken()
        self.line("session", f"closed ({event.reason})", "blue")

    # Every ".done" text event repeats what the deltas showed.
    def on_response_output_text_done(self, event: Any) -> None:
        self._end_stream()

    on_response_output_audio_transcript_done = on_response_output_text_done

    def on_response_content_part_done(self, event: Any) -> None:
        return

    on_response_output_item_done = on_response_content_part_done
    on_conversation_item_done = on_response_content_part_done
    on_rate_limits_updated = on_response_content_part_done
