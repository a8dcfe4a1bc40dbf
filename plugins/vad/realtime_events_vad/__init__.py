"""realtime-events-vad: voice activity detection, client-side turns and barge-in.

::

    from realtime_events_vad import VAD

    vad = session.use(VAD(mode="client"))      # or "server", "gated"

    @session.on("vad.interrupted")
    def stop_playing(event) -> None:
        speaker.drop_queue()
        vad.playback.cleared()

    await vad.push(microphone_pcm, sample_rate=16000)
    vad.playback.played(item_id, 0, pcm_just_played)   # from the output stream
"""

from .detectors import (
    Detector,
    EnergyDetector,
    MissingDependencyError,
    SileroDetector,
    WebRTCDetector,
)
from .playback import PlaybackTracker, PlayingItem
from .plugin import MIN_COMMIT_MS, VAD, Mode
from .segmenter import Segmenter, SpeechEvent, SpeechStarted, SpeechStopped

__version__ = "0.1.0"

__all__ = [
    "MIN_COMMIT_MS",
    "VAD",
    "Detector",
    "EnergyDetector",
    "MissingDependencyError",
    "Mode",
    "PlaybackTracker",
    "PlayingItem",
    "Segmenter",
    "SileroDetector",
    "SpeechEvent",
    "SpeechStarted",
    "SpeechStopped",
    "WebRTCDetector",
    "__version__",
]
