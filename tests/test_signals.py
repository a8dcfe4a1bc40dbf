"""The signal relay: a session's own parts follow its signals before the application does."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from realtime_events import signals
from realtime_events.audio import PCM16
from realtime_events.conversation import Conversation
from realtime_events.dispatch import Dispatcher
from realtime_events.errors import SessionClosedError
from realtime_events.events import ClientEvent
from realtime_events.responses import Responses
from realtime_events.turns import Turns


class Owner:
    """Stands for a session: the sender of the signals."""


def test_the_relay_calls_its_receivers_in_order_then_blinkers() -> None:
    owner, other = Owner(), Owner()
    relay = signals.Relay()
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def app(sender: Any, **kwargs: Any) -> None:
        calls.append(("app", sender, kwargs))

    relay.connect(signals.closed, lambda sender, **kw: calls.append(("first", sender, kw)))
    relay.connect(signals.closed, lambda sender, **kw: calls.append(("second", sender, kw)))
    signals.closed.connect(app, sender=owner)
    try:
        relay.send(signals.closed, owner, error=None)
        relay.send(signals.disconnected, owner, error=None, will_reconnect=False)
        signals.send(signals.closed, other, error=None)  # another sender: not this relay's
    finally:
        signals.closed.disconnect(app, sender=owner)
    assert calls == [
        ("first", owner, {"error": None}),
        ("second", owner, {"error": None}),
        ("app", owner, {"error": None}),
    ]


def test_the_relay_calls_bound_methods_on_their_own_parts_in_connecting_order() -> None:
    owner = Owner()
    relay = signals.Relay()
    calls: list[tuple[str, Any]] = []

    class Part:
        def __init__(self, name: str) -> None:
            self.name = name

        def on_closed(self, sender: Any, **kwargs: Any) -> None:
            calls.append((self.name, kwargs["error"]))

    first, second = Part("first"), Part("second")
    relay.connect(signals.closed, first.on_closed)
    relay.connect(signals.closed, lambda sender, **kw: calls.append(("plain", kw["error"])))
    relay.connect(signals.disconnected, first.on_closed)
    relay.connect(signals.closed, second.on_closed)
    relay.send(signals.closed, owner, error="why")
    assert calls == [("first", "why"), ("plain", "why"), ("second", "why")]


def test_a_failing_relay_receiver_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = Owner()
    relay = signals.Relay()
    calls: list[str] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    relay.connect(signals.reconnected, broken)
    relay.connect(signals.reconnected, lambda sender, **kw: calls.append("after"))
    with caplog.at_level(logging.ERROR, logger="realtime_events.signals"):
        relay.send(signals.reconnected, owner, attempt=1)
    assert calls == ["after"]
    assert "boom" in caplog.text


def test_follow_connects_to_the_relay_or_else_weakly_to_blinker() -> None:
    owner = Owner()
    relay = signals.Relay()
    calls: list[str] = []

    class Part:
        def on_closed(self, sender: Any, **kwargs: Any) -> None:
            calls.append(type(self).__name__)

    part = Part()
    signals.follow(signals.closed, part.on_closed, sender=owner, relay=relay)
    assert not signals.closed.has_receivers_for(owner)  # nothing connected to blinker
    relay.send(signals.closed, owner, error=None)
    assert calls == ["Part"]

    weak = Part()
    signals.follow(signals.closed, weak.on_closed, sender=owner, relay=None)
    signals.send(signals.closed, owner, error=None)
    assert calls == ["Part", "Part"]
    del weak  # a weak receiver: blinker does not keep the part alive
    signals.send(signals.closed, owner, error=None)
    assert calls == ["Part", "Part"]


@pytest.mark.anyio
async def test_the_session_parts_follow_a_relay_and_connect_nothing_to_blinker() -> None:
    owner = Owner()
    relay = signals.Relay()
    sent: list[ClientEvent] = []

    async def send(event: ClientEvent) -> ClientEvent:
        sent.append(event)
        relay.send(signals.event_sent, owner, event=event)  # as the session's writes do
        return event

    dispatcher = Dispatcher(spawn=lambda call: None, on_error=lambda *failure: None)
    dispatcher.reopen()
    on = dispatcher.add_core
    conversation = Conversation(
        on=on, send=send, dialect="ga", output_format=lambda: PCM16, sender=owner, relay=relay
    )
    responses = Responses(on=on, send=send, dialect="ga", sender=owner, relay=relay)
    turns = Turns(on=on, responses=responses, conversation=conversation, sender=owner, relay=relay)
    for signal in (signals.event_sent, signals.closed, signals.disconnected):
        assert not signal.has_receivers_for(owner)

    # event_sent through the relay: the mirror keeps the item it was sent, unconfirmed.
    item = {"id": "item_1", "type": "message", "role": "user", "content": []}
    await conversation.item.create(item)
    assert [payload["id"] for payload in conversation._unconfirmed.values()] == ["item_1"]
    # closed through the relay: an open turn fails, as the session's end fails it.
    turn = turns.begin()
    relay.send(signals.closed, owner, error=None)
    with pytest.raises(SessionClosedError):
        await turn.wait(timeout=5)
