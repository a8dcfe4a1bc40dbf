"""Lifecycle signals, carried by blinker.

Signals report what happens to a session's connection and its events, for
logging, metrics and supervision. They are not the per-event hot path (that is
``Session.on``): blinker receivers have no order, so ordering-sensitive code
belongs in handlers. Every signal is sent with the :class:`Session` as sender::

    from realtime_events import signals

    @signals.disconnected.connect_via(session)
    def on_drop(session, *, error, **_):
        log.warning("lost the connection: %s", error)

Receivers are called synchronously from the session's tasks; one that raises is
logged and does not stop the others or the session.
"""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace, Signal

__all__ = [
    "closed",
    "connected",
    "disconnected",
    "event_invalid",
    "event_received",
    "event_sent",
    "event_unknown",
    "handler_failed",
    "reconnected",
    "reconnecting",
    "send",
]

logger = logging.getLogger("realtime_events.signals")

_signals = Namespace()

connected = _signals.signal("connected", doc="A connection opened. kwargs: url, attempt.")
disconnected = _signals.signal(
    "disconnected",
    doc="A connection closed. kwargs: error (ConnectionClosedError), will_reconnect.",
)
reconnecting = _signals.signal(
    "reconnecting",
    doc="About to reconnect. kwargs: attempt (0: a restart asked for with "
    "Session.restart(), counted by no reconnect policy), delay, error.",
)
reconnected = _signals.signal(
    "reconnected",
    doc="A reconnect succeeded and the conversation was restored. kwargs: attempt "
    "(0: a restart, as in reconnecting).",
)
event_received = _signals.signal("event_received", doc="A server event was parsed. kwargs: event.")
event_sent = _signals.signal("event_sent", doc="A client event was written. kwargs: event.")
event_invalid = _signals.signal(
    "event_invalid",
    doc="A frame was not a valid event. kwargs: frame (raw), error, event (fallback, or None).",
)
event_unknown = _signals.signal(
    "event_unknown",
    doc="An event of an unknown type arrived (it is still dispatched). kwargs: event.",
)
handler_failed = _signals.signal(
    "handler_failed", doc="A handler raised. kwargs: event, handler, error."
)
closed = _signals.signal(
    "closed", doc="The session ended. kwargs: error (None after a normal close)."
)


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Send ``signal``, isolating receivers from each other and from the caller."""
    if not signal.receivers:
        return
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception:
            logger.exception(
                "receiver %r of signal %r failed", receiver, getattr(signal, "name", signal)
            )
