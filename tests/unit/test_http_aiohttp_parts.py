"""aiohttp's private parts the client builds on exist as `aiohttp_parts` describes,
in whichever aiohttp the ranges in pyproject.toml installed (`make test-lowest`
runs this on the lowest)."""

from __future__ import annotations

import asyncio
import inspect
from importlib.metadata import version

import aiohttp.http_parser

from monitor.http import aiohttp_parts
from monitor.http.aiohttp_parts import HttpResponseParser, StreamReader


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:3] if p.isdigit())


def test_installed_aiohttp_is_within_the_tested_releases() -> None:
    low, high = aiohttp_parts.TESTED
    assert low <= _release(version("aiohttp")) <= high, (
        "aiohttp outside the releases aiohttp_parts was tested on: test it, then "
        "widen TESTED and the range in pyproject.toml together"
    )


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
