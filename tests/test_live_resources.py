"""The Live helpers send what the official SDK's connection helpers send.

Each helper of ours writes into a list-collecting ``send``; the SDK's own
resource classes (``AsyncLiveSessionResource``...) write into a collector with
the SDK connection's ``send`` signature. The frames must be equal, and valid
to the SDK's client event union.
"""

from __future__ import annotations

import base64
import json
import typing
from collections.abc import Awaitable, Callable
from typing import Any

import pydantic
import pytest
from openai._utils import async_maybe_transform
from openai.resources.live.live import (
    AsyncLiveDecisionResource,
    AsyncLiveResponseResource,
    AsyncLiveSessionResource,
)
from openai.resources.live.sideband import AsyncSidebandTransportResource
from openai.types.live import client_event as sdk_client_union
from openai.types.live import connect_client_event as sdk_connect_client_union
from openai.types.live.connect_client_event_param import ConnectClientEventParam

from realtime_events.errors import InvalidConfigError
from realtime_events.events import ClientEvent
from realtime_events.live import (
    LiveDecisionCreateEvent,
    LiveResources,
    LiveSessionConfig,
    LiveSessionStartEvent,
    LiveThinkingAppendEvent,
    new_event_id,
)

pytestmark = pytest.mark.anyio

AUDIO = b"\x00\x01" * 80
AUDIO_B64 = base64.b64encode(AUDIO).decode()
# The primary connection's events, and the sideband's transport.dtmf.send.
SDK_CLIENT: dict[str, type[pydantic.BaseModel]] = {
    name: cls
    for union in (sdk_client_union.ClientEvent, sdk_connect_client_union.ConnectClientEvent)
    for cls in typing.get_args(typing.get_args(union)[0])
    for name in typing.get_args(cls.model_fields["type"].annotation)
}


class Collector:
    """A ``send`` that keeps each event (ours) or each frame (the SDK's)."""

    def __init__(self) -> None:
        self.events: list[ClientEvent] = []
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, event: ClientEvent) -> ClientEvent:
        self.events.append(event)
        return event

    async def send(self, event: Any) -> None:
        """The SDK connection's ``send``: the same transform of the dict, then JSON."""
        data = json.dumps(await async_maybe_transform(event, ConnectClientEventParam))
        self.frames.append(json.loads(data))

    @property
    def wire(self) -> list[dict[str, Any]]:
        return [json.loads(event.to_json()) for event in self.events]


class Sdk:
    """The SDK's helper tree over a collector, shaped like a connection's."""

    def __init__(self, connection: Collector) -> None:
        fake: Any = connection
        self.session = AsyncLiveSessionResource(fake)
        self.decision = AsyncLiveDecisionResource(fake)
        self.response = AsyncLiveResponseResource(fake)
        self.transport = AsyncSidebandTransportResource(fake)


Call = Callable[[Any], Awaitable[Any]]

# (ours, the SDK's) for each helper of the SDK's Live connection.
PAIRS: dict[str, tuple[Call, Call]] = {
    "session.update": (
        lambda r: r.session.update({"triggers": []}, event_id="u1"),
        lambda s: s.session.update(session={"triggers": []}, event_id="u1"),
    ),
    "session.close": (
        lambda r: r.session.close(),
        lambda s: s.session.close(),
    ),
    "session.input_audio.append": (
        lambda r: r.session.input_audio.append(AUDIO),
        lambda s: s.session.input_audio.append(audio=AUDIO_B64),
    ),
    "session.input_audio.mute": (
        lambda r: r.session.input_audio.mute(event_id="m1"),
        lambda s: s.session.input_audio.mute(event_id="m1"),
    ),
    "session.input_audio.unmute": (
        lambda r: r.session.input_audio.unmute(),
        lambda s: s.session.input_audio.unmute(),
    ),
    "session.instructions.append": (
        lambda r: r.session.instructions.append("Be formal."),
        lambda s: s.session.instructions.append(content="Be formal.", delegation_id=None),
    ),
    "session.thinking.append": (
        lambda r: r.session.thinking.append("Checking", delegation_id="del_1"),
        lambda s: s.session.thinking.append(content="Checking", delegation_id="del_1"),
    ),
    "session.commentary.append": (
        lambda r: r.session.commentary.append("Shipped", delegation_id="del_1", event_id="c"),
        lambda s: s.session.commentary.append(
            content="Shipped", delegation_id="del_1", event_id="c"
        ),
    ),
    "session.output_audio.fixture.play": (
        lambda r: r.session.output_audio.fixture.play(AUDIO_B64),
        lambda s: s.session.output_audio.fixture.play(audio=AUDIO_B64),
    ),
    "decision.create": (
        lambda r: r.decision.create(event_id="d1"),
        lambda s: s.decision.create(event_id="d1"),
    ),
    "decision.item.create": (
        lambda r: r.decision.item.create({"type": "message", "role": "user", "content": "Hi"}),
        lambda s: s.decision.item.create(item={"type": "message", "role": "user", "content": "Hi"}),
    ),
    "decision.item.delete": (
        lambda r: r.decision.item.delete("ditem_1"),
        lambda s: s.decision.item.delete(item_id="ditem_1"),
    ),
    "response.create": (
        lambda r: r.response.create(),
        lambda s: s.response.create(),
    ),
    "response.item.create": (
        lambda r: r.response.item.function_output("call_1", {"status": "shipped"}),
        lambda s: s.response.item.create(
            item={
                "type": "function_call_output",
                "call_id": "call_1",
                "output": '{"status": "shipped"}',
            }
        ),
    ),
    "transport.dtmf.send": (
        lambda r: r.transport.dtmf.send("7"),
        lambda s: s.transport.dtmf.send(event="7"),
    ),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
async def test_each_helper_sends_what_the_sdk_sends(name: str) -> None:
    ours, theirs = PAIRS[name]
    mine, sdk = Collector(), Collector()
    returned = await ours(LiveResources(mine))
    await theirs(Sdk(sdk))
    assert returned is mine.events[0]
    assert [frame["type"] for frame in mine.wire] == [name]
    assert mine.wire == sdk.frames
    SDK_CLIENT[name].model_validate(mine.wire[0])


async def test_session_start_checks_and_sends_the_config() -> None:
    send = Collector()
    live = LiveResources(send)
    config = {"model": "gpt-live-1", "instructions": "Be brief."}
    await live.session.start(config)
    await live.session.start(LiveSessionConfig(model="gpt-live-1.1"), event_id="s2")
    assert send.wire == [
        {"type": "session.start", "session": config},
        {"type": "session.start", "session": {"model": "gpt-live-1.1"}, "event_id": "s2"},
    ]
    assert isinstance(send.events[0], LiveSessionStartEvent)
    with pytest.raises(pydantic.ValidationError, match="did you mean 'gpt-live-1'"):
        await live.session.start({"model": "gpt-live1"})
    assert len(send.events) == 2  # nothing sent for the refused one


async def test_session_update_refuses_startup_settings_before_sending() -> None:
    send = Collector()
    with pytest.raises(pydantic.ValidationError, match="cannot change after"):
        await LiveResources(send).session.update({"audio": {"output": {"voice": "marin"}}})
    assert send.events == []


async def test_decision_create_makes_a_fresh_event_id_each_time() -> None:
    send = Collector()
    live = LiveResources(send)
    first = await live.decision.create()
    second = await live.decision.create()
    assert isinstance(first, LiveDecisionCreateEvent)
    assert isinstance(second, LiveDecisionCreateEvent)
    assert first.event_id != second.event_id
    assert first.event_id.startswith("event_")
    assert len(new_event_id()) == len("event_") + 20


async def test_a_bad_dtmf_key_is_refused_before_sending() -> None:
    send = Collector()
    with pytest.raises(pydantic.ValidationError, match="DTMF key"):
        await LiveResources(send).transport.dtmf.send("F")
    assert send.events == []


async def test_text_helpers_keep_their_own_event_types() -> None:
    send = Collector()
    live = LiveResources(send)
    event = await live.session.thinking.append("quiet")
    assert isinstance(event, LiveThinkingAppendEvent)
    assert send.wire == [
        {"type": "session.thinking.append", "content": "quiet", "delegation_id": None}
    ]


def test_the_config_check_is_the_one_error_type_for_direct_calls() -> None:
    from realtime_events.live import check_live_config

    with pytest.raises(InvalidConfigError):
        check_live_config({"model": "gpt-live-1", "voice": "marin"})
