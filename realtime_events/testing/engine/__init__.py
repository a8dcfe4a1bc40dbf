"""The protocol engine of the local Realtime server, written Sans-I/O.

:class:`RealtimeEngine` is one server session: it takes client frames and
answers with server events, in the GA or the beta dialect, the way the real
server does: session configuration, conversation items, the input audio
buffer with server VAD, input transcription, responses, cancel and truncate,
with the real error codes and messages. Today's GA API too: ``obfuscation``
on text deltas, several messages per response on ``gpt-realtime-2`` (a
spoken preamble, then the answer) and its ``reasoning`` effort, transcription
sessions, MCP tools on fake servers (listing, calls, approvals), DTMF, and
server VAD's idle timeout.

It does no I/O and never sleeps: the server's I/O layer feeds it frames,
sends what it returns, and streams each :class:`ResponseRun` it pops from
:meth:`RealtimeEngine.next_response`, pacing audio with :func:`audio_ms`.
Beyond frames, the I/O layer passes the URL's query to the constructor
(``model``, ``intent``), a SIP keypad press to
:meth:`RealtimeEngine.dtmf_event`, and wall time to
:meth:`RealtimeEngine.advance`.

A run is lazy: each event is made, and the engine's state updated, when the
I/O layer asks for it. So a ``response.cancel`` or ``conversation.item.truncate``
received between two events of a run sees exactly what the client was sent.

The engine builds plain dicts, never the client's event models, so it stays
an independent check on them. One module per part of the protocol; each
imports only those above it in this list:

- ``_constants``: the JSON alias, chunk sizes, session defaults (a leaf);
- ``_ids``: ids shaped like the real server's;
- ``_errors``: the real server's error taxonomy, and the JSON field readers;
- ``_session``: session configuration, parsed, applied and rendered;
- ``_items``: conversation items and content parts;
- ``_mcp_items``: the MCP items a client creates, validated;
- ``_conversation``: the ``conversation.item.*`` client events;
- ``_idle``: server VAD's idle timeout, counted in input audio and wall time;
- ``_input_audio``: the input audio buffer, server VAD, transcription;
- ``_requests``: a ``response.create`` read against the session;
- ``_mcp``: MCP tools on fake servers: listing, approvals, calls;
- ``_responses``: response runs, typed against the engine as a Protocol;
- ``_engine``: :class:`RealtimeEngine`, which routes client frames to them.
"""

from ._engine import DTMF_KEYS, RealtimeEngine
from ._ids import IdFactory
from ._responses import ResponseRun, audio_ms
from ._session import VOICES

__all__ = ["DTMF_KEYS", "VOICES", "IdFactory", "RealtimeEngine", "ResponseRun", "audio_ms"]
