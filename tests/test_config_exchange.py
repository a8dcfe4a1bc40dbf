"""ConfigExchange: the audio formats it reports follow the server's latest word."""

from __future__ import annotations

import json
from typing import Any

from realtime_events.audio import G711_ALAW, G711_ULAW, PCM16, AudioFormat
from realtime_events.config_exchange import ConfigExchange
from realtime_events.events import SessionCreatedEvent, SessionUpdatedEvent, parse_server_event


def _exchange(own: dict[str, Any] | None = None) -> ConfigExchange:
    return ConfigExchange(dict(own or {}), "ga", lambda own: ())


def _info(kind: str, output: str | None) -> Any:
    session: dict[str, Any] = {"type": "realtime", "id": "sess_1", "model": "gpt-realtime"}
    if output is not None:
        session["audio"] = {"output": {"format": {"type": output}}}
    event = parse_server_event(json.dumps({"type": kind, "event_id": "e", "session": session}))
    assert isinstance(event, SessionCreatedEvent | SessionUpdatedEvent)
    return event


def test_the_servers_format_is_followed_through_each_new_answer() -> None:
    exchange = _exchange()
    assert exchange.audio_format("output_audio_format") == PCM16  # nobody said anything
    exchange.on_info(_info("session.created", "audio/pcmu"))
    assert exchange.audio_format("output_audio_format") == G711_ULAW
    assert exchange.audio_format("output_audio_format") == G711_ULAW  # asked again: the same
    exchange.on_info(_info("session.updated", "audio/pcma"))
    assert exchange.audio_format("output_audio_format") == G711_ALAW
    exchange.on_info(_info("session.updated", "audio/pcm"))
    assert exchange.audio_format("output_audio_format") == PCM16


def test_without_the_servers_word_the_format_asked_for_is_followed_as_it_changes() -> None:
    exchange = _exchange({"output_audio_format": "g711_ulaw"})
    exchange.on_info(_info("session.created", None))  # the server names no format
    assert exchange.audio_format("output_audio_format") == G711_ULAW
    exchange.update({"output_audio_format": "g711_alaw"})
    assert exchange.audio_format("output_audio_format") == G711_ALAW
    # The server's word, once given, wins over what was asked.
    exchange.on_info(_info("session.updated", "audio/pcm"))
    assert exchange.audio_format("output_audio_format") == PCM16


def test_the_formats_read_agree_with_the_whole_servers_configuration() -> None:
    # The formats are read from the audio fields alone: what the whole session
    # object says must be the same, in both dialects, for input and output.
    ga = {
        "type": "realtime",
        "instructions": "Be brief. " * 200,
        "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}],
        "audio": {
            "input": {"format": {"type": "audio/pcma"}, "turn_detection": None},
            "output": {"format": {"type": "audio/pcmu"}, "voice": "marin"},
        },
    }
    beta = {
        "instructions": "Be brief.",
        "input_audio_format": "g711_alaw",
        "output_audio_format": "g711_ulaw",
        "voice": "alloy",
    }
    for dialect, session in (("ga", ga), ("beta", beta)):
        frame = {"type": "session.created", "event_id": "e", "session": session}
        exchange = ConfigExchange({}, dialect, lambda own: ())  # type: ignore[arg-type]
        exchange.on_info(parse_server_event(json.dumps(frame)))  # type: ignore[arg-type]
        whole = exchange.server()
        for name, expected in (
            ("input_audio_format", G711_ALAW),
            ("output_audio_format", G711_ULAW),
        ):
            assert exchange.audio_format(name) == expected
            assert exchange.audio_format(name) == AudioFormat.from_wire(whole[name])
