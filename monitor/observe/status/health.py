"""The daemon's own health as the status pages' banner shows it: each failing
part with its reason and since when, read from the same detail /readyz serves.

An operator reads the overview, not /readyz: with the disk full or a corpus
path gone the page showed its counts as usual and said nothing. The parts are
taken from /readyz's detail (monitor/daemon/readiness.py judges it), so the two
never disagree; `HealthBook` adds since when each has failed, as first found by
a /readyz probe or a page view (the daemon judges its health only then).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# /readyz's corpus lines that are no failure
CORPUS_FINE = ("not scanned yet", "scanned by the cluster's leader")


@dataclass(frozen=True, slots=True)
class Trouble:
    part: str  # what fails: "writes", "database", "corpus", …
    reason: str  # the daemon's words (may name files and quote server text)
    since: str  # RFC 3339, when first found failing


def troubles(detail: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Pure: (part, reason) for each failing part of a /readyz detail, in its order."""
    out: list[tuple[str, str]] = []

    def failing(part: str, key: str, fine: str = "ok") -> None:
        value = detail.get(key)
        if value is not None and value != fine:
            out.append((part, str(value)))

    failing("daemon", "status", fine="")  # starting…, stopping
    failing("database", "database")
    failing("scheduler", "scheduler", fine="running")
    failing("writes", "writer")
    failing("claims", "claims")
    failing("corpus scan", "scan")
    corpus = detail.get("corpus")
    for line in corpus if isinstance(corpus, list) else ():
        if not str(line).startswith(CORPUS_FINE):
            out.append(("corpus", str(line)))
    cluster = detail.get("cluster")
    if isinstance(cluster, Mapping):
        if cluster.get("heartbeat") is not None:
            out.append(("cluster heartbeat", str(cluster["heartbeat"])))
        if cluster.get("stuck"):
            members = ", ".join(str(m) for m in cluster["stuck"])
            out.append(("cluster", f"members stuck (holding claims, recording nothing): {members}"))
    failing("progress", "progress")
    failing("checker processes", "checkers")
    return out


def _key(part: str, reason: str) -> str:
    # a corpus line is a failure of its own (one path back, another still gone);
    # any other part keeps its since while its reason changes (locked, then full)
    return f"{part}\0{reason}" if part == "corpus" else part


class HealthBook:
    """Since when each part has failed: kept while it fails, forgotten once it works."""

    def __init__(self) -> None:
        self._since: dict[str, float] = {}

    def note(self, found: list[tuple[str, str]], now: float) -> list[Trouble]:
        since = {_key(p, r): self._since.get(_key(p, r), now) for p, r in found}
        self._since = since
        return [Trouble(p, r, rfc3339(since[_key(p, r)])) for p, r in found]


def rfc3339(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
