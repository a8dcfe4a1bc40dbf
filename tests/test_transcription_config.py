"""A transcription session's configuration, settings models and response overrides, to the wire.

The unit tests check what :func:`to_wire`, :func:`update_event` and
:func:`response_to_wire` build with the SDK's own client event types; the
session test runs over a real loopback socket against a plain ``websockets``
server written here, which records what it reads, and the response overrides
also go to the local server, which refuses a field where its dialect has none.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from openai.types.beta.realtime import ResponseCreateEvent as SdkBetaResponseCreateEvent
from openai.types.beta.realtime.response_create_event import Response as SdkBetaResponse
from openai.types.beta.realtime.transcription_session_update import TranscriptionSessionUpdate
from openai.types.realtime import RealtimeResponseCreateParams as SdkResponseParams
from openai.types.realtime import ResponseCreateEvent as SdkResponseCreateEvent
from openai.types.realtime import SessionUpdateEvent as SdkSessionUpdateEvent
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from realtime_events import Session
from realtime_events.audio import G711_ULAW
from realtime_events.config import check_config, response_to_wire, to_wire, update_event
from realtime_events.events import (
    SessionUpdatedEvent,
    SessionUpdateEvent,
    TranscriptionSessionUpdateEvent,
)
from realtime_events.events.settings import (
    AudioTranscription,
    McpTool,
    NoiseReduction,
    Reasoning,
    SemanticVad,
    ServerVad,
)
from realtime_events.testing import LocalRealtimeServer

TRANSCRIPTION_CONFIG: dict[str, Any] = {
    "type": "transcription",
    "input_audio_format": "g711_ulaw",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
    "input_audio_noise_reduction": {"type": "near_field"},
    "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
    "include": ["item.input_audio_transcription.logprobs"],
}
GA_WIRE = {
    "type": "transcription",
    "audio": {
        "input": {
            "format": {"type": "audio/pcmu"},
            "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
            "noise_reduction": {"type": "near_field"},
            "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
        }
    },
    "include": ["item.input_audio_transcription.logprobs"],
}
BETA_WIRE = {
    "input_audio_format": "g711_ulaw",
    "input_audio_transcription": {"model": "gpt-4o-transcribe", "language": "en"},
    "input_audio_noise_reduction": {"type": "near_field"},
    "turn_detection": {"type": "semantic_vad", "eagerness": "low"},
    "include": ["item.input_audio_transcription.logprobs"],
}


def test_a_ga_transcription_session_goes_in_session_update() -> None:
    check_config(TRANSCRIPTION_CONFIG)
    event = update_event(TRANSCRIPTION_CONFIG, "ga")
    assert type(event) is SessionUpdateEvent
    wire = json.loads(event.to_json())
    assert wire == {"type": "session.update", "session": GA_WIRE}
    sdk = SdkSessionUpdateEvent.model_validate(wire)
    assert sdk.session.type == "transcription"


def test_a_beta_transcription_session_goes_in_transcription_session_update() -> None:
    event = update_event(TRANSCRIPTION_CONFIG, "beta")
    assert type(event) is TranscriptionSessionUpdateEvent
    wire = json.loads(event.to_json())
    assert wire == {"type": "transcription_session.update", "session": BETA_WIRE}
    TranscriptionSessionUpdate.model_validate(wire)


@pytest.mark.parametrize("dialect", ["ga", "beta"])
def test_a_realtime_session_still_goes_in_session_update(dialect: Any) -> None:
    event = update_event({"voice": "ash"}, dialect)
    assert type(event) is SessionUpdateEvent


def test_settings_models_are_sent_as_the_fields_they_were_given() -> None:
    config = {
        "type": "transcription",
        "input_audio_transcription": AudioTranscription(model="whisper-1"),
        "input_audio_noise_reduction": NoiseReduction(type="far_field", strength=0.4),
        "turn_detection": ServerVad(idle_timeout_ms=4000),
    }
    check_config(config)
    wire = to_wire(config, "ga")
    assert wire["audio"]["input"] == {
        "transcription": {"model": "whisper-1"},
        "noise_reduction": {"type": "far_field", "strength": 0.4},
        "turn_detection": {"type": "server_vad", "idle_timeout_ms": 4000},
    }
    SdkSessionUpdateEvent.model_validate({"type": "session.update", "session": wire})
    realtime = {"tools": [McpTool(server_label="docs", server_url="https://mcp.example.com")]}
    assert to_wire(realtime, "ga")["tools"] == [
        {"type": "mcp", "server_label": "docs", "server_url": "https://mcp.example.com"}
    ]
    overrides = response_to_wire({"reasoning": Reasoning(effort="high")}, "ga")
    assert overrides == {"reasoning": {"effort": "high"}}


def test_a_ga_audio_object_merges_with_neutral_fields_and_stays_the_callers() -> None:
    audio = {"input": {"turn_detection": {"type": "semantic_vad"}}}
    wire = to_wire({"voice": "ash", "audio": audio, "input_audio_format": "pcm16"}, "ga")
    assert wire["audio"] == {
        "output": {"voice": "ash"},
        "input": {
            "turn_detection": {"type": "semantic_vad"},
            "format": {"type": "audio/pcm", "rate": 24000},
        },
    }
    assert audio == {"input": {"turn_detection": {"type": "semantic_vad"}}}


# -- over a socket -------------------------------------------------------------------


class TranscriptionPeer:
    """A plain ``websockets`` server with just enough of a GA transcription session.

    It sends ``session.created``, answers each ``session.update`` with
    ``session.updated`` (the session it read, with an id), and records every
    client frame.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def _handle(self, connection: ServerConnection) -> None:
        session = {"id": "sess_T1", "object": "realtime.transcription_session"}
        created = {**session, "type": "transcription", "audio": {"input": {}}}
        connection.send(
            json.dumps({"type": "session.created", "event_id": "e0", "session": created})
        )
        try:
            for message in connection:
                event = json.loads(message)
                self.received.append(event)
                if event.get("type") == "session.update":
                    updated = {**session, **event["session"]}
                    answer = {"type": "session.updated", "event_id": "e1", "session": updated}
                    connection.send(json.dumps(answer))
        except ConnectionClosed:
            pass

    def __enter__(self) -> TranscriptionPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)


@pytest.fixture
def peer() -> Iterator[TranscriptionPeer]:
    with TranscriptionPeer() as peer:
        yield peer


@pytest.mark.anyio
async def test_a_session_configures_a_ga_transcription_session_on_connect(
    peer: TranscriptionPeer,
) -> None:
    session = Session(url=peer.url, config=TRANSCRIPTION_CONFIG)
    answers: list[SessionUpdatedEvent] = []
    answered = anyio.Event()

    # Registered before connecting: the answer may come before ``async with`` returns.
    @session.on("session.updated")
    def keep(event: SessionUpdatedEvent) -> None:
        answers.append(event)
        answered.set()

    async with session:
        with anyio.fail_after(10):
            await answered.wait()
    (updated,) = answers
    assert [event["type"] for event in peer.received][:1] == ["session.update"]
    sent = peer.received[0]
    assert sent["session"] == GA_WIRE
    assert SdkSessionUpdateEvent.model_validate(sent).session.type == "transcription"
    info = updated.session
    assert info.type == "transcription"
    assert info.audio is not None
    assert info.audio.input is not None
    assert type(info.audio.input.turn_detection) is SemanticVad
    assert session.server_config["turn_detection"] == {"type": "semantic_vad", "eagerness": "low"}
    assert session.server_config["input_audio_transcription"] == {
        "model": "gpt-4o-transcribe",
        "language": "en",
    }


# -- per-response overrides ------------------------------------------------------------

RESPONSE_OVERRIDES: dict[str, Any] = {
    "voice": "ash",
    "output_audio_format": G711_ULAW,
    "output_modalities": ["audio"],
    "max_output_tokens": 200,
    "instructions": "Be brief.",
}


def test_ga_response_overrides_put_the_voice_and_format_under_audio_output() -> None:
    wire = response_to_wire(RESPONSE_OVERRIDES, "ga")
    assert wire == {
        "audio": {"output": {"voice": "ash", "format": {"type": "audio/pcmu"}}},
        "output_modalities": ["audio"],
        "max_output_tokens": 200,
        "instructions": "Be brief.",
    }
    # The SDK's model keeps unknown keys, so also check that every key is one it knows.
    assert set(wire) <= set(SdkResponseParams.model_fields)
    sdk = SdkResponseCreateEvent.model_validate({"type": "response.create", "response": wire})
    assert sdk.response is not None
    assert sdk.response.audio is not None
    output = sdk.response.audio.output
    assert output is not None
    assert output.voice == "ash"
    assert output.format is not None
    assert output.format.type == "audio/pcmu"


def test_beta_response_overrides_keep_the_voice_and_format_flat() -> None:
    wire = response_to_wire(RESPONSE_OVERRIDES, "beta")
    assert wire == {
        "voice": "ash",
        "output_audio_format": "g711_ulaw",
        "modalities": ["text", "audio"],
        "max_response_output_tokens": 200,
        "instructions": "Be brief.",
    }
    assert set(wire) <= set(SdkBetaResponse.model_fields)
    sdk = SdkBetaResponseCreateEvent.model_validate({"type": "response.create", "response": wire})
    assert sdk.response is not None
    assert (sdk.response.voice, sdk.response.output_audio_format) == ("ash", "g711_ulaw")


def test_a_ga_response_audio_object_merges_with_the_voice_and_stays_the_callers() -> None:
    audio = {"output": {"format": {"type": "audio/pcma"}}}
    wire = response_to_wire({"audio": audio, "voice": {"id": "voice_1234"}}, "ga")
    assert wire == {
        "audio": {"output": {"format": {"type": "audio/pcma"}, "voice": {"id": "voice_1234"}}}
    }
    assert audio == {"output": {"format": {"type": "audio/pcma"}}}
    SdkResponseCreateEvent.model_validate({"type": "response.create", "response": wire})


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["ga", "beta"])
async def test_the_local_server_answers_in_the_voice_and_format_a_response_asked_for(
    dialect: Any,
) -> None:
    async with (
        LocalRealtimeServer() as server,
        Session(url=server.url, dialect=dialect, api_key="test") as session,
    ):
        await session.send_text("Hello!", respond=False)
        request = await session.response.create(voice="ash", output_audio_format=G711_ULAW)
        with anyio.fail_after(30):
            done = await request.done()
    response = done.response
    assert response.status == "completed"
    if dialect == "ga":
        assert response.audio is not None
        assert response.audio.output is not None
        assert response.audio.output.voice == "ash"
        assert response.audio.output.format is not None
        assert response.audio.output.format.type == "audio/pcmu"
    else:
        assert (response.voice, response.output_audio_format) == ("ash", "g711_ulaw")
