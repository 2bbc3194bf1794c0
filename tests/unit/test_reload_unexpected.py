"""A reload whose configuration read fails in an unexpected way (a broken
install, a defect) is refused like a bad file: one error line, the running
configuration kept, no exception out of the reload's task (which asyncio
printed as "Task exception was never retrieved" with a traceback)."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from monitor.daemon import jobs


def broken_reload() -> Any:
    raise ModuleNotFoundError("No module named 'publicsuffixlist'")


def test_an_unexpected_reload_error_is_a_refusal_and_keeps_the_settings(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rescans: list[bool] = []
    running = object()

    async def rescan(force: bool = False) -> None:
        rescans.append(force)

    daemon: Any = SimpleNamespace(_reload=broken_reload, settings=running, rescan=rescan)
    with caplog.at_level(logging.ERROR, logger="monitor.daemon"):
        asyncio.run(jobs.reload(daemon))  # raised ModuleNotFoundError before
    assert daemon.settings is running
    assert rescans == []  # nothing re-read under settings that were never taken
    refusals = [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]
    assert refusals == [
        "reload refused, keeping the running configuration: unexpected "
        "ModuleNotFoundError: No module named 'publicsuffixlist'"
    ], refusals
