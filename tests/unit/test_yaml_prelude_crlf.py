"""Comment lines with CRLF ends before a record: the stretch-of-comments patterns of a
YAML stream (`_prelude`, `_suffix_only`) read them in linear time. Written
`(?:#[^\\n]*)?\\r?\\n`, a CR could go to the comment or to the line end, and a failed
match tried both for each line: 2**n steps (22 lines: 1.3 s, 30: minutes)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.corpus import frontmatter, parse_text
from monitor.corpus.article import Document

# the patterns as they were written: the same language, read with backtracking
_OLD_PRELUDE = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n|%[^\n]*\n)*[ \t]*(?:#[^\n]*)?")
_OLD_SUFFIX_ONLY = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*\.\.\.[ \t]*(?:#[^\n]*)?\r?\n?")
_OLD_EMPTY = re.compile(
    r"(?: *(?:#[^\n\r\x85\u2028\u2029]*)?\r?\n)*---(?: +(?:#[^\n\r\x85\u2028\u2029]*)?)?"
    r"(?:\r?\n *(?:#[^\n\r\x85\u2028\u2029]*)?)*\r?\n?"
)
_PAIRS = [
    (frontmatter._prelude, _OLD_PRELUDE),
    (frontmatter._suffix_only, _OLD_SUFFIX_ONLY),
    (frontmatter._empty, _OLD_EMPTY),
]


def test_a_record_after_many_crlf_comment_lines_is_read() -> None:
    for head in ("", "...\r\n"):
        text = head + "# a comment\r\n" * 200 + "webUrl: https://a.test/1\r\n"
        items = list(parse_text("s.yaml", text, ".yaml"))
        assert [type(i) for i in items] == [Document]
        assert items[0].line == 201 + bool(head)


@settings(max_examples=400, deadline=None)
@given(
    st.text(st.sampled_from([" ", "\t", "\r", "\n", "#", "%", ".", "c", "-", "\x85"]), max_size=16)
)
def test_the_patterns_match_what_they_matched(text: str) -> None:
    for new, old in _PAIRS:
        assert new(text, 0, len(text)) == bool(old.fullmatch(text)), (text, old)


def test_the_patterns_match_what_they_matched_on_every_short_text() -> None:
    """Every text of up to five of the characters that matter, not a random few."""
    import itertools

    alphabet = [" ", "\t", "\r", "\n", "#", "%", ".", "-", "\x85"]
    for size in range(6):
        for chars in itertools.product(alphabet, repeat=size):
            text = "".join(chars)
            for new, old in _PAIRS:
                assert new(text, 0, size) == bool(old.fullmatch(text)), (text, old)
