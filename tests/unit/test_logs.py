"""The daemon's log lines: one record is one line whatever bytes it carries,
JSON stays JSON, and a flood of one message is written once plus a count."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.observe.logs import (
    EVERY,
    JsonFormatter,
    RepeatLimitedHandler,
    TextFormatter,
    escape,
)

HOSTILE_NAME = (
    "a\nb\r2026-12-04 00:00:00,000 ERROR   monitor.daemon: forged\x1b[2J\x1b[31mred\u202e.txt"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _logger(
    formatter: logging.Formatter, clock: Clock, window: float = 60.0
) -> tuple[logging.Logger, io.StringIO, RepeatLimitedHandler]:
    stream = io.StringIO()
    handler = RepeatLimitedHandler(stream, window=window, clock=clock, timer=False)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream, handler


@pytest.fixture
def text(clock: Clock) -> Iterator[tuple[logging.Logger, io.StringIO, RepeatLimitedHandler]]:
    yield _logger(TextFormatter(), clock)


def test_a_newline_in_a_file_name_cannot_forge_a_text_line(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler],
) -> None:
    logger, stream, _ = text
    logger.info("document %s is gone", HOSTILE_NAME, extra={"ctx": {"path": HOSTILE_NAME}})
    out = stream.getvalue()
    assert out.count("\n") == 1 and out.endswith("\n")
    assert "\r" not in out and "\x1b" not in out and "\u202e" not in out
    assert "a\\nb\\r2026" in out and "\\x1b[2J" in out and "\\u202e" in out
    assert out.count("forged") == 2  # in the message and in the context, both escaped


def test_a_traceback_keeps_its_lines_indented_and_escaped(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler],
) -> None:
    logger, stream, _ = text
    try:
        raise FileNotFoundError(f"no such file {HOSTILE_NAME}")
    except OSError:
        logger.exception("scan failed")
    lines = stream.getvalue().splitlines()
    assert "scan failed" in lines[0]
    assert len(lines) > 2 and all(line.startswith("    ") for line in lines[1:])
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_json_lines_stay_json_with_hostile_and_undecodable_names(clock: Clock) -> None:
    logger, stream, _ = _logger(JsonFormatter(), clock)
    undecodable = b"bad-\xff\xfe.txt".decode("utf-8", "surrogateescape")
    logger.warning(
        "document %s is gone",
        HOSTILE_NAME,
        extra={"ctx": {"path": undecodable, "ratio": float("nan"), "n": 3}},
    )
    try:
        raise ValueError(HOSTILE_NAME)
    except ValueError:
        logger.exception("boom %s", undecodable)
    raw = stream.getvalue()
    raw.encode("utf-8")  # writable to any UTF-8 stream
    lines = raw.splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)  # strict JSON: no NaN
    assert first["msg"] == f"document {HOSTILE_NAME} is gone"
    assert first["path"] == "bad-\\udcff\\udcfe.txt" and first["n"] == 3
    assert first["ratio"] == "nan"
    assert HOSTILE_NAME in second["exc"]


def test_a_repeated_message_is_written_once_then_counted(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler], clock: Clock
) -> None:
    logger, stream, handler = text
    for _ in range(1000):
        logger.error("socket.accept() out of system resource")
        clock.now += 0.001
    logger.info("another message")  # a different message is not held back
    assert stream.getvalue().count("out of system resource") == 1
    assert "another message" in stream.getvalue()
    clock.now += 61
    logger.info("later")  # the window has passed: the summary comes first
    lines = stream.getvalue().splitlines()
    assert "repeated 999 more times" in lines[2] and "out of system resource" in lines[2]
    assert "later" in lines[3]
    logger.error("socket.accept() out of system resource")  # a new window: written again
    assert stream.getvalue().count("accept() out of system resource") == 3
    logger.error("socket.accept() out of system resource")
    handler.close()  # a pending count is not lost at exit
    assert "repeated 1 more times" in stream.getvalue().splitlines()[-1]


def test_an_operator_event_is_written_every_time(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler], clock: Clock
) -> None:
    """A second SIGHUP's "reload refused" within the window was held back a minute."""
    logger, stream, handler = text
    for _ in range(3):
        logger.error("reload refused, keeping the running configuration: bad", extra=EVERY)
        clock.now += 0.1
    handler.close()
    assert stream.getvalue().count("reload refused") == 3
    assert "repeated" not in stream.getvalue()


def test_a_count_held_back_says_when_its_repeats_came(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler], clock: Clock
) -> None:
    """Written later (the next line after the window, the stop), a summary is said
    as one of the past, not as the latest event ("the last message was ...")."""
    logger, stream, handler = text
    for _ in range(3):
        logger.error("cannot write 44 results: disk is full")
        clock.now += 1
    handler.flush_repeats()
    last = stream.getvalue().splitlines()[-1]
    said = r"repeated 2 more times between \d\d:\d\d:\d\d and \d\d:\d\d:\d\d: cannot write"
    assert re.search(said, last), last
    assert "the last message" not in last


def test_messages_differing_in_their_arguments_are_all_written(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler],
) -> None:
    logger, stream, _ = text
    for i in range(5):
        logger.info("document %s is gone", f"doc{i}.txt")
    assert len(stream.getvalue().splitlines()) == 5


def test_the_memory_of_recent_messages_is_bounded(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler],
) -> None:
    logger, stream, handler = text
    for i in range(2000):
        logger.info("distinct %d", i)
        logger.info("distinct %d", i)
    assert len(handler._recent) <= 512
    assert stream.getvalue().count("distinct") >= 2000


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_escape_leaves_one_printable_line(value: str) -> None:
    out = escape(value)
    assert out.isprintable()
    if value.isprintable():
        assert out == value


@given(st.binary(max_size=64))
def test_any_file_name_bytes_give_one_text_line(raw: bytes) -> None:
    name = raw.decode("utf-8", "surrogateescape")
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "gone %s", (name,), None)
    record.ctx = {"path": name}
    line = TextFormatter().format(record)
    assert "\n" not in line and "\r" not in line and line.isprintable()
    json.loads(JsonFormatter().format(record))


def test_the_same_message_with_another_context_is_another_message(
    text: tuple[logging.Logger, io.StringIO, RepeatLimitedHandler],
) -> None:
    logger, stream, _ = text
    for target in (1, 2, 1):
        logger.error("check failed unexpectedly", extra={"ctx": {"target": target}})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "target=1" in lines[0] and "target=2" in lines[1]


class Written(io.StringIO):
    """A stream that tells when a line holding `awaited` is written (by any thread)."""

    def __init__(self, awaited: str) -> None:
        super().__init__()
        self.awaited = awaited
        self.seen = threading.Event()

    def write(self, s: str) -> int:
        n = super().write(s)
        if self.awaited in s:
            self.seen.set()
        return n


def test_a_flood_that_stops_is_still_summarised(clock: Clock) -> None:
    """No line follows the flood: a timer writes the count. The flood is within its
    window by the test's clock however slowly the machine runs it: on the real
    clock a flood preempted past its 50 ms came in two counts, and the wait for
    "repeated 99" ran out (one run in ~60 under load)."""
    stream = Written("repeated 99 more times")
    handler = RepeatLimitedHandler(stream, window=0.05, clock=clock)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("test.logs.timer")
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        for _ in range(100):
            logger.error("socket.accept() out of system resource")
        clock.now += 1.0  # the window has passed, and no line comes to write the count
        assert stream.seen.wait(timeout=60), stream.getvalue()  # a ceiling, not a measure
        assert len(stream.getvalue().splitlines()) == 2, stream.getvalue()
    finally:
        handler.close()


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_escape_for_pages_keeps_only_typography_beyond_printable(value: str) -> None:
    """`typography=True` (the status pages) differs from the log lines' escape only by
    leaving space separators (Zs), joiners and soft hyphens as they are: no control,
    bidi override or mark, or line separator gets through."""
    import unicodedata

    def kept(c: str) -> bool:
        return unicodedata.category(c) == "Zs" or c in "\u00ad\u200c\u200d"

    out = escape(value, typography=True)
    assert all(c.isprintable() or kept(c) for c in out)
    assert not any(unicodedata.bidirectional(c) in BIDI_CONTROLS for c in out)
    assert out == "".join(c if kept(c) else escape(c) for c in value)


# embeddings, overrides and isolates (the marks are Cf, spelled like any other)
BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}


def test_a_json_count_says_its_times_in_utc_as_the_lines_ts(clock: Clock) -> None:
    """JSON lines' `ts` is UTC: the count's times are too, not the machine's zone."""
    logger, stream, handler = _logger(JsonFormatter(), clock)
    for created in (18000.0, 18001.0, 18002.0):  # 05:00:00 UTC, then two repeats
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "disk full", (), None)
        record.created = created
        logger.handle(record)
    handler.flush_repeats()
    last = json.loads(stream.getvalue().splitlines()[-1])
    assert last["msg"] == "repeated 2 more times between 05:00:01 and 05:00:02: disk full"
