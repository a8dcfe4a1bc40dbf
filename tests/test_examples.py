"""Smoke runs of the examples: each one, non-interactively, against its in-process server."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_text_chat_demo() -> None:
    out = run("text_chat.py", "--demo")
    assert "you: Hello!" in out
    assert "bot: Hello! I'm the local demo model." in out
    assert "first token after" in out
    assert out.rstrip().endswith("bye")


def test_text_chat_reads_piped_stdin() -> None:
    out = run("text_chat.py", stdin="Hello!\n\nWhat time is it?\n")
    assert out.count("bot: ") == 2
    assert "you: What time is it?" in out


def test_telephony_bridge_demo(tmp_path: Path) -> None:
    saved = tmp_path / "heard.wav"
    out = run("telephony_bridge.py", "--demo", "--save", str(saved))
    assert "caller: hello there" in out
    assert "assistant: Hello! Thanks for calling." in out
    assert "phone -> session:" in out
    assert "response completed" in out
    frames = next(line for line in out.splitlines() if line.startswith("session -> phone:"))
    assert int(frames.split()[3]) > 0
    assert saved.stat().st_size > 44  # more than a WAV header


@pytest.mark.parametrize("output", ["pcm16", "g711_ulaw"])
def test_telephony_bridge_either_output_format(output: str) -> None:
    out = run("telephony_bridge.py", "--demo", "--output", output)
    assert f"session output: {output}" in out
    assert "response completed" in out


def test_threaded_bot_demo() -> None:
    out = run("threaded_bot.py", "--demo")
    for user in ("alice", "bob", "carol", "dave"):
        assert f"bot -> {user}: " in out
    assert "chat-worker" in out
    assert out.count("response done") == 4
    assert out.rstrip().endswith("bye")


def test_custom_plugin_demo() -> None:
    out = run("custom_plugin.py", "--demo")
    assert "bot: Hello there! What the **** can I do for you?" in out
    assert "[profanity from the user: darn]" in out
    assert "[profanity from the assistant: darn, heck]" in out
    said = [line for line in out.splitlines() if line.startswith("bot: ")]
    assert len(said) == 2
    assert not any(word in line.lower() for line in said for word in ("heck", "darn"))
    assert "totals: {'heck': 2, 'darn': 2}" in out
    # It declares its protocols: a Live session refuses it, with its hint.
    assert "on Live: the 'profanity' plugin does not apply to a Live session" in out
    assert "mask session.output_transcript.delta in a handler of your own instead" in out


def test_tools_bot_calls_its_tool() -> None:
    out = run("tools_bot.py", "What's the weather in Paris?")
    assert 'get_weather({"city": "Paris"})' in out
    assert "bot: In Paris it is 21 degrees" in out


def test_live_transcript_prints_the_conversation_in_order() -> None:
    out = run("live_transcript.py")
    weather = out.index("User: What's the weather in Paris?")
    assert out.index("Tool call: get_weather") > weather
    assert out.index("Assistant: In Paris it is 21 degrees") > weather
    assert "[interrupted]" in out  # the barge-in at the end trims the last answer


def test_voice_bot_hears_speech_and_barges_in() -> None:
    audio = EXAMPLES.parent / "tests" / "audio"
    out = run(
        "voice_bot.py", "--file", str(audio / "hello_there.wav"), "--file", str(audio / "stop.wav")
    )
    assert out.count("you: (") == 2  # both recordings were heard as turns
    assert "barge-in: assistant item truncated at" in out
    assert "(measured)" in out  # from the playback tracker, not estimated


def test_sip_calls_demo() -> None:
    out = run("sip_calls.py")
    lines = out.splitlines()
    assert lines[0].startswith("webhook: realtime.call.incoming rtc_")
    assert lines[1].startswith("accepted rtc_")
    assert "session instructions: You answer the phone for a bakery. Be brief." in lines
    assert "assistant: Hello! I'm the local demo model." in out
    assert [line for line in lines if line.startswith("keypad:")] == ["keypad: 1", "keypad: #"]
    assert lines[-2:] == ["call ended; session closed: True", "local call state: hung_up"]


def test_web_backend_demo() -> None:
    nats_testing = pytest.importorskip(
        "realtime_events_nats.testing", reason="the demo needs the realtime-events-nats plugin"
    )
    try:
        nats_testing.nats_server_binary()
    except FileNotFoundError as missing:
        pytest.skip(f"the demo starts a nats-server: {missing}")
    out = run("web_backend.py", "--demo", timeout=60)
    lines = out.splitlines()
    assert lines[0].startswith("started call ")
    # The transcript the backend streamed over HTTP while the call ran, in order.
    hello = lines.index("user: Hello!")
    assert lines[hello + 1].startswith("assistant: Hello! I'm the local demo model.")
    weather = lines.index("user: What's the weather in Paris?")
    assert weather > hello
    assert lines[weather + 1].startswith("assistant: ")
    assert lines[-1] == "call ended"


def _first_line(process: subprocess.Popen[str], bound: float) -> str:
    """The first line the process prints, waiting at most ``bound`` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(bound):
            raise AssertionError(f"nothing printed in {bound} s")
    return process.stdout.readline()


def _messages(ws: ClientConnection, deadline: float) -> Iterator[dict[str, Any]]:
    """The playground's messages to the page, until ``deadline`` (then TimeoutError)."""
    while True:
        yield json.loads(ws.recv(max(0.1, deadline - time.monotonic())))


def test_playground_serves_its_page_and_talks() -> None:
    # Without --live, the example's bot talks to its built-in local server.
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "playground.py")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=EXAMPLES.parent,
    )
    try:
        line = _first_line(process, 60)
        assert line.startswith("playground at http://127.0.0.1:"), (line, process.poll())
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
            assert b"<title>realtime-events playground</title>" in page.read()
        # The page's WebSocket reaches the example's bot (its plugins attached) and
        # its answer comes back in the log, as a browser on the page would see it.
        names: list[str] = []
        ws_url = url.replace("http://", "ws://") + "ws"
        with connect(ws_url, origin=Origin(url.rstrip("/")), open_timeout=10) as ws:
            deadline = time.monotonic() + 30
            for message in _messages(ws, deadline):
                if message["type"] == "hello":  # the session is up: the page may talk
                    ws.send(json.dumps({"type": "text", "text": "Hello!"}))
                elif message["type"] == "entry" and message["kind"] == "server":
                    names.append(message["name"])
                    if message["name"] == "response.done":
                        break
        assert names.index("response.created") < names.index("response.done")
    finally:
        # Ctrl-C, as the example says to stop it.
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
    assert process.returncode != -signal.SIGKILL, "Ctrl-C did not stop the playground"


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.py")))
def test_live_without_a_key_says_so_in_one_line(name: str) -> None:
    env = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--live"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLES.parent,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "--live needs OPENAI_API_KEY in the environment\n"
