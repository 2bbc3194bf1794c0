"""aiohttp's protocol errors reach the log as one line: the error's class,
never a traceback nor the client's bytes; the client's doing at info."""

from __future__ import annotations

import logging

import pytest
from aiohttp.http_exceptions import LineTooLong

from monitor.observe.endpoints import request_log

CLIENT_BYTES = "ZZ\x1b[2Jclient"


def _log_exception(exc: BaseException) -> None:
    try:
        raise exc
    except BaseException as raised:
        request_log.exception("Error handling request from %s", "127.0.0.1", exc_info=raised)


@pytest.mark.parametrize(
    ("exc", "level", "says"),
    [
        (LineTooLong(CLIENT_BYTES * 100, "8190"), logging.INFO, "bad request: LineTooLong (400)"),
        (ConnectionResetError(CLIENT_BYTES), logging.INFO, "client went away: ConnectionReset"),
        (ValueError(CLIENT_BYTES), logging.ERROR, "error while answering a request: ValueError at"),
    ],
)
def test_one_line_without_the_client_bytes(
    caplog: pytest.LogCaptureFixture, exc: BaseException, level: int, says: str
) -> None:
    caplog.set_level(logging.DEBUG)
    _log_exception(exc)
    [record] = caplog.records
    assert record.levelno == level and not record.exc_info
    assert record.getMessage().startswith(says)
    assert "ZZ" not in caplog.text and "Traceback" not in caplog.text
