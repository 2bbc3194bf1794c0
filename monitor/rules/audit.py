"""One audit of a document, for `check` and the daemon alike.

A document's article-level problems, its `secured` verdict and its check
targets, worked out in one place so the one-shot report and the daemon's
store cannot disagree about the same file. Pure: the keys and the clock come
in as values; duplicates across documents are the callers' (they need the
whole corpus).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from monitor.corpus.article import Document
from monitor.rules.static import document_problems
from monitor.secured.keys import KeyRing
from monitor.secured.verify import verify_document
from monitor.targets import TargetRef, document_refs
from monitor.vocabulary import Kind, Problem, ProblemCode, SignatureResult

if TYPE_CHECKING:
    from monitor.config import Settings


@dataclass(frozen=True, slots=True)
class AuditRules:
    """What the configuration decides about an audit."""

    exclude: tuple[str, ...] = ()  # fields left out of the signed canonical form
    related: bool = True  # the targets of `related[]` are checked too
    kinds: frozenset[Kind] = field(default_factory=lambda: frozenset(Kind))

    @classmethod
    def of(cls, settings: Settings) -> AuditRules:
        return cls(tuple(settings.exclude_fields), settings.related, frozenset(settings.kinds))


@dataclass(slots=True)
class Audit:
    problems: list[Problem]  # static findings, then `signature_invalid` if any
    signature: SignatureResult
    refs: list[tuple[str, TargetRef]]

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
    sig = signature_problem(signature)
    if sig is not None:
        problems.append(sig)
    kinds: Collection[Kind] = rules.kinds
    refs = document_refs(doc, related=rules.related, kinds=kinds)
    return Audit(problems, signature, refs)
