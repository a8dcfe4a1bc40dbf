"""``python -m realtime_events``: see :mod:`realtime_events.cli`."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m realtime_events"))
