"""`sign --in-place` asks whether a front matter is a flow mapping (`_flow`): comment
lines with CRLF ends before its first field were tried two ways each when it is
not one, 2**n steps (30 such lines: minutes of CPU)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.secured import edit

_OLD_FLOW = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t]*\{")


def test_a_front_matter_after_many_crlf_comment_lines_is_rewritten() -> None:
    text = "---\r\n" + "# a comment\r\n" * 200 + "webUrl: https://a.test/1\r\n---\r\n"
    out = edit.rewrite_front_matter(text, "v1")
    assert 'secured: "v1"' in out and out.count("# a comment") == 200


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from([" ", "\t", "\r", "\n", "#", "{", "c"]), max_size=16))
def test_the_pattern_matches_what_it_matched(text: str) -> None:
    assert edit._flow(text, 0, len(text)) == bool(_OLD_FLOW.match(text))


def test_the_pattern_matches_what_it_matched_on_every_short_text() -> None:
    """Every short text, not a random few."""
    import itertools

    for size in range(7):
        for chars in itertools.product([" ", "\t", "\r", "\n", "#", "{", "c"], repeat=size):
            text = "".join(chars)
            assert edit._flow(text, 0, size) == bool(_OLD_FLOW.match(text)), text
