"""tests/conftest.py gives each test the logging state it found: an in-process
`run` (CliRunner) sets the root logger up for a daemon, and every later test in
that worker captured INFO records (a test that asserted nothing was said failed
in CI by the order of the files). The second test sees what the first left; in
file order (pytest's own, -p no:randomly) it runs right after it."""

from __future__ import annotations

import io
import logging

from monitor.observe.logs import RepeatLimitedHandler, setup_logging


def test_a_daemons_logging_set_up_inside_a_test() -> None:
    setup_logging("text", "info", io.StringIO())  # what `run` does as it starts
    root = logging.getLogger()
    assert root.level == logging.INFO
    assert any(isinstance(h, RepeatLimitedHandler) for h in root.handlers)
    assert logging.getLogger("alembic").level == logging.WARNING


def test_the_next_test_finds_the_logging_state_as_it_was() -> None:
    root = logging.getLogger()
    assert root.level == logging.WARNING
    assert not [h for h in root.handlers if isinstance(h, RepeatLimitedHandler)]
    assert logging.getLogger("alembic").level == logging.NOTSET
    assert logging.getLogger("apscheduler").level == logging.NOTSET
