"""`exclude_fields` and `exclude_urls` are sets: their order and repeats change
neither the canonical form a signature covers nor the rules' digest the daemon
keeps with its corpus (AuditRules.records_key), whose change reads every file
again at a start. The paths were removed one after the other: `images.0` then
`images.1` removed the first and the third image, a repeated `images.0` the
first two, and the digest kept the config's order."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from monitor.rules.audit import AuditRules
from monitor.secured.canonical import canonical_bytes
from monitor.secured.keys import KeyRing
from monitor.url_exclude import url_exclusion

DOC: dict[str, Any] = {
    "webUrl": "https://news.example.com/a",
    "title": "A",
    "images": [{"url": f"https://img.example.com/{n}.jpg", "title": f"t{n}"} for n in range(4)],
    "related": [{"webUrl": "https://news.example.com/b", "title": "B"}],
}
PATHS = ["title", "images", "images.0", "images.1", "images.3", "images.*.title", "related.0"]
PATHS += ["images.2.url", "related.*.title", "*.0", "nothing.here"]


def test_paths_name_places_in_the_record_as_written() -> None:
    first_two = canonical_bytes(DOC, exclude=["images.0", "images.1"])
    assert first_two == canonical_bytes(DOC, exclude=["images.1", "images.0"])
    assert b"/0.jpg" not in first_two and b"/1.jpg" not in first_two
    assert b"/2.jpg" in first_two and b"/3.jpg" in first_two
    once = canonical_bytes(DOC, exclude=["images.0"])
    assert canonical_bytes(DOC, exclude=["images.0", "images.0"]) == once
    assert b"/1.jpg" in once


@given(st.lists(st.sampled_from(PATHS), max_size=8), st.randoms(use_true_random=False))
def test_the_canonical_form_depends_on_the_set_of_paths(paths: list[str], rnd: Any) -> None:
    shuffled = paths * 2
    rnd.shuffle(shuffled)
    assert canonical_bytes(DOC, exclude=shuffled) == canonical_bytes(DOC, exclude=paths)


@given(
    st.lists(st.sampled_from(PATHS), max_size=6),
    st.lists(st.sampled_from(["^https?://ads\\.", "/tracking/", "\\.gif$"]), max_size=4),
    st.randoms(use_true_random=False),
)
def test_the_rules_digest_depends_on_the_sets(fields: list[str], urls: list[str], rnd: Any) -> None:
    def key(f: list[str], u: list[str]) -> str:
        return AuditRules(exclude=tuple(f), urls=url_exclusion(u)).records_key(KeyRing.empty())

    f2, u2 = fields * 2, urls * 2
    rnd.shuffle(f2)
    rnd.shuffle(u2)
    assert key(f2, u2) == key(fields, urls)
    if "title" not in fields:  # another set is another digest
        assert key([*fields, "title"], urls) != key(fields, urls)
