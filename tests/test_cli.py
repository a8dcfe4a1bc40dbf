"""The command line, run as a person would: ``python -m realtime_events ...``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from realtime_events import Session
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

COMMAND = [sys.executable, "-m", "realtime_events", "--color", "never"]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_demo_runs_a_conversation_with_a_tool_and_a_transcript() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "local Realtime server at ws://127.0.0.1:" in out
    assert 'get_weather({"city": "Paris"})' in out
    assert "of speech" in out  # the answer was spoken
    transcript = out.split("Transcript", 1)[1]
    assert "User: What's the weather in Paris?\nAssistant: In Paris it is 21 degrees." in transcript
    assert "{" not in transcript  # a person reads it, not JSON


def test_demo_on_trio_and_the_beta_dialect() -> None:
    result = run("--backend", "trio", "demo", "--dialect", "beta")
    assert result.returncode == 0, result.stderr
    assert "In Paris it is 21 degrees." in result.stdout


def test_demo_live_needs_a_key() -> None:
    result = subprocess.run(
        [*COMMAND, "demo", "--live"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "", "PYTHONPATH": ""},
        check=False,
    )
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in result.stderr


@pytest.mark.anyio
async def test_record_then_replay_and_tail(tmp_path: Path, anyio_backend: str) -> None:
    recording = tmp_path / "run.jsonl"
    model = ScriptedModel().when("hello").say("Hi there!")
    async with LocalRealtimeServer(model=model) as server:
        async with Session(url=server.url, record=recording, output_modalities=["text"]) as session:
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)

        replayed = await anyio.to_thread.run_sync(run, "replay", str(recording))
        assert replayed.returncode == 0, replayed.stderr
        assert "Hi there!" in replayed.stdout
        assert "replay" in replayed.stdout

        # tail prints a live endpoint's events until it closes.
        async with anyio.create_task_group() as task_group:
            result: list[subprocess.CompletedProcess[str]] = []

            async def tail() -> None:
                result.append(await anyio.to_thread.run_sync(run, "tail", server.url))

            task_group.start_soon(tail)
            connection = await server.wait_for_connection(count=2, timeout=30)
            await anyio.sleep(0.2)
            await connection.close(1000)
        assert result[0].returncode == 0, result[0].stderr
        assert "session" in result[0].stdout


def test_serve_runs_a_standalone_server() -> None:
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", "0", "--pace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening at ws://127.0.0.1:" in line
        url = line.split("at ", 1)[1].split(" ", 1)[0]

        async def talk() -> str:
            async with Session(url=url, output_modalities=["text"]) as session:
                await session.send_text("hello")
                done = await session.wait_for("response.done", timeout=10)
            return done.response.text

        assert "Hello" in anyio.run(talk)
    finally:
        process.terminate()
        process.wait(timeout=10)
