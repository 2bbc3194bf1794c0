"""The values the repository takes and gives: plain dataclasses, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.content.simhash import PageMark
from monitor.daemon.state import TargetState
from monitor.targets import TargetRef
from monitor.vocabulary import Kind, SignatureResult

# ---------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the rescan compares to tell a changed file (sha256 only when mtime/size moved),
    and when its stored findings go stale with the clock alone."""

    mtime_ns: int
    size: int
    sha256: str
    # ms: from then on the file is audited again though unchanged (a date in the
    # future has passed: Audit.changes_at, the earliest of its articles'); None: never
    recheck_at: int | None = None
    excluded: int = 0  # references `exclude_urls` left out of it as read


@dataclass(slots=True)
class ArticleRecord:
    """One valid document, ready to store: static findings and signature already known."""

    id: str
    source: str
    line: int
    web_url: str
    provider: str | None
    content_hash: str
    problems: list[str]
    signature: SignatureResult
    refs: list[tuple[str, TargetRef]]
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A target claimed for checking: the claim (`lease`) and what the check needs.
    `also`: other lease ends the database may hold for this claim, those of the
    heartbeat's renewals whose update failed (dispatch.py `renew`: it may have
    committed or not); its result and its give-back match any of them."""

    id: int
    url: str
    kind: Kind
    state: TargetState
    lease: int
    refs: tuple[TargetRef, ...]
    also: tuple[int, ...] = ()

    @property
    def ends(self) -> tuple[int, ...]:
        """Every lease end the database may hold for this claim, `lease` first."""
        return (self.lease, *self.also) if self.also else (self.lease,)


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """A finished check, as the writer stores it."""

    target_id: int
    lease: int
    checked_at: int
    outcome: int  # OUTCOME_CODES
    outcome_name: str
    http_status: int | None
    latency_ms: int | None
    problems: tuple[str, ...]
    before: TargetState
    after: TargetState
    next_due: int
    page: PageMark | None = None  # a page's text mark (the own-drift check), if any
    error: str | None = None  # the check's error, as stored (monitor/error_text.py)
    also: tuple[int, ...] = ()  # other lease ends it may hold (Claimed.also)


@dataclass(slots=True)
class Snapshot:
    """What the metrics gauges show; read at scrape time."""

    targets: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, state) -> n
    problems: dict[str, int] = field(default_factory=dict)
    signatures: dict[str, int] = field(default_factory=dict)
    articles: int = 0
    provider_down: dict[str, int] = field(default_factory=dict)
    oldest_due_ms: int | None = None
    last_check_ms: int | None = None
    invalid_documents: int = 0
    excluded_targets: int = 0  # references `exclude_urls` left out of the corpus as read
