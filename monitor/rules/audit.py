"""One audit of a document, for `check` and the daemon alike.

A document's article-level problems, its `secured` verdict and its check
targets (less those of kinds not checked, of `related[]` when it is off, and
those whose URL `exclude_urls` matches), worked out in one place so the
one-shot report and the daemon's store cannot disagree about the same file.
Pure: the keys and the clock come in as values; duplicates across documents
are the callers' (they need the whole corpus).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.corpus.article import Document
from monitor.rules.static import document_problems, findings_change_at
from monitor.secured.keys import KeyRing
from monitor.secured.verify import verify_document
from monitor.targets import TargetRef, document_refs
from monitor.url_exclude import NONE as NO_URLS
from monitor.url_exclude import UrlExclusion, url_exclusion
from monitor.vocabulary import Kind, Problem, ProblemCode, SignatureResult

if TYPE_CHECKING:
    from monitor.config import Settings


@dataclass(frozen=True, slots=True)
class AuditRules:
    """What the configuration decides about an audit."""

    exclude: tuple[str, ...] = ()  # fields left out of the signed canonical form
    related: bool = True  # the targets of `related[]` are checked too
    kinds: frozenset[Kind] = field(default_factory=lambda: frozenset(Kind))
    urls: UrlExclusion = NO_URLS  # `exclude_urls`: targets never requested

    @classmethod
    def of(cls, settings: Settings) -> AuditRules:
        return cls(
            tuple(settings.exclude_fields),
            settings.related,
            frozenset(settings.kinds),
            url_exclusion(settings.exclude_urls),
        )

    def records_key(self, keyring: KeyRing) -> str:
        """What decides a document's audit besides the document, as a digest: its
        targets' rules (kinds, related[], exclude_urls) and its verdict's
        (exclude_fields, and the keys by kid and identity: an Ed25519 key's public
        half, an AES key's HMAC check value, never its bytes; KeyRing.identities).
        The daemon keeps it with the recorded corpus and reads every file again at
        a start whose digest differs: new keys or rules left the old verdicts and
        targets of every file that had not changed. Only this SHA-256 of them is
        stored, so the database holds nothing of a key."""
        rules = {
            "kinds": sorted(k.value for k in self.kinds),
            "related": self.related,
            # sets, as kinds: their order and repeats decide nothing (a target is
            # left out if any pattern matches; canonical.without), so a config
            # listing them otherwise read every file again
            "exclude_urls": sorted({p.pattern for p in self.urls.compiled}),
            "exclude_fields": sorted(set(self.exclude)),
            "keys": keyring.identities(),
        }
        if self.urls.compiled:
            # the corpus's files are stored with what the patterns left out of them
            # (documents.excluded, migration 0013): one recorded before was read
            # again once, or the daemon's count missed what they leave out of it
            rules["excluded_counted"] = True
        text = json.dumps(rules, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class Audit:
    problems: list[Problem]  # static findings, then `signature_invalid` if any
    signature: SignatureResult
    refs: list[tuple[str, TargetRef]]
    excluded: int = 0  # references left out of `refs` by `exclude_urls`
    # when `problems` change with the clock alone (a date in the future passes): the
    # daemon audits the file again then (static.findings_change_at); None: never
    changes_at: datetime | None = None

    @property
    def codes(self) -> list[str]:
        return [p.code.value for p in self.problems]


def signature_problem(sig: SignatureResult) -> Problem | None:
    """The article-level finding for a verdict that is a problem (tampered, ...), else None."""
    if not sig.status.is_problem:
        return None
    where = f" ({', '.join(sig.fields)})" if sig.fields else ""
    return Problem(
        ProblemCode.SIGNATURE_INVALID,
        f"secured is {sig.status.value}{where}: {sig.detail}".rstrip(": "),
        "secured",
    )


def audit_document(
    doc: Document, keyring: KeyRing, *, now: datetime, rules: AuditRules | None = None
) -> Audit:
    """Problems, signature and targets of one valid document."""
    rules = rules or AuditRules()
    signature = verify_document(doc.raw, keyring, exclude=rules.exclude)
    problems = document_problems(doc, now=now)
    changes_at = None
    for p in problems:  # rare: the clock-free document pays one pass over its findings
        if p.code is ProblemCode.PUBLISHED_IN_FUTURE:
            changes_at = findings_change_at(doc, now=now)
            break
    sig = signature_problem(signature)
    if sig is not None:
        problems.append(sig)
    kinds: Collection[Kind] = rules.kinds
    refs = document_refs(doc, related=rules.related, kinds=kinds)
    excluded = 0
    if rules.urls:  # no patterns (the default): not a call more per target
        excludes = rules.urls.excludes
        kept = [ref for ref in refs if not excludes(ref[0])]
        excluded, refs = len(refs) - len(kept), kept
    return Audit(problems, signature, refs, excluded, changes_at)
