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

What is relied on: `web.RequestHandler(server, loop=..., **kwargs)`, its
`handle_error` (logs the error, raises ConnectionError when the answer has
begun), `web.Server._kwargs` / `web.Server._loop`, and the runner's
`_shutdown_timeout` (`close_within`: set when the runner is made, and a stop
must give its open requests what is left of the daemon's stop budget).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from aiohttp import web

from monitor.observe.status.headers import HEADERS

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


class QuietRequestHandler(web.RequestHandler):
    """aiohttp's protocol, whose own error answers quote nothing of the request."""

    __slots__ = ()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's logging and its "answer already begun" check; its body is dropped
        super().handle_error(request, status, exc, "")
        return plain_error(status)


def quiet_handlers(server: web.Server) -> Callable[[], web.RequestHandler]:
    """A protocol factory like `server` itself, making `QuietRequestHandler`s."""
    kwargs = server._kwargs
    loop = server._loop
    return lambda: QuietRequestHandler(server, loop=loop, **kwargs)


async def close_within(runner: web.BaseRunner, seconds: float) -> None:
    """`runner.cleanup()`, the requests still open given `seconds` in all: aiohttp
    waits its shutdown timeout for an open request's handler, then cancels it and
    waits as long again, so each wait gets half. The timeout is the runner's own,
    fixed when it was made; its idle connections are closed at once either way.
    A timeout of 0 is none at all to aiohttp: `seconds` is CLOSE_AT_LEAST at least."""
    runner._shutdown_timeout = max(seconds, CLOSE_AT_LEAST) / 2
    await runner.cleanup()
