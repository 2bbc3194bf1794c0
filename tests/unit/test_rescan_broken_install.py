"""A corpus rescan that meets a package missing (one the start did not import:
monitor/install.py) says so in one line, naming it, and keeps readiness failed
with that cause; it logged "corpus rescan failed" with a traceback, the cause
read `rescan failed (ModuleNotFoundError)`. A defect still gets its traceback."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from monitor.daemon import jobs


def daemon_whose_scan_raises(exc: Exception) -> Any:
    def scan(**_: Any) -> Any:
        raise exc

    async def run(fn: Any, *args: Any, name: str) -> Any:
        return fn(*args)

    return SimpleNamespace(
        membership=SimpleNamespace(scans_corpus=lambda: True, now=lambda: 1_000),
        _scan_lock=asyncio.Lock(),
        dispatcher=SimpleNamespace(stopping=False),
        scan_stamp=None,
        scanner=SimpleNamespace(scan=scan),
        db_threads=SimpleNamespace(run=run),
        scan_error=None,
    )


async def rescans(d: Any, times: int) -> None:
    for _ in range(times):
        await jobs.rescan(d)


def test_a_missing_package_is_one_line_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    missing = ModuleNotFoundError("No module named 'publicsuffixlist'", name="publicsuffixlist")
    d = daemon_whose_scan_raises(missing)
    with caplog.at_level(logging.INFO, logger="monitor.daemon"):
        asyncio.run(rescans(d, 3))
    assert d.scan_error.startswith(
        "cannot import publicsuffixlist (No module named 'publicsuffixlist'): the install is broken"
    )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [f"corpus rescan failed: {d.scan_error}; will retry"]
    assert errors[0].exc_info is None


def test_a_defect_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    ours = ModuleNotFoundError("No module named 'monitor.gone'", name="monitor.gone")
    d = daemon_whose_scan_raises(ours)
    with caplog.at_level(logging.INFO, logger="monitor.daemon"):
        asyncio.run(rescans(d, 2))
    assert d.scan_error == "rescan failed (ModuleNotFoundError)"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
