"""The vocabulary every module shares: kinds, outcomes, problems, results.

These are the closed sets fixed by CONTRACT.md sections 3 and 4. Keeping them
in one module with no I/O lets the pure modules (targets, integrity,
classify, signature) and the edges (http, storage, cli) agree on values
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    WEB = "web"
    AMP = "amp"
    CDN = "cdn"
    IMAGE = "image"

    # Set on each member below, once. Read a few times per check: as a property
    # that names members (`self is not Kind.IMAGE`) it cost ~1,800 instructions
    # on Python 3.11, where a member read through its class goes through
    # EnumType's `__getattr__` hook; a plain attribute costs ~250 (issue 16).
    is_page: bool
    # A page judged as the record's article (CONTRACT section 3: web and AMP,
    # not the AMP cache's copy of one); the daemon keeps its text mark.
    is_article_page: bool


for _kind in Kind:
    _kind.is_page = _kind is not Kind.IMAGE
    _kind.is_article_page = _kind is Kind.WEB or _kind is Kind.AMP
del _kind


class Origin(StrEnum):
    ARTICLE = "article"
    RELATED = "related"
    PROVIDER = "provider"


class Outcome(StrEnum):
    """Reachability of one target: exactly one per check."""

    OK = "ok"
    MOVED = "moved"
    NOT_FOUND = "not_found"
    HTTP_ERROR = "http_error"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    DNS_ERROR = "dns_error"
    CONNECTION_ERROR = "connection_error"
    TLS_ERROR = "tls_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BLOCKED = "blocked"
    INVALID_URL = "invalid_url"

    # Whether the target answered with content (the `up` side of its state); set
    # on each member below, as Kind's are.
    is_up: bool


for _outcome in Outcome:
    _outcome.is_up = _outcome in (Outcome.OK, Outcome.MOVED)
del _outcome


class ProblemCode(StrEnum):
    # article level
    INVALID_DOCUMENT = "invalid_document"
    MISSING_FIELD = "missing_field"
    INVALID_URL = "invalid_url"
    CDN_URL_MISMATCH = "cdn_url_mismatch"
    PROVIDER_DOMAIN_MISMATCH = "provider_domain_mismatch"
    PUBLISHED_IN_FUTURE = "published_in_future"
    DUPLICATE_URL = "duplicate_url"
    SIGNATURE_INVALID = "signature_invalid"
    # target level
    CANONICAL_MISMATCH = "canonical_mismatch"
    AMP_MARKER_MISSING = "amp_marker_missing"
    AMPHTML_LINK_MISMATCH = "amphtml_link_mismatch"
    CONTENT_TYPE_MISMATCH = "content_type_mismatch"
    IMAGE_DIMENSIONS_MISMATCH = "image_dimensions_mismatch"
    SOFT_404 = "soft_404"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    SLOW_RESPONSE = "slow_response"
    CONTENT_DRIFT = "content_drift"
    REDIRECT_TO_ROOT = "redirect_to_root"


class SignatureStatus(StrEnum):
    VALID = "valid"
    TAMPERED = "tampered"
    UNDECRYPTABLE = "undecryptable"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    MISSING = "missing"
    UNVERIFIED = "unverified"

    # `missing` and `unverified` are facts about configuration, not tampering; set
    # on each member below, as Kind's are.
    is_problem: bool


for _status in SignatureStatus:
    _status.is_problem = _status in (
        SignatureStatus.TAMPERED,
        SignatureStatus.UNDECRYPTABLE,
        SignatureStatus.MALFORMED,
        SignatureStatus.UNKNOWN_KEY,
    )
del _status


@dataclass(frozen=True, slots=True)
class Problem:
    code: ProblemCode
    message: str
    field: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"code": self.code._value_}  # `.value` is a slow Python property
        if self.field is not None:
            out["field"] = self.field
        out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True)
class SignatureResult:
    status: SignatureStatus
    fields: tuple[str, ...] = ()
    detail: str = ""
    kid: str | None = None
    envelope: str | None = None  # "legacy", "v2", "ed25519" when recognised

    def to_json(self) -> dict[str, object]:
        return {"status": self.status.value, "fields": list(self.fields), "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Expectation:
    """What one article claims about a URL; checked against the fetched facts.

    The same URL may be referenced by several articles with different claims,
    so expectations travel with each reference, not with the fetched result.
    """

    canonical: str | None = None  # amp/cdn page: <link rel=canonical> should be this
    amphtml: str | None = None  # web page: <link rel=amphtml> should be this
    width: int | None = None  # image: declared size
    height: int | None = None
    title: str | None = None  # web/amp page: the record's `title` and `excerpt`
    excerpt: str | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    status: int
    location: str


@dataclass(slots=True)
class ContentFacts:
    """What was learnt from the bytes read (a capped prefix, never a full download)."""

    content_type: str | None = None
    canonical: str | None = None
    amphtml: str | None = None
    is_amp: bool | None = None
    soft_404: bool = False
    image_format: str | None = None
    width: int | None = None
    height: int | None = None
    bytes_read: int = 0
    # a page's fingerprint (content/fingerprint.py), each text cut to FACT_TEXT_MAX
    title: str | None = None  # closed <title> only: a cut one is never judged
    og_title: str | None = None
    h1: str | None = None
    description: str | None = None  # meta description, else og:/twitter:description
    text_hash: int | None = None  # simhash of the body's text window (daemon only)
    published_time: str | None = None  # article:published_time, as the page writes it
    # simhash.title_key of the titles, taken beside text_hash where the page was read
    # (a checker process), so the daemon's parent does not analyse the words again
    title_key: str | None = None
    # why the image's header breaks its format's spec (ImageInfo.invalid), e.g. "width 0"
    image_invalid: str | None = None


@dataclass(slots=True)
class CheckResult:
    """One check of one URL. Expectation-free: see `classify.findings`."""

    url: str
    kind: Kind
    outcome: Outcome
    checked_at: datetime
    http_status: int | None = None
    final_url: str | None = None
    redirects: list[Redirect] = field(default_factory=list)
    latency_ms: float | None = None
    attempts: int = 0
    error: str | None = None
    facts: ContentFacts = field(default_factory=ContentFacts)
    cert_not_after: datetime | None = None
    # problems that do not depend on any article's claims (content type,
    # soft 404, certificate expiry, slow response)
    problems: list[Problem] = field(default_factory=list)


def invalid_url_result(url: str, kind: Kind, checked_at: datetime) -> CheckResult:
    """The result of a target that cannot be requested: never fetched."""
    return CheckResult(
        url=url,
        kind=kind,
        outcome=Outcome.INVALID_URL,
        checked_at=checked_at,
        error="not an http(s) URL with a host",
    )
