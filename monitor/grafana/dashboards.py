"""The dashboards as code (grafana-foundation-sdk, Grafana 11 schema).

Two dashboards: an overview of the whole fleet, and a drill-down by provider
and kind (template variables). Every query uses only the metrics of CONTRACT
section 5; `panel_queries` lists them so the tests can run each one against
a live Prometheus and require series back.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    piechart,
    prometheus,
    stat,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BigValueGraphMode, LegendDisplayMode
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    VariableRefresh,
    VariableSort,
)

OVERVIEW_UID = "article-monitor"
DRILLDOWN_UID = "article-monitor-drilldown"
_DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
_I = 'instance=~"$instance"'


def _query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(_DS)
    return q.legend_format(legend) if legend else q


def _stat(title: str, expr: str, unit: str, desc: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(desc)
        .datasource(_DS)
        .with_target(_query(expr))
        .unit(unit)
        .graph_mode(BigValueGraphMode.AREA)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(4)
    )


def _series(title: str, unit: str, desc: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(desc)
        .datasource(_DS)
        .unit(unit)
        .legend(common.VizLegendOptions().display_mode(LegendDisplayMode.TABLE).show_legend(True))
        .height(8)
        .span(12)
    )
    for q in queries:
        panel = panel.with_target(q)
    return panel


def _variables(board: dashboard.Dashboard, *extra: dashboard.QueryVariable) -> dashboard.Dashboard:
    board = board.with_variable(
        dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
    ).with_variable(_label_variable("instance", "Instance", "article_monitor_build_info"))
    for var in extra:
        board = board.with_variable(var)
    return board


def _label_variable(name: str, label: str, metric: str) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(_DS)
        .query(f"label_values({metric}, {name})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .multi(True)
        .all_value(".*")
    )


def _quantiles(selector: str, by: str) -> list[prometheus.Dataquery]:
    bucket = f"article_monitor_check_duration_seconds_bucket{{{selector}}}"
    return [
        _query(
            f"histogram_quantile({q}, sum by ({by}, le) (rate({bucket}[5m])))",
            f"p{round(q * 100)} {{{{{by}}}}}",
            ref,
        )
        for q, ref in ((0.5, "A"), (0.95, "B"), (0.99, "C"))
    ]


def overview() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("article-monitor")
        .uid(OVERVIEW_UID)
        .description("Link health and record integrity of the monitored corpus.")
        .tags(["article-monitor"])
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("browser")
        .editable()
    )
    board = _variables(board)
    stats = [
        ("Articles", f"max(article_monitor_articles{{{_I}}})", "short", "Articles in the corpus."),
        (
            "Targets down",
            f'max by (kind) (article_monitor_targets{{{_I},state="down"}})',
            "short",
            "Targets whose state is down, by kind.",
        ),
        (
            "Cycle lag",
            f"max(article_monitor_cycle_lag_seconds{{{_I}}})",
            "s",
            "How far the oldest due target is overdue.",
        ),
        (
            "Last check age",
            f"time() - max(article_monitor_last_check_timestamp_seconds{{{_I}}})",
            "s",
            "Seconds since a check was last recorded.",
        ),
        (
            "Invalid documents",
            f"max(article_monitor_invalid_documents{{{_I}}})",
            "short",
            "Documents skipped as unreadable or invalid.",
        ),
        (
            "Daemons",
            f"count(article_monitor_build_info{{{_I}}})",
            "short",
            "Daemons scraped (a cluster has several).",
        ),
    ]
    board = board.with_row(dashboard.Row("Now"))
    for title, expr, unit, desc in stats:
        board = board.with_panel(_stat(title, expr, unit, desc))
    board = board.with_row(dashboard.Row("Targets and checks"))
    board = (
        board.with_panel(
            _series(
                "Targets by kind and state",
                "short",
                "Every target's current state (hysteresis: one failure does not make it down).",
                _query(
                    f"max by (kind, state) (article_monitor_targets{{{_I}}})", "{{kind}} {{state}}"
                ),
            )
        )
        .with_panel(
            _series(
                "Checks per second by outcome",
                "ops",
                "The rate of finished checks, by the contract's outcomes.",
                _query(
                    f"sum by (outcome) (rate(article_monitor_checks_total{{{_I}}}[5m]))",
                    "{{outcome}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Check duration quantiles by kind",
                "s",
                "p50, p95 and p99 of one check (redirects and retries included).",
                *_quantiles(_I, "kind"),
            )
        )
        .with_panel(
            _series(
                "Cycle lag and last check age",
                "s",
                "Growing lag: the daemon cannot keep up with its intervals.",
                _query(f"max(article_monitor_cycle_lag_seconds{{{_I}}})", "cycle lag", "A"),
                _query(
                    f"time() - max(article_monitor_last_check_timestamp_seconds{{{_I}}})",
                    "last check age",
                    "B",
                ),
            )
        )
    )
    board = board.with_row(dashboard.Row("Findings"))
    board = (
        board.with_panel(
            _series(
                "Problems by code",
                "short",
                "Open findings by problem code (CONTRACT section 3).",
                _query(f"max by (code) (article_monitor_problems{{{_I}}})", "{{code}}"),
            )
        )
        .with_panel(
            _series(
                "Links no longer their article",
                "short",
                "Pages that answer 2xx but have drifted from the record (content_drift), "
                "were sent to the site's home page (redirect_to_root) or are a not-found "
                "page (soft_404). Alert: ArticleLinksDrifted.",
                _query(
                    "max by (code) (article_monitor_problems{"
                    f'{_I},code=~"content_drift|redirect_to_root|soft_404"}})',
                    "{{code}}",
                ),
            )
        )
        .with_panel(
            piechart.Panel()
            .title("Signatures by status")
            .description("`secured` verification status of every article.")
            .datasource(_DS)
            .with_target(
                _query(f"max by (status) (article_monitor_signatures{{{_I}}})", "{{status}}")
            )
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
            .height(8)
            .span(12)
        )
        .with_panel(
            bargauge.Panel()
            .title("Worst providers (targets down)")
            .description("The ten providers with the most targets down.")
            .datasource(_DS)
            .with_target(
                _query(
                    f"topk(10, max by (provider) (article_monitor_provider_targets_down{{{_I}}}))",
                    "{{provider}}",
                )
            )
            .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
            .height(8)
            .span(12)
        )
        .with_panel(
            _series(
                "Invalid documents",
                "short",
                "Documents skipped; the daemon's log and /readyz name each file and line.",
                _query(f"max(article_monitor_invalid_documents{{{_I}}})", "invalid documents"),
            )
        )
    )
    return board


def drilldown() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("article-monitor: provider and kind")
        .uid(DRILLDOWN_UID)
        .description("One provider's and one kind's targets, checks and latency.")
        .tags(["article-monitor"])
        .refresh("1m")
        .time("now-24h", "now")
        .timezone("browser")
        .editable()
    )
    board = _variables(
        board,
        _label_variable("kind", "Kind", "article_monitor_targets"),
        _label_variable("provider", "Provider", "article_monitor_provider_targets_down"),
    )
    sel = f'{_I},kind=~"$kind"'
    return (
        board.with_panel(
            _series(
                "Targets by state",
                "short",
                "Targets of the selected kinds, by state.",
                _query(
                    f"max by (kind, state) (article_monitor_targets{{{sel}}})", "{{kind}} {{state}}"
                ),
            )
        )
        .with_panel(
            _series(
                "Checks per second by outcome",
                "ops",
                "Finished checks of the selected kinds.",
                _query(
                    f"sum by (kind, outcome) (rate(article_monitor_checks_total{{{sel}}}[5m]))",
                    "{{kind}} {{outcome}}",
                ),
            )
        )
        .with_panel(
            _series(
                "Check duration quantiles",
                "s",
                "p50, p95 and p99 of one check, for the selected kinds.",
                *_quantiles(sel, "kind"),
            )
        )
        .with_panel(
            _series(
                "Targets down by provider",
                "short",
                "The selected providers' targets that are down.",
                _query(
                    "max by (provider) (article_monitor_provider_targets_down"
                    f'{{{_I},provider=~"$provider"}})',
                    "{{provider}}",
                ),
            )
        )
    )


def to_json(board: dashboard.Dashboard) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model, with stable key order and panel ids.

    Panel ids are numbered here (rows included) so links to a panel stay put.
    """
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder, sort_keys=True))
    for number, panel in enumerate(data.get("panels", []), start=1):
        panel["id"] = number
    return data


def all_dashboards() -> dict[str, dict[str, Any]]:
    """File stem → dashboard JSON."""
    return {
        "article-monitor": to_json(overview()),
        "article-monitor-drilldown": to_json(drilldown()),
    }


def panel_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every panel query, template variables left in."""
    return [
        (p.get("title", ""), t["expr"])
        for p in board.get("panels", [])
        for t in p.get("targets", [])
        if "expr" in t
    ]
