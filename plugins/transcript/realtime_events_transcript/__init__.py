"""A live transcript of a realtime-events session: turns in conversation order.

::

    from realtime_events import Session
    from realtime_events_transcript import Transcript

    session = Session(instructions="Be brief.")
    transcript = session.use(Transcript(save_to="call.md"))

    @session.on("transcript.turn_completed")
    def show(event):
        print(f"{event.turn.role}: {event.turn.text}")

    ...
    print(transcript.text())
"""

from __future__ import annotations

from realtime_events.conversation import heard_text

from .export import LABELS, render_json, render_markdown, render_text
from .transcript import Transcript
from .turn import Modality, Role, Status, Turn

__all__ = [
    "LABELS",
    "Modality",
    "Role",
    "Status",
    "Transcript",
    "Turn",
    "heard_text",
    "render_json",
    "render_markdown",
    "render_text",
]

__version__ = "0.1.0"
