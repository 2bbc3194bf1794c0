"""Every setting is sorted by what a reload does with it, and the docs say the same."""

from __future__ import annotations

import re
from pathlib import Path

from monitor.config import Settings
from monitor.daemon.reload_scope import AT_ONCE, CHECK_ONLY, ON_RESTART, kept_until_restart

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def test_every_setting_is_in_exactly_one_set() -> None:
    sets = (AT_ONCE, ON_RESTART, CHECK_ONLY)
    assert set().union(*sets) == set(Settings.model_fields)
    assert sum(map(len, sets)) == len(Settings.model_fields)


def _listed(heading: str) -> set[str]:
    text = DOCS.read_text()
    section = text.split("### What a SIGHUP applies", 1)[1].split("**What survives", 1)[0]
    part = section.split(f"**{heading}**", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`([a-z_0-9]+)`", part)) & set(Settings.model_fields)


def test_the_docs_list_the_same_settings() -> None:
    assert _listed("At once") == AT_ONCE
    assert _listed("On restart") == ON_RESTART
    assert _listed("Not used by `run`") == CHECK_ONLY


def test_a_reload_keeps_the_running_values_of_restart_settings() -> None:
    running = Settings(paths=[Path("a")], timeout=10.0, down_after=3)
    new = Settings(paths=[Path("b")], timeout=3.0, down_after=5)
    kept = kept_until_restart(running, new)
    assert (kept.timeout, kept.down_after, kept.paths) == (10.0, 5, [Path("b")])
