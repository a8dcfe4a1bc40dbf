"""Images and MCP approvals: the items the API defines without an SDK helper (issue 15).

What the helpers build is checked against the official SDK's own models of
those items, and what the session sends against what the local server received.
"""

from __future__ import annotations

import base64
import os
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal
from openai.types.realtime.realtime_conversation_item_user_message import (
    RealtimeConversationItemUserMessage,
)
from openai.types.realtime.realtime_mcp_approval_response import RealtimeMcpApprovalResponse

from realtime_events import Session
from realtime_events.errors import InvalidEventError, RealtimeError
from realtime_events.events import ConversationItem
from realtime_events.resources import MAX_IMAGE_BYTES, image_message
from realtime_events.sync import SyncSession
from realtime_events.testing import LocalRealtimeServer

# A 1x1 PNG, and the signatures of the other kinds the helper recognises.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)
GIF = b"GIF89a\x01\x00\x01\x00" + bytes(32)
BMP = b"BM" + bytes(64)


def image_part(item: dict[str, Any]) -> dict[str, Any]:
    (part, *_) = item["content"]
    assert part["type"] == "input_image"
    return dict(part)


def decoded(url: str) -> tuple[str, bytes]:
    """The mime type and the bytes of a base64 data URL."""
    head, _, data = url.partition(",")
    assert head.startswith("data:")
    assert head.endswith(";base64")
    return head[len("data:") : -len(";base64")], base64.b64decode(data, validate=True)


# -- images -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "kind"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif")],
)
def test_the_type_of_bytes_is_read_from_their_signature(data: bytes, kind: str) -> None:
    item = image_message(data)
    assert decoded(image_part(item)["image_url"]) == (kind, data)
    # The official SDK's model of a user message takes it as it is.
    parsed = RealtimeConversationItemUserMessage.model_validate(item)
    assert parsed.content[0].type == "input_image"
    assert parsed.content[0].image_url == image_part(item)["image_url"]


def test_detail_and_text_follow_the_image() -> None:
    item = image_message(PNG, detail="low", text="What is in this picture?")
    parsed = RealtimeConversationItemUserMessage.model_validate(item)
    assert [part.type for part in parsed.content] == ["input_image", "input_text"]
    assert parsed.content[0].detail == "low"
    assert parsed.content[1].text == "What is in this picture?"
    assert "detail" not in image_message(PNG)["content"][0]  # unset stays off the wire


def test_a_path_is_read_and_its_name_tells_what_the_bytes_do_not(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    assert decoded(image_part(image_message(photo))["image_url"]) == ("image/png", PNG)
    assert image_message(str(photo)) == image_message(photo)
    # Bytes without a known signature: the file name's type (JPEG data, say, that is truncated).
    odd = tmp_path / "scan.JPG"
    odd.write_bytes(b"not a signature")
    assert decoded(image_part(image_message(odd))["image_url"])[0] == "image/jpeg"
    # The bytes' own signature beats a name that lies.
    liar = tmp_path / "really-a-jpeg.png"
    liar.write_bytes(JPEG)
    assert decoded(image_part(image_message(liar))["image_url"])[0] == "image/jpeg"


def test_bytes_of_unknown_kind_need_a_mime_type() -> None:
    with pytest.raises(InvalidEventError, match="mime_type="):
        image_message(b"\x00\x01 some bytes")
    item = image_message(b"\x00\x01 some bytes", mime_type="image/png")
    assert decoded(image_part(item)["image_url"])[0] == "image/png"
    assert decoded(image_part(image_message(JPEG, mime_type="image/jpg"))["image_url"])[0] == (
        "image/jpeg"
    )


def test_what_the_api_does_not_take_is_refused_with_the_alternatives(tmp_path: Path) -> None:
    bitmap = tmp_path / "old.bmp"
    bitmap.write_bytes(BMP)
    with pytest.raises(InvalidEventError, match=r"image/bmp.*image/png, image/jpeg") as caught:
        image_message(bitmap)
    assert str(bitmap) in str(caught.value)
    with pytest.raises(InvalidEventError, match="application/pdf"):
        image_message(b"%PDF-1.7", mime_type="application/pdf")
    with pytest.raises(InvalidEventError, match="detail"):
        image_message(PNG, detail="medium")  # type: ignore[arg-type]
    with pytest.raises(InvalidEventError, match="empty"):
        image_message(b"")
    assert issubclass(InvalidEventError, RealtimeError)


def test_an_image_over_the_bound_is_refused_before_it_is_sent_or_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidEventError, match=f"over the {MAX_IMAGE_BYTES} bytes"):
        image_message(PNG + bytes(MAX_IMAGE_BYTES))
    huge = tmp_path / "huge.png"
    with huge.open("wb") as file:
        file.truncate(MAX_IMAGE_BYTES + 1)  # sparse: refused on its size alone
    with pytest.raises(InvalidEventError, match=f"{MAX_IMAGE_BYTES + 1} bytes"):
        image_message(huge)
    # The bound keeps the base64 under 15 MiB, the API's figure for one event's payload.
    at_bound = image_message(PNG + bytes(MAX_IMAGE_BYTES - len(PNG)))
    assert len(image_part(at_bound)["image_url"]) < 15 * 1024 * 1024 + 64
    with pytest.raises(FileNotFoundError):
        image_message(tmp_path / "missing.png")


@pytest.mark.anyio
async def test_send_image_reaches_the_server_and_asks_for_a_response(anyio_backend: str) -> None:
    async with LocalRealtimeServer() as server:
        session = Session(url=server.url, output_modalities=["text"])
        with anyio.fail_after(20):
            async with session:
                async with session.stream("response.done") as dones:
                    sent = await session.send_image(
                        PNG, detail="high", text="What is this?", respond=True
                    )
                    done = await dones.receive(timeout=10)
                with pytest.raises(InvalidEventError):
                    await session.send_image(BMP)
        received = server.connection.received
    creates = [e for e in received if e["type"] == "conversation.item.create"]
    assert len(creates) == 1  # the refused image sent nothing
    (create,) = creates
    assert create["item"]["id"] == getattr(sent, "item", {}).get("id")
    part = image_part(create["item"])
    assert decoded(part["image_url"]) == ("image/png", PNG)
    assert part["detail"] == "high"
    assert [e["type"] for e in received][-1] == "response.create"
    assert done.response.status == "completed"
    # The mirror holds the image message as sent.
    (item, *_) = session.conversation.items
    assert item.content is not None
    assert item.content[0].type == "input_image"


# -- MCP approvals --------------------------------------------------------------------


@pytest.mark.anyio
async def test_approve_and_deny_answer_mcp_approval_requests(anyio_backend: str) -> None:
    request = ConversationItem(id="mcpr_2", type="mcp_approval_request", server_label="docs")
    async with LocalRealtimeServer() as server:
        session = Session(url=server.url, output_modalities=["text"])
        with anyio.fail_after(20):
            async with session:
                async with session.stream("conversation.item.done") as done:
                    await session.conversation.item.approve_mcp("mcpr_1")
                    await session.conversation.item.deny_mcp(request, reason="not on Sundays")
                    confirmed = [await done.receive(timeout=10) for _ in range(2)]
                with pytest.raises(InvalidEventError, match="not an mcp_approval_request"):
                    await session.conversation.item.approve_mcp(ConversationItem(id="item_1"))
                with pytest.raises(InvalidEventError, match="empty"):
                    await session.conversation.item.deny_mcp("")
        items = [
            e["item"] for e in server.connection.received if e["type"] == "conversation.item.create"
        ]
    assert len(items) == 2
    approved, denied = (RealtimeMcpApprovalResponse.model_validate(item) for item in items)
    assert (approved.approval_request_id, approved.approve, approved.reason) == (
        "mcpr_1",
        True,
        None,
    )
    assert (denied.approval_request_id, denied.approve, denied.reason) == (
        "mcpr_2",
        False,
        "not on Sundays",
    )
    assert "reason" not in items[0]  # unset stays off the wire
    assert [item.item.type for item in confirmed] == ["mcp_approval_response"] * 2


# -- SyncSession ------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sync_session_sends_an_image(backend: Any, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    with start_blocking_portal(backend) as portal:
        server = portal.call(partial(LocalRealtimeServer))
        with portal.wrap_async_context_manager(server):
            with SyncSession(url=server.url, output_modalities=["text"], backend=backend) as s:
                sent = s.send_image(os.fspath(photo))
                s.conversation.item.approve_mcp("mcpr_9")
            received = server.connection.received
    item = getattr(sent, "item", None)
    assert isinstance(item, dict)
    assert decoded(image_part(item)["image_url"]) == ("image/png", PNG)
    kinds = [e["item"]["type"] for e in received if e["type"] == "conversation.item.create"]
    assert kinds == ["message", "mcp_approval_response"]
