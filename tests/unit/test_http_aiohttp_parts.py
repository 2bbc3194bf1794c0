"""aiohttp's private parts the client builds on exist as `aiohttp_parts` describes,
in whichever aiohttp the ranges in pyproject.toml installed (`make test-lowest`
runs this on the lowest)."""

from __future__ import annotations

import ast
import asyncio
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import aiohttp.http_parser
from aiohttp import web
from packaging.requirements import Requirement

from monitor.http import aiohttp_parts
from monitor.http.aiohttp_parts import HttpResponseParser, StreamReader
from monitor.observe import server_parts

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_declares_the_tested_range_and_it_is_installed() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(d) for d in project["dependencies"]]
    (aiohttp_req,) = [r for r in declared if r.name == "aiohttp"]
    assert aiohttp_req == Requirement(aiohttp_parts.TESTED_ON), (
        "pyproject.toml's aiohttp range differs from the releases aiohttp_parts was "
        "tested on: test them, then change both together"
    )
    assert version("aiohttp") in aiohttp_req.specifier


def test_both_parsers_have_what_the_client_calls() -> None:
    for parser in (HttpResponseParser, aiohttp.http_parser.HttpResponseParserPy):
        for name in ("feed_data", "feed_eof", "pause_reading"):
            assert callable(getattr(parser, name, None)), (parser, name)
    params = inspect.signature(aiohttp.http_parser.HttpResponseParserPy).parameters
    for name in ("payload_exception", "response_with_body", "read_until_eof"):
        assert name in params
    for name in ("auto_decompress", "max_line_size", "max_field_size", "max_headers"):
        assert name in params


def test_stream_reader_has_what_the_engine_reads() -> None:
    for name in ("read", "read_nowait", "is_eof", "at_eof", "set_exception"):
        assert callable(getattr(StreamReader, name, None)), name
    assert "exc_cause" in inspect.signature(StreamReader.set_exception).parameters


def test_parser_frames_a_response_and_pauses_mid_body() -> None:
    class Flow:
        _reading_paused = False
        connected = True

        def pause_reading(self) -> None:
            self._reading_paused = True

        def resume_reading(self, resume_parser: bool = True) -> None:
            self._reading_paused = False

    loop = asyncio.new_event_loop()
    try:
        parser = HttpResponseParser(
            Flow(),  # type: ignore[arg-type]
            loop,
            2**16,
            response_with_body=True,
            read_until_eof=True,
            auto_decompress=False,
            max_line_size=8190,
            max_field_size=8190,
            max_headers=128,
        )
        messages, _upgraded, _tail = parser.feed_data(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-A: b\r\n\r\nhello"
        )
        ((message, payload),) = messages
        assert (message.code, message.headers["X-A"], message.should_close) == (200, "b", False)
        aiohttp_parts.pause_parser(parser)  # a body is in progress: allowed
        assert payload.read_nowait(-1) == b"hello"
    finally:
        loop.close()


# aiohttp's public modules; everything else of aiohttp is reached through aiohttp_parts
PUBLIC = {"aiohttp", "aiohttp.web", "aiohttp.abc", "aiohttp.resolver", "aiohttp.test_utils"}


def _private_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "aiohttp" and node.attr.islower():
                names = [f"aiohttp.{node.attr}"]  # a module reached as an attribute
        found += [
            f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
            for name in names
            if name.split(".")[0] == "aiohttp" and name not in PUBLIC
        ]
    return found


def test_only_aiohttp_parts_imports_aiohttp_private_modules() -> None:
    parts = Path(aiohttp_parts.__file__).resolve()
    found = [
        use
        for path in sorted((ROOT / "monitor").rglob("*.py"))
        if path.resolve() != parts
        for use in _private_uses(path)
    ]
    assert found == [], "import these through monitor.http.aiohttp_parts"


# The server's undocumented parts (the error answer's hook) live in
# monitor/observe/server_parts.py, for the reason its docstring gives: aiohttp
# answers a request its parser refuses before any middleware, quoting the request.
SERVER_PARTS = ROOT / "monitor" / "observe" / "server_parts.py"


def test_the_server_parts_exist_as_server_parts_describes() -> None:
    params = list(inspect.signature(web.RequestHandler.handle_error).parameters)
    assert params == ["self", "request", "status", "exc", "message"]

    async def build() -> None:
        server = web.Server(lambda request: web.Response(), max_line_size=100)
        assert server._kwargs == {"max_line_size": 100}
        assert server._loop is asyncio.get_running_loop()
        handler = server_parts.quiet_handlers(server)()
        assert isinstance(handler, server_parts.QuietRequestHandler)
        runner = web.AppRunner(web.Application(), shutdown_timeout=7.0)
        assert runner._shutdown_timeout == 7.0  # close_within sets it
        await runner.setup()
        await server_parts.close_within(runner, 1.0)
        assert runner.server is None

    asyncio.run(build())


def test_only_server_parts_reaches_into_aiohttps_request_handler() -> None:
    found = [
        f"{path.relative_to(ROOT)}"
        for path in sorted((ROOT / "monitor").rglob("*.py"))
        if path.resolve() != SERVER_PARTS.resolve()
        and any(
            word in path.read_text()
            for word in ("RequestHandler", "._kwargs", "handle_error", "_shutdown_timeout")
        )
    ]
    assert found == [], "reach aiohttp's server internals through monitor.observe.server_parts"


def test_both_request_parsers_quote_a_long_lines_start_and_limit() -> None:
    """server_parts.line_path reads the path of a request line too long from the
    LineTooLong it raised: its start (the target; the Python parser's with the
    method) and the line's limit, which tells it from a header's."""

    class Protocol:
        _reading_paused = False

    loop = asyncio.new_event_loop()
    try:
        for parser_class in (
            aiohttp.http_parser.HttpRequestParser,
            aiohttp.http_parser.HttpRequestParserPy,
        ):
            parser = parser_class(
                Protocol(),  # type: ignore[arg-type]
                loop,
                2**16,
                max_line_size=100,
                max_field_size=200,
            )
            try:
                parser.feed_data(b"GET /api/v1/targets?q=" + b"a" * 300 + b" HTTP/1.1\r\n\r\n")
            except aiohttp_parts.LineTooLong as exc:
                assert server_parts.line_path(exc, 100) == "/api/v1/targets", parser_class
                assert server_parts.line_path(exc, 200) is None  # not the line's limit
            else:
                raise AssertionError(f"{parser_class} took a line past its limit")
    finally:
        loop.close()


def _too_long(parser_class: type, *feeds: bytes) -> aiohttp_parts.LineTooLong:
    """The LineTooLong `parser_class` raises on `feeds` (line limit 100, fields 200)."""

    class Protocol:
        _reading_paused = False

    loop = asyncio.new_event_loop()
    try:
        parser = parser_class(Protocol(), loop, 2**16, max_line_size=100, max_field_size=200)
        for data in feeds:
            try:
                parser.feed_data(data)
            except aiohttp_parts.LineTooLong as exc:
                return exc
        raise AssertionError(f"{parser_class} took {feeds!r}")
    finally:
        loop.close()


PARSERS = (aiohttp.http_parser.HttpRequestParser, aiohttp.http_parser.HttpRequestParserPy)


def test_a_long_header_is_not_read_as_a_long_request_line() -> None:
    """The pure-Python parser checks a header line it has not yet seen the end of
    (or one in a later read) against the request line's limit, and quotes it: a
    header whose value starts with /api/v1 was answered "the request line is too
    long", as JSON."""
    head = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
    for header in (b"X-A: /api/v1/", b"X-A: http://x/api/v1/", b"X-A:http://x/api/v1/"):
        for tail in (b"", b"\r\n\r\n"):
            for parser_class in PARSERS:
                exc = _too_long(parser_class, head, header + b"a" * 300 + tail)
                assert server_parts.line_path(exc, 100) is None, (parser_class, header, tail)


def test_the_path_of_a_long_line_is_read_as_aiohttp_reads_a_requests() -> None:
    """request.path, which tells the API's requests, is the target's path
    percent-decoded, and an absolute-form target's path: a line past the limit
    is told the same way."""
    for target, path in (
        (b"http://x/api/v1/targets?q=", "/api/v1/targets"),
        (b"HTTP://x:8080/api/v1?q=", "/api/v1"),
        (b"/%61pi%2Fv1/targets?q=", "/api/v1/targets"),
        (b"//api/v1/targets?q=", "//api/v1/targets"),
        (b"/API/v1/targets?q=", "/API/v1/targets"),
    ):
        for parser_class in PARSERS:
            exc = _too_long(parser_class, b"GET " + target + b"a" * 300 + b" HTTP/1.1\r\n\r\n")
            assert server_parts.line_path(exc, 100) == path, (parser_class, target)


def test_any_quoted_start_reads_as_a_path_or_none() -> None:
    """handle_error reads it: whatever bytes a client sent, a path or None, never
    an exception (yarl's URL() raised IndexError on the first authority here;
    only the path is parsed now)."""
    for start, path in (
        (b"GET http://4%]p\x00 ]&p6I=[2c988]\x7f8@/2#9_\x7f3b&:a2...", ""),
        (b"http://[::1/api/v1/...", "/api/v1/..."),
        (b"GET http://x:99999999/api/v1/...", "/api/v1/..."),
        (b"GET /api/v1/status HTTP/1.1" + b"a" * 73 + b"...", "/api/v1/status"),
        (b"GET /api/v1/\xff\xfe%c3%...", "/api/v1/\xff\xfe%c3%..."),
        (b"\x00\xff...", None),
    ):
        assert server_parts.line_path(aiohttp_parts.LineTooLong(start, 7), 7) == path, start
