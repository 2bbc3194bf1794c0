"""A clean stop's log holds no traceback from APScheduler: it cancels the coroutine
jobs still running at its shutdown (a rescan retry, a heartbeat) and logged each
as "Error running job" with CancelledError's traceback, which an acceptance test
caught now and then. Its other errors still reach the log."""

from __future__ import annotations

import asyncio
import io
import logging
import sys

import pytest

from monitor.observe.logs import setup_logging


def _error_of(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord(
        "apscheduler.executors.default",
        logging.ERROR,
        __file__,
        1,
        "Error running job %s",
        ("heartbeat",),
        info,
    )


@pytest.fixture
def log() -> io.StringIO:
    out = io.StringIO()
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    setup_logging("text", "debug", out)
    yield out
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in before:
        root.addHandler(h)
    root.setLevel(level)


def test_a_job_cancelled_at_the_stop_leaves_no_traceback(log: io.StringIO) -> None:
    logging.getLogger("apscheduler.executors.default").handle(_error_of(asyncio.CancelledError()))
    assert log.getvalue() == ""


def test_a_job_that_failed_is_still_logged(log: io.StringIO) -> None:
    logging.getLogger("apscheduler.executors.default").handle(_error_of(ValueError("boom")))
    text = log.getvalue()
    assert "Error running job heartbeat" in text and "ValueError: boom" in text


def test_a_cancellation_elsewhere_is_still_logged(log: io.StringIO) -> None:
    record = _error_of(asyncio.CancelledError())
    record.name = "monitor.daemon"
    logging.getLogger("monitor.daemon").handle(record)
    assert "CancelledError" in log.getvalue()
