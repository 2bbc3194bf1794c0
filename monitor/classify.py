"""Pure: a response or a network error → one outcome, and the problems found.

Two layers, because a URL shared by several articles is fetched once but
judged against each article's claims:

- `outcome_for` and `result_problems` depend only on what the server did;
  the engine stores them in the `CheckResult`.
- `findings` adds the problems that depend on one article's reference
  (canonical, amphtml, declared image size, content drift from the record's
  title; redirect_to_root, judged for web and AMP references only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from monitor import urls
from monitor.content.drift import DEFAULT_RULES, PageRules, drift_problem, root_problem
from monitor.content.html import media_type
from monitor.content.mediatype import HTML_MEDIA_TYPES
from monitor.targets import TargetRef
from monitor.url_redact import shown as shown_url
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome, Problem, ProblemCode


class ErrorKind(StrEnum):
    """Why no final response was received (the engine maps its exceptions to these)."""

    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    RESET = "reset"
    CLOSED = "closed"  # server closed the connection before a response
    TLS = "tls"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    BLOCKED = "blocked"
    INVALID_URL = "invalid_url"
    PROTOCOL = "protocol"  # not HTTP: garbage bytes, malformed status line


_ERROR_OUTCOMES: dict[ErrorKind, Outcome] = {
    ErrorKind.TIMEOUT: Outcome.TIMEOUT,
    ErrorKind.DNS: Outcome.DNS_ERROR,
    ErrorKind.REFUSED: Outcome.CONNECTION_ERROR,
    ErrorKind.RESET: Outcome.CONNECTION_ERROR,
    ErrorKind.CLOSED: Outcome.CONNECTION_ERROR,
    ErrorKind.PROTOCOL: Outcome.CONNECTION_ERROR,
    ErrorKind.TLS: Outcome.TLS_ERROR,
    ErrorKind.TOO_MANY_REDIRECTS: Outcome.TOO_MANY_REDIRECTS,
    ErrorKind.BLOCKED: Outcome.BLOCKED,
    ErrorKind.INVALID_URL: Outcome.INVALID_URL,
}

PERMANENT_REDIRECTS = frozenset({301, 308})
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def is_permanent_redirect(status: int) -> bool:
    return status in PERMANENT_REDIRECTS


# Members read on every check, as module constants: on Python 3.11 a member
# read through its class (`Kind.WEB`) goes through EnumType's `__getattr__`
# hook, ~1,000 instructions each (issue 16).
_OK, _MOVED = Outcome.OK, Outcome.MOVED
_WEB, _IMAGE, _AMP_CDN = Kind.WEB, Kind.IMAGE, (Kind.AMP, Kind.CDN)
# Outcomes of a chain that ended at a final status without content: a deep link
# whose redirects end at a landing page that answered 404, 5xx or 429 is still
# `redirect_to_root` (CONTRACT 3: "the outcome still follows the final status").
# A redirect loop, a blocked hop or a lost answer did not end anywhere.
_ANSWERED_DOWN = frozenset({Outcome.NOT_FOUND, Outcome.HTTP_ERROR, Outcome.RATE_LIMITED})


def outcome_for(
    *, status: int | None, error: ErrorKind | None, permanent_redirect_seen: bool
) -> Outcome:
    """The CONTRACT outcome of one check, after redirects and retries.

    An error wins over a status (a timeout while reading the body of a 200 is
    a timeout). A final 3xx (no Location, 304, 300) never reached content, so
    it is an `http_error`, as are a 1xx and any status outside 100..599. With
    neither a status nor an error (an engine bug) the answer is
    `connection_error`, never a crash.
    """
    if error is not None:
        return _ERROR_OUTCOMES[error]
    if status is None:
        return Outcome.CONNECTION_ERROR
    if 200 <= status <= 299:
        return _MOVED if permanent_redirect_seen else _OK
    if status in (404, 410):
        return Outcome.NOT_FOUND
    if status == 429:
        return Outcome.RATE_LIMITED
    return Outcome.HTTP_ERROR


# Image subtypes that `sniff_image` recognises: for these, bytes that do not
# parse are a mismatch; for others (image/jp2, image/x-portable-pixmap) an
# unrecognised body is given the benefit of the doubt.
_SNIFFABLE = frozenset(
    {
        "image/png",
        "image/apng",
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/bmp",
        "image/x-ms-bmp",
        "image/x-icon",
        "image/vnd.microsoft.icon",
        "image/svg+xml",
        "image/tiff",
        "image/jxl",
    }
)


_FORMAT_NAMES = {"webp": "WebP"}  # else the format's name in capitals: PNG, JPEG


def _content_type_problem(kind: Kind, facts: ContentFacts, body_decoded: bool) -> Problem | None:
    ctype = media_type(facts.content_type)
    if kind.is_page:
        if ctype is not None and ctype not in HTML_MEDIA_TYPES:  # ctype is a media type already
            shown = facts.content_type.strip() if facts.content_type else "none"
            return Problem(
                ProblemCode.CONTENT_TYPE_MISMATCH,
                f"expected an HTML page, got Content-Type {shown}",
            )
        return None
    shown = facts.content_type.strip() if facts.content_type else "none"
    if ctype is not None and not ctype.startswith("image/"):
        found = f" (the bytes are {facts.image_format})" if facts.image_format else ""
        return Problem(
            ProblemCode.CONTENT_TYPE_MISMATCH,
            f"expected an image, got Content-Type {shown}{found}",
        )
    if body_decoded and facts.image_invalid is not None and facts.image_format:
        # browsers pick the decoder by the bytes, so whatever the image/* type
        return Problem(
            ProblemCode.CONTENT_TYPE_MISMATCH,
            f"expected an image, got Content-Type {shown} but its "
            f"{_FORMAT_NAMES.get(facts.image_format, facts.image_format.upper())} header "
            f"is invalid: {facts.image_invalid}",
        )
    if (
        body_decoded
        and facts.image_format is None
        and facts.bytes_read > 0
        and (ctype in _SNIFFABLE or not ctype)
    ):
        return Problem(
            ProblemCode.CONTENT_TYPE_MISMATCH,
            f"expected an image, got Content-Type {shown} but the first "
            f"{facts.bytes_read} bytes are not a recognised image",
        )
    return None


def result_problems(
    *,
    kind: Kind,
    facts: ContentFacts,
    latency_ms: float | None,
    cert_not_after: datetime | None,
    now: datetime,
    cert_warning_days: float,
    latency_budget_ms: float,
    outcome: Outcome | None = None,
    body_decoded: bool = True,
) -> list[Problem]:
    """Problems that depend only on the response, not on any article's claims.

    Content problems (content type, soft 404) are judged only for responses
    that delivered content: pass `outcome`, or call this only for 2xx
    responses. A page without a Content-Type is not flagged (browsers sniff
    it). A body that could not be decoded (`body_decoded` False) is judged by
    its Content-Type alone, never by its bytes. The certificate and latency
    checks apply to every response.
    """
    problems: list[Problem] = []
    if outcome is None or outcome.is_up:
        mismatch = _content_type_problem(kind, facts, body_decoded)
        if mismatch is not None:
            problems.append(mismatch)
        elif kind.is_article_page and facts.soft_404:  # not CDN copies (CONTRACT 3)
            problems.append(
                Problem(
                    ProblemCode.SOFT_404,
                    "the page answered 2xx but its title or heading says it was not found",
                )
            )
    if cert_not_after is not None:
        expiring = _certificate_problem(cert_not_after, now, cert_warning_days)
        if expiring is not None:
            problems.append(expiring)
    if latency_ms is not None and latency_ms > latency_budget_ms:
        problems.append(
            Problem(
                ProblemCode.SLOW_RESPONSE,
                f"answered in {latency_ms:.0f} ms, over the budget of {latency_budget_ms:.0f} ms",
            )
        )
    return problems


def _certificate_problem(not_after: datetime, now: datetime, warning_days: float) -> Problem | None:
    if not_after.tzinfo is None:
        not_after = not_after.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    left = (not_after - now).total_seconds() / 86400.0
    if left > warning_days:
        return None
    date = not_after.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if left < 0:
        when = f"expired on {date} ({-left:.1f} days ago)"
    else:
        when = f"expires on {date} (in {left:.1f} days)"
    return Problem(
        ProblemCode.CERTIFICATE_EXPIRING,
        f"TLS certificate {when}; warning window {warning_days:g} days",
    )


# canonical and amphtml links are judged by the same equivalence as the
# cdnAmpWebUrl (monitor/urls.py), so `…/a/` against `…/a` is one answer
_same_url = urls.same


def findings(
    result: CheckResult, ref: TargetRef, rules: PageRules = DEFAULT_RULES
) -> list[Problem]:
    """Every problem of `result` as seen by one article's reference.

    The reference-specific checks run only when the target answered with
    content (ok or moved) and the facts they need were learnt: HTML parsed
    (`facts.is_amp` is not None) for pages, a sniffed size for images. Only
    `redirect_to_root` needs no content: a chain that ended at a landing page
    answering 404, 5xx or 429 has it too.
    `rules` switches the page checks (content drift, redirect to root).
    """
    problems = list(result.problems)
    if not result.outcome.is_up:
        if rules.root and ref.kind.is_article_page and result.outcome in _ANSWERED_DOWN:
            root = root_problem(result.url, result.final_url, result.redirects)
            if root is not None:
                problems.append(root)
        return problems
    facts, expect = result.facts, ref.expectation
    if ref.kind.is_article_page:
        problems.extend(_page_problems(result, ref, rules, problems))
    if ref.kind in _AMP_CDN and facts.is_amp is not None:
        if not facts.is_amp:
            problems.append(
                Problem(
                    ProblemCode.AMP_MARKER_MISSING,
                    "expected an AMP page (<html ⚡> or <html amp>), "
                    "found an HTML page without the AMP marker",
                )
            )
        if expect.canonical:
            if not facts.canonical:
                problems.append(
                    Problem(
                        ProblemCode.CANONICAL_MISMATCH,
                        f"expected <link rel=canonical> pointing to {shown_url(expect.canonical)}, "
                        "found none",
                    )
                )
            elif not _same_url(facts.canonical, expect.canonical):
                problems.append(
                    Problem(
                        ProblemCode.CANONICAL_MISMATCH,
                        f"expected <link rel=canonical> pointing to {shown_url(expect.canonical)}, "
                        f"found {shown_url(facts.canonical)}",
                    )
                )
    if ref.kind is _WEB and expect.amphtml and facts.is_amp is not None:
        problem = _amphtml_problem(result, expect.amphtml)
        if problem is not None:
            problems.append(problem)
    if ref.kind is _IMAGE:
        problem = _dimensions_problem(facts, expect.width, expect.height)
        if problem is not None:
            problems.append(problem)
    return problems


def _page_problems(
    result: CheckResult, ref: TargetRef, rules: PageRules, found: list[Problem]
) -> list[Problem]:
    """content_drift and redirect_to_root of a web or AMP page that answered.

    A page already found to be a soft 404 or not HTML is not also judged for
    drift: the sharper finding says it.
    """
    out: list[Problem] = []
    if rules.root:
        root = root_problem(result.url, result.final_url, result.redirects)
        if root is not None:
            out.append(root)
    expect = ref.expectation
    if (
        rules.drift
        and expect.title
        and result.facts.is_amp is not None
        and not any(p.code in _SHARPER_THAN_DRIFT for p in found)
    ):
        drift = drift_problem(result.facts, expect.title, expect.excerpt, rules.threshold)
        if drift is not None:
            out.append(drift)
    return out


_SHARPER_THAN_DRIFT = frozenset({ProblemCode.SOFT_404, ProblemCode.CONTENT_TYPE_MISMATCH})


def _amphtml_problem(result: CheckResult, expected: str) -> Problem | None:
    facts = result.facts
    if facts.amphtml and _same_url(facts.amphtml, expected):
        return None
    # An AMP-first site: the web page is itself the AMP page, with no link to itself.
    if (
        facts.is_amp
        and not facts.amphtml
        and any(_same_url(expected, u) for u in (result.url, result.final_url) if u)
    ):
        return None
    found = shown_url(facts.amphtml) if facts.amphtml else "none"
    return Problem(
        ProblemCode.AMPHTML_LINK_MISMATCH,
        f"expected <link rel=amphtml> pointing to {shown_url(expected)}, found {found}",
    )


def _dimensions_problem(
    facts: ContentFacts, width: int | None, height: int | None
) -> Problem | None:
    pairs = [(width, facts.width), (height, facts.height)]
    compared = [(d, a) for d, a in pairs if d is not None and a is not None]
    if not compared or all(d == a for d, a in compared):
        return None

    def show(v: int | None) -> str:
        return "?" if v is None else str(v)

    return Problem(
        ProblemCode.IMAGE_DIMENSIONS_MISMATCH,
        f"declared {show(width)}x{show(height)}, actual {show(facts.width)}x{show(facts.height)}",
    )
