"""The playground's server: the page's files over plain HTTP, and its WebSocket, on one port.

A :class:`~realtime_events._http_server.ListeningServer`, like the local
Realtime server; each connection's request is read with websockets' Sans-I/O
parsing helpers (no body is taken). A WebSocket upgrade to ``/ws`` is accepted with the
library's own server handshake and handed to a :class:`~.bridge.PageBridge`
with a fresh bot from the factory; any other ``GET`` is a file of the page,
shipped in the package (``static/``). Nothing else is served.

Local only by default: it binds 127.0.0.1, answers only requests whose
``Host`` is this server (a page of another site reaching it through DNS
rebinding is refused), and accepts WebSockets only from its own page's
``Origin``, so another site open in the same browser cannot drive the session.
"""

from __future__ import annotations

import inspect
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
import anyio.abc
from websockets.http11 import Request

from .._http_server import ListeningServer, Replayed, read_request, response
from ..connection import accept
from .bridge import Bot, PageBridge
from .protocol import MAX_RECORDING_BYTES

if TYPE_CHECKING:
    from ..session import Session

__all__ = ["BotFactory", "Playground"]

logger = logging.getLogger("realtime_events.playground")

#: Makes the bot of one page: a Bot, or a bare Session (then no barge-in reports).
BotFactory: TypeAlias = "Callable[[], Bot | Session | Awaitable[Bot | Session]]"

_MAX_HEAD = 16 * 1024
_HEAD_TIMEOUT = 10.0
_STATIC = "static"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws://{host}; worker-src 'self' blob:"
)


class Playground(ListeningServer):
    """Serves the playground page and one session per open page, on ``host:port``.

    ``factory`` makes each page's bot (a :class:`Bot`, or a ``Session``; it may
    be async). ``host`` defaults to 127.0.0.1; ``origins`` adds origins allowed
    besides the page's own (``http://host:port``), for a proxy in front.
    ``async with Playground(factory) as playground: playground.url``.
    """

    def __init__(
        self,
        factory: BotFactory,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        origins: Iterable[str] = (),
    ) -> None:
        super().__init__(host, port, logger)
        self._factory = factory
        self._extra_origins = frozenset(origins)
        #: Pages connected so far (for tests and the command line's log).
        self.pages = 0

    @property
    def url(self) -> str:
        """The page's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def _hosts(self) -> frozenset[str]:
        names = (
            {self.host, "localhost", "127.0.0.1", "[::1]"} if _loopback(self.host) else {self.host}
        )
        return frozenset(f"{name}:{self.port}" for name in names)

    def _origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self._hosts()) | self._extra_origins

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        try:
            with anyio.fail_after(_HEAD_TIMEOUT):
                request, head = await read_request(stream, max_size=_MAX_HEAD)
        except (EOFError, TimeoutError):
            return  # the peer left, or was too slow to say anything
        except ValueError as error:
            await stream.send(_text(400, f"bad request: {error}\n"))
            return
        host = request.headers.get("Host", "")
        if host not in self._hosts():
            await stream.send(_text(403, f"this server answers as {self.url} only\n"))
            return
        if request.headers.get("Upgrade", "").lower() == "websocket":
            await self._serve_page_socket(Replayed(stream, head))
            return
        await stream.send(_static(request.path.split("?", 1)[0], host))

    async def _serve_page_socket(self, stream: anyio.abc.ByteStream) -> None:
        def check(request: Request) -> tuple[int, str] | None:
            if request.path.split("?", 1)[0] != "/ws":
                return 404, "not found\n"
            origin = request.headers.get("Origin")
            if origin not in self._origins():
                return 403, f"origin {origin!r} refused: the playground serves its own page only\n"
            return None

        accepted = await accept(stream, check=check, max_size=MAX_RECORDING_BYTES + 4096)
        if accepted is None:
            return
        websocket, _request = accepted
        self.pages += 1
        try:
            bot = await self._make_bot()
        except Exception as error:
            logger.exception("the playground's session factory failed")
            await websocket.close(1011, f"the session factory failed: {error}"[:120])
            return
        try:
            await PageBridge(websocket, bot).serve()
        finally:
            await websocket.close()

    async def _make_bot(self) -> Bot:
        made: Any = self._factory()
        if inspect.isawaitable(made):
            made = await made
        return made if isinstance(made, Bot) else Bot(made)


def _loopback(host: str) -> bool:
    return host in {"127.0.0.1", "localhost", "::1"}


def _static(path: str, host: str) -> bytes:
    """The response for a file of the page (``/`` is ``index.html``)."""
    name = "index.html" if path == "/" else path.removeprefix("/static/")
    if name == path or not name or "/" in name or name.startswith("."):
        return _text(404, "not found\n")
    resource = resources.files(__package__).joinpath(_STATIC, name)
    if not resource.is_file():
        return _text(404, "not found\n")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    headers = {
        "Content-Type": kind,
        "Cache-Control": "no-store",
        "Content-Security-Policy": _CSP.format(host=host),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return response(200, resource.read_bytes(), headers)


def _text(status: int, message: str) -> bytes:
    return response(status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})
