"""The Tools plugin: function calling that answers every call exactly once.

How a call flows:

1. The model's call arrives in ``response.function_call_arguments.done``, in a
   ``function_call`` item of ``response.output_item.done``, or in the output
   of ``response.done``, whichever comes first; later sightings of the same
   ``call_id`` are ignored. These handlers only do bookkeeping, in event order.
2. The call is handed to the plugin's background task (:meth:`Tools.run`),
   which runs each call as its own task: the dispatcher never waits for a
   tool, and the calls of one response run concurrently.
3. Each call is validated, approved if its tool asks for it, and run under
   its timeout (sync functions in a worker thread). Its result, or an
   ``{"error": ...}`` the model can read, is sent as one
   ``function_call_output`` item.
4. When every call of a response is answered and the response is done, one
   ``response.create`` asks the model to go on, and ``tools.batch_finished``
   is emitted. A batch whose calls were all interrupted asks nothing: the
   user's new turn is already being answered. From the first call seen to
   that request, the batch holds the session's turn open
   (``session.turns.hold()``), so ``session.ask()`` returns the answer that
   follows the tools, not the response that called them.

On a Live session the calls are a Responses backend's, delegated to it by the
Live model: the plugin puts its tools in the session's Responses delegation,
reads each call from the backend's ``response.event`` stream, and answers as
that protocol does (see :mod:`realtime_events_tools.live`).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, overload

import anyio
import anyio.to_thread

from realtime_events import Session, SessionClosedError, signals
from realtime_events.events import (
    ConversationItem,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseOutputItemDoneEvent,
)

from .calls import ToolCall, error_output, result_output
from .delivery import Delivery
from .errors import (
    InvalidArgumentsError,
    ToolError,
    ToolInterruptedError,
    ToolRejectedError,
    ToolTimeoutError,
    UnknownToolError,
)
from .live import (
    LiveDelivery,
    finished_response_of,
    function_call_of,
    live_delegation,
    response_id_of,
)
from .tool import Tool, is_async_callable

__all__ = ["Approver", "Tools"]

logger = logging.getLogger("realtime_events_tools")

#: The approval hook: sync or async, True to let the call run.
Approver = Callable[[ToolCall], bool | Awaitable[bool]]
Job = Callable[[], Coroutine[Any, Any, None]]
F = TypeVar("F", bound=Callable[..., Any])

#: How many finished calls' ids are remembered. A call is only ever seen again
#: within its own response (its arguments, its output item, ``response.done``),
#: and a batch finishes after that response is done: the margin is generous.
KEEP_FINISHED_CALLS = 256

# The session states in which calls are served: a session replaying a recording
# (or closed) has no one to run them, nor a connection to answer on.
_LIVE_STATES = frozenset({"connecting", "open", "reconnecting"})


class _Deliver(Protocol):
    """How calls are answered: once each, then one request to go on per batch."""

    def answered(self, call_id: str) -> bool: ...

    async def output(self, call_id: str, output: str) -> None: ...

    async def reply(self, calls: Sequence[ToolCall]) -> None: ...


@dataclass(eq=False)
class _Batch:
    """The calls of one response, answered together with one ``response.create``."""

    response_id: str
    #: Keeps the session's turn open until the follow-up was asked for (Realtime).
    hold: AbstractContextManager[Any]
    calls: list[ToolCall] = field(default_factory=list)
    response_done: bool = False
    finished: bool = False


class Tools:
    """Function calling for a session: ``tools = session.use(Tools())``.

    ``timeout`` is the default time limit of a call in seconds (``None``: no
    limit); ``cancel_on_interruption`` the default for cancelling a call when
    the user interrupts the response that made it; ``approve(call) -> bool``
    (sync or async) decides about calls to tools declared with
    ``needs_approval=True``; ``tool_choice`` goes to the session configuration.
    On a Live session the tools go to a Responses backend: ``backend_model``
    names its model, unless the session's own delegation does.
    """

    name = "tools"
    #: The events it emits.
    events = ("tools.call_started", "tools.call_finished", "tools.batch_finished")
    #: Both protocols: on Live, a Responses backend calls the tools (see ``session_config``).
    protocols = ("realtime", "live")

    def __init__(
        self,
        functions: Iterable[Callable[..., Any] | Tool] = (),
        *,
        timeout: float | None = 60.0,
        cancel_on_interruption: bool = False,
        approve: Approver | None = None,
        tool_choice: str | Mapping[str, Any] | None = "auto",
        backend_model: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.backend_model = backend_model
        self.cancel_on_interruption = cancel_on_interruption
        self.approve = approve
        self.tool_choice = tool_choice
        self.session: Session | None = None
        self._tools: dict[str, Tool] = {}
        self._calls: dict[str, ToolCall] = {}  # until their batch is finished
        # Recently finished call ids, so a late sighting never reruns a call.
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._batches: dict[str, _Batch] = {}
        self._update_pending = False
        self._delivery: _Deliver | None = None
        self._live: LiveDelivery | None = None
        self._backend_responses: dict[str, str] = {}  # Live: delegation id -> its response
        # Handlers hand work to run() through this queue, so they never wait. It
        # holds one job per call and per batch being served, and only while the
        # session is live (run() takes them at once): it needs no limit. A deque,
        # not a memory stream: the plugin outlives its runs and has no moment to
        # close a stream, which would warn when collected unclosed.
        self._jobs: deque[Job] = deque()
        self._job_added: anyio.Event | None = None  # set while run() waits for a job
        for fn in functions:
            self.add(fn)

    # -- the registry -------------------------------------------------------------

    @overload
    def function(self, fn: F, /) -> F: ...

    @overload
    def function(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        cancel_on_interruption: bool | None = None,
        needs_approval: bool = False,
    ) -> Callable[[F], F]: ...

    def function(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        cancel_on_interruption: bool | None = None,
        needs_approval: bool = False,
    ) -> Any:
        """Register a function as a tool; use as ``@tools.function`` or ``@tools.function(...)``.

        The name and description come from the function and its docstring, the
        parameters' schema from its type hints. Returns the function unchanged.
        """

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add(
                Tool.from_function(
                    fn,
                    name=name,
                    description=description,
                    timeout=timeout,
                    cancel_on_interruption=cancel_on_interruption,
                    needs_approval=needs_approval,
                )
            )
            return fn

        return register if fn is None else register(fn)

    @overload
    def add(self, tool: Tool | Callable[..., Any], /) -> Tool: ...

    @overload
    def add(
        self,
        name: str,
        schema: Mapping[str, Any],
        handler: Callable[[dict[str, Any]], Any],
        /,
        *,
        description: str | None = None,
        timeout: float | None = None,
        cancel_on_interruption: bool | None = None,
        needs_approval: bool = False,
    ) -> Tool: ...

    def add(
        self,
        tool: Tool | Callable[..., Any] | str,
        schema: Mapping[str, Any] | None = None,
        handler: Callable[[dict[str, Any]], Any] | None = None,
        /,
        **options: Any,
    ) -> Tool:
        """Add a tool: a :class:`Tool`, a function, or ``(name, schema, handler)``.

        With a raw schema, ``handler`` receives the arguments as one dict. While
        the session runs, the new tool list is sent to the server at once.
        """
        if isinstance(tool, str):
            if schema is None or handler is None:
                raise TypeError("add(name, schema, handler) needs a schema and a handler")
            tool = Tool.from_schema(tool, schema, handler, **options)
        elif not isinstance(tool, Tool):
            tool = Tool.from_function(tool, **options)
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool
        self._schedule_update()
        return tool

    def remove(self, name: str) -> Tool:
        """Remove a tool by name and return it; while the session runs, tell the server."""
        tool = self._tools.pop(name)
        self._schedule_update()
        return tool

    def get(self, name: str) -> Tool | None:
        """Return the tool called ``name``, if there is one."""
        return self._tools.get(name)

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def definitions(self) -> list[dict[str, Any]]:
        """The tools as the Realtime API takes them."""
        return [tool.definition() for tool in self._tools.values()]

    @property
    def running(self) -> list[ToolCall]:
        """The calls seen and not answered yet."""
        return [call for call in self._calls.values() if call.status != "done"]

    # -- the plugin protocol --------------------------------------------------------

    def session_config(
        self, *, protocol: str | None = None, config: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What this plugin adds to the configuration of a session of ``protocol``.

        On Realtime: ``tools`` and ``tool_choice``. On Live: the Responses
        ``delegation`` of the session's own ``config`` with the tools, raising
        :class:`RealtimeError` for one that cannot call functions. The session
        tells both, also before attaching; called bare, they are those of the
        session it is attached to (Realtime and none when it is not).
        """
        session = self.session
        if protocol is None:
            protocol = session.protocol if session is not None else "realtime"
        if config is None:
            config = session.config if session is not None else {}
        if protocol == "live":
            definitions = self.definitions()
            return {
                "delegation": live_delegation(
                    config.get("delegation"), definitions, self.tool_choice, self.backend_model
                )
            }
        fields: dict[str, Any] = {"tools": self.definitions()}
        if self.tool_choice is not None:
            fields["tool_choice"] = self.tool_choice
        return fields

    def attach(self, session: Session) -> None:
        """Follow the session's function calls (its configuration was checked before)."""
        if self.session is not None:
            raise RuntimeError("this Tools instance is already attached to a session")
        self.session = session
        # A weak receiver: blinker must not keep the plugin (or the session) alive.
        signals.disconnected.connect(self._on_disconnected, sender=session)
        if session.protocol == "live":
            self._delivery = self._live = LiveDelivery(session)
            session.on("response.event", self._on_backend_event)
            return
        self._delivery = Delivery(session)
        session.on("response.function_call_arguments.done", self._on_arguments_done)
        session.on("response.output_item.done", self._on_output_item_done)
        session.on("response.done", self._on_response_done)

    async def run(self, session: Session) -> None:
        """Run calls (and config updates) as tasks, until the session ends."""
        jobs = self._jobs
        try:
            async with anyio.create_task_group() as task_group:
                while True:
                    while jobs:
                        task_group.start_soon(self._guarded, jobs.popleft())
                    self._job_added = anyio.Event()
                    await self._job_added.wait()
        finally:
            self._job_added = None

    def _queue(self, job: Job) -> None:
        """Hand ``job`` to run(): from a handler, which must not wait."""
        self._jobs.append(job)
        if self._job_added is not None:
            self._job_added.set()

    async def _guarded(self, job: Job) -> None:
        # A bug here must not take the session (which owns this task) down with it.
        try:
            await job()
        except Exception:
            logger.exception("internal error in the tools plugin")

    # -- seeing calls (handlers: bookkeeping only, never waiting) ---------------------

    def _on_arguments_done(self, event: ResponseFunctionCallArgumentsDoneEvent) -> None:
        name = event.name
        if name is None:  # beta: the name is only on the item
            item = self._session.conversation.get(event.item_id)
            name = item.name if item is not None else None
        if name is not None:
            self._see(event.call_id, name, event.arguments, event.response_id, event.item_id)

    def _on_output_item_done(self, event: ResponseOutputItemDoneEvent) -> None:
        self._see_item(event.item, event.response_id)

    def _on_response_done(self, event: ResponseDoneEvent) -> None:
        response = event.response
        response_id = response.id or ""
        for item in response.output or ():
            self._see_item(item, response_id)
        batch = self._batches.get(response_id)
        if batch is None:
            return
        batch.response_done = True
        if response.status == "cancelled":
            for call in batch.calls:
                if self._tool_cancels(call):
                    call.interrupt()
        # Settle from a task, like the calls do, so tools.batch_finished always
        # follows the tools.call_finished events of its calls.
        self._queue(functools.partial(self._settle, batch))

    def _on_backend_event(self, event: Any) -> None:
        """Live: a Responses backend's streaming event, in its ``response.event`` envelope."""
        key = event.delegation_id or ""
        started = response_id_of(event)
        if started is not None and key not in self._backend_responses:
            self._backend_responses[key] = started
        response_id = self._backend_responses.get(key, key)
        call = function_call_of(event)
        if call is not None:
            call_id, name, arguments, item_id = call
            self._see(call_id, name, arguments, response_id, item_id)
        elif finished_response_of(event):
            self._backend_responses.pop(key, None)
            batch = self._batches.get(response_id)
            if batch is not None:
                batch.response_done = True
                self._queue(functools.partial(self._settle, batch))

    def _see_item(self, item: ConversationItem, response_id: str) -> None:
        if item.type == "function_call" and item.call_id and item.name:
            self._see(item.call_id, item.name, item.arguments or "", response_id, item.id)

    def _see(
        self, call_id: str, name: str, arguments: str, response_id: str, item_id: str | None
    ) -> None:
        if call_id in self._calls or call_id in self._finished or self._deliver.answered(call_id):
            return
        if self._session.state not in _LIVE_STATES:
            logger.debug("call %s (%s) seen while the session is not live: not run", name, call_id)
            return
        call = ToolCall(call_id, name, arguments, response_id=response_id, item_id=item_id)
        self._calls[call_id] = call
        if self._live is not None:
            self._live.seen(call_id)
        batch = self._batches.get(response_id)
        if batch is None:
            live = self._session.protocol == "live"  # no turns to hold: Live has no responses
            hold = contextlib.nullcontext() if live else self._session.turns.hold()
            batch = self._batches[response_id] = _Batch(response_id, hold)
        batch.calls.append(call)
        self._queue(functools.partial(self._serve, call, batch))

    def _on_disconnected(self, session: Session, *, will_reconnect: bool, **_: Any) -> None:
        # The response died with the connection: no response.done will come. Calls
        # still running answer after the reconnect (the conversation is replayed,
        # function_call items included), then their batch asks for a response.
        for batch in list(self._batches.values()):
            if not batch.response_done:
                batch.response_done = True
                self._queue(functools.partial(self._settle, batch))

    # -- running calls (tasks) ----------------------------------------------------------

    async def _serve(self, call: ToolCall, batch: _Batch) -> None:
        """Run one call and answer it, whatever happens."""
        call.status = "running"
        call._started_at = time.perf_counter()
        self._emit("tools.call_started", call=call)
        with anyio.CancelScope() as scope:
            call._scope = scope
            if call._interrupted:
                scope.cancel()
            try:
                call.result = await self._execute(call)
            except Exception as exc:
                call.error = exc
                _log_failure(call, exc)
        call._scope = None
        if scope.cancelled_caught:
            call.result = None
            call.error = ToolInterruptedError(
                f"the call to {call.name} was cancelled because the user interrupted; "
                "it did not complete"
            )
        await self._answer(call)
        call.duration = time.perf_counter() - call._started_at
        self._emit(
            "tools.call_finished",
            call=call,
            result=call.result,
            error=call.error,
            duration=call.duration,
        )
        await self._settle(batch)

    async def _execute(self, call: ToolCall) -> Any:
        tool = self._tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            raise UnknownToolError(f"there is no tool named {call.name!r} (available: {known})")
        invoke = tool.bind(call.arguments)
        if tool.needs_approval and not await self._approved(call):
            raise ToolRejectedError(f"the call to {call.name} was rejected by the application")
        timeout = tool.timeout if tool.timeout is not None else self.timeout
        with anyio.move_on_after(math.inf if timeout is None else timeout):
            return await invoke()
        raise ToolTimeoutError(f"{call.name} did not finish within {timeout:g} seconds")

    async def _approved(self, call: ToolCall) -> bool:
        approve = self.approve
        if approve is None:
            logger.warning("%s needs approval, but Tools(approve=...) is not set", call.name)
            return False
        try:
            if is_async_callable(approve):
                verdict = approve(call)
            else:
                # The hook may ask a human: keep it off the event loop.
                verdict = await anyio.to_thread.run_sync(approve, call, abandon_on_cancel=True)
            if inspect.isawaitable(verdict):
                verdict = await verdict
        except Exception:
            logger.exception("the approval hook failed on %s; rejecting the call", call.name)
            return False
        return bool(verdict)

    async def _answer(self, call: ToolCall) -> None:
        """Send the call's output (once, even across reconnects)."""
        try:
            call.output = (
                error_output(call, call.error) if call.error else result_output(call.result)
            )
        except Exception as exc:  # a result that even str() can't render
            call.error = exc
            call.output = error_output(call, exc)
        await self._deliver.output(call.call_id, call.output)
        call.status = "done"

    async def _settle(self, batch: _Batch) -> None:
        """Finish a batch once its response is done and every call answered."""
        if batch.finished or not batch.response_done:
            return
        if any(call.status != "done" for call in batch.calls):
            return
        batch.finished = True
        if self._batches.get(batch.response_id) is batch:
            del self._batches[batch.response_id]
        for call in batch.calls:  # forget results, which may be large; keep the ids
            self._calls.pop(call.call_id, None)
            self._finished[call.call_id] = None
        while len(self._finished) > KEEP_FINISHED_CALLS:
            self._finished.popitem(last=False)
        with batch.hold:
            if not all(call.interrupted for call in batch.calls):
                await self._deliver.reply(batch.calls)
        self._emit("tools.batch_finished", calls=list(batch.calls), response_id=batch.response_id)

    # -- helpers ------------------------------------------------------------------------

    @property
    def _session(self) -> Session:
        if self.session is None:
            raise RuntimeError("Tools is not attached: use session.use(Tools())")
        return self.session

    @property
    def _deliver(self) -> _Deliver:
        if self._delivery is None:
            raise RuntimeError("Tools is not attached: use session.use(Tools())")
        return self._delivery

    def _tool_cancels(self, call: ToolCall) -> bool:
        tool = self._tools.get(call.name)
        if tool is None or tool.cancel_on_interruption is None:
            return self.cancel_on_interruption
        return tool.cancel_on_interruption

    def _emit(self, name: str, **fields: Any) -> None:
        # After the session ended nobody is listening. (emit raises anyio's
        # ClosedResourceError rather than SessionClosedError once it has ended.)
        with contextlib.suppress(SessionClosedError, anyio.ClosedResourceError):
            self._session.emit(name, **fields)

    def _schedule_update(self) -> None:
        """Re-send the session configuration soon, if the session is running."""
        session = self.session
        if session is None or session.state not in ("open", "reconnecting"):
            return  # the configuration is sent on connect anyway
        if self._update_pending:
            return
        self._update_pending = True

        async def update() -> None:
            self._update_pending = False
            with contextlib.suppress(SessionClosedError):
                await session.update()

        self._queue(update)


def _log_failure(call: ToolCall, error: Exception) -> None:
    """Log a failed call: a bug in the tool with its traceback, expected outcomes briefly."""
    if isinstance(error, UnknownToolError | InvalidArgumentsError):
        logger.warning("the model's call %s (%s) was refused: %s", call.name, call.call_id, error)
    elif isinstance(error, ToolError):
        logger.info("call %s (%s) ended with an error: %s", call.name, call.call_id, error)
    else:
        logger.error("tool %s (%s) raised", call.name, call.call_id, exc_info=error)
