"""The systemd units: one dynamic user over one state directory, and the exit
statuses a stop gives.

A dynamic user is named after its unit unless User= names it, and systemd re-owns
a unit's StateDirectory to the starting unit's user, recursively (systemd.exec(5)).
article-monitor-once.service, started beside article-monitor.service (cron, or by
hand as docs/deploy.md says), ran as `article-monitor-once` and took the daemon's
/var/lib/article-monitor, its SQLite database and WAL included, from the daemon's
user `article-monitor`. No systemd PID 1 here: the units are read as systemd reads
them, and `systemd-analyze verify` accepts them (tests/integration/test_deploy.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNITS = ["article-monitor.service", "article-monitor-once.service"]


def service(name: str) -> dict[str, str]:
    """The [Service] settings (the last assignment of each, as systemd keeps it)."""
    section, values = "", {}
    for line in (SYSTEMD / name).read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def dynamic_user(name: str) -> tuple[str, str]:
    values = service(name)
    assert values.get("DynamicUser") == "yes", name
    user = values.get("User") or name.removesuffix(".service")
    return user, values.get("Group") or user


@pytest.mark.parametrize("name", UNITS)
def test_the_unit_keeps_its_data_in_the_shared_state_directory(name: str) -> None:
    assert service(name)["StateDirectory"] == "article-monitor"


def test_both_units_run_as_the_one_dynamic_user() -> None:
    users = {name: dynamic_user(name) for name in UNITS}
    assert len(set(users.values())) == 1, users


def test_a_stop_during_the_start_is_no_failure_of_the_daemons_unit() -> None:
    """`run` exits 130 when SIGTERM comes during its start (docs/deploy.md, "A long
    start"); systemd counts any other exit status than 0 and SuccessExitStatus= as
    the unit failing, so a `systemctl stop` or `restart` during a long database check
    left it "failed (Result: exit-code)"."""
    statuses = service("article-monitor.service").get("SuccessExitStatus", "").split()
    assert "130" in statuses
