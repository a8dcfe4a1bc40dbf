"""Recordings: one run per file by default, appended on request, and clear about bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from realtime_events import ReconnectPolicy, Session, signals
from realtime_events.recording import RecordedFrame, Recorder, RecordingError, read_recording
from realtime_events.testing import LocalRealtimeServer, ScriptedModel

FAST_RETRY = ReconnectPolicy(initial_delay=0.01, max_delay=0.05, max_attempts=5)


def record(path: Path, *frames: tuple[str, str], **options: Any) -> None:
    recorder = Recorder(path, **options)
    for direction, data in frames:
        recorder.write(direction, data)  # type: ignore[arg-type]
    recorder.close()


def data(path: Path) -> list[str]:
    return [frame.data for frame in read_recording(path)]


# ------------------------------------------------------------------ the Recorder


def test_a_recorder_starts_the_file_anew_by_default(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    record(path, ("send", "first run"), ("recv", "first answer"))
    record(path, ("send", "second run"))
    assert data(path) == ["second run"]


def test_append_mode_adds_runs_one_after_the_other(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    record(path, ("send", "first run"), mode="a")
    record(path, ("send", "second run"), ("recv", "second answer"), mode="a")
    assert data(path) == ["first run", "second run", "second answer"]


def test_a_recorder_refuses_an_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode must be 'w' or 'a'"):
        Recorder(tmp_path / "run.jsonl", mode="x")  # type: ignore[arg-type]
    assert not (tmp_path / "run.jsonl").exists()


def test_frames_round_trip_text_and_binary(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    recorder = Recorder(path)
    recorder.write("send", '{"type": "ping"}')
    recorder.write("recv", b"\x00\xff".hex(), binary=True)
    recorder.write("recv", "héllo".encode())
    recorder.close()
    frames = list(read_recording(path))
    assert [(f.direction, f.data, f.binary) for f in frames] == [
        ("send", '{"type": "ping"}', False),
        ("recv", "00ff", True),
        ("recv", "héllo", False),
    ]
    assert all(isinstance(frame, RecordedFrame) and frame.t >= 0 for frame in frames)


# ------------------------------------------------------------ reading bad files


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just some notes\n", r":1: not a recording \(a line is not JSON\)"),
        ("[1, 2]\n", r":1: not a recording \(a line is not a JSON object\)"),
        ('{"t": 0, "dir": "recv", "data": "{}"}\n\n{"t": 1}\n', r":3: not a recording frame"),
        ('{"t": 0, "dir": "sideways", "data": ""}\n', r":1: not a recording frame"),
        ('{"t": true, "dir": "recv", "data": ""}\n', r":1: not a recording frame"),
        ('{"t": 0, "dir": "recv", "data": 5}\n', r":1: not a recording frame"),
    ],
)
def test_a_file_that_is_not_a_recording_is_named_with_its_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(RecordingError, match=message) as caught:
        list(read_recording(path))
    assert str(caught.value).startswith(str(path))
    assert isinstance(caught.value, ValueError)


def test_binary_junk_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "audio.raw"
    path.write_bytes(bytes(range(128, 256)))
    with pytest.raises(RecordingError, match="not UTF-8"):
        list(read_recording(path))


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(read_recording(tmp_path / "missing.jsonl"))


# ---------------------------------------------------- a session's record= file


def created(path: Path) -> int:
    """How many connections the recording holds (each starts with session.created)."""
    return sum(
        1
        for frame in read_recording(path)
        if frame.direction == "recv" and json.loads(frame.data)["type"] == "session.created"
    )


@pytest.mark.anyio
async def test_a_session_records_one_run_across_its_reconnects(
    tmp_path: Path, anyio_backend: str
) -> None:
    path = tmp_path / "run.jsonl"
    path.write_text('{"t": 0, "dir": "recv", "data": "an older run"}\n')
    model = ScriptedModel().when("hello").say("Hi!").otherwise("Again?")
    async with LocalRealtimeServer(model=model) as server:
        session = Session(
            url=server.url, record=path, output_modalities=["text"], reconnect=FAST_RETRY
        )
        reconnected = anyio.Event()
        signals.reconnected.connect(
            lambda sender, **_: reconnected.set(), sender=session, weak=False
        )
        async with session:
            await session.send_text("hello")
            await session.wait_for("response.done", timeout=10)
            await server.connection.drop()
            with anyio.fail_after(10):
                await reconnected.wait()
            await session.send_text("once more")
            await session.wait_for("response.done", timeout=10)
        assert created(path) == 2  # both connections, in the one file
        assert "an older run" not in path.read_text()

        # The next run starts the file anew: replay plays one run, not two.
        async with Session(url=server.url, record=path, output_modalities=["text"]) as again:
            await again.send_text("hello")
            await again.wait_for("response.done", timeout=10)
    assert created(path) == 1
    assert "once more" not in path.read_text()
    replayed: list[str] = []
    offline = Session(url="ws://replay.invalid")
    offline.on("response.done", lambda event: replayed.append(event.response.text))
    await offline.replay(path)
    assert replayed == ["Hi!"]
