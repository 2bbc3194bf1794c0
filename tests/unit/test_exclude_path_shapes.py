"""`exclude_fields` paths: every well-formed path is kept as it is (each segment a
field name or `*`), and one that could only match nothing is refused: a control
character, a space around a segment, a `*` within a segment (it is no pattern).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.secured.canonical import canonical_bytes, exclude_path_problem

# a field name: no dot, no control character, no space around it, no `*`
name_chars = st.characters(
    exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters=".*\x7f"
).filter(lambda c: not ("\x80" <= c <= "\x9f"))
names = st.text(name_chars, min_size=1, max_size=8).filter(lambda n: n == n.strip())
segments = st.one_of(names, st.just("*"), st.integers(0, 30).map(str))
paths = st.lists(segments, min_size=1, max_size=4).map(".".join).filter(lambda p: p != "*")
controls = st.sampled_from(["\n", "\r", "\t", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])


@settings(max_examples=200, deadline=None)
@given(paths)
def test_a_well_formed_path_is_kept(path: str) -> None:
    assert exclude_path_problem(path) is None


@settings(max_examples=200, deadline=None)
@given(paths, controls, st.integers(0, 40))
def test_a_control_character_anywhere_is_refused(path: str, control: str, at: int) -> None:
    at = min(at, len(path))
    problem = exclude_path_problem(path[:at] + control + path[at:])
    assert problem is not None


def test_the_refused_shapes_would_have_matched_nothing() -> None:
    """Each refused shape excluded nothing: the record's canonical form was unchanged."""
    raw = {"title": "t", "images": [{"url": "a", "title": "x"}]}
    for path in (
        "images. title",
        "images.0 .url",
        "ima*.0.url",
        "images.*x",
        "ti\ntle",
        "title\u2028",
    ):
        assert exclude_path_problem(path) is not None, path
        assert canonical_bytes(raw, exclude=[path]) == canonical_bytes(raw), path
    assert exclude_path_problem("images.*.title") is None
    assert canonical_bytes(raw, exclude=["images.*.title"]) != canonical_bytes(raw)
