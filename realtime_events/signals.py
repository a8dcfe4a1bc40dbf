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
logged and does not stop the others or the session. A session's own parts (the
conversation mirror, the response sequencer, turns, metrics) follow its signals
through a :class:`Relay` instead: plain references, no per-session blinker
connections, called before the application's receivers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import MethodType
from typing import Any

from blinker import Namespace, Signal

__all__ = [
    "Relay",
    "closed",
    "connected",
    "disconnected",
    "event_invalid",
    "event_received",
    "event_sent",
    "event_unknown",
    "follow",
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
        _call(receiver, signal, sender, kwargs)


def _call(receiver: Receiver, signal: Signal, sender: Any, kwargs: dict[str, Any]) -> None:
    try:
        receiver(sender, **kwargs)
    except Exception:
        logger.exception(
            "receiver %r of signal %r failed", receiver, getattr(signal, "name", signal)
        )


Receiver = Callable[..., Any]


class Relay:
    """A session's own receivers of its signals: called first, then blinker's.

    Connecting a receiver to blinker for one sender takes weak references and
    ids, which is a third of building a session and 9 KiB of each idle one; the
    session's own parts live exactly as long as the session, so they need none
    of that. The session sends its signals through its relay (:meth:`send`),
    which calls these receivers in the order they were connected, then the
    application's (:func:`send`), each isolated from the others.

    The receivers are kept in one flat list, ``signal, function, part`` for each
    (a bound method split, as the dispatcher keeps the core's handlers): a dict
    of lists of bound methods was about fifteen objects per session that the
    garbage collector walks for as long as the session lives. A session's parts
    connect a handful, so :meth:`send` reads them all.
    """

    __slots__ = ("_receivers",)

    def __init__(self) -> None:
        self._receivers: list[Any] = []

    def connect(self, signal: Signal, receiver: Receiver) -> None:
        """Call ``receiver(sender, **kwargs)`` each time :meth:`send` sends ``signal``."""
        if type(receiver) is MethodType:
            self._receivers += (signal, receiver.__func__, receiver.__self__)
        else:
            self._receivers += (signal, receiver, _UNBOUND)

    def send(self, signal: Signal, sender: Any, **kwargs: Any) -> None:
        """Send ``signal`` to the relay's receivers, then to blinker's (see :func:`send`)."""
        receivers = self._receivers
        for at in range(0, len(receivers), 3):
            if receivers[at] is signal:
                function, part = receivers[at + 1], receivers[at + 2]
                receiver = function if part is _UNBOUND else MethodType(function, part)
                _call(receiver, signal, sender, kwargs)
        send(signal, sender, **kwargs)


# What a receiver that is no bound method is "bound" to in a relay's list.
_UNBOUND = object()


def follow(signal: Signal, receiver: Receiver, *, sender: object, relay: Relay | None) -> None:
    """Connect one of a session part's receivers: to ``relay`` if given, else to blinker.

    Without a relay the receiver is connected weakly, for ``sender`` only, as
    blinker does; a part built outside a session (a test's) is driven that way.
    """
    if relay is not None:
        relay.connect(signal, receiver)
    else:
        signal.connect(receiver, sender=sender)
