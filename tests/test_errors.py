"""The library's exceptions: each one crosses a process boundary whole."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import anyio
import anyio.to_process
import pytest

from realtime_events import errors

# One of each, with every argument its constructor takes.
SAMPLES: dict[str, errors.RealtimeError] = {
    "AuthenticationError": errors.AuthenticationError(401, "bad key", {"x-request-id": "r1"}),
    "CallError": errors.CallError("no", 500, "{}", call_id="c1", code="x", api_message="m"),
    "CallNotFoundError": errors.CallNotFoundError("gone", 404, call_id="c1"),
    "ClientSecretError": errors.ClientSecretError("failed", 500, "body"),
    "ClosedBeforeOpenError": errors.ClosedBeforeOpenError(4000, "refused"),
    "ConnectionClosedError": errors.ConnectionClosedError(1011, "keepalive ping timeout"),
    "ConnectionFailedError": errors.ConnectionFailedError("no route"),
    "HandshakeRejectedError": errors.HandshakeRejectedError(400, "bad request"),
    "InsecureKeyError": errors.InsecureKeyError("ws:// to another machine"),
    "InvalidConfigError": errors.InvalidConfigError("voice is not a voice", "voice"),
    "InvalidEventError": errors.InvalidEventError("bad event"),
    "InvalidFrameError": errors.InvalidFrameError("not JSON", b"\x00"),
    "LiveSessionGoneError": errors.LiveSessionGoneError("sess_1", 404, "not found"),
    "PluginNotApplicableError": errors.PluginNotApplicableError(
        "not on Live", plugin="vad", protocol="live", supported=("realtime",)
    ),
    "PluginNotFoundError": errors.PluginNotFoundError("no such plugin"),
    "RealtimeError": errors.RealtimeError("anything"),
    "RecordingError": errors.RecordingError("line 3 is not JSON"),
    "ServerError": errors.ServerError(SimpleNamespace(message="No such model", code="x")),
    "SessionClosedError": errors.SessionClosedError("closed"),
    "UnknownEventError": errors.UnknownEventError("no event 'respnse.done'"),
    "WebhookError": errors.WebhookError("bad signature", "signature"),
}


def test_every_exception_has_a_sample() -> None:
    assert set(SAMPLES) == set(errors.__all__)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_an_exception_pickles_back_to_itself(name: str) -> None:
    error = SAMPLES[name]
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)


def _refused() -> None:
    raise errors.ClosedBeforeOpenError(4000, "refused")


@pytest.mark.anyio
async def test_an_exception_raised_in_a_worker_process_comes_back_whole(
    anyio_backend: str,
) -> None:
    with anyio.fail_after(60), pytest.raises(errors.ConnectionClosedError) as raised:
        await anyio.to_process.run_sync(_refused)
    assert isinstance(raised.value, errors.SessionClosedError)
    assert raised.value.code == 4000
    assert str(raised.value) == str(errors.ClosedBeforeOpenError(4000, "refused"))
