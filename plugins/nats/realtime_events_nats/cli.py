"""``realtime-events worker``: the worker on the command line (an entry point of the core CLI).

::

    realtime-events worker --nats nats://127.0.0.1:4222 --capacity 10 --app mybot:make_session

``--app`` names the factory as ``module:function`` (a ``Job`` in, a ``Session``
out). SIGTERM (or Ctrl-C) drains: no new jobs, running sessions finish up to
``--drain-timeout``, then are closed, and the command exits with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import sys
from typing import Any

from ._asyncio import require_asyncio
from .errors import NatsPluginError
from .fanout import DEFAULT_EVENTS
from .jetstream import Limits
from .running import Factory

__all__ = ["load_factory", "register"]


class AppError(NatsPluginError):
    """``--app`` does not name a factory that can be imported."""


def load_factory(spec: str) -> Factory:
    """Import ``module:function`` and return the function; a clear error if it can't be."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise AppError(f"--app must be 'module:factory', not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise AppError(f"--app {spec}: cannot import {module_name!r}: {exc}") from None
    factory: Any = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise AppError(f"--app {spec}: {module_name!r} has no {attribute!r}")
    if not callable(factory):
        raise AppError(f"--app {spec}: {attribute!r} is not callable")
    result: Factory = factory
    return result


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def register(commands: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``worker`` to the ``realtime-events`` command line."""
    worker = commands.add_parser(
        "worker",
        help="run sessions from a NATS JetStream job queue (realtime-events-nats, asyncio)",
        parents=parents,
        description=(
            "Take session jobs from NATS, at most CAPACITY at once, each a Session built "
            "by the app's factory; SIGTERM drains."
        ),
    )
    worker.add_argument(
        "--nats", required=True, metavar="URL", help="the NATS server(s), comma-separated"
    )
    worker.add_argument(
        "--app", required=True, metavar="MODULE:FACTORY", help="the session factory"
    )
    worker.add_argument("--capacity", type=int, default=10, help="most sessions held at once")
    worker.add_argument("--prefix", default="rtev", help="the deployment's subject prefix")
    worker.add_argument("--drain-timeout", type=float, default=30.0, help="seconds a drain waits")
    worker.add_argument(
        "--lease-ttl",
        type=float,
        default=Limits.lease_ttl,
        help="lease TTL, if creating the bucket",
    )
    worker.add_argument(
        "--events",
        type=_names,
        default=list(DEFAULT_EVENTS),
        help="comma-separated events to publish (names, prefix.* patterns, or *)",
    )
    worker.add_argument(
        "--extra-events", type=_names, default=[], help="published as well (audio deltas...)"
    )
    worker.add_argument("--id", default=None, help="this worker's name (host-pid-random)")
    worker.set_defaults(run=_run)


async def _run(args: argparse.Namespace, printer: object) -> int:
    require_asyncio("realtime-events worker")
    from .worker import Worker  # nats-py is imported when the command runs, not when listed

    if args.capacity < 1:
        raise AppError("--capacity must be at least 1")
    factory = load_factory(args.app)
    worker = Worker(
        factory,
        nats=_names(args.nats),
        capacity=args.capacity,
        prefix=args.prefix,
        events=args.events,
        extra_events=args.extra_events,
        limits=Limits(lease_ttl=args.lease_ttl),
        drain_timeout=args.drain_timeout,
        worker_id=args.id,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.drain)
    import anyio

    async with anyio.create_task_group() as group:
        await group.start(worker.run)
        print(f"worker {worker.id} ready: up to {worker.capacity} sessions", flush=True)
    print(f"worker {worker.id} drained (peak {worker.peak} sessions)", file=sys.stderr, flush=True)
    return 0
