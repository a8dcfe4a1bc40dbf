"""The one check that the plugin runs on asyncio, made where a caller enters it."""

from __future__ import annotations

import sniffio

from .errors import AsyncioOnlyError


def require_asyncio(what: str) -> None:
    """Raise :class:`AsyncioOnlyError` unless the running event loop is asyncio's.

    nats-py is written for asyncio; on trio it would fail deep inside with an
    unrelated traceback, so the plugin says so where it is entered instead.
    """
    try:
        library = sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        library = "no event loop"
    if library != "asyncio":
        raise AsyncioOnlyError(
            f"{what} runs on asyncio only (nats-py is asyncio-only), not on {library}; "
            "the core realtime-events works on both, run this part with asyncio "
            "(anyio.run(..., backend='asyncio'), or the CLI without --backend trio)"
        )
