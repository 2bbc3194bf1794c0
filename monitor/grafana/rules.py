"""Pure: the alert rules, one typed table every artefact is written from.

Every expression uses only the metrics of CONTRACT section 5, and the cluster's
of section 8 (`article_monitor_cluster_stuck_members` added to that family by
issue 14). Each rule's
expression keeps only the series that should fire (a comparison filters
them), so the same expression serves a Prometheus rule (`expr` + `for`) and
a Grafana-managed rule (query → last value → `> 0`, no data meaning OK).

Series are grouped by `job` with `max`, not summed over instances: the
members of a cluster each export the gauges of the one shared database
(CONTRACT section 8), so a sum would count every target once per member.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from monitor.durations import MAX_SECONDS  # ten years


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"


# Upper bounds of the whole-number thresholds: a value past them makes an alert
# that can never fire, and a large enough one (10**400) a number promtool and
# Prometheus cannot parse, so the rule file is refused where it is loaded.
MAX_COUNT = 10**9  # targets: far beyond any corpus
THRESHOLD_MAX = {
    "down_min": MAX_COUNT,
    "provider_down_min": MAX_COUNT,
    "stalled_after_s": MAX_SECONDS,
    "lag_s": MAX_SECONDS,
    "drift_min": MAX_COUNT,
    "cluster_members": 10_000,  # daemons on one database
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What is sane depends on the corpus; these are the knobs (`grafana export` flags).

    `for_factor` scales every `for` duration (tests compress time with it).
    """

    down_share: float = 0.05  # share of a kind's checked targets down before paging
    down_min: int = 3  # and at least this many, so a tiny corpus needs a real outage
    provider_down_min: int = 5  # targets down at one provider
    stalled_after_s: int = 1800  # no check recorded for this long while targets are overdue
    lag_s: int = 900  # oldest due target overdue by this long
    drift_min: int = 1  # links that answer but are no longer their article (issue 15)
    cluster_members: int = 1  # daemons expected in the cluster (on one database)
    for_factor: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.down_share <= 1:
            raise ValueError("down_share must be in (0, 1]")
        for name, most in THRESHOLD_MAX.items():
            value = getattr(self, name)
            if not 1 <= value <= most:
                raise ValueError(f"{name} must be at least 1 and at most {most}; got {value}")
        if self.for_factor < 0:
            raise ValueError("for_factor must not be negative")


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alert: what fires it, for how long, and what a person reads when it does."""

    name: str
    expr: str
    for_s: int
    severity: Severity
    summary: str  # Prometheus template text ({{ $labels.kind }}, {{ $value }})
    description: str
    runbook: str  # the section anchor in docs/operations.md
    status_query: str  # the status page's /targets filter for what fired ("" for none)
    no_data_fires: bool = False  # Grafana: an empty result means "firing" (absent())


def duration(seconds: int) -> str:
    """`90` → `1m30s`: the form Prometheus and Grafana both read."""
    if seconds <= 0:
        return "0s"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out += f"{n}{unit}"
    return out


def alert_rules(t: Thresholds | None = None) -> list[AlertRule]:
    """The rules, in the order the docs list them."""
    t = t or Thresholds()

    def for_(seconds: int) -> int:
        return round(seconds * t.for_factor)

    down = 'max by (job, kind) (article_monitor_targets{state="down"})'
    known = (  # up + down: a target never checked yet is no evidence either way
        'sum by (job, kind) (max by (job, kind, state) (article_monitor_targets{state=~"up|down"}))'
    )
    # a record whose `secured` fails pages at once; one without `secured` is its own,
    # slower alert: a stripped signature is a signal, but an unsigned corpus (the
    # compose stack's examples: 17 of 18) is no tampering, and paged within a minute
    bad_signatures = 'status=~"tampered|undecryptable|malformed|unknown_key"'
    return [
        AlertRule(
            name="ArticleMonitorAbsent",
            expr="absent(article_monitor_build_info)",
            for_s=for_(300),
            severity=Severity.CRITICAL,
            summary="article-monitor is not being scraped",
            description=(
                "No article_monitor_build_info series: the daemon is down, or Prometheus "
                "cannot reach /metrics (address, token, network policy)."
            ),
            runbook="articlemonitorabsent",
            status_query="",
            no_data_fires=True,
        ),
        AlertRule(
            name="ArticleMonitorStalled",
            # only while a target is overdue (the lag): a healthy daemon records a
            # cycle's checks together, then nothing for an interval (web: 3600 s by
            # default, longer than stalled_after), and that wait is no stall
            expr=(
                "time() - article_monitor_last_check_timestamp_seconds"
                f" > {t.stalled_after_s} and article_monitor_last_check_timestamp_seconds > 0"
                " and article_monitor_cycle_lag_seconds > 0"
            ),
            for_s=for_(300),
            severity=Severity.CRITICAL,
            summary=(
                "{{ $labels.instance }} has recorded no check for {{ $value | humanizeDuration }}"
            ),
            description=(
                "The daemon answers but records nothing: a database or writer error, a full "
                "disk or a stopped scheduler. /readyz names the cause."
            ),
            runbook="articlemonitorstalled",
            status_query="",
        ),
        AlertRule(
            name="ArticleMonitorDatabaseUnreadable",
            # the state gauges come from a snapshot of the database: one that fails
            # drops them (stale numbers would mislead), so Stalled, whose series
            # are among them, cannot fire, while build_info (the process's own) stays
            expr=(
                "article_monitor_build_info unless on (job, instance)"
                " article_monitor_last_check_timestamp_seconds"
            ),
            for_s=for_(300),
            severity=Severity.CRITICAL,
            summary="{{ $labels.instance }} answers but cannot read its database",
            description=(
                "/metrics has no state gauges: the daemon's snapshot of the database "
                "fails (unreachable, locked, full or damaged), so it records nothing and "
                "no alert on those gauges can fire. /readyz and the log ('metrics: cannot "
                "read the database') name the cause."
            ),
            runbook="articlemonitordatabaseunreadable",
            status_query="",
        ),
        AlertRule(
            name="ArticleMonitorFallingBehind",
            expr=f"max by (job, instance) (article_monitor_cycle_lag_seconds) > {t.lag_s}",
            for_s=for_(900),
            severity=Severity.WARNING,
            summary="targets are checked {{ $value | humanizeDuration }} late",
            description=(
                "The oldest due target is overdue and stays so: raise --concurrency, lengthen "
                "the intervals, or add a daemon on the shared PostgreSQL."
            ),
            runbook="articlemonitorfallingbehind",
            status_query="",
        ),
        AlertRule(
            name="ArticleTargetsDown",
            expr=f"({down} / {known} > {t.down_share:g}) and {down} >= {t.down_min}",
            for_s=for_(900),
            severity=Severity.WARNING,
            summary="{{ $value | humanizePercentage }} of {{ $labels.kind }} targets are down",
            description=(
                f"More than {t.down_share:.0%} (and at least {t.down_min}) of the checked "
                "{{ $labels.kind }} targets are down. The status page lists them."
            ),
            runbook="articletargetsdown",
            status_query="state=down&kind={{ $labels.kind }}",
        ),
        AlertRule(
            name="ArticleProviderMostlyDown",
            expr=(
                "max by (job, provider) (article_monitor_provider_targets_down)"
                f" >= {t.provider_down_min}"
            ),
            for_s=for_(900),
            severity=Severity.WARNING,
            summary="{{ $value }} targets of {{ $labels.provider }} are down",
            description=(
                "One publisher has many links down at once: its site, its CDN or its AMP "
                "cache is failing, or it blocks the monitor."
            ),
            runbook="articleprovidermostlydown",
            status_query="state=down&provider={{ $labels.provider | urlquery }}",  # any domain
        ),
        AlertRule(
            name="ArticleSignaturesFailing",
            expr=f"max by (job, status) (article_monitor_signatures{{{bad_signatures}}}) > 0",
            for_s=for_(0),
            severity=Severity.CRITICAL,
            summary="{{ $value }} articles have `secured` status {{ $labels.status }}",
            description=(
                "Records were changed after signing, a key is missing or was rotated out: "
                "`article-monitor status` lists the articles."
            ),
            runbook="articlesignaturesfailing",
            status_query="",
        ),
        AlertRule(
            name="ArticleSignaturesMissing",
            expr='max by (job) (article_monitor_signatures{status="missing"}) > 0',
            for_s=for_(1800),
            severity=Severity.WARNING,
            summary="{{ $value }} articles have no `secured` field",
            description=(
                "Records carry no signature: never signed (sign them, or keep them out of "
                "the corpus), or stripped after signing, which is tampering: "
                "`article-monitor verify PATH` gives each record's status."
            ),
            runbook="articlesignaturesmissing",
            status_query="",
        ),
        AlertRule(
            name="ArticleCertificatesExpiring",
            expr='max by (job) (article_monitor_problems{code="certificate_expiring"}) > 0',
            for_s=for_(3600),
            severity=Severity.WARNING,
            summary="{{ $value }} targets serve a TLS certificate that expires soon",
            description="Tell the publishers concerned; the status page lists the targets.",
            runbook="articlecertificatesexpiring",
            status_query="problem=certificate_expiring",
        ),
        AlertRule(
            name="ArticleLinksDrifted",
            expr=(
                "max by (job, code) "
                '(article_monitor_problems{code=~"content_drift|redirect_to_root|soft_404"})'
                f" >= {t.drift_min}"
            ),
            for_s=for_(3600),
            severity=Severity.WARNING,
            summary=(
                "{{ $value }} links answer but are no longer their article ({{ $labels.code }})"
            ),
            description=(
                "The pages answer 2xx but now show something else (another page, a parked "
                "domain, the home page, a not-found page): fix or retire the records."
            ),
            runbook="articlelinksdrifted",
            status_query="problem={{ $labels.code }}",
        ),
        AlertRule(
            name="ArticleInvalidDocuments",
            expr="max by (job) (article_monitor_invalid_documents) > 0",
            for_s=for_(900),
            severity=Severity.WARNING,
            summary="{{ $value }} corpus documents cannot be read or are invalid",
            description=(
                "They are skipped, so their links are not watched. /readyz and the daemon's "
                "log name each file and line."
            ),
            runbook="articleinvaliddocuments",
            status_query="",
        ),
        *cluster_rules(t, for_),
    ]


def cluster_rules(t: Thresholds, for_: Callable[[int], int]) -> list[AlertRule]:
    """Several daemons on one database (CONTRACT section 8). Every member exports
    the cluster as it sees it; `max by (job)` takes the most any member sees."""
    members = "max by (job) (article_monitor_cluster_members)"
    leaders = "max by (job) (article_monitor_cluster_leader)"
    return [
        AlertRule(
            name="ArticleMonitorClusterShrunk",
            expr=f"{t.cluster_members} - {members} > 0",
            for_s=for_(300),
            severity=Severity.WARNING,
            summary=f"{{{{ $value }}}} of the {t.cluster_members} expected daemons are missing",
            description=(
                "Fewer live daemons share the database than expected: one died, cannot "
                "reach PostgreSQL, or was not restarted. The others check its hosts."
            ),
            runbook="articlemonitorclustershrunk",
            status_query="",
        ),
        AlertRule(
            name="ArticleMonitorClusterLeaderless",
            expr=(
                f"count by (job) (article_monitor_cluster_leader) unless on (job) ({leaders} > 0)"
            ),
            for_s=for_(300),
            severity=Severity.WARNING,
            summary="none of the {{ $value }} daemons leads maintenance",
            description=(
                "No member holds the maintenance lease, so retention and rollups do not "
                "run (and a shared corpus is not rescanned): the heartbeats are failing."
            ),
            runbook="articlemonitorclusterleaderless",
            status_query="",
        ),
        AlertRule(
            name="ArticleMonitorClusterMemberStuck",
            expr="max by (job) (article_monitor_cluster_stuck_members) > 0",
            for_s=for_(300),
            severity=Severity.WARNING,
            summary="{{ $value }} cluster members are stuck",
            description=(
                "A daemon heartbeats but has recorded no result for a whole lease while "
                "holding claims; its hosts went to the others. `article-monitor cluster` "
                "names it."
            ),
            runbook="articlemonitorclustermemberstuck",
            status_query="",
        ),
    ]
