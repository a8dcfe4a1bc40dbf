"""A blocking facade over a Session, for threaded programs.

Chat frameworks, web servers and telephony SDKs often call into your code from
their own threads. :class:`SyncSession` runs a :class:`~realtime_events.Session`
on an event loop in a background thread (an anyio blocking portal, on asyncio
or trio) and offers blocking, thread-safe methods::

    with SyncSession(url=server.url, output_modalities=["text"]) as s:
        s.on("response.output_text.delta", lambda e: print(e.delta, end=""))
        with s.stream("response.done") as dones:
            s.send_text("hello")
            done = dones.receive(timeout=30)

Every method may be called from any thread except the session's own: the call
is handed to the loop thread and the caller blocks until it completes. Handlers
still run on the loop thread, one event at a time, in registration order, so a
handler must not call the blocking methods (use ``s.session``'s async API in an
async handler instead). The typed helpers are reached the same way as on the
session, and block: ``s.response.create()``, ``s.response.cancel()``,
``s.conversation.item.create(...)``, ``s.input_audio_buffer.append(...)``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import inspect
import operator
import os
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

from anyio.from_thread import BlockingPortal, start_blocking_portal

from . import signals
from ._generated_live_overloads import SyncLiveOverloads
from ._generated_overloads import SyncSessionOverloads
from .dispatch import EventStream, Handler, Overflow, Pattern
from .errors import RealtimeError, SessionClosedError
from .events import ClientEvent, Event
from .resources import ImageDetail
from .session import Session
from .turns import Reply, Turn

__all__ = ["BlockingProxy", "SyncEventStream", "SyncLive", "SyncSession", "SyncTurn"]

T = TypeVar("T")
H = TypeVar("H", bound=Handler)
Backend = Literal["asyncio", "trio"]


class _Portal:
    """The loop thread's portal, with the errors a closed session deserves.

    Only the SyncSession stops the portal, through :meth:`stop`, so it knows when
    a call is refused because the loop is gone rather than because of the call.
    """

    def __init__(self) -> None:
        self.portal: BlockingPortal | None = None
        self.thread_id: int | None = None
        #: Set when close() begins: calls failing from then on failed because of it.
        self.closing = False
        #: Set just before the portal is told to stop: it accepts no call after that.
        self.stopped = False
        # Held while a call is handed over and while ``stopped`` is set, so no call
        # reaches the loop once its stop began. One that did could arrive as the
        # loop's task group closes: refused there, and on trio its coroutine was
        # already made and is never closed ("never awaited").
        self._handing_over = threading.Lock()

    def open(self, portal: BlockingPortal) -> None:
        """Take ``portal``, just started, for the calls to come."""
        self.portal = portal
        self.closing = self.stopped = False
        self.thread_id = portal.call(threading.get_ident)

    def stop(self, portal: BlockingPortal) -> None:
        """Stop the loop, cancelling what runs there: blocked callers get SessionClosedError."""
        with self._handing_over:
            if self.stopped:
                return
            self.stopped = True
        try:
            stopping = portal.start_task_soon(portal.stop, True)
        except RuntimeError:  # the loop ended by itself: nothing is left to stop
            return
        stopping.result()

    def on_loop_thread(self) -> bool:
        return self.thread_id is not None and threading.get_ident() == self.thread_id

    def check(self, what: str) -> BlockingPortal:
        """The portal, if ``what`` may block here: running, and not on the loop thread."""
        portal = self.portal
        if portal is None:
            raise SessionClosedError("the SyncSession is not running: use start() or `with`")
        if self.on_loop_thread():
            raise RealtimeError(
                f"{what} blocks, so it cannot be called from a handler (the session's "
                "own thread): register an async handler and use the Session's async API"
            )
        return portal

    @overload
    def call(self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T: ...
    @overload
    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        portal = self.check(getattr(func, "__qualname__", repr(func)))
        # Handing the call over and waiting for it are two steps, so the portal's
        # refusal is never confused with an error of the call itself.
        with self._handing_over:
            if self.stopped:
                raise SessionClosedError("the SyncSession is closed")
            try:
                future = portal.start_task_soon(functools.partial(func, *args, **kwargs))
            except RuntimeError as exc:
                # check() ruled out the loop thread; the other refusal is a loop
                # that ended by itself.
                raise SessionClosedError("the SyncSession's loop has ended") from exc
        try:
            return future.result()
        except concurrent.futures.CancelledError as exc:
            raise SessionClosedError("the session closed during the call") from exc


# Classes already looked at; weak, so a class that goes away is forgotten.
_acting: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def _acts(cls: type) -> bool:
    """Whether instances of ``cls`` act through the loop: it has public coroutine methods."""
    acts = _acting.get(cls)
    if acts is None:
        # Static and class methods hold their function in __func__.
        acts = _acting[cls] = any(
            not name.startswith("_")
            and inspect.iscoroutinefunction(getattr(member, "__func__", member))
            for klass in cls.__mro__
            for name, member in vars(klass).items()
        )
    return acts


class BlockingProxy:
    """A blocking view of a session object: its async methods block, its attributes read.

    ``s.response``, ``s.conversation``, ``s.conversation.item`` and the audio
    buffers are proxies; so is the request ``s.response.create()`` returns, whose
    ``done()`` blocks until the response is done. Everything runs on the loop
    thread, so reading (``s.conversation.items``) never races the dispatcher.

    What an attribute or a call returns is wrapped in turn when its class has a
    public coroutine method (``async def``), since only the loop may run that;
    anything else (events, items, lists, numbers) is a plain value and comes
    back as it is. So the rule follows the objects themselves: a new helper
    with async methods is proxied without being listed anywhere.
    """

    def __init__(self, target: Any, portal: _Portal) -> None:
        self._target = target
        self._portal = portal

    def __repr__(self) -> str:
        return f"<BlockingProxy of {self._target!r}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._portal.call(getattr, self._target, name)
        if callable(value) and not isinstance(value, type):
            return self._blocking(value)
        return self._wrap(value)

    # What the async objects answer without awaiting, read on the loop thread too.
    def __len__(self) -> int:
        return self._portal.call(len, self._target)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._portal.call(list, self._target))

    def __contains__(self, item: object) -> bool:
        return self._portal.call(operator.contains, self._target, item)

    def __bool__(self) -> bool:
        return self._portal.call(bool, self._target)

    def _wrap(self, value: Any) -> Any:
        return BlockingProxy(value, self._portal) if _acts(type(value)) else value

    def _blocking(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(self._portal.call(method, *args, **kwargs))

        return call


class SyncEventStream:
    """A blocking iterator over the events of :meth:`SyncSession.stream`."""

    def __init__(self, stream: EventStream, portal: _Portal) -> None:
        self._stream = stream
        self._portal = portal

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self._portal.call(self._stream.receive)
        except StopAsyncIteration:
            raise StopIteration from None
        except SessionClosedError:
            if self._portal.closing:  # closed on purpose: the stream just ends
                raise StopIteration from None
            raise

    def receive(self, timeout: float | None = None) -> Any:
        """Return the next event, waiting at most ``timeout`` seconds (TimeoutError after)."""
        try:
            return self._portal.call(self._stream.receive, timeout)
        except StopAsyncIteration:
            raise SessionClosedError("the session closed") from None


class SyncTurn:
    """A blocking view of a :class:`~realtime_events.turns.Turn`."""

    def __init__(self, turn: Turn, portal: _Portal) -> None:
        self._turn = turn
        self._portal = portal

    def wait(self, timeout: float | None = None) -> Reply:
        """Block until the reply is complete; TimeoutError after ``timeout`` seconds."""
        return self._portal.call(self._turn.wait, timeout)

    def close(self) -> None:
        """Stop following the turn."""
        self._portal.call(self._turn.close)


class SyncSession(SyncSessionOverloads):
    """Run a Session on a background event loop and drive it with blocking calls.

    Give it a :class:`Session`, or the keyword arguments to build one (it is then
    built on the loop thread). ``backend`` is ``"asyncio"`` or ``"trio"``.
    ``with SyncSession(...) as s:`` starts and closes it; so do :meth:`start`
    and :meth:`close`, which any thread may call, including a handler.
    """

    def __init__(
        self,
        session: Session | None = None,
        /,
        *,
        backend: Backend = "asyncio",
        backend_options: Mapping[str, Any] | None = None,
        **session_kwargs: Any,
    ) -> None:
        if session is not None and session_kwargs:
            raise TypeError("pass a Session or the arguments to build one, not both")
        self._session_kwargs = session_kwargs
        self.backend: Backend = backend
        self._backend_options = dict(backend_options or {})
        self._portal = _Portal()
        self._stack: ExitStack | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._session: Session | None = session

    def __repr__(self) -> str:
        return f"<SyncSession {self._session!r} on {self.backend}>"

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> SyncSession:
        """Start the loop thread, then connect the session; return self.

        Raises what ``Session.start`` raises (e.g. ConnectionFailedError), after
        stopping the loop thread again.
        """
        with self._lock:
            if self._stack is not None:
                raise RealtimeError("the SyncSession is already started")
            stack = ExitStack()
            try:
                portal = stack.enter_context(
                    start_blocking_portal(self.backend, self._backend_options)
                )
                # Stop the loop with cancel_remaining_tasks, so threads still blocked in
                # a call get SessionClosedError instead of hanging on the exit.
                stack.callback(self._portal.stop, portal)
                self._portal.open(portal)
                if self._session is None:
                    self._session = portal.call(functools.partial(Session, **self._session_kwargs))
                session = self._session
                self._closed.clear()
                signals.closed.connect(self._on_closed, sender=session)
                stack.callback(signals.closed.disconnect, self._on_closed, sender=session)
                stack.enter_context(portal.wrap_async_context_manager(session))
            except BaseException:
                self._portal.portal = None
                stack.close()
                self._closed.set()
                raise
            self._stack = stack
        return self

    def close(self) -> None:
        """Close the session and stop the loop thread; safe from any thread, and twice.

        From a handler (the loop thread) it only schedules the close, since
        waiting there would block the loop that must carry it out.
        """
        if self._portal.on_loop_thread():
            threading.Thread(target=self.close, name="SyncSession.close", daemon=True).start()
            return
        with self._lock:
            stack, self._stack = self._stack, None
            if stack is None:
                return
            self._portal.closing = True
            try:
                stack.close()
            finally:
                self._portal.portal = None
                self._portal.thread_id = None
                self._closed.set()

    def _on_closed(self, session: Any, **_: Any) -> None:
        self._closed.set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the session ends (closed by anyone, or by the server); False on timeout."""
        return self._closed.wait(timeout)

    def __enter__(self) -> SyncSession:
        if self._stack is None:  # start() may have started it already
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- state -------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The wrapped Session (its async API is for handlers and ``call``)."""
        if self._session is None:
            raise SessionClosedError("the SyncSession has not started yet")
        return self._session

    @property
    def portal(self) -> BlockingPortal:
        """The anyio blocking portal of the loop thread, for anything the facade lacks."""
        if self._portal.portal is None:
            raise SessionClosedError("the SyncSession is not running")
        return self._portal.portal

    @property
    def thread_id(self) -> int | None:
        """The ident of the loop thread, where handlers run (None when not running)."""
        return self._portal.thread_id

    @property
    def state(self) -> str:
        """The session's state: ``idle``, ``open``, ``reconnecting``, ``closed``..."""
        return self._session.state if self._session is not None else "idle"

    @property
    def closed(self) -> bool:
        """True once the session has ended."""
        return self._closed.is_set()

    @overload
    def call(self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T: ...
    @overload
    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...
    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``func(*args, **kwargs)`` on the loop thread (awaiting it if async); return it."""
        return self._portal.call(func, *args, **kwargs)

    # -- handlers ----------------------------------------------------------

    def _registry(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # Registering must not race the dispatcher's cache: go through the loop
        # thread when it runs, except from a handler, which is already on it.
        if self._portal.portal is None or self._portal.on_loop_thread():
            return func(*args, **kwargs)
        return self._portal.call(func, *args, **kwargs)

    def _register(self, name: Pattern, handler: Handler, *, once: bool, concurrent: bool) -> None:
        self._registry(self.session.on, name, handler, once=once, concurrent=concurrent)

    def declare(self, *names: str) -> None:
        """Declare custom event names (see ``Session.declare``)."""
        self.session.declare(*names)

    def off(self, handler: Handler, name: Pattern | None = None) -> bool:
        """Remove a handler; tell whether it was registered."""
        return self._registry(self.session.off, handler, name)

    def use(self, plugin: T | str, **options: Any) -> T:
        """Attach a plugin (started on the loop thread) and return it."""
        attached: T = self._registry(self.session.use, plugin, **options)
        return attached

    def listens_for(self, name: str) -> bool:
        """Tell whether an event emitted as ``name`` would reach a receiver (see Session)."""
        return self._registry(self.session.listens_for, name)

    def emit(self, name: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> Event:
        """Publish a plugin event to the session's handlers."""
        return self._registry(self.session.emit, name, payload, **fields)

    # -- waiting -----------------------------------------------------------

    def _wait_for(
        self, name: Pattern, *, where: Callable[[Any], bool] | None, timeout: float | None
    ) -> Any:
        return self._portal.call(self.session.wait_for, name, where=where, timeout=timeout)

    @contextmanager
    def stream(
        self,
        name: Pattern = "*",
        *,
        where: Callable[[Any], bool] | None = None,
        buffer: int = 256,
        overflow: Overflow = "block",
    ) -> Iterator[SyncEventStream]:
        """Collect matching events while the block runs, for ``for`` or ``receive(timeout)``.

        Collecting starts before the block's body, so nothing sent in the body
        can be answered too early to be seen.
        """
        opened = self.session.stream(name, where=where, buffer=buffer, overflow=overflow)
        portal = self._portal.check("SyncSession.stream")
        manager: AbstractContextManager[EventStream] = portal.wrap_async_context_manager(opened)
        events = manager.__enter__()
        try:
            yield SyncEventStream(events, self._portal)
        finally:
            # When the session closed meanwhile, the loop stopped and took the stream with it.
            with suppress(concurrent.futures.CancelledError, RuntimeError):
                manager.__exit__(None, None, None)

    # -- sending -----------------------------------------------------------

    def send(self, event: ClientEvent | Mapping[str, Any]) -> ClientEvent:
        """Validate and write a client event (a model or a dict); return the model."""
        return self._portal.call(self.session.send, event)

    def send_text(self, text: str, *, respond: bool = True) -> ClientEvent:
        """Add a user text message, and ask for a response unless ``respond=False``."""
        return self._portal.call(self.session.send_text, text, respond=respond)

    def send_audio(self, pcm: bytes, *, commit: bool = False, respond: bool = False) -> None:
        """Append audio in the session's input format (see ``Session.send_audio``)."""
        self._portal.call(self.session.send_audio, pcm, commit=commit, respond=respond)

    def send_image(
        self,
        image: bytes | str | os.PathLike[str],
        *,
        mime_type: str | None = None,
        detail: ImageDetail | None = None,
        text: str | None = None,
        respond: bool = False,
    ) -> ClientEvent:
        """Add a user message with an image (see ``Session.send_image``)."""
        return self._portal.call(
            self.session.send_image,
            image,
            mime_type=mime_type,
            detail=detail,
            text=text,
            respond=respond,
        )

    def restart(self) -> None:
        """Open a new server session with the context carried over (see ``Session.restart``).

        Blocks until the new session is restored. A handler (on the loop thread)
        awaits ``session.restart()`` in an async handler instead.
        """
        self._portal.call(self.session.restart)

    def ask(self, text: str, *, timeout: float | None = None) -> Reply:
        """Send a user message and block until the complete reply (see ``Session.ask``).

        The turn is opened on the loop thread before the message is sent, so the
        reply cannot be missed, however the threads are scheduled.
        """
        return self._portal.call(self.session.ask, text, timeout=timeout)

    def expect_reply(self) -> SyncTurn:
        """Open a turn before sending audio; ``.wait(timeout)`` blocks for its reply."""
        # Boxed: the portal would await a returned awaitable, and a Turn is one.
        (turn,) = self._portal.call(lambda: (self.session.expect_reply(),))
        return SyncTurn(turn, self._portal)

    def update(self, **fields: Any) -> ClientEvent:
        """Merge ``fields`` into the configuration and send ``session.update``."""
        return self._portal.call(self.session.update, **fields)

    @property
    def protocol(self) -> str:
        """The protocol the session speaks: ``"realtime"`` or ``"live"``."""
        return self.session.protocol

    @property
    def live(self) -> SyncLive:
        """``session.live`` with blocking helpers: ``s.live.session.input_audio.append(pcm)``.

        A Live session's SDK-shaped helpers, history and metrics (see
        :class:`~realtime_events.live.control.LiveControl`), and its handlers typed
        by the Live names (``s.live.on("error")``); raises on a Realtime session.
        """
        live = BlockingProxy(self._portal.call(getattr, self.session, "live"), self._portal)
        return SyncLive(self, live)

    @property
    def response(self) -> Any:
        """``session.response`` with blocking ``create``/``cancel`` (see :class:`BlockingProxy`)."""
        return BlockingProxy(self.session.response, self._portal)

    @property
    def conversation(self) -> Any:
        """``session.conversation``, read on the loop thread, with a blocking ``.item``."""
        return BlockingProxy(self.session.conversation, self._portal)

    @property
    def input_audio_buffer(self) -> Any:
        """``session.input_audio_buffer`` with blocking ``append``/``commit``/``clear``."""
        return BlockingProxy(self.session.input_audio_buffer, self._portal)

    @property
    def output_audio_buffer(self) -> Any:
        """``session.output_audio_buffer`` with a blocking ``clear``."""
        return BlockingProxy(self.session.output_audio_buffer, self._portal)


class SyncLive(SyncLiveOverloads):
    """``SyncSession.live``: typed Live handlers, and ``session.live``'s helpers (blocking).

    ``on``, ``once``, ``wait_for`` and ``stream`` are the SyncSession's own, typed
    by the Live event names (``s.live.wait_for("error")`` is a ``LiveErrorEvent``);
    any other attribute is ``session.live``'s, through a :class:`BlockingProxy`.
    """

    def __init__(self, owner: SyncSession, live: BlockingProxy) -> None:
        self._owner = owner
        self._live = live

    def __repr__(self) -> str:
        return f"<SyncLive of {self._live!r}>"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live, name)

    def _register(self, name: Pattern, handler: Handler, *, once: bool, concurrent: bool) -> None:
        self._owner._register(name, handler, once=once, concurrent=concurrent)

    def _wait_for(
        self, name: Pattern, *, where: Callable[[Any], bool] | None, timeout: float | None
    ) -> Any:
        return self._owner._wait_for(name, where=where, timeout=timeout)

    def stream(
        self,
        name: Pattern = "*",
        *,
        where: Callable[[Any], bool] | None = None,
        buffer: int = 256,
        overflow: Overflow = "block",
    ) -> AbstractContextManager[SyncEventStream]:
        """``SyncSession.stream``: collect matching events while the block runs."""
        return self._owner.stream(name, where=where, buffer=buffer, overflow=overflow)
