"""Cluster settings judged against each other: a lease too short for the checks,
a heartbeat too slow for the timeout (pure; the member logs what they say)."""

from __future__ import annotations

from monitor.config import Settings
from monitor.retry import tries_seconds


def lease_warning(s: Settings, clustered: bool = True) -> str | None:
    """Why `lease_seconds` is too short for the checks configured, or None. A check
    can take its tries' timeouts plus the waits between them; one that outlasts
    its lease is claimed and checked again by another member, and this one is
    found stuck (it held claims a whole lease and recorded nothing). A daemon
    alone claims it again itself and restarts the check, which on a host that
    keeps it that long never ends, while it holds one of the slots."""
    longest = tries_seconds(s)
    if longest < s.lease_seconds:
        return None
    what = (
        "is checked again by another member and this one is found stuck"
        if clustered
        else "is restarted when its lease runs out, so it may never finish"
    )
    return (
        f"lease_seconds ({s.lease_seconds:g}) is not longer than a check can take "
        f"({longest:g} s: {s.retries + 1} tries of timeout {s.timeout:g} s and the waits "
        f"between them): such a check {what}; raise lease_seconds"
    )


def beat_interval(s: Settings) -> float:
    """Seconds between heartbeats: `cluster_heartbeat`, but at most a third of
    `cluster_timeout`. A member silent for half the timeout stops claiming and one
    silent for the whole is dead to the others, so a slower heartbeat (30 s with
    the default 10 s timeout) made a healthy member die between every two beats
    and its hosts move back and forth."""
    return min(s.cluster_heartbeat, s.cluster_timeout / 3)


def beat_warning(s: Settings) -> str | None:
    """Why the heartbeat is not `cluster_heartbeat` as configured (`beat_interval`), or None."""
    beat = beat_interval(s)
    if beat >= s.cluster_heartbeat:
        return None
    return (
        f"cluster_heartbeat ({s.cluster_heartbeat:g}) is more than a third of cluster_timeout "
        f"({s.cluster_timeout:g}): beating every {beat:g} s instead, or the others would "
        "count this member dead between two beats"
    )
