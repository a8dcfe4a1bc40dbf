"""Static type tests of the handler API: mypy checks this file in CI; it is never run.

Each misuse carries a ``type: ignore[code]``; mypy's strict mode reports an
unused ignore, so if a misuse ever stopped being an error, CI would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import assert_type

from realtime_events import Session, SyncSession
from realtime_events.events import (
    ErrorEvent,
    ResponseCreatedEvent,
    ResponseDoneEvent,
    ResponseOutputAudioDeltaEvent,
    SessionUpdatedEvent,
)
from realtime_events.live import (
    LiveErrorEvent,
    LiveInfoEvent,
    LiveOutputAudioDeltaEvent,
    LiveSessionUpdatedEvent,
)


def handlers_get_their_event_type(session: Session) -> None:
    @session.on("response.output_audio.delta")
    def play(event: ResponseOutputAudioDeltaEvent) -> None:
        assert_type(event.audio, bytes)

    @session.on("response.audio.delta")  # the beta spelling types the same
    async def play_beta(event: ResponseOutputAudioDeltaEvent) -> None:
        assert_type(event.delta, str)

    def configured(event: SessionUpdatedEvent) -> int:
        return 1

    assert_type(session.on("session.updated", configured), Callable[[SessionUpdatedEvent], int])

    @session.on(ResponseCreatedEvent)
    def created(event: ResponseCreatedEvent) -> None: ...

    @session.on("response.*")  # patterns accept any event
    def anything(event: object) -> None: ...


def once_types_its_handler_as_on_does(session: Session) -> None:
    @session.once("response.output_audio.delta")
    def first_audio(event: ResponseOutputAudioDeltaEvent) -> None:
        assert_type(event.audio, bytes)

    @session.once("response.audio.delta")  # the beta spelling types the same
    async def first_audio_beta(event: ResponseOutputAudioDeltaEvent) -> None: ...

    def configured(event: SessionUpdatedEvent) -> int:
        return 1

    assert_type(session.once("session.updated", configured), Callable[[SessionUpdatedEvent], int])

    @session.once(ResponseCreatedEvent)
    def created(event: ResponseCreatedEvent) -> None: ...

    @session.once("response.*")  # patterns accept any event
    def anything(event: object) -> None: ...


async def wait_for_returns_the_event_type(session: Session) -> None:
    done = await session.wait_for("response.done")
    assert_type(done, ResponseDoneEvent)
    created = await session.wait_for(ResponseCreatedEvent, where=lambda e: e.response.id == "x")
    assert_type(created, ResponseCreatedEvent)
    updated = await session.wait_for("session.updated", timeout=5)
    assert_type(updated, SessionUpdatedEvent)


def misuse_is_an_error(session: Session) -> None:
    @session.on("response.done")  # type: ignore[arg-type]
    def wrong_event(event: ResponseOutputAudioDeltaEvent) -> None: ...

    @session.once("response.done")  # type: ignore[arg-type]
    def wrong_first_event(event: ResponseOutputAudioDeltaEvent) -> None: ...

    # Limitation: in the call form, ``session.on(name, handler)``, a mismatched
    # handler falls back to the untyped ``str`` overload instead of failing; only
    # the decorator form is checked strictly.


def sync_handlers_get_their_event_type(s: SyncSession) -> None:
    @s.on("response.output_audio.delta")
    def play(event: ResponseOutputAudioDeltaEvent) -> None:
        assert_type(event.audio, bytes)

    @s.on("response.audio.delta")  # the beta spelling types the same
    def play_beta(event: ResponseOutputAudioDeltaEvent) -> None: ...

    def configured(event: SessionUpdatedEvent) -> int:
        return 1

    assert_type(s.on("session.updated", configured), Callable[[SessionUpdatedEvent], int])

    @s.on(ResponseCreatedEvent)
    def created(event: ResponseCreatedEvent) -> None: ...

    @s.on("response.*")
    def anything(event: object) -> None: ...


def sync_wait_for_blocks_and_returns_the_event_type(s: SyncSession) -> None:
    assert_type(s.wait_for("response.done"), ResponseDoneEvent)
    created = s.wait_for(ResponseCreatedEvent, where=lambda e: e.response.id == "x")
    assert_type(created, ResponseCreatedEvent)
    assert_type(s.wait_for("session.updated", timeout=5), SessionUpdatedEvent)


def sync_once_types_its_handler_as_on_does(s: SyncSession) -> None:
    @s.once("response.output_audio.delta")
    def first_audio(event: ResponseOutputAudioDeltaEvent) -> None:
        assert_type(event.audio, bytes)

    def configured(event: SessionUpdatedEvent) -> int:
        return 1

    assert_type(s.once("session.updated", configured), Callable[[SessionUpdatedEvent], int])

    @s.once("response.*")
    def anything(event: object) -> None: ...


def sync_misuse_is_an_error(s: SyncSession) -> None:
    @s.on("response.done")  # type: ignore[arg-type]
    def wrong_event(event: ResponseOutputAudioDeltaEvent) -> None: ...

    @s.once("response.done")  # type: ignore[arg-type]
    def wrong_first_event(event: ResponseOutputAudioDeltaEvent) -> None: ...


def sync_wait_for_is_not_any(s: SyncSession) -> ResponseOutputAudioDeltaEvent:
    return s.wait_for("response.done")  # type: ignore[return-value]


# -- Live: session.live types handlers by the Live names --------------------------
# ``error`` and ``session.updated`` are Live models on session.live and Realtime
# models on the session itself.


def live_handlers_get_the_live_event_type(session: Session) -> None:
    @session.live.on("session.output_audio.delta")
    def play(event: LiveOutputAudioDeltaEvent) -> None:
        assert_type(event.audio, bytes)

    @session.live.on("error")
    async def failed(event: LiveErrorEvent) -> None:
        assert_type(event.error.code, str)

    def updated(event: LiveSessionUpdatedEvent) -> int:
        return 1

    assert_type(
        session.live.once("session.updated", updated), Callable[[LiveSessionUpdatedEvent], int]
    )

    @session.live.on(LiveInfoEvent)
    def noted(event: LiveInfoEvent) -> None: ...

    @session.live.on("session.output_*")  # patterns accept any event
    def anything(event: object) -> None: ...


async def live_wait_for_returns_the_live_event_type(session: Session) -> None:
    assert_type(await session.live.wait_for("error"), LiveErrorEvent)
    assert_type(await session.live.wait_for("session.updated", timeout=5), LiveSessionUpdatedEvent)
    info = await session.live.wait_for(LiveInfoEvent, where=lambda e: e.code == "compacted")
    assert_type(info, LiveInfoEvent)


def live_misuse_is_an_error(session: Session) -> None:
    @session.live.on("error")  # type: ignore[arg-type]
    def realtime_model(event: ErrorEvent) -> None: ...

    @session.on("error")  # type: ignore[arg-type]  # the session's own names are Realtime's
    def live_model(event: LiveErrorEvent) -> None: ...

    @session.live.once("session.output_audio.delta")  # type: ignore[arg-type]
    def wrong_event(event: ResponseOutputAudioDeltaEvent) -> None: ...


async def live_wait_for_is_not_realtime(session: Session) -> ErrorEvent:
    return await session.live.wait_for("error")  # type: ignore[return-value]


def sync_live_handlers_get_the_live_event_type(s: SyncSession) -> None:
    @s.live.on("session.output_audio.delta")
    def play(event: LiveOutputAudioDeltaEvent) -> None: ...

    @s.live.on("error")  # type: ignore[arg-type]
    def realtime_model(event: ErrorEvent) -> None: ...

    assert_type(s.live.wait_for("error"), LiveErrorEvent)
    assert_type(s.live.wait_for("session.updated", timeout=5), LiveSessionUpdatedEvent)
