"""One keep-alive HTTP/1.1 connection of the lean client (`client.py`): the
asyncio protocol that feeds aiohttp's response parser, its flow control, and
the errors of dialling and of a kept-alive connection that went stale.

Split from client.py, which owns the pool, the dialling and the requests;
this module owns what happens on one socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any, cast

from aiohttp import ClientOSError, ClientPayloadError, ServerDisconnectedError

from monitor.http.aiohttp_parts import (
    EMPTY_PAYLOAD,
    HttpProcessingError,
    HttpResponseParser,
    RawResponseMessage,
    StreamReader,
    pause_parser,
)

READ_LIMIT = 2**16  # the StreamReader pauses the socket past twice this, buffered
MAX_LINE = 8190
# A header value as long as real sites send (a Content-Security-Policy or a
# cookie of 8-20 KB; aiohttp's default of 8190 made such a page a
# connection_error), with the whole head bounded by HEAD_MAX, not by
# MAX_HEADERS values of this size (8 MiB).
MAX_FIELD = 64 * 1024
MAX_HEADERS = 128
# The bytes received for one answer before its head is read whole (a browser
# allows 256 KiB): past them, the answer is refused.
HEAD_MAX = 256 * 1024
_EMPTY_BODY = frozenset((204, 304, *range(100, 200)))
# Real servers send one or two (100 Continue, 103 Early Hints); a stream of
# them is a server stalling, with nothing in the body caps to stop it.
MAX_INFORMATIONAL = 8
# An answer followed by bytes the parser fails on is found again in the bytes
# received since its request, when they are this few (a head and a small body:
# the case of a Content-Length a little short, a 204 with a body); below the
# StreamReader's pause, so the fresh parser never pauses the socket.
SALVAGE_MAX = READ_LIMIT
# Reads kept as they came; those after go into one buffer (a head trickled a
# byte per read cost an object of ~43 bytes each: 2.7 MB for 60 KiB).
_KEPT_READS = 8
# Fed to the parser of an answered connection before it is pooled: between
# messages, it is one answer of its own (`between_answers`). An informational
# status, as it has no body: aiohttp's parser gives a 204 without a
# Content-Length a payload stream of its own (read until EOF), made and fed
# its EOF for nothing; a 1xx gets none (18.7 → 7.9 thousand instructions a
# probe, one per request on a kept-alive connection).
_PROBE_REASON = "between-answers"
_PROBE_STATUS = 100
_PROBE = b"HTTP/1.1 %d %s\r\n\r\n" % (_PROBE_STATUS, _PROBE_REASON.encode())


class DNSFailedError(OSError):
    """The URL's host did not resolve (the resolver's error is the cause)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host}: name does not resolve")
        self.host = host


class ConnectFailedError(OSError):
    """No TCP (or TLS) connection to the host; `os_error` says why."""

    def __init__(self, host: str, os_error: OSError) -> None:
        super().__init__(os_error.errno, os_error.strerror or str(os_error))
        self.host = host
        self.os_error = os_error


class StaleConnectionError(Exception):
    """A kept-alive connection closed (or garbled) before answering. That says
    nothing about the target (RFC 9112 section 9.3.1): send again, on a fresh one."""


class Flow:
    """Flow control between the transport, the parser and the body's StreamReader.

    The StreamReader calls `pause_reading` when more than twice the read
    limit is buffered (the parser stops mid-data, keeping the rest, and the
    socket stops being read) and `resume_reading` as the engine reads it
    down; the same contract aiohttp's own protocol keeps.
    """

    __slots__ = ("_reading_paused", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._reading_paused = False  # read by aiohttp's StreamReader

    @property
    def connected(self) -> bool:
        return self.conn.transport is not None

    def pause_reading(self) -> None:
        if self._reading_paused:
            return
        self._reading_paused = True
        conn = self.conn
        with contextlib.suppress(AssertionError):  # no body in progress: nothing to hold
            pause_parser(conn.parser)
        if conn.transport is not None:
            conn.transport.pause_reading()

    def resume_reading(self, resume_parser: bool = True) -> None:
        if not self._reading_paused:
            return  # the common case: StreamReader calls this on most reads
        self._reading_paused = False
        conn = self.conn
        if resume_parser:
            conn.data_received(b"")  # the parser goes on with what it kept
        transport = conn.transport
        if not self._reading_paused and transport is not None and not transport.is_closing():
            transport.resume_reading()


class Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = self._new_parser()
        # the bytes received since the request was sent, until its answer's
        # head is delivered (kept up to SALVAGE_MAX: `_salvage` reads them again)
        self._unanswered: list[bytes | bytearray] | None = None
        self._unanswered_size = 0  # counted up to HEAD_MAX and one read more
        self.waiter: asyncio.Future[tuple[RawResponseMessage, StreamReader]] | None = None
        self.payload: StreamReader | None = None  # the parser's, for keep-alive decisions
        self.should_close = False
        self.requests = 0  # requests sent on this connection
        self.informational = 0  # 1xx answers to the request in flight
        self.idle_since = 0.0
        self.not_after: datetime | None = None
        self.gone = asyncio.Event()  # set once the socket is really closed

    # -- asyncio.Protocol ---------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None and (self.payload is None or self.payload.is_eof()):
            # bytes nobody asked for: the connection's framing is lost
            self.close()
            return
        if waiter is not None and not waiter.done() and data:
            if self._unanswered_size > HEAD_MAX:  # received, and still no whole head
                self.close()
                self._fail(HttpProcessingError(message=f"response head over {HEAD_MAX} bytes"))
                return
            self._unanswered_size += len(data)
            kept = self._unanswered
            if kept is None or self._unanswered_size > SALVAGE_MAX:
                self._unanswered = None
            elif len(kept) < _KEPT_READS:
                kept.append(data)  # the usual head: a read or two, kept without a copy
            elif isinstance(last := kept[-1], bytearray):
                last += data
            else:  # a head trickled in small reads: one buffer, not an object per read
                kept.append(bytearray(data))
        try:
            messages, _, _ = self.parser.feed_data(data)
        except Exception as exc:
            self.close()
            answer = self._salvage() if waiter is not None and not waiter.done() else None
            if answer is not None and waiter is not None:
                self.payload = answer[1]
                waiter.set_result(answer)
                return
            err = exc if isinstance(exc, HttpProcessingError) else HttpProcessingError()
            self._fail(err, exc)
            return
        for message, payload in messages:
            if message.should_close:
                self.should_close = True
            self.payload = payload
            code = message.code
            if 100 <= code < 200 and code != 101:  # informational: the answer follows
                self.informational += 1
                if self.informational > MAX_INFORMATIONAL:  # a server stalling with them
                    self.close()
                    self._fail(HttpProcessingError(message="too many 1xx responses"))
                    return
                continue
            if waiter is not None and not waiter.done():
                body = EMPTY_PAYLOAD if code in _EMPTY_BODY else payload
                waiter.set_result((message, body))
                waiter = None
                self._unanswered = None
            else:  # a second response to one request
                self.should_close = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.should_close = True
        self.transport = None
        self.gone.set()
        uncompleted = None
        try:
            uncompleted = self.parser.feed_eof()
        except Exception as underlying:
            payload = self.payload
            if payload is not None and not payload.is_eof():
                text = f"Response payload is not completed: {underlying!r}"
                if exc is not None:
                    text = f"{text}. {exc!r}"
                payload.set_exception(ClientPayloadError(text), underlying)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if isinstance(exc, OSError):
                waiter.set_exception(ClientOSError(*exc.args))
            elif exc is None:
                waiter.set_exception(ServerDisconnectedError(uncompleted))
            else:
                err = ServerDisconnectedError()
                err.__cause__ = exc
                waiter.set_exception(err)

    def pause_writing(self) -> None:  # requests are a few hundred bytes
        pass

    def resume_writing(self) -> None:
        pass

    # -- ours ---------------------------------------------------------------
    def _new_parser(self) -> HttpResponseParser:
        return HttpResponseParser(
            cast(Any, Flow(self)),
            self.loop,
            READ_LIMIT,
            payload_exception=ClientPayloadError,
            response_with_body=True,
            read_until_eof=True,
            auto_decompress=False,
            max_line_size=MAX_LINE,
            max_field_size=MAX_FIELD,
            max_headers=MAX_HEADERS,
        )

    def _salvage(self) -> tuple[RawResponseMessage, StreamReader] | None:
        """The whole answer that bytes after it made the parser fail on, or None.

        A server that sends more than its answer (a Content-Length shorter
        than the body, a 204 with a body) leaves bytes the parser reads as
        the next response; in the answer's own segment, its error lost the
        answer, where in a later one the answer stood and the connection was
        closed (`data_received`). So the bytes since the request are read
        again by a fresh parser, up to the longest prefix it takes without
        an error (an error at a byte is one for every longer prefix); a
        complete answer found there is the answer. The connection is closed.
        """
        kept, self._unanswered = self._unanswered, None
        if not kept:
            return None
        data = b"".join(kept)
        good, bad = 0, len(data)  # a fresh parser takes data[:good]; data[:bad] failed
        while bad - good > 1:
            middle = (good + bad) // 2
            try:
                self._new_parser().feed_data(data[:middle])
            except Exception:
                bad = middle
            else:
                good = middle
        try:
            messages, _, _ = self._new_parser().feed_data(data[:good])
        except Exception:
            return None
        informational = 0
        for message, payload in messages:
            code = message.code
            if 100 <= code < 200 and code != 101:
                informational += 1
                if informational > MAX_INFORMATIONAL:
                    return None
                continue
            if code in _EMPTY_BODY:
                return message, EMPTY_PAYLOAD
            return (message, payload) if payload.is_eof() else None
        return None

    def _fail(self, exc: BaseException, cause: BaseException | None = None) -> None:
        if cause is not None:
            exc.__cause__ = cause
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        payload = self.payload
        if payload is not None and not payload.is_eof():
            payload.set_exception(exc)

    def usable(self) -> bool:
        transport = self.transport
        return not self.should_close and transport is not None and not transport.is_closing()

    def between_answers(self) -> bool:
        """Whether the parser is between messages, so the next answer is read
        from its first byte. An answer followed by the start of another head
        (no error, no whole message yet) left that start in the parser, and the
        next request on the connection read its own answer as the rest of it:
        judged by a status and headers it was never sent. A probe answer fed
        now comes out whole, as it was sent, only between messages."""
        try:
            messages, _, _ = self.parser.feed_data(_PROBE)
        except Exception:
            return False
        if len(messages) != 1:
            return False
        message = messages[0][0]
        return message.code == _PROBE_STATUS and message.reason == _PROBE_REASON

    def close(self) -> None:
        self.should_close = True
        transport = self.transport
        if transport is not None:
            transport.close()

    def abort(self) -> None:
        """Close at once: no flush and no TLS close_notify exchange to wait for."""
        self.should_close = True
        transport = self.transport
        if transport is not None:
            transport.abort()

    async def send(self, request: bytes) -> tuple[RawResponseMessage, StreamReader]:
        transport = self.transport
        if transport is None or transport.is_closing():
            raise ServerDisconnectedError()
        self.requests += 1
        self.informational = 0
        self._unanswered, self._unanswered_size = [], 0
        waiter: asyncio.Future[tuple[RawResponseMessage, StreamReader]]
        self.waiter = waiter = self.loop.create_future()
        transport.write(request)
        try:
            return await waiter
        finally:
            self.waiter = None
