"""The command line, run as a person would: `realtime-events` and `python -m realtime_events`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from realtime_events import Session
from realtime_events.cli import BROKEN_PIPE
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

COMMAND = [sys.executable, "-m", "realtime_events", "--color", "never"]
# The console script pip installed beside the interpreter.
ENTRY_POINT = str(Path(sys.executable).parent / "realtime-events")


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
        with process:  # closes its pipes, then waits for it
            process.terminate()


# -------------------------------------------------------------- what the demo shows


def log_lines(out: str) -> list[str]:
    """The demo's event log (before the transcript), one "tag  text" per line."""
    return [line.strip() for line in out.split("Transcript", 1)[0].splitlines() if line.strip()]


def test_demo_shows_each_user_message_once() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    lines = log_lines(result.stdout)
    for text in ("Hello!", "What's the weather in Paris?", "Thanks, that's all."):
        assert [line for line in lines if line.endswith(text)] == [f"user  {text}"]


def test_demo_prints_the_tool_result_after_the_response_that_called_it() -> None:
    # The tool finishes while its response streams on: the log must not depend on which
    # of the two ends first. Each run prints the same order.
    for _ in range(3):
        result = run("demo", "--pace", "0")
        assert result.returncode == 0, result.stderr
        lines = log_lines(result.stdout)
        call = next(i for i, line in enumerate(lines) if line.startswith("tool call"))
        assert lines[call] == 'tool call  get_weather({"city": "Paris"})'
        assert lines[call + 1].startswith("response  completed")
        assert lines[call + 2].startswith("tool  get_weather -> {'city': 'Paris'")
        assert lines[call + 3].startswith("response  started")


# ------------------------------------------------------------ mistakes speak


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit status 1, and one line on stderr that names the problem: no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    for word in words:
        assert word in result.stderr


def test_replay_of_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    assert_one_line_error(run("replay", str(missing)), str(missing), "No such file")


def test_replay_of_a_file_that_is_not_a_recording(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n")
    assert_one_line_error(run("replay", str(notes)), f"{notes}:1", "not a recording")

    frame = tmp_path / "frame.jsonl"
    frame.write_text(json.dumps({"t": 0, "dir": "recv", "data": "{}"}) + "\n" + '{"t": 1}\n')
    assert_one_line_error(run("replay", str(frame)), f"{frame}:2", "not a recording frame")

    binary = tmp_path / "audio.raw"
    binary.write_bytes(bytes(range(128, 256)))
    assert_one_line_error(run("replay", str(binary)), str(binary), "not UTF-8")


def test_serve_on_a_busy_port() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("serve", "--port", str(port))
    assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port}")


def test_serve_checks_its_recording_at_start(tmp_path: Path) -> None:
    # No client ever connects: the command must fail on its own, at once.
    missing = tmp_path / "missing.jsonl"
    result = run("serve", "--port", "0", "--replay", str(missing), timeout=30)
    assert_one_line_error(result, str(missing), "No such file")
    assert "listening" not in result.stdout

    notes = tmp_path / "notes.txt"
    notes.write_text("not JSON\n")
    result = run("serve", "--port", "0", "--replay", str(notes), timeout=30)
    assert_one_line_error(result, f"{notes}:1", "not a recording")


def test_demo_into_a_pipe_closed_early_exits_quietly() -> None:
    # As ``realtime-events demo | head -n 3``: the reader leaves after three lines.
    process = subprocess.Popen(
        [*COMMAND, "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = [process.stdout.readline() for _ in range(3)]
    process.stdout.close()
    with process.stderr:
        errors = process.stderr.read()
    assert process.wait(timeout=60) == BROKEN_PIPE
    assert "local Realtime server" in first[0]
    assert errors == ""


# ------------------------------------------------------------ names and options


def test_the_command_names_itself_as_it_was_run() -> None:
    installed = subprocess.run(
        [ENTRY_POINT, "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.startswith("usage: realtime-events ")
    as_module = run("--help")
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout.startswith("usage: python -m realtime_events ")
    command = subprocess.run(
        [ENTRY_POINT, "replay", "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert command.stdout.startswith("usage: realtime-events replay ")


def test_the_entry_point_runs_the_demo() -> None:
    result = subprocess.run(
        [ENTRY_POINT, "demo", "--color", "never", "--pace", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "get_weather" in result.stdout


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["before", "after"])
async def test_backend_and_dialect_before_or_after_the_command(
    where: str, anyio_backend: str
) -> None:
    async with LocalRealtimeServer() as server:
        options = ["--backend", "trio", "--dialect", "beta"]
        command = ["tail", server.url]
        args = [*options, *command] if where == "before" else [*command, *options]
        result: list[subprocess.CompletedProcess[str]] = []

        async def tail() -> None:
            result.append(await anyio.to_thread.run_sync(lambda: run(*args)))

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(tail)
            connection = await server.wait_for_connection(timeout=30)
            assert connection.dialect == "beta"  # from the handshake's OpenAI-Beta header
            # Close once the client has configured its session, not in the middle of it.
            received = connection.received
            with anyio.fail_after(30):
                # Polled: the server has no event for a frame it received.
                while not any(e.get("type") == "session.update" for e in received):  # noqa: ASYNC110
                    await anyio.sleep(0.02)
            await connection.close(1000)
    assert result[0].returncode == 0, result[0].stderr
    assert "session" in result[0].stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--backend", "trio", "--dialect", "beta", "-v", "replay", "{file}"],
        ["replay", "{file}", "--backend", "trio", "--dialect", "beta", "-v"],
        # The command's parser must not reset what came before it.
        ["--backend", "trio", "replay", "{file}", "--dialect", "beta", "-v"],
    ],
)
def test_options_before_after_and_around_the_command(args: list[str], tmp_path: Path) -> None:
    recording = tmp_path / "empty.jsonl"
    recording.write_text("")
    result = run(*(arg.replace("{file}", str(recording)) for arg in args))
    assert result.returncode == 0, result.stderr
    assert "replay on trio, dialect beta" in result.stderr  # the debug log (-v)
    assert "0 events" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def interrupt(args: list[str], *, ready: str) -> subprocess.CompletedProcess[str]:
    """Start a command, press Ctrl-C (SIGINT) once it printed ``ready``, collect what it did."""
    process = subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        seen = ""
        while ready not in seen:
            line = process.stdout.readline()
            assert line, f"{args} ended before printing {ready!r}"
            seen += line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    return subprocess.CompletedProcess(args, process.returncode, seen + out, err)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_ends_serve_and_tail_quietly(backend: str) -> None:
    port = free_port()
    serve = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert serve.stdout is not None
        serve.stdout.readline()  # it is listening
        tail = interrupt(
            ["tail", f"ws://127.0.0.1:{port}", "--backend", backend], ready="configured"
        )
    finally:
        serve.kill()
        serve.communicate()
    assert tail.returncode == 130, tail.stderr  # the shell's code for Ctrl-C
    assert "Traceback" not in tail.stderr
    assert "ExceptionGroup" not in tail.stderr
    served = interrupt(["serve", "--port", "0", "--backend", backend], ready="ws://")
    assert served.returncode == 130, served.stderr
    assert "Traceback" not in served.stderr


# A command that receives Ctrl-C in the middle of its own code, in a process of
# its own (Python's handler would interrupt this test run otherwise).
CTRL_C_MID_COMMAND = """
import argparse, os, signal, sys
import anyio
from realtime_events import cli

done = []

async def command(args, printer):
    os.kill(os.getpid(), signal.SIGINT)
    done.extend(range(100_000))  # Python's own handler would raise in here
    try:
        await anyio.sleep_forever()
    finally:
        done.append("unwound")

args = argparse.Namespace(color="never", run=command)
status = anyio.run(cli._run, args, backend=sys.argv[1])
print(status, len(done), done[-1])
"""


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_cancels_the_command_at_its_next_checkpoint(backend: str) -> None:
    # A KeyboardInterrupt raised wherever the signal lands can fall inside the
    # event loop's own bookkeeping (on trio, once, a TrioInternalError); the
    # command is cancelled instead, its code between checkpoints runs whole.
    result = subprocess.run(
        [sys.executable, "-c", CTRL_C_MID_COMMAND, backend],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["130", "100001", "unwound"]


def test_ctrl_c_ends_the_playground_run_as_a_program_of_its_own() -> None:
    # realtime_events.playground.main, outside the realtime-events command.
    program = "from realtime_events.playground import main; raise SystemExit(main())"
    arguments = ["--no-open", "--port", "0", "--backend", "trio"]
    with subprocess.Popen(
        [sys.executable, "-c", program, *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        assert "playground at http://" in process.stdout.readline()
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 130, errors
    assert "Traceback" not in errors


# ------------------------------------------------------------------ the Live protocol


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_on_the_live_protocol_speaks_and_delegates_the_weather(backend: str) -> None:
    result = run("--backend", backend, "demo", "--protocol", "live")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "local Live server at ws://127.0.0.1:" in out
    assert "/v1/live/sessions" in out
    lines = log_lines(out)
    # Each question was spoken and heard by the server's turn detection.
    assert "user  What's the weather in Paris?" in lines
    assert any(line.startswith("delegated  to responses") for line in lines)
    assert 'tool call  get_weather({"city": "Paris"})' in lines
    assert any(line.startswith("tool  get_weather -> {") for line in lines)
    assert "of speech" in out
    assert lines[-1] == "session  closed (close_requested)"
    transcript = out.split("Transcript", 1)[1].strip().splitlines()
    assert [line.split(":", 1)[0] for line in transcript] == ["User", "Assistant"] * 3
    assert transcript[2] == "User: What's the weather in Paris?"
    assert transcript[3].endswith("In Paris it is 21 degrees.")


def test_serve_prints_the_live_url_and_serves_it() -> None:
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", "0", "--pace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "local Realtime server listening at ws://127.0.0.1:" in process.stdout.readline()
        line = process.stdout.readline()
        assert "local Live server listening at ws://127.0.0.1:" in line
        url = line.split("at ", 1)[1].split()[0]
        assert url.endswith("/v1/live/sessions")

        started: list[str | None] = []

        async def start() -> None:
            async with Session(protocol="live", url=url) as session:
                started.append(session.live.session_id)

        anyio.run(start)
        assert (started[0] or "").startswith("live_")
    finally:
        with process:  # closes its pipes, then waits for it
            process.terminate()


@pytest.mark.anyio
async def test_a_live_recording_replays_and_a_live_endpoint_tails(
    tmp_path: Path, anyio_backend: str
) -> None:
    recording = tmp_path / "live.jsonl"
    async with LocalRealtimeServer(model=ScriptedModel()) as server:
        session = Session(protocol="live", url=server.live_url, record=recording)
        async with session, session.stream("session.output_transcript.delta") as said:
            await session.live.session.commentary.append("Hi there!")
            heard = ""
            with anyio.fail_after(30):
                while not heard.endswith("Hi there!"):
                    heard += (await said.receive()).delta

        replayed = await anyio.to_thread.run_sync(run, "replay", str(recording))
        assert replayed.returncode == 0, replayed.stderr
        lines = log_lines(replayed.stdout)
        assert lines[0].startswith("session  started live_")
        assert "assistant  Hi there!" in lines
        assert "session  closed (close_requested)" in lines

        async with anyio.create_task_group() as task_group:
            result: list[subprocess.CompletedProcess[str]] = []

            async def tail() -> None:
                result.append(
                    await anyio.to_thread.run_sync(
                        run, "tail", server.live_url, "--protocol", "live"
                    )
                )

            task_group.start_soon(tail)
            connection = await server.wait_for_live_connection(count=2, timeout=30)
            with anyio.fail_after(30):  # the engine has no event to wait on
                while not connection.engine.started:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            await connection.send_events([{"type": "info", "event_id": "event_1",
                                           "code": "notice", "message": "hello tail"}])  # fmt: skip
            await connection.close(1000)
        assert result[0].returncode == 0, result[0].stderr
        tailed = log_lines(result[0].stdout)
        assert tailed[0].startswith("session  started live_")
        assert "info  notice: hello tail" in tailed
