"""aiohttp's private parts the client builds on exist as `aiohttp_parts` describes,
in whichever aiohttp the ranges in pyproject.toml installed (`make test-lowest`
runs this on the lowest)."""

from __future__ import annotations

import asyncio
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import aiohttp.http_parser
from packaging.requirements import Requirement

from monitor.http import aiohttp_parts
from monitor.http.aiohttp_parts import HttpResponseParser, StreamReader

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
