"""A check's end in the daemon: the pure decision acted on.

The decision (outcome.py) is queued as a record for the writer, counted in the
metrics and logged when a target's state changed. Policies are built once per
kind and settings: built per check they were 3% of the daemon's CPU.
"""

from __future__ import annotations

import logging
import random

from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.daemon.outcome import Policy, decide, policy_for
from monitor.daemon.state import State
from monitor.daemon.writer import ResultWriter, latency_ms, record_of
from monitor.observe.logs import redact_url
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Claimed
from monitor.vocabulary import CheckResult, Kind

log = logging.getLogger("monitor.daemon")


class Policies:
    """`policy_for`, once per kind and settings (SIGHUP swaps the settings)."""

    def __init__(self, settings: Settings) -> None:
        self._policies: tuple[Settings, dict[Kind, Policy]] = (settings, {})

    def get(self, current: Settings, kind: Kind) -> Policy:
        settings, policies = self._policies
        if settings is not current:
            settings, policies = self._policies = (current, {})
        policy = policies.get(kind)
        if policy is None:
            policy = policies[kind] = policy_for(settings, kind)
        return policy


def finish(
    claim: Claimed,
    result: CheckResult,
    *,
    policy: Policy,
    rng: random.Random,
    writer: ResultWriter,
    membership: Membership,
    metrics: DaemonMetrics,
) -> None:
    """Act on the pure decision: queue the record, count the metric, log."""
    decision = decide(claim.state, claim.refs, result, policy, rng)
    m = membership  # the check was timed by this machine's clock: the cluster's
    writer.put(record_of(claim, result, decision, m.now(), m.offset_ms))
    membership.note_check()
    seconds = None if result.latency_ms is None else result.latency_ms / 1000
    metrics.observe(claim.kind, result.outcome, seconds)
    moved = decision.step
    level = logging.DEBUG  # a new target's first check (unknown -> up) is not news
    if moved.changed and not (
        moved.before.state is State.UNKNOWN and moved.after.state is State.UP
    ):
        level = logging.WARNING if moved.after.state is State.DOWN else logging.INFO
    if not log.isEnabledFor(level):
        return  # most checks: no line, so no context to build (a URL to redact)
    ctx = {
        "target": claim.id,
        "url": redact_url(claim.url),
        "kind": claim.kind.value,
        "outcome": result.outcome.value,
        "status": result.http_status,
        "latency_ms": latency_ms(result),
    }
    if moved.changed:
        log.log(
            level,
            "target %s → %s",
            moved.before.state.value,
            moved.after.state.value,
            extra={"ctx": {**ctx, "problems": " ".join(decision.problems)}},
        )
    else:
        log.debug("checked", extra={"ctx": ctx})
