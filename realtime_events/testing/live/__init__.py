"""The protocol engine of the local server's Live API, written Sans-I/O.

OpenAI's Live API (``/v1/live/sessions``, models ``gpt-live-1`` and
``gpt-live-1.1``) is a second voice protocol beside Realtime: the client's
first command is ``session.start`` carrying the model and configuration,
answered by ``session.started``; turns are found by the server (there is no
input buffer to commit and no response lifecycle); work the model cannot do
is delegated to the client, a Responses backend or Decisions.

:class:`LiveEngine` is one such session. It does no I/O and never sleeps:
the server's I/O layer serves :data:`LIVE_PATH`, feeds the engine frames,
sends what it returns, streams each :class:`LiveRun` it pops from
:meth:`LiveEngine.next_response` (pacing audio with :func:`audio_ms`),
reports wall time with :meth:`LiveEngine.advance`, and closes the socket once
:attr:`LiveEngine.closed` (after ``session.closed``).

Like the Realtime engine it builds plain dicts, never the client's models,
and reuses that engine's pieces: ids, the error readers, the voice activity
detector, synthesized speech and the scripted models. Its modules:

- ``_errors``: the Live ``error`` event and the mistakes only Live has;
- ``_config``: ``session.start`` read and checked, updates, the session resource;
- ``_runs``: runs of speech, delegations and fixtures, made lazily;
- ``_input``: input audio, turn detection and input transcript deltas;
- ``_delegations``: client delegations, the Responses backend, Decisions;
- ``_engine``: :class:`LiveEngine`, which routes commands to them.
"""

from ._config import VOICES, LiveConfig
from ._engine import CloseReason, LiveEngine
from ._errors import LIVE_MODELS
from ._runs import ACKNOWLEDGEMENT, LiveRun, audio_ms

#: The WebSocket path the official SDK connects to (``websocket_base_url`` + ``/live/sessions``).
LIVE_PATH = "/v1/live/sessions"

__all__ = [
    "ACKNOWLEDGEMENT",
    "LIVE_MODELS",
    "LIVE_PATH",
    "VOICES",
    "CloseReason",
    "LiveConfig",
    "LiveEngine",
    "LiveRun",
    "audio_ms",
]
