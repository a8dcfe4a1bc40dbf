"""The WebSocket connection: websockets' Sans-I/O protocol driven by an anyio byte stream.

websockets implements the protocol (framing, control frames, the close handshake)
without doing any I/O; :class:`WebSocket` does the I/O with anyio, so the same code
runs on asyncio and trio, on either side of a connection. It receives (through the
fast frame splitter when it may), sends under a lock, closes within a bound and
keeps the connection alive; :mod:`.handshake` opens it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections import deque

import anyio
import anyio.abc
import anyio.lowlevel
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, State

from ..errors import ConnectionClosedError
from .frames import FrameSplitter, Message, too_big_reason

__all__ = ["DEFAULT_MAX_SIZE", "READ_SIZE", "SEND_PIECE", "Message", "WebSocket"]

logger = logging.getLogger("realtime_events.connection")

# Large reads amortise the per-call cost of the stream and of the parser: an audio
# delta is ~6 KB and a busy session delivers several per read.
READ_SIZE = 256 * 1024

# What a read of the stream raises when the peer or the transport ended it.
_END_OF_STREAM = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)

#: The default largest incoming message, in bytes: 32 MiB.
#:
#: The largest Realtime events are items that carry audio (a retrieved item, or
#: one the server echoes back): pcm16 at 24 kHz is 64 KB of base64 a second, so
#: 32 MiB holds about eight and a half minutes of one item's audio, and twice the
#: 15 MiB the API accepts in one ``input_audio_buffer.append``. Every other event
#: is far smaller. A frame that announces more is refused at its header, before
#: any of it is buffered, and the connection fails with 1009 (message too big).
DEFAULT_MAX_SIZE = 32 * 1024 * 1024

# Outgoing frames are written in pieces of this size, so that keepalive can tell
# a slow send (its pieces keep completing) from one blocked on a peer that
# stopped reading (64 KiB in ``ping_timeout`` is about 26 kbit/s at 20 s).
SEND_PIECE = 64 * 1024


class WebSocket:
    """A WebSocket connection over an anyio byte stream.

    ``recv``/``recv_batch`` must be called from one task at a time; ``send`` and
    ``close`` may be called from any task, by several at once. Keepalive runs
    only while :meth:`keepalive` is running, usually in the owner's task group.

    Every wait is bounded: :meth:`close` returns within ``close_timeout`` even
    when a send is blocked on a peer that stopped reading, and keepalive fails a
    connection whose pings go unanswered, or whose sends make no progress, for
    ``ping_timeout``. Incoming messages larger than ``max_size`` bytes (None: no
    limit) fail the connection with 1009; see :data:`DEFAULT_MAX_SIZE`.
    """

    def __init__(
        self,
        protocol: Protocol,
        stream: anyio.abc.ByteStream,
        *,
        ping_interval: float | None = 20.0,
        ping_timeout: float | None = 20.0,
        close_timeout: float = 5.0,
        max_size: int | None = DEFAULT_MAX_SIZE,
        fast_receive: bool = False,
    ) -> None:
        self.protocol = protocol
        self.stream = stream
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.close_timeout = close_timeout
        self.max_size = _check_max_size(max_size)
        # No yield when the lock is free: stream.send() yields anyway, so a task that
        # sends in a loop still lets others run, and each send saves a loop turn.
        self._send_lock = anyio.Lock(fast_acquire=True)
        self._messages: deque[Message] = deque()
        self._fragments: list[bytes] | None = None  # a fragmented message's parts so far
        self._fragments_size = 0
        self._fragment_text = False
        self._closed_error: ConnectionClosedError | None = None
        # A local reason the connection failed (keepalive, a message too big, an
        # abort), reported in preference to what the protocol saw afterwards.
        self._fail_reason: tuple[int, str] | None = None
        self._discarding = False  # failed locally: frames still parsed are dropped
        self._write_error: str | None = None
        # When the write in progress started (or last made progress); None when idle.
        self._send_since: float | None = None
        self._receiving = False  # a read waits on the socket (see keepalive)
        self._reading = False  # a recv() call is reading
        self._close_reading = False  # close() is reading, as nobody else was
        self._closed_event: anyio.Event | None = None  # see _wait_closed
        self._last_received = anyio.current_time()
        self._stream_closed = False
        # The fast receive path (see frames.py): allowed by whoever built the
        # protocol, active once the protocol's parser sits at a frame boundary.
        self._fast_allowed = fast_receive
        self._splitter = FrameSplitter(
            protocol,
            max_size=self.max_size,
            deliver=self._messages.append,
            on_frame=self._on_frame,
            fail=self._fail,
        )

    # -- receiving ---------------------------------------------------------

    async def recv(self) -> Message:
        """Return the next message; raise :class:`ConnectionClosedError` once closed.

        Every message the peer sent before its close frame (or before it closed
        TCP) is returned first; the error then carries the peer's close code and
        reason (1006 when it sent none).
        """
        if not self._messages:
            # recv_batch's waiting loop, the one reading for a caller; what it takes
            # goes back in line, this message first.
            self._messages.extend(await self.recv_batch())
        return self._messages.popleft()

    async def recv_batch(self) -> list[Message]:
        """Return every message already received, waiting for at least one.

        Taking what one read produced in a single call saves a task switch per
        message when the peer sends faster than the application reads.
        """
        # The reading inline, not in a helper: an idle session's reader waits here,
        # and the coroutine a call makes would be held for as long as it waits.
        while not self._messages:
            if self._close_reading:
                raise await self._closing_outcome()
            self._reading = True
            try:
                await self._read()
            finally:
                self._reading = False
        batch = list(self._messages)
        self._messages.clear()
        return batch

    async def _closing_outcome(self) -> ConnectionClosedError:
        """Wait for the close that close() is reading for; return why it closed.

        close() reads for the closing handshake when nobody was reading as it
        began: a reader that comes later waits for its outcome rather than race
        it for the socket.
        """
        await self._wait_closed()
        return self._close_to_raise()

    async def _wait_closed(self) -> None:
        """Wait until the connection is fully closed."""
        if self._closed_error is not None:
            return
        # Made only when someone waits: most connections never need one.
        if self._closed_event is None:
            self._closed_event = anyio.Event()
        await self._closed_event.wait()

    async def _read(self) -> None:
        protocol = self.protocol
        if self._closed_error is None and protocol.state is not State.OPEN:
            # Closing already (the peer's close frame, a frame that broke the rules,
            # or our own close()): what is left is the bounded TCP close.
            await self._finish_closing()
        if self._closed_error is not None:
            raise self._close_to_raise()
        if protocol.writes:
            # Answers to frames that came with the handshake (a ping's pong) go out
            # before we wait on the peer, which may be waiting for them.
            await self._flush_replies()
        self._receiving = True
        try:
            data: bytes | None = await self.stream.receive(READ_SIZE)
        except _END_OF_STREAM:
            data = None
        finally:
            self._receiving = False
        # The end of the stream is told outside the handler: the parser's own
        # EOFError, which the protocol keeps, would have the stream's error (and
        # this frame, with its locals) as its context.
        if data is None:
            self._receive_eof()
        elif self._splitter.active:
            self._splitter.receive_data(data)
        else:
            protocol.receive_data(data)
        self._last_received = anyio.current_time()
        for event in protocol.events_received():
            if isinstance(event, Frame):
                self._on_frame(event)
        if protocol.writes:
            await self._flush_replies()
        if protocol.state is not State.OPEN and not self._messages:
            # A close frame came, the peer closed TCP, or a frame broke the rules:
            # only the bounded TCP close is left. With messages queued, they are
            # returned first: the next call finishes closing.
            await self._finish_closing()
            raise self._close_to_raise()

    def _begin_receiving(self, data: bytes) -> None:
        """Start reading frames right after the handshake; ``data`` is what came with it.

        This is the one moment the protocol's parser is known to sit on a frame
        boundary, so the fast path starts here or never.
        """
        protocol = self.protocol
        splitter = self._splitter
        if self._fast_allowed:
            splitter.start()
        if not data:
            return
        if splitter.active:
            splitter.receive_data(data)
        else:
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame):
                    self._on_frame(event)

    def _receive_eof(self) -> None:
        if self._splitter.active:
            self._splitter.stop()
        self.protocol.receive_eof()

    def _on_frame(self, frame: Frame) -> None:
        if self._discarding:
            return
        opcode = frame.opcode
        if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
            if self._too_big(len(frame.data)):
                return
            if frame.fin:
                self._messages.append(Message(bytes(frame.data), opcode is Opcode.TEXT))
            else:
                self._fragments = [bytes(frame.data)]
                self._fragments_size = len(frame.data)
                self._fragment_text = opcode is Opcode.TEXT
        elif opcode is Opcode.CONT:
            fragments = self._fragments
            if fragments is None:
                return  # the protocol refuses a continuation with nothing to continue
            self._fragments_size += len(frame.data)
            if self._too_big(self._fragments_size):
                self._fragments = None
                return
            fragments.append(bytes(frame.data))
            if frame.fin:
                self._messages.append(Message(b"".join(fragments), self._fragment_text))
                self._fragments = None

    def _too_big(self, size: int) -> bool:
        """Fail the connection if a message of ``size`` bytes exceeds ``max_size``."""
        # The protocol checks the same bound when it was built with it; this holds
        # it for a protocol built otherwise, as fragments are joined here.
        if self.max_size is None or size <= self.max_size:
            return False
        self._fail(1009, too_big_reason(size, self.max_size))
        return True

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection (RFC 6455, 7.1.7): send a close frame, take no more frames."""
        self._record_failure(code, reason)
        self._discarding = True
        self.protocol.fail(code, reason)

    async def _finish_closing(self) -> None:
        """Wait (bounded) for the peer to close TCP, then close our end."""
        if self._closed_error is not None:
            return
        protocol = self.protocol
        deadline = anyio.current_time() + self.close_timeout
        if not _is_closed(protocol):
            with anyio.CancelScope(deadline=deadline):
                while not _is_closed(protocol):
                    try:
                        data: bytes | None = await self.stream.receive(READ_SIZE)
                    except _END_OF_STREAM:
                        data = None
                    if data is None:
                        protocol.receive_eof()  # outside the handler, as in _read
                    else:
                        protocol.receive_data(data)
                    protocol.events_received()
                    await self._flush_replies()
        self._set_closed()
        await self._close_stream(deadline)

    def _record_failure(self, code: int, reason: str) -> None:
        # The first reason wins, and a close frame the peer already sent beats any:
        # it says why the connection ended before we noticed anything.
        if self._fail_reason is None and self.protocol.close_rcvd is None:
            self._fail_reason = (code, reason)

    def _close_info(self, *, final: bool) -> tuple[int, str]:
        """The code and reason to report: final once closed, else for a send that can't go."""
        protocol = self.protocol
        sent, received = protocol.close_sent, protocol.close_rcvd
        if self._fail_reason is not None:
            return self._fail_reason
        if received is not None:
            return received.code, received.reason
        if sent is not None and (sent.code != 1000 or not final):
            # We failed the connection (a frame broke the rules) or are closing it.
            return sent.code, sent.reason
        if self._write_error is not None:
            return 1006, self._write_error
        if final:
            return 1006, "connection dropped without a close frame"
        return 1006, "connection is closing"

    def _set_closed(self) -> None:
        if self._closed_error is not None:
            return
        self._closed_error = ConnectionClosedError(*self._close_info(final=True))
        if self._closed_event is not None:
            self._closed_event.set()

    # -- sending -----------------------------------------------------------

    async def send(self, data: bytes | str, *, text: bool = True) -> None:
        """Send one message; raise :class:`ConnectionClosedError` if it could not be written.

        It returns once the frame was handed to the operating system, and raises
        only when it was not, entirely: a caller that retries after the error
        never sends a message twice. If the peer closed the connection, the
        error carries its close code and reason once its close frame was read. A
        send cancelled while it was blocked writing may have left part of a
        frame on the wire, and nothing can follow that: the connection is aborted.
        """
        payload = data.encode() if isinstance(data, str) else data
        async with self._send_lock:
            if not self._writable():
                await self._flush_pending_locked()
                raise self._send_error()
            # A cancellation that came while waiting for the lock lands here, before
            # the frame is queued: only one that comes while writing aborts.
            await anyio.lowlevel.checkpoint_if_cancelled()
            if text:
                self.protocol.send_text(payload)
            else:
                self.protocol.send_binary(payload)
            # This frame and what was queued before it: failing, it was not sent.
            await self._write_locked(self.protocol.data_to_send())
            # What the reader queued while we wrote (the end of stream after the
            # peer's, a pong): the frame is out, so failing here is the reader's to report.
            await self._flush_pending_locked()

    def _writable(self) -> bool:
        return (
            self.protocol.state is State.OPEN
            and self._write_error is None
            and not self._stream_closed
        )

    def _send_error(self) -> ConnectionClosedError:
        if self._closed_error is not None:
            return self._close_to_raise()
        return ConnectionClosedError(*self._close_info(final=False))

    async def _flush(self) -> None:
        """Write what the protocol has queued; raise :class:`ConnectionClosedError` on failure."""
        async with self._send_lock:
            await self._flush_locked()

    async def _flush_replies(self) -> None:
        """Write the protocol's own replies (a pong, a close frame) unless a send is running.

        A reader never waits behind a sender, which may be blocked on a peer that
        stopped reading: whoever holds the lock writes everything queued, these
        replies included, before releasing it.
        """
        try:
            self._send_lock.acquire_nowait()
        except anyio.WouldBlock:
            return
        try:
            await self._flush_locked()
        except ConnectionClosedError:
            pass  # the peer is gone: reading tells how, after what it sent last
        finally:
            self._send_lock.release()

    async def _flush_pending_locked(self) -> None:
        """Write what a reader queued while this task held the lock (a pong, a close echo).

        Every holder of the lock writes everything queued before releasing it: a
        reader that found the lock taken left its replies to it.
        """
        if self.protocol.writes and self._write_error is None and not self._stream_closed:
            with contextlib.suppress(ConnectionClosedError):
                await self._flush_locked()

    async def _flush_locked(self) -> None:
        # Called with the lock held: data_to_send() drains the protocol's buffer, so
        # whoever holds the lock writes everything queued so far, in order, until
        # nothing is left (a reader may queue a pong meanwhile).
        protocol = self.protocol
        while chunks := protocol.data_to_send():
            await self._write_locked(chunks)

    async def _write_locked(self, chunks: list[bytes]) -> None:
        """Write ``chunks`` with the lock held; raise :class:`ConnectionClosedError` on failure."""
        stream = self.stream
        try:
            for chunk in chunks:
                if not chunk:
                    await self._send_eof()
                    continue
                for start in range(0, len(chunk), SEND_PIECE):
                    self._send_since = anyio.current_time()
                    if len(chunk) <= SEND_PIECE:
                        await stream.send(chunk)
                    else:
                        await stream.send(chunk[start : start + SEND_PIECE])
        except (
            anyio.BrokenResourceError,
            anyio.ClosedResourceError,
            anyio.BusyResourceError,  # a TLS close sending close_notify: closed anyway
            OSError,
        ) as exc:
            # The peer is gone (or we closed TCP). The protocol is not told: what
            # the peer sent before going, its close frame included, is still to be
            # read, and the reader reports it.
            if self._write_error is None:
                self._write_error = (
                    "connection closed locally"
                    if isinstance(exc, anyio.ClosedResourceError)
                    else "connection lost while sending"
                )
            raise self._send_error() from exc
        except BaseException:
            # Cancelled mid-write: part of a frame may be on the wire, and nothing
            # can follow it. Only closing TCP leaves the stream in a known state.
            if self._write_error is None:
                self._write_error = "a send was cancelled while writing"
            await self._abort_stream()
            raise
        finally:
            self._send_since = None

    async def _send_eof(self) -> None:
        send_eof = getattr(self.stream, "send_eof", None)
        if send_eof is None:
            return
        # TLS streams can't half-close; the full close follows shortly.
        with contextlib.suppress(NotImplementedError):
            await send_eof()

    # -- closing -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection is fully closed."""
        return self._closed_error is not None

    @property
    def close_error(self) -> ConnectionClosedError | None:
        """Why the connection closed, once it has."""
        return self._closed_error

    def _close_to_raise(self) -> ConnectionClosedError:
        """A new error saying why the connection closed, for one raise of it.

        Every call after the close raises it. Raising the kept error would attach
        each raise's frames, and their locals, to the connection: caught inside
        the library (by close(), a sender) they stayed for as long as it lived,
        and raised again they piled up.
        """
        closed = self._closed_error
        assert closed is not None
        return ConnectionClosedError(closed.code, closed.reason)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection; return within ``close_timeout``, whatever the peer does.

        A peer that never answers the close frame (the real Realtime server is
        known not to) only delays this by the timeout; then TCP is closed anyway.
        If the close frame cannot even be written in time, because a send is
        blocked on a peer that stopped reading, TCP is closed at once, which also
        ends that send with :class:`ConnectionClosedError`. Safe to call from any
        task, from several at once, and while cancelled (it is shielded).
        """
        # Three cancel scopes, not six: the shield, one deadline for sending the
        # close frame and waiting for the peer's answer, and the TCP close's own.
        with anyio.CancelScope(shield=True):
            deadline = anyio.current_time() + self.close_timeout
            sent = False
            try:
                with anyio.CancelScope(deadline=deadline):
                    await self._send_close(code, reason)
                    sent = True
                    if self._closed_error is None and not _is_closed(self.protocol):
                        await self._wait_for_peer()
                if not sent:
                    self._record_failure(
                        1006,
                        f"the close frame could not be sent within {self.close_timeout:g} s "
                        "(the peer is not reading)",
                    )
                    await self._abort_stream()
            finally:
                self._set_closed()
                await self._close_stream(deadline)

    async def _send_close(self, code: int, reason: str) -> None:
        """Write our close frame unless the connection is closing already (the caller bounds it)."""
        async with self._send_lock:
            if self._writable():
                self.protocol.send_close(code, reason)
            await self._flush_pending_locked()

    async def _wait_for_peer(self) -> None:
        """Wait for the peer to answer the close frame and close TCP (bounded by the caller)."""
        if self._reading or self._close_reading:
            # Whoever reads this connection now will see the close; reading
            # here too would race it.
            await self._wait_closed()
            return
        self._close_reading = True
        try:
            while self._closed_error is None:
                try:
                    await self._read()
                except ConnectionClosedError:
                    break
                self._messages.clear()
        finally:
            self._close_reading = False

    async def abort(self, code: int = 1006, reason: str = "connection aborted") -> None:
        """Close TCP at once, without a close handshake."""
        self._record_failure(code, reason)
        await self._abort_stream()
        self._set_closed()

    async def _abort_stream(self) -> None:
        """Close TCP at once; a send or a receive blocked on it ends with an error."""
        if self._stream_closed:
            return
        self._stream_closed = True
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await anyio.aclose_forcefully(self.stream)

    async def _close_stream(self, deadline: float | None = None) -> None:
        """Close TCP, politely (TLS close_notify) if that is done before ``deadline``."""
        if self._stream_closed:
            return
        self._stream_closed = True
        if deadline is None:
            deadline = anyio.current_time() + self.close_timeout
        # Past the deadline, TLS streams close their socket without the courtesy;
        # errors (a busy or broken stream) mean it is closed already or now. One
        # scope: a shield still ends at its own deadline.
        with anyio.CancelScope(shield=True, deadline=deadline), contextlib.suppress(Exception):
            await self.stream.aclose()

    # -- keepalive ---------------------------------------------------------

    async def keepalive(self) -> None:
        """Ping the peer every ``ping_interval`` seconds; fail the connection if it is dead.

        Dead means, for ``ping_timeout`` seconds: no answer to a ping, counted
        only while a reader is waiting on the socket (when the application is
        slow and applies backpressure, unread pongs are not the peer's fault);
        or a write that made no progress, because the peer stopped reading. The
        connection then fails with 1011 and TCP is closed, so a blocked sender
        and the reader both get :class:`ConnectionClosedError`. Returns once
        the connection is closed.
        """
        interval, timeout = self.ping_interval, self.ping_timeout
        if interval is None:
            return
        # One task, one loop: it sleeps until the earliest of the next ping, the
        # deadline of the pong awaited, and the next look at the write in progress.
        clock = anyio.current_time
        ping_at = clock() + interval
        sent_at: float | None = None  # a ping awaiting its pong, sent then
        watch_at = clock() if timeout is not None else math.inf
        while self._closed_error is None:
            # anyio.sleep, not sleep_until: one frame less in every sleeping keepalive.
            await anyio.sleep(max(min(ping_at, watch_at) - clock(), 0))
            if clock() >= watch_at:
                look = await self._watch_writes(timeout)
                if look is None:
                    return
                watch_at = look
            if clock() < ping_at or self._closed_error is not None:
                continue
            if sent_at is not None:
                silent = self._last_received < sent_at
                if silent and self._receiving and self._closed_error is None:
                    await self._fail_dead("keepalive ping timeout", polite=True)
                    return
                sent_at, ping_at = None, clock() + interval
                continue
            look = await self._ping(timeout, watch_at)
            if look is None:
                return
            watch_at = look
            if timeout is None:
                ping_at = clock() + interval
            else:
                sent_at = clock()
                ping_at = sent_at + timeout

    async def _watch_writes(self, timeout: float | None) -> float | None:
        """Look at the write in progress: when to look next, or None once it failed the connection.

        A write that made no progress for ``timeout`` seconds (the peer stopped
        reading) fails the connection. Once TCP is closed there is nothing to watch.
        """
        if timeout is None or self._stream_closed:
            return math.inf
        since, now = self._send_since, anyio.current_time()
        if since is None:
            return now + max(timeout, 0.05)
        if now - since < timeout:
            return since + timeout
        await self._fail_dead(
            f"keepalive: a send was blocked for {timeout:g} s (the peer stopped reading)",
            polite=False,
        )
        return None

    async def _ping(self, timeout: float | None, watch_at: float) -> float | None:
        """Send a ping, still watching the writes meanwhile; None when keepalive should end.

        The ping waits for the send lock behind a sender, and its own write may
        block: the loop's look at the writes is due all the same, so each wait
        ends by then, for a look, before going on.
        """
        clock = anyio.current_time
        lock = self._send_lock
        while True:
            with anyio.move_on_after(max(watch_at - clock(), 0)):
                await lock.acquire()
                break
            next_look = await self._watch_writes(timeout)
            if next_look is None:
                return None
            watch_at = next_look
        try:
            if not self._writable():
                await self._flush_pending_locked()
                return None
            self.protocol.send_ping(os.urandom(4))
            # The ping's own write counts as any other: blocked for ``timeout``, the
            # connection is dead (a cancelled write leaves TCP closed, see _write_locked).
            stall_by = max(watch_at, clock() + (timeout if timeout is not None else math.inf))
            with anyio.CancelScope(deadline=stall_by) as scope:
                await self._flush_locked()
        except ConnectionClosedError:
            return None  # the reader reports why
        finally:
            lock.release()
        if scope.cancelled_caught:
            await self._fail_dead(
                f"keepalive: a send was blocked for {timeout:g} s (the peer stopped reading)",
                polite=False,
            )
            return None
        return watch_at

    async def _fail_dead(self, reason: str, *, polite: bool) -> None:
        """Fail a connection whose peer is gone: 1011, then close TCP at once."""
        logger.warning("%s; closing the connection", reason)
        self._record_failure(1011, reason)
        if polite and self.protocol.state is State.OPEN:
            # The peer may still read: tell it why, without waiting behind a send.
            self._fail(1011, reason)
            with anyio.move_on_after(self.close_timeout):
                await self._flush_replies()
        await self._abort_stream()
        self._set_closed()


def _check_max_size(max_size: int | None) -> int | None:
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be a positive number of bytes or None, not {max_size}")
    return max_size


def _is_closed(protocol: Protocol) -> bool:
    # A function, so type checkers don't narrow ``state`` across the awaits that change it.
    return protocol.state is State.CLOSED
