"""The members' flags (plain attributes set once, read on every check) are the contract's sets."""

from __future__ import annotations

import pickle

from monitor.vocabulary import Kind, Outcome, SignatureStatus


def test_kind_flags() -> None:
    assert [k for k in Kind if k.is_page] == [Kind.WEB, Kind.AMP, Kind.CDN]
    # CONTRACT section 3: the record's article is its web and AMP page, not the AMP cache's copy
    assert [k for k in Kind if k.is_article_page] == [Kind.WEB, Kind.AMP]


def test_outcome_flags() -> None:
    assert [o for o in Outcome if o.is_up] == [Outcome.OK, Outcome.MOVED]


def test_signature_flags() -> None:
    assert {s for s in SignatureStatus if s.is_problem} == {
        SignatureStatus.TAMPERED,
        SignatureStatus.UNDECRYPTABLE,
        SignatureStatus.MALFORMED,
        SignatureStatus.UNKNOWN_KEY,
    }


def test_flags_hold_for_members_found_by_value_and_unpickled() -> None:
    """Members are singletons: one found by its value (the pipe, the database)
    or unpickled is the member that holds the flags."""
    assert Kind("cdn").is_page and not Kind("cdn").is_article_page
    assert Outcome("moved").is_up and not Outcome("timeout").is_up
    assert pickle.loads(pickle.dumps(Kind.IMAGE)).is_page is False
    assert SignatureStatus("missing").is_problem is False
