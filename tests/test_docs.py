"""The documentation points only at what is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    path
    for path in {ROOT / "README.md", *ROOT.glob("*/*.md"), *ROOT.glob("*/*/*.md")}
    if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)  # .venv, .git
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
# `path/to/file.py`, `path/to/file.py::test_name`, and `::test_name` (same file as before).
CODE_PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.\w+)?(?:::(\w+))?`")
MARKDOWN_FILE = re.compile(r"(?<![\w/.-])([\w./-]+\.md)\b")
FENCED_CODE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_links_point_at_files_in_the_repository(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{page_id(page)} links to {target}, which is not in the repository"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_markdown_files_named_in_the_text_exist(page: Path) -> None:
    prose = FENCED_CODE.sub("", page.read_text())  # code names files of its own (save_to=...)
    for name in MARKDOWN_FILE.findall(prose):
        found = (page.parent / name).exists() or (ROOT / name).exists()
        assert found, f"{page_id(page)} names {name}, which is not in the repository"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_cited_files_and_tests_exist(page: Path) -> None:
    for line in page.read_text().splitlines():
        current: Path | None = None
        for path, test in CODE_PATH.findall(line):
            if path:
                if "<" in path or "…" in path:
                    continue  # a pattern such as plugins/<name>/tests/…
                current = ROOT / path
                assert current.exists(), f"{page_id(page)} cites {path}, which does not exist"
            if test:
                assert current is not None, f"{page_id(page)}: ::{test} follows no file"
                cited = f"{current.relative_to(ROOT)}::{test}"
                assert re.search(rf"def {test}\(", current.read_text()), (
                    f"{page_id(page)} cites {cited}, which does not exist"
                )


def test_tests_cite_no_design_notes_outside_the_repository() -> None:
    notes = "DESIGN" + " section"  # spelled apart, so this file does not match itself
    for path in sorted((ROOT / "tests").glob("*.py")):
        assert notes not in path.read_text(), f"{path.name} cites {notes}: not in the repository"
