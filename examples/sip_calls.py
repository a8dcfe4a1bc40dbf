"""A phone call to your bot, end to end: webhook, verify, accept, attach, talk, hang up.

    python examples/sip_calls.py                    # a simulated call, then exit
    python examples/sip_calls.py --live --port 8000  # answer one real call

With the real API, a call to ``sip:$PROJECT_ID@sip.api.openai.com`` makes
OpenAI POST a signed ``realtime.call.incoming`` webhook to your server. Your
server verifies it, accepts the call with a session configuration, attaches a
session to the call by its ``call_id`` (a sideband WebSocket) to follow and
steer the conversation, and hangs up when done (here: when the caller presses #).

Without --live the in-process LocalRealtimeServer plays OpenAI's part, with no
key and no phone: it rings the webhook receiver below (a plain ``http.server``,
as a web framework's route would be), serves the call control endpoints, and
runs the conversation with the configuration the receiver accepted. With
--live the receiver listens on --port for OpenAI's webhook (put it behind
HTTPS, e.g. a tunnel, and register its URL for ``realtime.call.incoming``);
it needs ``$OPENAI_API_KEY`` and the endpoint's ``$OPENAI_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import argparse
import base64
import os
import queue
import secrets
import sys
import threading
from contextlib import AsyncExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import anyio.to_thread

from realtime_events import Session
from realtime_events.calls import Calls
from realtime_events.events import (
    InputAudioBufferDtmfEventReceivedEvent,
    ResponseOutputAudioTranscriptDoneEvent,
)
from realtime_events.testing import LocalRealtimeServer
from realtime_events.webhooks import IncomingCallEvent, WebhookError, unwrap

CONFIG: dict[str, Any] = {
    "instructions": "You answer the phone for a bakery. Be brief.",
    "voice": "marin",
    "input_audio_format": "g711_ulaw",
    "output_audio_format": "g711_ulaw",
}


def webhook_receiver(
    calls: Calls, secret: str, config: dict[str, Any], answered: queue.Queue[str], port: int
) -> ThreadingHTTPServer:
    """A tiny webhook endpoint: verify the delivery, accept the call, hand its id on."""

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                # Verify the raw body before reading it: a forged call is refused here.
                event = unwrap(body, dict(self.headers.items()), secret=secret)
            except WebhookError as exc:
                print(f"webhook refused: {exc}")
                self.send_response(400)
                self.end_headers()
                return
            if isinstance(event, IncomingCallEvent):
                call = event.data
                print(f"webhook: {event.type} {call.call_id} from {call.header('From')}")
                calls.accept_sync(call.call_id, config)  # or calls.reject_sync(call.call_id)
                print(f"accepted {call.call_id}")
                answered.put(call.call_id)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the output to the conversation

    return ThreadingHTTPServer(("127.0.0.1", port), Webhook)


def follow(session: Session, calls: Calls, call_id: str) -> None:
    """Print the conversation; the caller's # key ends the call."""

    @session.on("response.output_audio_transcript.done")
    def said(event: ResponseOutputAudioTranscriptDoneEvent) -> None:
        print(f"assistant: {event.transcript}")

    @session.on("input_audio_buffer.dtmf_event_received")
    async def keypad(event: InputAudioBufferDtmfEventReceivedEvent) -> None:
        print(f"keypad: {event.event}")
        if event.event == "#":
            await calls.hangup(call_id)


async def main(args: argparse.Namespace) -> None:
    answered: queue.Queue[str] = queue.Queue()
    async with AsyncExitStack() as stack:
        server: LocalRealtimeServer | None = None
        if args.live:
            calls, secret, config = Calls(), os.environ["OPENAI_WEBHOOK_SECRET"], CONFIG
        else:
            server = await stack.enter_async_context(LocalRealtimeServer())
            # The local server signs with a secret of its own; text keeps the demo readable.
            secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
            calls = Calls(base_url=server.http_url)
            config = {**CONFIG, "output_modalities": ["text"]}
        receiver = webhook_receiver(calls, secret, config, answered, args.port)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{receiver.server_address[1]}/webhook"
            if server is not None:  # a caller dials in: the server rings our webhook
                await server.calls.ring(url, secret=secret, sip_headers={"From": "sip:+15551234"})
            else:
                print(f"waiting for a call's webhook at {url}")
            call_id = await anyio.to_thread.run_sync(answered.get, abandon_on_cancel=True)
        finally:
            receiver.shutdown()
            receiver.server_close()

        # Attach to the accepted call: the session runs with the accepted configuration.
        session = Session(url=server.url if server else None, call_id=call_id)
        follow(session, calls, call_id)
        async with anyio.create_task_group() as group:
            await group.start(session.run)
            print(f"session instructions: {session.server_config.get('instructions')}")
            if server is not None:
                print("caller: Hello!")
                reply = await session.ask("Hello!", timeout=30)
                print(f"assistant: {reply.text}")
                await server.connection.send_dtmf("1#")  # the caller presses 1, then #
        # run() returned: the call ended and the server closed the session.
        print(f"call ended; session closed: {session.closed}")
        if server is not None:
            print(f"local call state: {server.calls[call_id].state}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--live", action="store_true", help="answer a real call ($OPENAI_API_KEY)")
    parser.add_argument("--port", type=int, default=0, help="the webhook receiver's port")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    if args.live and not os.environ.get("OPENAI_WEBHOOK_SECRET"):
        parser.exit(2, "--live needs OPENAI_WEBHOOK_SECRET in the environment\n")
    return args


if __name__ == "__main__":
    try:
        anyio.run(main, parse_args())
    except KeyboardInterrupt:
        sys.exit(130)
