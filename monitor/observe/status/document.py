"""The `status` document: what `article-monitor status --format json` prints and
`/api/v1/status` answers (one function builds both)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitor.daemon.state import State
from monitor.vocabulary import Kind

if TYPE_CHECKING:
    from monitor.storage.repository import Repository
    from monitor.storage.values import Snapshot


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z: the first instant RFC 3339 writes
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last


def rfc3339(ms: int | None) -> str | None:
    """Milliseconds since the epoch as RFC 3339 UTC (`…Z`), None for None.

    An instant RFC 3339 cannot write (a next check years
    past 9999, put there by a bad clock or an old bug) is shown as the
    nearest one it can: it made `status` and the status pages fail on every call."""
    if ms is None or ms != ms:  # NaN (a REAL written by hand) is no instant: unknown
        return None
    # clamped before int(): an infinity (`1e999` in SQLite) made int() fail
    at = _EPOCH + timedelta(milliseconds=int(min(max(ms, FIRST_MS), LAST_MS)))
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def whole_ms(value: float | None) -> int | None:
    """A stored duration in milliseconds as JSON can carry it: an infinity or NaN
    (a REAL written into the column by hand) is unknown, not `Infinity`, which
    no strict JSON reader (jq, JSON.parse) accepts."""
    if value is None or not math.isfinite(value):
        return None
    return int(value)


def status_document(
    repo: Repository, limit: int = 20, snap: Snapshot | None = None
) -> dict[str, Any]:
    """Targets by kind and state, worst providers, recent transitions, signatures
    and problems; `limit` rows per list. The daemon passes the snapshot its metrics
    took in the background (a fresh one costs ~0.2 s at 1M targets)."""
    if snap is None:
        snap = repo.snapshot()
    return {
        "articles": snap.articles,
        "invalid_documents": snap.invalid_documents,
        "excluded_targets": snap.excluded_targets,
        "targets": {
            k.value: {s.value: snap.targets.get((k.value, s.value), 0) for s in State} for k in Kind
        },
        "last_check": rfc3339(snap.last_check_ms),
        "oldest_due": rfc3339(snap.oldest_due_ms),
        "worst_providers": repo.worst_providers(limit),
        "recent_transitions": [
            {
                "at": rfc3339(t["at"]),
                "target": t["target_id"],
                "url": t["url"],
                "kind": t["kind"],
                "from": t["from_state"],
                "to": t["to_state"],
                "outcome": t["outcome"],
                "problems": t["problems"].split(),
                "error": t["error"],
            }
            for t in repo.recent_transitions(limit)
        ],
        "signatures": snap.signatures,
        "signature_problems": repo.signature_problems(limit),
        "problems": snap.problems,
    }


def target_item(row: dict[str, Any]) -> dict[str, Any]:
    """One target as /api/v1/targets lists it (CONTRACT section 6)."""
    return {
        "id": row["id"],
        "url": row["url"],
        "kind": row["kind"],
        "provider": row["provider"],
        "state": row["state"],
        "since": rfc3339(row["since"]),
        "active": row["next_due"] is not None,
        "last_outcome": row["last_outcome"],
        "last_status": row["last_status"],
        "last_checked": rfc3339(row["last_checked_at"]),
        "problems": row["last_problems"].split(),
        "last_error": row["last_error"],
        "articles": row["articles"],
    }


def target_detail(row: dict[str, Any]) -> dict[str, Any]:
    """One target with its transitions and results, newest first."""
    return {
        **target_item(row),
        "links": [
            {
                "article": link["article_id"],
                "field": link["path"],
                "origin": link["origin"],
                "webUrl": link["web_url"],
                "title": link["title"],
            }
            for link in row["links"]
        ],
        # `links` holds the first ARTICLES_PER_ITEM links (one per article and field):
        # true when it has more
        "links_more": row["links_more"],
        "transitions": [
            {
                "at": rfc3339(t["at"]),
                "from": t["from_state"],
                "to": t["to_state"],
                "outcome": t["outcome"],
                "problems": t["problems"].split(),
                "error": t["error"],
            }
            for t in row["transitions"]
        ],
        "results": [
            {
                "at": rfc3339(r["checked_at"]),
                "outcome": r["outcome"],
                "http_status": r["http_status"],
                "latency_ms": whole_ms(r["latency_ms"]),
                "problems": (r["problems"] or "").split(),
            }
            for r in row["results"]
        ],
        "events": [
            {"at": rfc3339(e["at"]), "kind": e["kind"], "detail": e["detail"]}
            for e in row.get("events", [])
        ],
    }


def article_document(art: dict[str, Any]) -> dict[str, Any]:
    """One article: webUrl, title, signature, problems and its targets (the first
    TARGETS_PER_ARTICLE, in field order, and how many it has)."""
    verified = art["verified"]
    return {
        "id": art["id"],
        "webUrl": art["web_url"],
        "title": art["title"],
        "source": art["source"],
        "line": art["line"],
        "provider": art["provider"],
        "signature": {
            "status": art["signature_status"],
            "fields": art["signature_fields"].split(),
            "verified_at": None if verified is None else rfc3339(verified["at"]),
            "kid": None if verified is None else verified["kid"],
            "envelope": None if verified is None else verified["envelope"],
        },
        "problems": art["problems"].split(),
        "targets": [
            {
                "id": t["id"],
                "url": t["url"],
                "kind": t["kind"],
                "field": t["path"],
                "origin": t["origin"],
                "state": t["state"],
                "last_outcome": t["last_outcome"],
                "last_checked": rfc3339(t["last_checked_at"]),
                "problems": t["last_problems"].split(),
            }
            for t in art["targets"]
        ],
        # `targets` holds the first TARGETS_PER_ARTICLE: this says whether that is all
        "targets_total": art["targets_total"],
    }
