"""`article-monitor cluster`: the daemons sharing this database (CONTRACT section 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from monitor.cli.options import config_option, db_options, settings_from
from monitor.cli.status import _emit, _fmt, _format_option, _repo, _row, _when, shown

RULES_SHOWN = 12  # hex digits of a member's rules' digest shown: enough to tell them apart


@click.command()
@config_option
@db_options
@_format_option
def cluster(config_file: Path | None, fmt: str | None, **flags: Any) -> None:
    """The daemons sharing this database: each member's id, host, version, start,
    last heartbeat, checks per second, and which one leads maintenance.

    A member whose heartbeat is older than `cluster_timeout` is shown dead;
    its claimed targets are checked by the others once their leases run out.
    A member shown stuck heartbeats but held claims for a whole lease without
    recording a result: its hosts went to the others. The rules column is the
    start of a digest of each member's kinds, related, exclude_urls, keys and
    exclude_fields: members showing different ones read the corpus and claim
    with different rules ("rules differ between members"): give them the same.
    SQLite is a cluster of one.

    \b
    Examples:
      article-monitor cluster --db postgresql+psycopg://monitor@db/monitor
      article-monitor cluster --data-dir data --format json

    Exit codes: 0 printed; 2 usage or configuration error, or a database that
    cannot be read (none yet, or one that predates clusters: `db upgrade`).
    """
    from sqlalchemy import inspect

    settings = settings_from(config_file, flags)
    timeout_ms = int(settings.cluster_timeout * 1000)
    with _repo(config_file, flags) as repo:
        if not inspect(repo.engine).has_table("cluster_members"):
            from monitor.cli import CliError

            raise CliError("the database predates clusters: run `article-monitor db upgrade`")
        view = repo.cluster(timeout_ms)
    members = [
        {
            "id": m.id,
            "host": m.host,
            "pid": m.pid,
            "version": m.version,
            "alive": m.alive,
            "leader": m.leader,
            "stuck": m.stuck,
            "stuck_since": _time(m.stuck_since) if m.stuck else None,
            "started": _time(m.started_at),
            "heartbeat": _time(m.heartbeat_at),
            "heartbeat_age_s": round((view.now - m.heartbeat_at) / 1000, 1),
            "checks": m.checks,
            "checks_per_s": m.rate,
            # the start of its rules' digest (a hash of hashes: nothing of a key)
            "rules": m.rules[:RULES_SHOWN] if m.rules else None,
        }
        for m in view.members
    ]
    data = {
        "members": sum(1 for m in view.members if m.alive),
        "leader": view.leader,
        "stuck": len(view.stuck),
        "rules_differ": view.rules_differ,
        "database_time": _when(view.now),
        "list": members,
    }
    if _fmt(fmt) == "json":
        _emit(data)
        return
    from rich.console import Console
    from rich.table import Table

    stuck = f", {data['stuck']} stuck" if data["stuck"] else ""
    leader = shown(view.leader or "none")
    differ = "; [bold]rules differ between members[/]" if view.rules_differ else ""
    t = Table(title=f"{data['members']} live members{stuck}; leader {leader}{differ}")
    cols = ("id", "host", "pid", "version", "state", "heartbeat", "checks", "checks/s", "rules")
    for col in cols:
        t.add_column(col, justify="right" if col in ("pid", "checks", "checks/s") else "left")
    for m in members:
        state = ("leader" if m["leader"] else "alive") if m["alive"] else "dead"
        if m["stuck"]:
            state += ", stuck"
        _row(
            t,
            str(m["id"]),
            str(m["host"]),
            str(m["pid"]),
            str(m["version"]),
            state,
            heartbeat_age(float(m["heartbeat_age_s"] or 0)),
            str(m["checks"]),
            f"{m['checks_per_s']:.1f}",
            str(m["rules"] or "-"),
        )
    Console(soft_wrap=False).print(t)


AHEAD_SHOWN_S = 90  # a heartbeat this far ahead of the database's clock is said to be


def heartbeat_age(age_s: float) -> str:
    """`12.5s ago`; a heartbeat stamped 90 s or more ahead of the database's clock
    (SQLite's is the machine's: one stepped back since the beat) is `…s from now`,
    not a negative age; less ahead (a beat committed as the view was read) is `0.0s
    ago`. The JSON keeps the number as it is."""
    if age_s <= -AHEAD_SHOWN_S:
        return f"{-age_s}s from now"
    return f"{max(age_s, 0.0)}s ago"


def _time(ms: int | None) -> str | None:
    """A member row's time as RFC 3339 (one past what it writes shown as the nearest
    it does); None for one that is no number at all (a row written by hand or by a
    broken clock is shown, not raised)."""
    try:
        return _when(ms)
    except (OverflowError, ValueError, OSError):
        return None
