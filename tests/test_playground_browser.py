"""The playground in headless Chromium: talk with a recorded voice, barge in, scrub a recording.

Chromium's fake media devices feed a real speech recording (tests/audio,
espeak-ng) as the microphone, in a loop: the bot answers, its transcript and
the timeline appear, and the next loop of speech overlaps the answer, which
makes a barge-in. Screenshots of each state are saved under a directory the
test prints.

Needs Debian's ``chromium`` and the ``playwright`` package (pointed at that
executable; no browser download). Without them the test is skipped, unless
``REALTIME_EVENTS_REQUIRE_BROWSER=1`` (CI) makes it fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal

from realtime_events import Session
from realtime_events.playground import Playground, demo_bot
from realtime_events.testing import DemoModel, LocalRealtimeServer

AUDIO = Path(__file__).parent / "audio"
HOW = (
    "install Debian's chromium (apt-get install -y --no-install-recommends chromium) and "
    "playwright (pip install playwright), or set REALTIME_EVENTS_CHROMIUM to a Chromium binary"
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
TIMEOUT_MS = 30_000


def _chromium() -> str:
    """The Chromium binary, or a skip (a failure when CI requires the browser)."""
    found = os.environ.get("REALTIME_EVENTS_CHROMIUM") or shutil.which("chromium")
    missing = None
    if found is None:
        missing = "no chromium executable"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed"
    if missing is not None:
        message = f"browser tests need Chromium: {missing}; {HOW}"
        if os.environ.get("REALTIME_EVENTS_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where the screenshots go: $REALTIME_EVENTS_ARTIFACTS, else a fresh temporary directory."""
    where = os.environ.get("REALTIME_EVENTS_ARTIFACTS")
    path = Path(where) if where else Path(tempfile.mkdtemp(prefix="playground-screenshots-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nplayground screenshots: {path}")
    return path


async def _record(path: Path, server_url: str) -> None:
    """A short text conversation with a tool call, recorded as JSONL."""
    session = Session(url=server_url, record=path, output_modalities=["audio"])
    async with session:
        await session.ask("Hello!", timeout=30)


@contextlib.contextmanager
def _served(backend: str, recording: Path) -> Iterator[str]:
    """The playground around the demo bot on a local server (paced in real time), in a thread."""
    with start_blocking_portal(backend) as portal, contextlib.ExitStack() as stack:
        server = LocalRealtimeServer(model_factory=DemoModel)
        stack.enter_context(portal.wrap_async_context_manager(server))
        portal.call(_record, recording, server.url)
        playground = Playground(lambda: demo_bot(server.url))
        stack.enter_context(portal.wrap_async_context_manager(playground))
        yield playground.url


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_talk_barge_in_and_scrub(backend: str, artifacts: Path, tmp_path: Path) -> None:
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    recording = tmp_path / "hello.jsonl"
    shots = artifacts / backend
    shots.mkdir(exist_ok=True)
    voice = AUDIO / "hello_there.wav"
    with _served(backend, recording) as url, sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=executable,
            args=[*FLAGS, f"--use-file-for-fake-audio-capture={voice}"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            errors: list[Any] = []
            page.on("pageerror", lambda error: errors.append(error))
            page.goto(url)
            expect(page.locator("#status")).to_have_text("session open", timeout=TIMEOUT_MS)
            expect(page.locator("#log .entry[data-name='session.created']")).to_have_count(1)
            page.screenshot(path=shots / "1-open.png")

            # Talk: the recorded voice is the microphone; the bot answers in speech.
            page.click("#mic")
            expect(page.locator("#mic")).to_have_attribute("aria-pressed", "true")
            assistant = page.locator("#transcript p.assistant span").first
            expect(assistant).not_to_be_empty(timeout=TIMEOUT_MS)
            timeline = page.locator("#timeline")
            expect(timeline.locator(".mark.user-speech").first).to_be_visible(timeout=TIMEOUT_MS)
            expect(timeline.locator(".mark.received").first).to_be_visible(timeout=TIMEOUT_MS)
            expect(timeline.locator(".mark.played").first).to_be_visible(timeout=TIMEOUT_MS)
            page.screenshot(path=shots / "2-talk.png")

            # The voice loops: its next "hello there" overlaps the answer, a barge-in.
            expect(timeline.locator("line.mark.barge-in").first).to_be_attached(timeout=TIMEOUT_MS)
            truncate = page.locator("#log .entry[data-name='conversation.item.truncate']")
            expect(truncate.first).to_be_attached()
            page.click("#mic")  # stop talking
            timeline.locator("rect.mark.played").first.hover()
            expect(page.locator("#tip")).to_contain_text("played")
            page.screenshot(path=shots / "3-barge-in.png")

            # A text turn with a tool call: its duration on the timeline, metrics charted.
            page.fill("#text", "What's the weather in Paris?")
            page.click("#send")
            expect(timeline.locator(".mark.tool").first).to_be_visible(timeout=TIMEOUT_MS)
            expect(page.locator("#latency-chart rect.bar-latency").first).to_be_attached(
                timeout=TIMEOUT_MS
            )
            expect(page.locator("#tokens-chart rect.bar-out").first).to_be_attached()

            # The filter is the session's pattern syntax, matched by the server.
            page.fill("#filter", "vad.*")
            page.press("#filter", "Enter")
            shown = page.locator("#log .entry[data-match='true']")
            expect(shown.first).to_have_attribute("data-name", "vad.speech_started")
            names = shown.evaluate_all("rows => rows.map(r => r.dataset.name)")
            assert names, "vad events were logged"
            assert all(name.startswith("vad.") for name in names), names
            page.screenshot(path=shots / "4-filtered.png")
            page.fill("#filter", "resp*nse")
            page.press("#filter", "Enter")
            expect(page.locator("#filter-error")).to_contain_text("not a pattern")
            page.fill("#filter", "*")
            page.press("#filter", "Enter")
            expect(page.locator("#filter-error")).to_be_empty()

            # A recording: loaded, scrubbed to the middle, played.
            page.set_input_files("#recording-file", recording)
            expect(page.locator("#recording-info")).to_contain_text("frames", timeout=TIMEOUT_MS)
            rows = page.locator("#log-recording .entry")
            total = rows.count()
            assert total > 10
            expect(page.locator("#log-recording .entry:not(.future)")).to_have_count(total)
            page.evaluate(
                "() => { const s = document.getElementById('scrub');"
                " s.value = s.max / 2; s.dispatchEvent(new Event('input')); }"
            )
            visible = page.locator("#log-recording .entry:not(.future)").count()
            assert 0 < visible < total
            expect(timeline.locator("line.cursor")).to_have_count(1)
            page.click("#play-recording")
            expect(page.locator("#play-recording")).to_have_text("❚❚ pause")
            page.screenshot(path=shots / "5-recording.png")
            page.evaluate(
                "() => { const s = document.getElementById('scrub');"
                " s.value = s.max; s.dispatchEvent(new Event('input')); }"
            )
            expect(page.locator("#log-recording .entry:not(.future)")).to_have_count(total)
            assert not errors, errors
        finally:
            browser.close()
