"""`article-monitor grafana export|push`: the dashboards and alert rules (CONTRACT section 7)."""

from __future__ import annotations

import math
import stat
from pathlib import Path
from typing import Any

import click

from monitor.cli.options import WholeRange, WholeSeconds
from monitor.cli.paths import GivenPath
from monitor.grafana.rules import THRESHOLD_MAX, Thresholds

_DEFAULT = Thresholds()


class Share(click.FloatRange):
    """A share in (0, 1]: click's range lets nan through (it compares false)."""

    def __init__(self) -> None:
        super().__init__(0, 1, min_open=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        share = super().convert(value, param, ctx)
        if math.isnan(share):
            self.fail(f"{value!r} is not a number in the range 0<x<=1.", param, ctx)
        return share


DEFAULT_STATUS_URL = "http://127.0.0.1:9464"  # the daemon's default listen address

_SHARED = [
    click.option(
        "--down-share",
        type=Share(),
        default=_DEFAULT.down_share,
        show_default=True,
        help="Share of a kind's checked targets down before ArticleTargetsDown fires.",
    ),
    click.option(
        "--down-min",
        type=WholeRange(min=1, max=THRESHOLD_MAX["down_min"]),
        default=_DEFAULT.down_min,
        show_default=True,
        help="...and at least this many targets down (a small corpus needs a real outage).",
    ),
    click.option(
        "--provider-down-min",
        type=WholeRange(min=1, max=THRESHOLD_MAX["provider_down_min"]),
        default=_DEFAULT.provider_down_min,
        show_default=True,
        help="Targets down at one provider before ArticleProviderMostlyDown fires.",
    ),
    click.option(
        "--stalled-after",
        type=WholeSeconds(min=1, max=THRESHOLD_MAX["stalled_after_s"]),
        default=_DEFAULT.stalled_after_s,
        show_default=True,
        metavar="SECONDS",
        help="No check recorded for this long while a target is overdue: ArticleMonitorStalled.",
    ),
    click.option(
        "--lag",
        type=WholeSeconds(min=1, max=THRESHOLD_MAX["lag_s"]),
        default=_DEFAULT.lag_s,
        show_default=True,
        metavar="SECONDS",
        help="Cycle lag before ArticleMonitorFallingBehind.",
    ),
    click.option(
        "--cluster-members",
        type=WholeRange(min=1, max=THRESHOLD_MAX["cluster_members"]),
        default=_DEFAULT.cluster_members,
        show_default=True,
        help="Daemons expected on the shared database: fewer fire ArticleMonitorClusterShrunk.",
    ),
    click.option(
        "--status-url",
        default=None,
        callback=lambda ctx, param, value: link(value, param, absolute=True),
        help="The daemon's status page as people reach it; alerts link to it. "
        "[default: the configured public_url (--config, ARTICLE_MONITOR_PUBLIC_URL), "
        f"else {DEFAULT_STATUS_URL}]",
    ),
    click.option(
        "--config",
        "config_file",
        type=GivenPath(dir_okay=False),
        help="The daemon's TOML configuration, read for public_url when --status-url is not given.",
    ),
    click.option(
        "--runbook-url",
        default="docs/operations.md",
        show_default=True,
        callback=lambda ctx, param, value: link(value, param, absolute=False),
        help="Where docs/operations.md is served; each alert links to its section.",
    ),
    click.option(
        "--datasource-uid",
        default="prometheus",
        show_default=True,
        callback=lambda ctx, param, value: datasource_uid(value),
        help="uid of the Prometheus data source in Grafana.",
    ),
]


def link(value: str | None, param: click.Parameter, *, absolute: bool) -> str | None:
    """A link written into every alert's annotations, or a usage error: a line break
    there split the rule file's annotation (`runbook_url: 'docs/ops.md\n…'`), and the
    status page's address is an http(s) URL (public_url's rule, monitor/urls.py)."""
    if value is None:
        return None
    from monitor import path_text, urls

    problem = urls.problem(value) if absolute else path_text.problem(value)
    if problem is not None:
        shown = urls.redact(value) if absolute else value
        raise click.BadParameter(f"{shown[:80]!r} {problem}", param=param)
    return value


def datasource_uid(value: str) -> str:
    """`value` if Grafana takes it as a uid, else a usage error (push checks --folder so)."""
    from monitor.grafana.provisioning import UID

    if not UID.fullmatch(value):
        raise click.BadParameter(
            f"{value[:60]!r} is not a Grafana uid: 1 to 40 letters, digits, - or _",
            param_hint="--datasource-uid",
        )
    return value


def shared_options(f: Any) -> Any:
    for option in reversed(_SHARED):
        f = option(f)
    return f


def status_url(flags: dict[str, Any]) -> str:
    """--status-url, else the configured `public_url` (what people reach the
    daemon's pages at, behind a proxy), else the daemon's default address."""
    if flags.get("status_url"):
        return str(flags["status_url"])
    from monitor.cli.options import settings_from

    public_url = settings_from(flags.get("config_file"), {}).public_url
    return public_url or DEFAULT_STATUS_URL


def export_settings(flags: dict[str, Any]) -> Any:
    from monitor.grafana.export import ExportSettings
    from monitor.grafana.prometheus import Links

    return ExportSettings(
        thresholds=Thresholds(
            down_share=flags["down_share"],
            down_min=flags["down_min"],
            provider_down_min=flags["provider_down_min"],
            stalled_after_s=flags["stalled_after"],
            lag_s=flags["lag"],
            cluster_members=flags["cluster_members"],
        ),
        links=Links(runbook_base=flags["runbook_url"], status_base=status_url(flags)),
        datasource_uid=flags["datasource_uid"],
        **({"webhook_url": flags["webhook_url"]} if flags.get("webhook_url") else {}),
    )


@click.group()
def grafana() -> None:
    """Dashboards and alert rules for Grafana, Prometheus and Kubernetes.

    \b
    article-monitor grafana export --out grafana/
    article-monitor grafana push --url https://grafana.example.com --token-file token
    """


@grafana.command()
@click.option(
    "--out",
    type=GivenPath(file_okay=False, dash="refused"),
    required=True,
    help="Folder to write into (created if missing; files there are replaced); "
    "not '-': stdout cannot hold a folder of files.",
)
@click.option(
    "--webhook-url",
    default=None,
    help=(
        "URL of the example contact point (a webhook). Slack and PagerDuty URLs hold "
        "their key: the file that has one is written 0600."
    ),
)
@shared_options
def export(out: Path, **flags: Any) -> None:
    """Write the dashboards (Grafana JSON), the Prometheus rule file, Grafana's
    alerting provisioning files (rules, a contact point, a notification
    policy), data source and dashboard providers, and a Kubernetes
    PrometheusRule.

    \b
    Layout under --out:
      dashboards/*.json                      import, or provision from a folder
      prometheus/article-monitor.rules.yml   rule_files: for Prometheus
      provisioning/alerting/*.yaml           Grafana-managed alerting
      provisioning/{datasources,dashboards}/ Grafana file provisioning
      kubernetes/prometheusrule.yaml         prometheus-operator

    \b
    Examples:
      article-monitor grafana export --out grafana/
      article-monitor grafana export --out rules/ --down-min 10 --status-url https://ops.example/am

    Exit codes: 0 written; 2 usage error or a folder that cannot be written.
    """
    from monitor.grafana.export import write

    if out.is_symlink() and not out.exists():  # mkdir said only "File exists"
        from monitor.cli import CliError

        raise CliError(
            f"--out {click.format_filename(out)} is a symbolic link to a folder that does "
            "not exist: make that folder, or give another --out"
        )
    for path in write(out, export_settings(flags)):
        click.echo(str(path))


def read_token(path: Path, allow_insecure: bool = False) -> str:
    from monitor.cli import CliError
    from monitor.config import ConfigError
    from monitor.small_files import read_small_file

    try:  # a regular file, read to a cap: /dev/zero or a FIFO no longer hang or exhaust memory
        st, text = read_small_file(path, "--token-file")
    except ConfigError as exc:
        raise CliError(f"cannot read the token: {exc}") from None
    mode, token = st.st_mode, text.strip()
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not allow_insecure:
        raise CliError(
            f"{path}: group or others can read the token file; chmod 600 it "
            "(or pass --allow-insecure-token-permissions)"
        )
    # an HTTP header carries ASCII only: a pasted typographic quote is refused here
    if not token or any(c.isspace() or not c.isprintable() or not c.isascii() for c in token):
        raise CliError(
            f"{path}: the file must hold one token: one line of ASCII, "
            "no spaces or control characters"
        )
    return token


@grafana.command()
@click.option("--url", required=True, help="Grafana's root URL, e.g. https://grafana.example.com.")
@click.option(
    "--token-file",
    type=GivenPath(dir_okay=False),
    required=True,
    help="File holding a service account token (mode 0600).",
)
@click.option(
    "--folder",
    default="article-monitor",
    show_default=True,
    help="uid of the folder for the dashboards and rules (created if missing).",
)
@click.option(
    "--allow-insecure-token-permissions",
    is_flag=True,
    help="Accept a token file that group or others can read.",
)
@click.option(
    "--allow-insecure",
    is_flag=True,
    help="Send the token over plain http to a host beyond loopback (anyone on the "
    "path can read it and write to your Grafana): only on a network you trust.",
)
@shared_options
def push(
    url: str,
    token_file: Path,
    folder: str,
    allow_insecure_token_permissions: bool,
    allow_insecure: bool,
    **flags: Any,
) -> None:
    """Upload the dashboards and alert rules to a Grafana (11 or later) over its
    HTTP API. Only what differs is written: a second identical push changes
    nothing. Exit 2 with the reason when Grafana refuses (token, permission,
    conflict, version).

    The token goes over https, or plain http to loopback; plain http to any
    other host is refused (exit 2) unless --allow-insecure, which still warns
    on stderr.

    \b
    Examples:
      article-monitor grafana push --url https://grafana.example.com --token-file token
      article-monitor grafana push --url http://127.0.0.1:3000 --token-file token --folder ops

    Exit codes: 0 Grafana holds the current dashboards and rules; 2 usage
    error, a token file that cannot be used, or Grafana unreachable or
    refusing (the reason is said).
    """
    from monitor import urls
    from monitor.cli import CliError
    from monitor.grafana.provisioning import UID
    from monitor.grafana.push import PushError, client, in_clear
    from monitor.grafana.push import push as do_push

    problem = urls.problem(url)  # the one rule; the URL shown without its credentials
    if problem is not None:
        raise CliError(f"--url {urls.redact(url)[:60]!r} cannot be used: {problem}")
    if in_clear(url):
        shown = urls.redact(url)[:60]
        if not allow_insecure:
            raise CliError(
                f"--url {shown!r} is plain http beyond loopback: the token would cross the "
                "network unencrypted; use Grafana's https URL (or pass --allow-insecure on a "
                "network you trust)"
            )
        click.echo(
            f"warning: sending the Grafana token unencrypted to {shown!r} (--allow-insecure)",
            err=True,
        )
    if not UID.fullmatch(folder):
        raise CliError(
            f"--folder {folder[:60]!r} is not a Grafana uid: 1 to 40 letters, digits, - or _"
        )
    token = read_token(token_file, allow_insecure_token_permissions)
    try:
        with client(url, token) as http:
            report = do_push(http, folder, export_settings(flags))
    except PushError as exc:
        raise CliError(str(exc)) from None
    for label, items in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        for item in items:
            click.echo(f"{label:9} {item}")
