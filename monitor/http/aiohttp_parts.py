"""aiohttp's private parts, behind this one module.

Why: the lean client (`client.py`) frames responses with aiohttp's C parser
and streams bodies through its `StreamReader` (see client.py for why not
`ClientSession`). Those are not aiohttp's public API: their names, arguments
and the protocol they call back into change between minor releases. So they
are imported here and nowhere else, and `pyproject.toml` pins aiohttp to the
releases they were tested on: **aiohttp 3.14.0 to 3.14.5** (checked by
`make test-lowest`, which installs the lowest versions the ranges allow, and
by `tests/unit/test_http_aiohttp_parts.py`). 3.14.0 is the floor because
`HttpResponseParser.pause_reading()` first exists there.

What the client relies on:

- `HttpResponseParser(protocol, loop, limit, *, payload_exception,
  response_with_body, read_until_eof, auto_decompress, max_line_size,
  max_field_size, max_headers)`; `feed_data(bytes) -> (messages, upgraded,
  tail)` with messages of `(RawResponseMessage, StreamReader)`; `feed_eof()`;
  `pause_reading()` (3.14+: stop mid-body, keep the rest);
- the protocol object both call back: `_reading_paused`, `pause_reading()`,
  `resume_reading(resume_parser=...)`, `connected` (`connection.Flow`);
- `StreamReader.read`, `read_nowait`, `is_eof`, `at_eof`,
  `set_exception(exc, cause)`, and `EMPTY_PAYLOAD`;
- `RawResponseMessage.code`, `.headers` (a `CIMultiDictProxy`), `.should_close`;
- `parse_mimetype(text).parameters`;
- `HttpProcessingError` (the parser's errors), with `.message`;
- `LineTooLong` (the server's parser refusing a line), whose `args` are the
  start of the line (the request target; with the pure-Python parser, the
  request line) and the limit it passed (monitor/observe/server_parts.py);
- `aiohttp.connector._SSL_CONTEXT_VERIFIED`: the verifying context aiohttp
  builds at import (`ssl.create_default_context()`, ALPN `http/1.1`), shared
  read-only as the run's context when no `--ca-bundle` is given
  (`shared_tls_context`): loading the system store a third time cost ~20 ms.
  Imported through `aiohttp_import` (the run's usual way), it is built
  without the store, and the run's context is built at its first https dial.

Public aiohttp names (`aiohttp.ClientOSError`, `aiohttp.abc.ResolveResult`,
`aiohttp.resolver.ThreadedResolver`, `aiohttp.web`) are imported where used.
"""

from __future__ import annotations

import ssl

from aiohttp.helpers import parse_mimetype
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.http_parser import HttpResponseParser, RawResponseMessage
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader

# The aiohttp releases these parts were tested on (3.14.0 to 3.14.5), as
# pyproject.toml must declare it (a unit test holds the two together).
TESTED_ON = "aiohttp>=3.14,<3.15"

__all__ = [
    "EMPTY_PAYLOAD",
    "TESTED_ON",
    "HttpProcessingError",
    "HttpResponseParser",
    "LineTooLong",
    "RawResponseMessage",
    "StreamReader",
    "parse_mimetype",
    "pause_parser",
    "shared_tls_context",
]


def pause_parser(parser: HttpResponseParser) -> None:
    """Stop the parser mid-body, keeping the bytes it has not handed on.

    Raises AssertionError when no body is in progress (nothing to hold).
    """
    parser.pause_reading()


def shared_tls_context() -> ssl.SSLContext | None:
    """aiohttp's verifying context (built when aiohttp is imported, which every
    run that fetches does), or None if this aiohttp has none that verifies
    hostnames against the system store with TLS 1.2 or newer, or if it was
    built without the store (aiohttp_import.py). Never to be changed: it is
    aiohttp's own."""
    from aiohttp import connector

    from monitor.http import aiohttp_import

    if aiohttp_import.skipped_trust_store:
        return None

    ctx = getattr(connector, "_SSL_CONTEXT_VERIFIED", None)
    if not isinstance(ctx, ssl.SSLContext):
        return None
    verifies = ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx if verifies and ctx.minimum_version >= ssl.TLSVersion.TLSv1_2 else None
