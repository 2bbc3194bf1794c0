"""The one document audit shared by `check` and the daemon: problems, signature, targets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from monitor.corpus.article import Article, Document
from monitor.rules.audit import AuditRules, audit_document, signature_problem
from monitor.rules.static import document_problems
from monitor.secured.keys import KeyRing, SymmetricKey
from monitor.secured.sign import sign_document
from monitor.targets import document_refs
from monitor.vocabulary import Kind, ProblemCode, SignatureResult, SignatureStatus

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = SymmetricKey("a", bytes(range(32)), "a.key")
RING = KeyRing([KEY])


def raw() -> dict[str, Any]:
    return {
        "webUrl": "https://news.example/a",
        "ampWebUrl": None,
        "title": "A",
        "publishedDateTime": "2025-06-01T00:00:00Z",
        "provider": {"name": "N", "domain": "news.example"},
        "images": [{"url": "https://img.example/1.jpg", "width": 10, "height": 10}],
        "related": [{"webUrl": "https://other.example/r", "ampWebUrl": None, "title": "R"}],
    }


def doc(record: dict[str, Any]) -> Document:
    return Document("a.txt", 2, record, Article.model_validate(record))


def signed(record: dict[str, Any]) -> dict[str, Any]:
    record["secured"] = sign_document(record, RING, now=NOW)
    return record


def test_a_clean_signed_document_has_no_problems_and_all_its_targets() -> None:
    d = doc(signed(raw()))
    audit = audit_document(d, RING, now=NOW)
    assert audit.signature.status is SignatureStatus.VALID
    assert audit.problems == document_problems(d, now=NOW) == []
    assert audit.refs == document_refs(d)
    assert audit.codes == []


def test_a_tampered_document_gets_signature_invalid_after_the_static_findings() -> None:
    record = signed(raw())
    record["webUrl"] = "https://evil.example/a"
    record["provider"]["domain"] = "news.example"  # and now a provider mismatch as well
    audit = audit_document(doc(record), RING, now=NOW)
    assert audit.signature.status is SignatureStatus.TAMPERED
    assert audit.codes == ["provider_domain_mismatch", "signature_invalid"]
    last = audit.problems[-1]
    assert last.field == "secured" and "tampered (webUrl)" in last.message


def test_no_key_is_unverified_and_not_a_problem() -> None:
    audit = audit_document(doc(signed(raw())), KeyRing.empty(), now=NOW)
    assert audit.signature.status is SignatureStatus.UNVERIFIED and audit.codes == []


def test_rules_filter_kinds_and_related_and_exclude_fields() -> None:
    d = doc(raw())
    only_web = audit_document(d, RING, now=NOW, rules=AuditRules(kinds=frozenset({Kind.WEB})))
    assert [u for u, _ in only_web.refs] == ["https://news.example/a", "https://other.example/r"]
    no_related = audit_document(d, RING, now=NOW, rules=AuditRules(related=False))
    assert "https://other.example/r" not in [u for u, _ in no_related.refs]
    # a field left out of the canonical form may change without tampering
    record = raw()
    record["secured"] = sign_document(record, RING, now=NOW, exclude=["title"], paths=["webUrl"])
    record["title"] = "edited"
    kept = audit_document(doc(record), RING, now=NOW, rules=AuditRules(exclude=("title",)))
    assert kept.signature.status is SignatureStatus.VALID
    assert audit_document(doc(record), RING, now=NOW).signature.status is SignatureStatus.TAMPERED


def test_the_clock_comes_in() -> None:
    record = raw()
    record["publishedDateTime"] = "2026-06-01T00:00:00Z"
    assert audit_document(doc(record), RING, now=NOW).codes == ["published_in_future"]
    later = datetime(2027, 1, 1, tzinfo=UTC)
    assert audit_document(doc(record), RING, now=later).codes == []


def test_signature_problem_only_for_problem_statuses() -> None:
    for status in SignatureStatus:
        got = signature_problem(SignatureResult(status, detail="d"))
        assert (got is not None) == status.is_problem
        if got is not None:
            assert got.code is ProblemCode.SIGNATURE_INVALID
