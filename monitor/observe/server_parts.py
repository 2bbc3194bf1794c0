"""aiohttp's server parts that are not its documented API, behind this one module
(as monitor/http/aiohttp_parts.py is for the client), tested on the same aiohttp
releases (`aiohttp_parts.TESTED_ON`; tests/unit/test_http_aiohttp_parts.py checks
what is relied on here).

Why: aiohttp answers a request its parser refuses (an over-long line or
header, a malformed request line, a bad Content-Length...) itself, before any
middleware or `on_response_prepare` hook runs, with a text/plain body quoting
up to 100 bytes of the request. That reflects bytes an attacker chooses, and
the answer lacked the listener's security headers. The only hook is
`RequestHandler.handle_error(request, status, exc, message)`; the handler is
built by `web.Server.__call__` from the server's private `_kwargs` and `_loop`.

Under /api/v1, whose every answer is JSON, a request line past the parser's
limit is answered `{"error": "the request line is too long"}`: the request
handed to `handle_error` is aiohttp's stand-in (path `/`), so the path is read
from the start of the line the `LineTooLong` quotes (its limit tells it from a
header's; the pure-Python parser's quote of a header, with the line's limit, has
no method), read as aiohttp reads `request.path` (yarl: percent-decoded, an
absolute-form target's path), and nothing of it is sent back.

What is relied on: `web.RequestHandler(server, loop=..., **kwargs)`, its
`handle_error` (logs the error, raises ConnectionError when the answer has
begun), `web.Server._kwargs` / `web.Server._loop`, and the runner's
`_shutdown_timeout` (`close_within`: set when the runner is made, and a stop
must give its open requests what is left of the daemon's stop budget).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web
from yarl import URL

from monitor.http.aiohttp_parts import LineTooLong
from monitor.observe.status.api import is_api, json_response
from monitor.observe.status.headers import HEADERS

# a request's method (a token, RFC 9110), which a header's name and colon are not
_METHOD = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# an absolute-form target (`GET http://host/api/v1/... HTTP/1.1`): its scheme
_ABSOLUTE = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://")
_AUTHORITY_END = re.compile(rb"[/?#]")
# seconds: `close_within`'s least, for aiohttp reads a shutdown timeout of 0 as none
CLOSE_AT_LEAST = 0.01


def plain_error(status: int) -> web.Response:
    """`status` and its phrase, with the listener's headers: nothing the client sent."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = {**HEADERS, "Cache-Control": "no-store"}
    response = web.Response(status=status, text=f"{status} {phrase}\n", headers=headers)
    response.force_close()
    return response


def line_path(exc: BaseException | None, line_limit: int | None) -> str | None:
    """The path of a request whose line was too long, read as aiohttp reads
    `request.path` (percent-decoded; an absolute-form target's path), from the
    start of it that `exc` quotes, or None when `exc` is not about the request
    line."""
    if not isinstance(exc, LineTooLong) or line_limit is None or len(exc.args) < 2:
        return None
    start, limit = exc.args[0], exc.args[1]
    # the C parser quotes a bytearray; a limit other than the line's is a header's
    if not isinstance(start, bytes | bytearray) or limit != line_limit:
        return None
    target = _quoted_target(bytes(start))
    if target is None:
        return None
    path = target.decode("latin-1").partition("#")[0].partition("?")[0]
    # as both parsers build an origin-form target's URL (which only decodes the path)
    return URL.build(path=path, encoded=True).path


def _quoted_target(start: bytes) -> bytes | None:
    """The request target at the start of what a LineTooLong quotes (the C parser
    quotes the target, the pure-Python parser the method too), from its path on:
    an absolute-form target's after its authority. That parser also checks a
    header line it has not seen the end of (or one in a later read) against the
    line's limit: `Name: value` has no method before its first space: None."""
    if not start.startswith(b"/") and not _ABSOLUTE.match(start):
        method, space, start = start.partition(b" ")
        if not space or not _METHOD.fullmatch(method):
            return None
    start = start.partition(b" ")[0]  # the pure-Python parser's quote: the version too
    if start.startswith(b"/"):
        return start
    scheme = _ABSOLUTE.match(start)
    if scheme is None:
        return None
    end = _AUTHORITY_END.search(start, scheme.end())
    return b"" if end is None else start[end.start() :]


def too_long_json() -> web.Response:
    """The API's answer to a request line past the limit: JSON, quoting nothing."""
    response = json_response(
        {"error": "the request line is too long"}, 400, {**HEADERS, "Cache-Control": "no-store"}
    )
    response.force_close()
    return response


class QuietRequestHandler(web.RequestHandler):
    """aiohttp's protocol, whose own error answers quote nothing of the request."""

    __slots__ = ("line_limit",)

    def __init__(self, *args: Any, line_limit: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_limit = line_limit  # the parser's max_line_size, to tell its errors

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's logging and its "answer already begun" check; its body is dropped
        super().handle_error(request, status, exc, "")
        path = line_path(exc, self.line_limit)
        if status == 400 and path is not None and is_api(path):
            return too_long_json()
        return plain_error(status)


def quiet_handlers(server: web.Server) -> Callable[[], web.RequestHandler]:
    """A protocol factory like `server` itself, making `QuietRequestHandler`s."""
    kwargs = server._kwargs
    loop = server._loop
    limit = kwargs.get("max_line_size")
    return lambda: QuietRequestHandler(server, loop=loop, line_limit=limit, **kwargs)


async def close_within(runner: web.BaseRunner, seconds: float) -> None:
    """`runner.cleanup()`, the requests still open given `seconds` in all: aiohttp
    waits its shutdown timeout for an open request's handler, then cancels it and
    waits as long again, so each wait gets half. The timeout is the runner's own,
    fixed when it was made; its idle connections are closed at once either way.
    A timeout of 0 is none at all to aiohttp: `seconds` is CLOSE_AT_LEAST at least."""
    runner._shutdown_timeout = max(seconds, CLOSE_AT_LEAST) / 2
    await runner.cleanup()
