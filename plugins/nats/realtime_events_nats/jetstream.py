"""Connecting to NATS, and the streams, consumer and buckets a deployment needs.

Every worker and client calls :func:`ensure` on start: creating what exists
already is a no-op, so there is no set-up step to forget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StreamConfig,
)
from nats.js.kv import KeyValue

from ._asyncio import require_asyncio
from .errors import NatsUnavailableError
from .layout import Layout

__all__ = ["Deployment", "Limits", "connect", "ensure"]

logger = logging.getLogger("realtime_events_nats")

# The stream API answers "already in use" when the stream exists with another config.
_STREAM_EXISTS = 10058


@dataclass(frozen=True)
class Limits:
    """How long things are kept, set when the streams and buckets are first created."""

    #: Seconds a lease lives without a heartbeat: how soon a dead worker's sessions move.
    lease_ttl: float = 5.0
    #: Seconds fanned-out events are kept for followers that join late.
    events_max_age: float = 3600.0
    #: Seconds a checkpoint is kept after its last save.
    checkpoints_max_age: float = 24 * 3600.0
    #: Seconds within which a republished event (same message id) is dropped.
    duplicate_window: float = 120.0


@dataclass
class Deployment:
    """The handles a worker or client works with, on one connection."""

    nc: NATS
    js: JetStreamContext
    layout: Layout
    leases: KeyValue
    checkpoints: KeyValue
    lease_ttl: float


async def connect(
    url: str | list[str], *, name: str, connect_timeout: float = 2.0, **options: Any
) -> NATS:
    """Connect to NATS, reconnecting forever after the first success.

    A server that cannot be reached at start raises :class:`NatsUnavailableError`
    at once (one line, naming the URL), instead of retrying in silence.
    """
    require_asyncio("realtime-events-nats")
    servers = [url] if isinstance(url, str) else list(url)
    connection: list[NATS] = []  # set once connected: the callbacks ask it its state

    async def error_cb(error: Exception) -> None:
        logger.warning("NATS: %s", error or type(error).__name__)

    async def disconnected_cb() -> None:
        if connection and (connection[0].is_closed or connection[0].is_draining):
            return  # closed on purpose
        logger.warning("NATS: disconnected from %s; reconnecting", ", ".join(servers))

    async def reconnected_cb() -> None:
        logger.warning("NATS: reconnected")

    try:
        nc = await nats.connect(
            servers,
            name=name,
            connect_timeout=connect_timeout,
            allow_reconnect=True,
            # nats-py retries a first connection as long as it would reconnect: once
            # here, so that a wrong URL fails now; forever once connected.
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=error_cb,
            disconnected_cb=disconnected_cb,
            reconnected_cb=reconnected_cb,
            **options,
        )
    except (OSError, TimeoutError, nats.errors.Error) as exc:
        raise NatsUnavailableError(
            f"cannot reach NATS at {', '.join(servers)}: {exc or type(exc).__name__}"
        ) from None
    nc.options["max_reconnect_attempts"] = -1
    connection.append(nc)
    return nc


async def ensure(nc: NATS, layout: Layout, limits: Limits | None = None) -> Deployment:
    """Create (or find) the streams, the workers' consumer and the buckets."""
    limits = limits or Limits()
    js = nc.jetstream()
    try:
        await _stream(
            js,
            StreamConfig(
                name=layout.jobs_stream,
                subjects=[layout.jobs_subject],
                retention=RetentionPolicy.WORK_QUEUE,
                duplicate_window=limits.duplicate_window,
            ),
        )
        await _stream(
            js,
            StreamConfig(
                name=layout.events_stream,
                subjects=[layout.events_subject()],
                max_age=limits.events_max_age,
                duplicate_window=limits.duplicate_window,
                discard=DiscardPolicy.OLD,
            ),
        )
        await _stream(
            js, StreamConfig(name=layout.rejected_stream, subjects=[layout.rejected_subject])
        )
        leases = await _bucket(js, layout.leases_bucket, limits.lease_ttl)
        checkpoints = await _bucket(js, layout.checkpoints_bucket, limits.checkpoints_max_age)
        # The bucket made first decides the lease TTL for everyone who joins later.
        ttl = (await leases.status()).ttl or limits.lease_ttl
        await _consumer(js, layout, ttl)
    except nats.js.errors.ServiceUnavailableError as exc:
        raise NatsUnavailableError(f"NATS has no JetStream (start it with -js): {exc}") from None
    except nats.errors.NoRespondersError:
        raise NatsUnavailableError("NATS has no JetStream (start the server with -js)") from None
    return Deployment(nc, js, layout, leases, checkpoints, lease_ttl=ttl)


async def _stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError as exc:
        if exc.err_code != _STREAM_EXISTS:
            raise
        logger.debug("stream %s exists with another configuration; kept as it is", config.name)


async def _consumer(js: JetStreamContext, layout: Layout, lease_ttl: float) -> None:
    config = ConsumerConfig(
        durable_name=layout.workers_consumer,
        ack_policy=AckPolicy.EXPLICIT,
        # A running session holds its job unacknowledged, renewed by heartbeats:
        # a dead worker's jobs come back after this long, with its lease gone.
        ack_wait=lease_ttl,
        max_deliver=-1,
        max_ack_pending=-1,
        filter_subject=layout.jobs_subject,
    )
    try:
        await js.add_consumer(layout.jobs_stream, config)
    except nats.js.errors.BadRequestError as exc:
        logger.debug("the workers' consumer exists with another configuration: %s", exc)


async def _bucket(js: JetStreamContext, name: str, ttl: float) -> KeyValue:
    try:
        return await js.key_value(name)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(bucket=name, ttl=ttl, history=1))
