"""The honest time's mark: its text in `meta` and where a start counts from."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from monitor.daemon.wall_mark import (
    PLAUSIBLE_MS,
    REBOOT_TRUSTED_MS,
    Mark,
    Origin,
    decode,
    encode,
    start_from,
)

DAY = 86_400_000
YEAR = 365 * DAY
BOOT, OTHER = "6f1c2e3a-0b4d-4e5f-8a9b-c0d1e2f3a4b5", str(uuid.UUID(int=2))

millis = st.integers(min_value=0, max_value=10**19 - 1)
marks = st.builds(Mark, millis, st.none() | st.uuids().map(str), millis)


@given(marks)
def test_a_mark_reads_back_as_written(mark: Mark) -> None:
    assert decode(encode(mark)) == mark


@given(st.text(max_size=80) | marks.map(encode).map(lambda s: s.replace(" ", "  ", 1)))
def test_any_text_reads_as_a_mark_written_so_or_as_none(text: str) -> None:
    """Written by hand or cut short: no error, and never a mark it does not spell."""
    mark = decode(text)
    assert mark is None or encode(mark) == text


def test_texts_not_written_so_are_no_mark() -> None:
    for text in [
        "",
        "12",
        f"12 {BOOT}",
        f"-12 {BOOT} 5",
        f" 12 {BOOT} 5",
        f"12 {BOOT.upper()} 5",
        f"12 {BOOT} 5 6",
        "12 boot 5",
        f"1{'0' * 19} {BOOT} 5",
        f"١٢ {BOOT} 5",
    ]:
        assert decode(text) is None, text
    assert decode(None) is None
    assert decode("12 - 5") == Mark(12, None, 5)


NOW = 1_800_000_000_000


def test_no_mark_counts_from_the_newest_result_or_the_clock() -> None:
    """The first start of a version that stores the mark: as before."""
    assert start_from(NOW, NOW - DAY, None, BOOT, 5) == (NOW - DAY, Origin.NEWEST)
    assert start_from(NOW, NOW + YEAR, None, BOOT, 5) == (NOW + YEAR, Origin.NEWEST)
    assert start_from(NOW, None, None, None, 5) == (NOW, Origin.NEWEST)


def test_a_mark_of_this_boot_counts_on_by_the_steady_clock() -> None:
    """Whatever the clock and the newest result say: results a year ahead were
    stamped by a clock ahead (a restart on it purged all history)."""
    mark = Mark(NOW, BOOT, 1_000)
    for wall, newest in [(NOW + YEAR, NOW + YEAR), (NOW - YEAR, None), (NOW, NOW - DAY)]:
        assert start_from(wall, newest, mark, BOOT, 1_000 + 10 * DAY) == (
            NOW + 10 * DAY,
            Origin.THIS_BOOT,
        )


def test_a_mark_of_another_boot_trusts_the_clock_for_a_day_past_it() -> None:
    """How long the machine was down is unknown: a clock a year ahead moves the
    start a day past the mark, no more; a clock within a day of it (a night's
    reboot) is taken as it is, so downtimes do not pile up; a clock behind the
    mark never lowers it; a newer result is never taken."""
    mark = Mark(NOW, BOOT, 1_000_000)
    for boot, steady in [(OTHER, 5), (OTHER, 2_000_000), (BOOT, 5)]:
        got = start_from(NOW + YEAR, NOW + YEAR, mark, boot, steady)
        assert got == (NOW + REBOOT_TRUSTED_MS, Origin.LAST_BOOT)
    unknown = Mark(NOW, None, 1_000)  # stored where there was no boot identity
    night = 8 * 3_600_000
    assert start_from(NOW + night, None, unknown, BOOT, 2_000) == (NOW + night, Origin.LAST_BOOT)
    assert start_from(NOW - YEAR, NOW + YEAR, mark, OTHER, 5) == (NOW, Origin.LAST_BOOT)


def test_without_a_boot_identity_a_start_counts_as_before_marks() -> None:
    """No boot id here: every start would be "another boot", and a day's trust at
    each walked the mark towards a clock a year ahead, a day a start (a cron job of
    `run --once` every 5 minutes: a year in 30 hours, then all history purged)."""
    mark = Mark(NOW, None, 1_000)
    for _ in range(400):
        start, origin = start_from(NOW + YEAR, NOW, mark, None, 5)
        assert (start, origin) == (NOW, Origin.NEWEST)
        mark = Mark(start, None, 5)


def test_a_mark_before_this_release_counts_as_none() -> None:
    """`0 - 0` written by hand, or a mark stored while the clock read 1970: it held
    retention at 1970 for good (nothing purged again)."""
    for bound in (0, 86_400_000, PLAUSIBLE_MS - 1):
        for boot in (BOOT, OTHER):
            got = start_from(NOW, NOW - DAY, Mark(bound, BOOT, 5), boot, 10)
            assert got == (NOW - DAY, Origin.NEWEST)
    assert start_from(NOW, None, Mark(0, BOOT, 5), BOOT, 10) == (NOW, Origin.NEWEST)
    kept = start_from(NOW, NOW - DAY, Mark(PLAUSIBLE_MS, BOOT, 5), BOOT, 10)
    assert kept == (PLAUSIBLE_MS + 5, Origin.THIS_BOOT)
