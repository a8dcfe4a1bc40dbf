"""Typed helpers that build and send Live client events, named as the official SDK names them.

``live.session.input_audio.append(audio)`` reads like the SDK's
``connection.session.input_audio.append(audio=...)``; each helper validates its
event, hands it to the ``send`` callable it was given and returns what
``send`` returns (the event once written). The tree mirrors the SDK's
connection:

- ``session``: ``start``, ``update``, ``close``; ``input_audio``
  (``append``, ``mute``, ``unmute``); ``instructions``, ``thinking``,
  ``commentary`` (``append``); ``output_audio.fixture.play``
- ``decision``: ``create``; ``item`` (``create``, ``delete``)
- ``response``: ``create``; ``item.create``
- ``transport.dtmf.send`` (a sideband of a SIP call)

:class:`LiveResources` builds the whole tree from one ``send``. Beyond the
SDK: ``audio`` may be ``bytes`` (encoded here), ``decision.create`` makes a
fresh ``event_id`` when none is given (the API refuses one used before), and
:meth:`LiveResponseItemResource.function_output` builds the
``function_call_output`` item a Responses backend waits for.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from ..events._base import ClientEvent
from ..resources import Send
from .client import (
    LiveCommentaryAppendEvent,
    LiveDecisionCreateEvent,
    LiveDecisionItemCreateEvent,
    LiveDecisionItemDeleteEvent,
    LiveInputAudioAppendEvent,
    LiveInputAudioMuteEvent,
    LiveInputAudioUnmuteEvent,
    LiveInstructionsAppendEvent,
    LiveOutputAudioFixturePlayEvent,
    LiveResponseCreateEvent,
    LiveResponseItemCreateEvent,
    LiveSessionCloseEvent,
    LiveSessionStartEvent,
    LiveSessionUpdateEvent,
    LiveThinkingAppendEvent,
    LiveTransportDtmfSendEvent,
)
from .config import LiveSessionConfig, LiveSessionUpdate
from .payloads import LiveDecisionItem

__all__ = [
    "LiveDecisionItemResource",
    "LiveDecisionResource",
    "LiveInputAudioResource",
    "LiveOutputAudioFixtureResource",
    "LiveOutputAudioResource",
    "LiveResources",
    "LiveResponseItemResource",
    "LiveResponseResource",
    "LiveSessionResource",
    "LiveTextResource",
    "LiveTransportDtmfResource",
    "LiveTransportResource",
    "new_event_id",
]


def new_event_id() -> str:
    """A fresh client event id (``event_`` and 20 hex digits): unique for a session's life."""
    return f"event_{secrets.token_hex(10)}"


def _set(**fields: Any) -> dict[str, Any]:
    """Keep only the fields the caller gave, so unset ones stay off the wire."""
    return {key: value for key, value in fields.items() if value is not None}


class _Resource:
    def __init__(self, send: Send) -> None:
        self._send = send


class LiveInputAudioResource(_Resource):
    """``session.input_audio``: append audio, mute and unmute the model's hearing."""

    async def append(self, audio: bytes | str, *, event_id: str | None = None) -> ClientEvent:
        """Send audio in the session's format: raw bytes, or base64 text (no acknowledgement)."""
        return await self._send(LiveInputAudioAppendEvent(**_set(audio=audio, event_id=event_id)))

    async def mute(self, *, event_id: str | None = None) -> ClientEvent:
        """Let the model hear silence until unmuted (answered by ``session.input_audio.muted``)."""
        return await self._send(LiveInputAudioMuteEvent(**_set(event_id=event_id)))

    async def unmute(self, *, event_id: str | None = None) -> ClientEvent:
        """Let the model hear the input again (answered by ``session.input_audio.unmuted``)."""
        return await self._send(LiveInputAudioUnmuteEvent(**_set(event_id=event_id)))


class LiveTextResource(_Resource):
    """``session.instructions``, ``session.thinking`` or ``session.commentary``: append context."""

    def __init__(
        self,
        send: Send,
        event: type[LiveInstructionsAppendEvent]
        | type[LiveThinkingAppendEvent]
        | type[LiveCommentaryAppendEvent],
    ) -> None:
        super().__init__(send)
        self._event = event

    async def append(
        self,
        content: str,
        *,
        delegation_id: str | None = None,
        event_id: str | None = None,
    ) -> ClientEvent:
        """Append ``content`` (at most 500 tokens) for a client delegation, or the whole session.

        ``delegation_id`` is the ``delegation.id`` of a
        ``session.delegation.created`` whose work this answers; None (sent as
        null) makes it context for the whole session.
        """
        return await self._send(
            self._event(content=content, delegation_id=delegation_id, **_set(event_id=event_id))
        )


class LiveOutputAudioFixtureResource(_Resource):
    """``session.output_audio.fixture``: play a recorded clip through the session's output."""

    async def play(self, audio: bytes | str, *, event_id: str | None = None) -> ClientEvent:
        """Play mono PCM16LE 24 kHz audio, at most 30 s (``fixture.playing``, then ``played``)."""
        return await self._send(
            LiveOutputAudioFixturePlayEvent(**_set(audio=audio, event_id=event_id))
        )


class LiveOutputAudioResource(_Resource):
    """``session.output_audio``: its ``fixture``."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.fixture = LiveOutputAudioFixtureResource(send)


class LiveSessionResource(_Resource):
    """``session``: start, update and close the session, and its audio and context helpers."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.input_audio = LiveInputAudioResource(send)
        self.output_audio = LiveOutputAudioResource(send)
        self.instructions = LiveTextResource(send, LiveInstructionsAppendEvent)
        self.thinking = LiveTextResource(send, LiveThinkingAppendEvent)
        self.commentary = LiveTextResource(send, LiveCommentaryAppendEvent)

    async def start(
        self, session: Mapping[str, Any] | LiveSessionConfig, *, event_id: str | None = None
    ) -> ClientEvent:
        """Send ``session.start`` (the first message of a primary WebSocket); checked first."""
        config = dict(session) if isinstance(session, Mapping) else session
        return await self._send(LiveSessionStartEvent(**_set(session=config, event_id=event_id)))

    async def update(
        self, session: Mapping[str, Any] | LiveSessionUpdate, *, event_id: str | None = None
    ) -> ClientEvent:
        """Change the delegation settings or the triggers (answered by ``session.updated``)."""
        config = dict(session) if isinstance(session, Mapping) else session
        return await self._send(LiveSessionUpdateEvent(**_set(session=config, event_id=event_id)))

    async def close(self, *, event_id: str | None = None) -> ClientEvent:
        """Ask the server to end the session; ``session.closed`` follows."""
        return await self._send(LiveSessionCloseEvent(**_set(event_id=event_id)))


class LiveDecisionItemResource(_Resource):
    """``decision.item``: the input items future decisions see."""

    async def create(
        self, item: Mapping[str, Any] | LiveDecisionItem, *, event_id: str | None = None
    ) -> ClientEvent:
        """Add an item (``decision.item.created`` answers) without evaluating anything."""
        value = dict(item) if isinstance(item, Mapping) else item
        return await self._send(LiveDecisionItemCreateEvent(**_set(item=value, event_id=event_id)))

    async def delete(self, item_id: str, *, event_id: str | None = None) -> ClientEvent:
        """Remove an item (``decision.item.deleted`` answers)."""
        return await self._send(
            LiveDecisionItemDeleteEvent(**_set(item_id=item_id, event_id=event_id))
        )


class LiveDecisionResource(_Resource):
    """``decision``: evaluate the configured questions, and the ``item``s they see."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.item = LiveDecisionItemResource(send)

    async def create(self, *, event_id: str | None = None) -> ClientEvent:
        """Evaluate the questions now; the answer is a ``decision.event``.

        ``event_id`` must be new for the session's lifetime: a fresh one is
        made when none is given (read it from the returned event).
        """
        return await self._send(LiveDecisionCreateEvent(event_id=event_id or new_event_id()))


class LiveResponseItemResource(_Resource):
    """``response.item``: the Responses backend's conversation."""

    async def create(self, item: Mapping[str, Any], *, event_id: str | None = None) -> ClientEvent:
        """Add an input item (a message, a function call's output) to the backend's conversation."""
        return await self._send(
            LiveResponseItemCreateEvent(**_set(item=dict(item), event_id=event_id))
        )

    async def function_output(
        self, call_id: str, output: Any, *, event_id: str | None = None
    ) -> ClientEvent:
        """Answer the backend's function call ``call_id``: a ``function_call_output`` item.

        ``output`` is sent as is when it is a string, as JSON otherwise. Then
        ``response.create`` lets the backend go on.
        """
        text = output if isinstance(output, str) else json.dumps(output)
        item = {"type": "function_call_output", "call_id": call_id, "output": text}
        return await self.create(item, event_id=event_id)


class LiveResponseResource(_Resource):
    """``response``: the Responses backend of a ``responses`` delegation."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.item = LiveResponseItemResource(send)

    async def create(self, *, event_id: str | None = None) -> ClientEvent:
        """Ask the backend for a response, or to go on after tool outputs."""
        return await self._send(LiveResponseCreateEvent(**_set(event_id=event_id)))


class LiveTransportDtmfResource(_Resource):
    """``transport.dtmf``: keys pressed on a SIP call's line (sideband)."""

    async def send(self, key: str, *, event_id: str | None = None) -> ClientEvent:
        """Press one key (0-9, A-D, ``*``, ``#``); ``transport.dtmf.sent`` confirms it."""
        return await self._send(LiveTransportDtmfSendEvent(**_set(event=key, event_id=event_id)))


class LiveTransportResource(_Resource):
    """``transport``: the SIP call under a session, from its sideband."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.dtmf = LiveTransportDtmfResource(send)


class LiveResources:
    """Every helper of a Live connection, built on one ``send``: ``session``, ``decision``...

    ``send`` takes a client event and returns it once written (a Session's
    ``send``, or any callable of that shape).
    """

    def __init__(self, send: Send) -> None:
        self.session = LiveSessionResource(send)
        self.decision = LiveDecisionResource(send)
        self.response = LiveResponseResource(send)
        self.transport = LiveTransportResource(send)
