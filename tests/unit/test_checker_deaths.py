"""When the checker processes count as failing repeatedly (checker_deaths.py)."""

from __future__ import annotations

from monitor.daemon.checker_deaths import CheckerDeaths
from monitor.daemon.readiness import Health, judge


def test_a_death_now_and_then_is_routine_repeated_ones_are_said() -> None:
    deaths = CheckerDeaths(window=600, repeated=3)
    deaths.died(0, "exit status -9")
    deaths.died(500, "exit status -9")
    assert deaths.trouble(550) is None
    deaths.died(590, "exit status 3: ImportError")
    said = deaths.trouble(595)
    assert said is not None and said.startswith("3 checker processes ended")
    assert "the latest: exit status 3: ImportError" in said
    assert deaths.trouble(601) is None  # the first one is ten minutes old: two remain


def test_a_process_that_cannot_be_started_is_said_until_one_is() -> None:
    deaths = CheckerDeaths()
    deaths.cannot_start(1, "[Errno 11] Resource temporarily unavailable")
    assert deaths.trouble(0) == (
        "no checker process could be started: [Errno 11] Resource temporarily unavailable"
    )
    deaths.started(1)
    assert deaths.trouble(0) is None


def test_readyz_says_it_and_stays_ready() -> None:
    ready, detail = judge(Health(checkers="3 checker processes ended"))
    assert ready  # the other processes check on; the banner and /readyz say it
    assert detail["checkers"] == "failing: 3 checker processes ended"
    assert "checkers" not in judge(Health())[1]
