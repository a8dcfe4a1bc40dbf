"""Generate the typed overloads of ``Session.on`` and ``Session.wait_for``.

For every server event, both spellings of its name map to its model class, so
``@session.on("response.output_audio.delta")`` type-checks the handler's
parameter as ``ResponseOutputAudioDeltaEvent``. The overloads live between two
marker comments in ``realtime_events/session.py``; run this script after adding
an event model, and ``--check`` (in CI) fails when they are out of date.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "realtime_events" / "session.py"
BEGIN = "    # BEGIN GENERATED {} OVERLOADS (scripts/generate_overloads.py)\n"
END = "    # END GENERATED {} OVERLOADS\n"
INDENT = "    "


def _names() -> dict[str, list[str]]:
    sys.path.insert(0, str(ROOT))
    from realtime_events.events import SERVER_EVENT_CLASSES

    by_class: dict[str, list[str]] = defaultdict(list)
    for name, cls in sorted(SERVER_EVENT_CLASSES.items()):
        by_class[cls.__name__].append(name)
    return dict(sorted(by_class.items()))


def _overloads(by_class: dict[str, list[str]]) -> dict[str, list[str]]:
    on: list[str] = []
    wait_for: list[str] = []
    for cls, names in by_class.items():
        literal = ", ".join(f'"{name}"' for name in sorted(names, key=lambda n: (len(n), n)))
        name_type = f"Literal[{literal}]"
        add = on.append
        add("@overload")
        add(
            f"def on(self, name: {name_type}, handler: None = None, *, once: bool = False, "
            f"concurrent: bool = False) -> Callable[[Callable[[events.{cls}], R]], "
            f"Callable[[events.{cls}], R]]: ..."
        )
        add("@overload")
        add(
            f"def on(self, name: {name_type}, handler: Callable[[events.{cls}], R], *, "
            f"once: bool = False, concurrent: bool = False) -> Callable[[events.{cls}], R]: ..."
        )
        add = wait_for.append
        add("@overload")
        add(
            f"async def wait_for(self, name: {name_type}, *, where: Callable[[events.{cls}], "
            f"bool] | None = None, timeout: float | None = None) -> events.{cls}: ..."
        )
    return {"ON": on, "WAIT_FOR": wait_for}


def _render(source: str, blocks: dict[str, list[str]]) -> str:
    for region, lines in blocks.items():
        begin, end = BEGIN.format(region), END.format(region)
        # Generated lines stay one signature per line, so diffs read well.
        body = "".join(
            f"{INDENT}{line}  # noqa: E501\n" if line != "@overload" else f"{INDENT}{line}\n"
            for line in lines
        )
        start = source.index(begin)
        stop = source.index(end) + len(end)
        block = f"{begin}{INDENT}# fmt: off\n{body}{INDENT}# fmt: on\n{end}"
        source = source[:start] + block + source[stop:]
    return source


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args()
    source = TARGET.read_text(encoding="utf-8")
    updated = _render(source, _overloads(_names()))
    if args.check:
        if updated != source:
            print(f"{TARGET.relative_to(ROOT)}: overloads out of date; run {Path(__file__).name}")
            return 1
        return 0
    TARGET.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
