"""The collector's pace is changed for a run and restored after it, whatever happens."""

from __future__ import annotations

import gc

import pytest

from monitor.check.gc_pace import RUN_GEN0_THRESHOLD, run_pace


def test_the_pace_is_slower_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with run_pace():
        assert gc.get_threshold() == (RUN_GEN0_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before


def test_the_pace_is_restored_when_the_run_fails() -> None:
    before = gc.get_threshold()
    with pytest.raises(KeyboardInterrupt), run_pace():
        raise KeyboardInterrupt
    assert gc.get_threshold() == before
