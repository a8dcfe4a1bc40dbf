"""The README's code runs as written and prints what it promises.

Each Python block of the README is run in a subprocess, as a user would paste
it: the main example against a local server (its ``Session(...)`` gets the
server's ``url=``, the one change a user makes to run it without a key), the
local-server example as it is, and the pytest example under pytest. Fragments
that are not whole programs must at least compile.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from realtime_events.testing import LocalRealtimeServer

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
BLOCKS = BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
ANSWER = "In Paris it is 21 degrees."


def block(containing: str) -> str:
    found: list[str] = [code for code in BLOCKS if containing in code]
    assert len(found) == 1, f"expected one README block with {containing!r}, found {len(found)}"
    return found[0]


def run(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY")}  # no key needed
    return subprocess.run(
        [sys.executable, *args, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A local server on a loop thread of its own, like any remote server."""
    with start_blocking_portal("asyncio") as portal:
        server = portal.call(LocalRealtimeServer)
        with portal.wrap_async_context_manager(server):
            yield server.url


def test_the_main_example_prints_the_answer(server_url: str, tmp_path: Path) -> None:
    code = block("session = Session(\n    model=")
    local = code.replace('model="gpt-realtime",', f'model="gpt-realtime", url="{server_url}",', 1)
    assert local != code
    result = run(local, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ANSWER  # reply.text: the answer, not the tool call's response
    assert "User: What's the weather in Paris?" in lines
    assert f"Assistant: {ANSWER}" in lines


def test_the_local_server_example_runs_as_written(tmp_path: Path) -> None:
    result = run(block("async with LocalRealtimeServer() as server:"), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Hello! I'm the local demo model. Ask me about the weather or the time."
    ]


def test_the_pytest_example_passes(tmp_path: Path) -> None:
    code = block("def realtime_model")
    (tmp_path / "test_example.py").write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_example.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_block_compiles(index: int) -> None:
    # Fragments (a typing note uses a top-level await) must still be valid Python.
    compile(BLOCKS[index], f"README block {index}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
