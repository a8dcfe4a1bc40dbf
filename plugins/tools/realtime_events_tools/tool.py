"""A tool: a function's definition for the Realtime API, its policies, and how to run it.

:meth:`Tool.from_function` derives everything from a Python function (see
:mod:`.schema`); :meth:`Tool.from_schema` takes a raw JSON schema and a handler
that receives the arguments as a dict, for tools defined at runtime (proxies
to other services, generated tools...).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from pydantic import ValidationError

from .errors import InvalidArgumentsError
from .schema import NAME_PATTERN, FunctionSchema, function_schema, validation_message

__all__ = ["Tool"]

#: A prepared call: validated arguments bound to the function, ready to run.
Invocation = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Tool:
    """A function the model can call.

    ``timeout`` (seconds) and ``cancel_on_interruption`` left as ``None``
    take the :class:`~realtime_events_tools.Tools` defaults; ``math.inf``
    means no time limit. ``needs_approval=True`` asks the application's
    approval hook before every run.
    """

    name: str
    description: str
    #: The JSON schema of the arguments.
    parameters: dict[str, Any]
    handler: Callable[..., Any]
    timeout: float | None = None
    cancel_on_interruption: bool | None = None
    needs_approval: bool = False
    #: Set for tools built from a function: validates and binds the arguments.
    schema: FunctionSchema | None = field(default=None, repr=False)

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        cancel_on_interruption: bool | None = None,
        needs_approval: bool = False,
    ) -> Tool:
        """Describe ``fn`` from its signature, type hints and docstring."""
        schema = function_schema(fn, name=name, description=description)
        return cls(
            name=schema.name,
            description=schema.description,
            parameters=schema.parameters,
            handler=fn,
            timeout=timeout,
            cancel_on_interruption=cancel_on_interruption,
            needs_approval=needs_approval,
            schema=schema,
        )

    @classmethod
    def from_schema(
        cls,
        name: str,
        schema: Mapping[str, Any],
        handler: Callable[[dict[str, Any]], Any],
        *,
        description: str | None = None,
        timeout: float | None = None,
        cancel_on_interruption: bool | None = None,
        needs_approval: bool = False,
    ) -> Tool:
        """A tool from a JSON schema; ``handler(arguments_dict)`` runs it (sync or async).

        ``schema`` is the parameters' schema, or a whole function definition
        (``{"type": "function", "name", "description", "parameters"}``). Only
        the shape of the arguments (an object with the required keys) is
        checked: the handler validates the rest.
        """
        if not NAME_PATTERN.match(name):
            raise ValueError(f"invalid tool name {name!r}: use 1-64 letters, digits, '_' or '-'")
        if "parameters" in schema:
            description = description if description is not None else schema.get("description")
            schema = schema["parameters"]
        return cls(
            name=name,
            description=description or "",
            parameters=dict(schema),
            handler=handler,
            timeout=timeout,
            cancel_on_interruption=cancel_on_interruption,
            needs_approval=needs_approval,
        )

    def definition(self) -> dict[str, Any]:
        """The tool as the Realtime API takes it in ``session.tools``."""
        tool: dict[str, Any] = {"type": "function", "name": self.name}
        if self.description:
            tool["description"] = self.description
        tool["parameters"] = self.parameters
        return tool

    def bind(self, arguments: str) -> Invocation:
        """Parse and validate the model's JSON arguments; return the call, ready to run.

        Raises :class:`InvalidArgumentsError` with a message for the model.
        Sync functions will run in a worker thread (abandoned, not stopped,
        when the call is cancelled: Python can't stop a thread), async ones in
        the calling task.
        """
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            raise InvalidArgumentsError(
                f"the arguments for {self.name} are not valid JSON ({exc}); "
                "send a JSON object that fits the schema"
            ) from exc
        if not isinstance(parsed, dict):
            raise InvalidArgumentsError(
                f"the arguments for {self.name} must be a JSON object, not {type(parsed).__name__}"
            )
        if self.schema is None:
            missing = [k for k in self.parameters.get("required", ()) if k not in parsed]
            if missing:
                raise InvalidArgumentsError(
                    f"invalid arguments for {self.name}: missing {', '.join(missing)}"
                )
            args: list[Any] = [parsed]
            kwargs: dict[str, Any] = {}
        else:
            try:
                args, kwargs = self.schema.bind(parsed)
            except ValidationError as exc:
                raise InvalidArgumentsError(
                    f"invalid arguments for {self.name}: {validation_message(exc)}"
                ) from exc
        return functools.partial(_invoke, self.handler, args, kwargs)


def is_async_callable(fn: Callable[..., Any]) -> bool:
    """True for coroutine functions, partials of them, and objects with an async ``__call__``."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - the method itself, not callable()
    )


async def _invoke(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    if is_async_callable(fn):
        return await fn(*args, **kwargs)
    # A sync tool may block (I/O, time.sleep): keep it off the event loop.
    result = await anyio.to_thread.run_sync(
        functools.partial(fn, *args, **kwargs), abandon_on_cancel=True
    )
    if inspect.isawaitable(result):
        result = await result
    return result
