"""The lock file's line (daemon/sqlite_lock.py): what a holder writes is what a
refused start reads back, and a line written by hand or cut short never breaks
the refusal's message."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from monitor.daemon.sqlite_lock import Holder, holder_line, parse_holder

HOSTS = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\t"),
    max_size=60,
).map(str.strip)
TIMES = st.datetimes(min_value=datetime.datetime(2000, 1, 1), timezones=st.just(datetime.UTC))


@given(st.integers(1, 2**31), TIMES, HOSTS)
def test_a_holders_line_reads_back(pid: int, now: datetime.datetime, host: str) -> None:
    holder = parse_holder(holder_line(pid, now, host))
    assert holder == Holder(str(pid), now.strftime("%Y-%m-%dT%H:%M:%SZ"), host)


@given(st.text(max_size=300))
def test_any_text_gives_a_holder(text: str) -> None:
    holder = parse_holder(text)
    assert holder.pid == "" or holder.pid.isdigit()
    assert holder.shown().startswith("pid ")


def test_a_line_cut_short_says_what_it_knows() -> None:
    assert parse_holder("").shown() == "pid unknown"
    assert parse_holder("42").shown() == "pid 42"
    assert (
        parse_holder("x\t2026-01-01T00:00:00Z").shown() == "pid unknown, since 2026-01-01T00:00:00Z"
    )


def test_a_holder_on_another_machine_is_named_by_host() -> None:
    line = "7\t2026-01-01T00:00:00Z\tnot-this-host.invalid"
    assert (
        parse_holder(line).shown() == "pid 7 on not-this-host.invalid, since 2026-01-01T00:00:00Z"
    )
