"""Setting up: what scripts/install runs, when it runs pip at all, and what the wheels ship."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = [ROOT, *sorted(path.parent for path in ROOT.glob("plugins/*/pyproject.toml"))]
PLUGINS = PROJECTS[1:]


# --------------------------------------------------------------- scripts/install


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files scripts/install reads, with a .venv whose pip only logs its calls."""
    for project in PROJECTS:
        target = tmp_path / project.relative_to(ROOT)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(project / "pyproject.toml", target / "pyproject.toml")
    (tmp_path / "scripts").mkdir()
    for script in ("install", "demo"):
        shutil.copy(ROOT / "scripts" / script, tmp_path / "scripts" / script)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    # The real interpreter for everything but "-m pip", which is logged instead of run.
    python.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = pip ]; then\n'
        '  shift 2; echo "$*" >> "$PIP_LOG"; exit "${PIP_STATUS:-0}"\n'
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def install(checkout: Path, *args: str, pip_status: int = 0) -> list[str]:
    """Run scripts/install; return the pip commands it ran."""
    log = checkout / "pip.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PIP_LOG": str(log), "PIP_STATUS": str(pip_status)}
    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "install"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == pip_status, result.stderr
    return log.read_text().splitlines() if log.exists() else []


def declares_test_extra(project: Path) -> bool:
    config = tomllib.loads((project / "pyproject.toml").read_text())
    return "test" in config["project"].get("optional-dependencies", {})


def targets(command: str) -> list[str]:
    """What a pip command installs: its ``-e`` arguments."""
    words = command.split()
    return [words[index + 1] for index, word in enumerate(words) if word == "-e"]


def build_requirements() -> set[str]:
    configs = [tomllib.loads((project / "pyproject.toml").read_text()) for project in PROJECTS]
    return {requirement for config in configs for requirement in config["build-system"]["requires"]}


def test_a_plain_install_asks_for_no_extra(checkout: Path) -> None:
    backend, command = install(checkout)
    # The build backend first, into the venv, so the projects build without isolation.
    assert backend.startswith("install --quiet --disable-pip-version-check ")
    assert set(backend.split()[3:]) == build_requirements() | {"editables"}
    assert command.startswith("install --quiet --disable-pip-version-check --no-build-isolation ")
    assert targets(command) == [".", *(str(plugin.relative_to(ROOT)) for plugin in PLUGINS)]


def test_dev_asks_for_test_extras_only_of_plugins_that_declare_one(checkout: Path) -> None:
    _backend, command = install(checkout, "--dev")
    plugins = [
        str(plugin.relative_to(ROOT)) + ("[test]" if declares_test_extra(plugin) else "")
        for plugin in PLUGINS
    ]
    assert targets(command) == [".[dev]", *plugins]
    assert "plugins/vad[test]" in plugins  # one plugin does declare one


def test_pip_runs_only_when_what_decides_the_install_changed(checkout: Path) -> None:
    assert install(checkout)
    assert install(checkout) == []  # nothing changed
    assert install(checkout, "--dev")  # the dev tools are not there yet
    assert install(checkout, "--dev") == []
    assert install(checkout) == []  # a dev install serves a plain one
    with (checkout / "plugins" / "tools" / "pyproject.toml").open("a") as file:
        file.write("\n# a change\n")
    assert install(checkout)
    assert install(checkout, "--dev")  # the plain install left the dev tools behind


def test_a_failed_install_is_tried_again(checkout: Path) -> None:
    assert len(install(checkout, pip_status=1)) == 1  # the first pip call failed: it stopped
    assert len(install(checkout)) == 2


def test_install_refuses_unknown_options(checkout: Path) -> None:
    result = subprocess.run(
        ["bash", str(checkout / "scripts" / "install"), "--everything"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "usage: scripts/install [--dev]\n"


def test_the_demo_script_installs_no_dev_tools_then_skips_pip(checkout: Path) -> None:
    log = checkout / "pip.log"

    def demo() -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PIP_LOG": str(log), "NO_COLOR": "1"}
        return subprocess.run(
            ["bash", str(checkout / "scripts" / "demo"), "--pace", "0"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    first = demo()
    assert first.returncode == 0, first.stderr
    assert "Transcript" in first.stdout
    _backend, command = log.read_text().splitlines()
    assert "[dev]" not in command
    assert "[test]" not in command
    log.unlink()
    second = demo()
    assert second.returncode == 0, second.stderr
    assert not log.exists()  # pip did not run at all


def test_the_test_script_installs_the_dev_tools() -> None:
    # It runs the whole suite, so it is not run here; .ci/run runs it.
    lines = (ROOT / "scripts" / "test").read_text().splitlines()
    assert "scripts/install --dev" in lines
    assert "scripts/install --dev" in (ROOT / "scripts" / "check").read_text().splitlines()


# ------------------------------------------------------------------------ wheels


def build_wheel(project: Path, directory: Path) -> zipfile.ZipFile:
    """Build a wheel through the PEP 517 hook, as pip does (the backend is already installed)."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))",
            str(directory),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return zipfile.ZipFile(directory / result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("project", PROJECTS, ids=lambda path: path.name)
def test_every_wheel_ships_the_license_and_its_types(project: Path, tmp_path: Path) -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in license_text
    assert "Copyright (c) 2026 the realtime-events authors" in license_text
    with build_wheel(project, tmp_path) as wheel:
        names = wheel.namelist()
        (shipped,) = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
        assert wheel.read(shipped).decode() == license_text
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        headers = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
        assert "License-Expression: MIT" in headers
        assert "License-File: LICENSE" in headers
        assert any(name.endswith("/py.typed") for name in names)
        if project in PLUGINS:
            assert "Requires-Dist: realtime-events" in headers
