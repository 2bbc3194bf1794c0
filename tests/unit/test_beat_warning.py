"""A heartbeat slower than a third of the timeout is said at start, in the words
the member logged before the rule moved to cluster_settings.py (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.config import Settings
from monitor.daemon.cluster_settings import beat_interval, beat_warning


def test_the_defaults_are_not_warned_of() -> None:
    assert beat_warning(Settings()) is None


def test_a_slow_heartbeat_names_both_settings_and_the_beat_used() -> None:
    why = beat_warning(Settings(cluster_heartbeat=30.0, cluster_timeout=10.0))
    assert why is not None
    assert why.startswith("cluster_heartbeat (30) is more than a third of cluster_timeout (10)")
    assert "beating every 3.33333 s instead" in why


@given(
    heartbeat=st.floats(min_value=0.1, max_value=600.0),
    timeout=st.floats(min_value=1.0, max_value=600.0),
)
def test_the_words_are_the_old_log_line(heartbeat: float, timeout: float) -> None:
    s = Settings(cluster_heartbeat=heartbeat, cluster_timeout=timeout)
    # the old call's format and arguments, read as logging reads them (printf-style)
    template = (
        "cluster_heartbeat (%g) is more than a third of cluster_timeout "
        "(%g): beating every %g s instead, or the others would count this member "
        "dead between two beats"
    )
    old = template % (s.cluster_heartbeat, s.cluster_timeout, beat_interval(s))
    expected = old if beat_interval(s) < s.cluster_heartbeat else None
    assert beat_warning(s) == expected
