"""The stretches of blank, comment and directive lines of a YAML stream (and `sign`'s
flow-mapping question) read as the patterns they replace read them.

Those patterns repeated a line: ~250-550 bytes of the regex engine's state a line
(possessive, none, but only on Python 3.11.5+: gh-106052), 7 GB for a 32 MB stretch of
`#` lines on Debian 12's 3.11.2. The runs are now found a line break at a time
(`line_runs.LineRun`); here they answer as the patterns did, on every text."""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from support.examples import examples

from monitor.corpus import frontmatter, line_runs
from monitor.secured import edit

# the patterns as they were (frontmatter and edit before line_runs): possessive where the
# interpreter matches that right, greedy before; the same language either way
_RUN = "*+" if sys.version_info >= (3, 11, 5) else "*"
_PLAIN_LINE = r"[ \t]*(?:#[^\n]*\n|\r?\n)"
_COMMENT = r"#[^\n\r\x85\u2028\u2029]*"
_BLANK = rf" *(?:{_COMMENT})?"
_OLD_PRELUDE = re.compile(rf"(?:{_PLAIN_LINE}|%[^\n]*\n){_RUN}[ \t]*(?:#[^\n]*)?")
_OLD_SUFFIX_ONLY = re.compile(rf"(?:{_PLAIN_LINE}){_RUN}\.\.\.[ \t]*(?:#[^\n]*)?\r?\n?")
_OLD_EMPTY = re.compile(
    rf"(?:{_BLANK}\r?\n){_RUN}---(?: +(?:{_COMMENT})?)?(?:\r?\n{_BLANK}){_RUN}\r?\n?"
)
_OLD_FLOW = re.compile(rf"(?:[ \t]*(?:#[^\n]*\n|\r?\n)){_RUN}[ \t]*\{{")

Reading = Callable[[str, int, int], bool]
_PAIRS: list[tuple[str, Reading, Reading]] = [
    ("prelude", frontmatter._prelude, lambda t, s, e: bool(_OLD_PRELUDE.fullmatch(t, s, e))),
    (
        "suffix",
        frontmatter._suffix_only,
        lambda t, s, e: bool(_OLD_SUFFIX_ONLY.fullmatch(t, s, e)),
    ),
    ("empty", frontmatter._empty, lambda t, s, e: bool(_OLD_EMPTY.fullmatch(t, s, e))),
    ("flow", edit._flow, lambda t, s, e: bool(_OLD_FLOW.match(t, s, e))),
]
_RUNS = [
    line_runs.PLAIN_LINES,
    frontmatter._PRELUDE_LINES,
    frontmatter._BLANK_LINES,
]

# the shapes of the lines these stretches hold, or stop at
_PIECES = [" ", "\t", "  \t", "#", "# c", "#\r", " # c", "%", "%YAML 1.1", "---", "--- "]
_PIECES += ["--- # c", "---\t", "...", "... # c", "\r", "\n", "\r\n", "\x85", "\u2028", "{"]
_PIECES += ["x: 1", "-", ".", "c"]


@st.composite
def _spans(draw: st.DrawFn) -> tuple[str, int, int]:
    text = "".join(draw(st.lists(st.sampled_from(_PIECES), max_size=14)))
    if draw(st.booleans()):  # mostly the whole text, as the readers ask
        return text, 0, len(text)
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return text, start, end


def _same(text: str, start: int, end: int) -> None:
    for name, new, old in _PAIRS:
        assert new(text, start, end) == old(text, start, end), (name, text, start, end)
    for run in _RUNS:
        assert run.end(text, start, end) == run.walk(text, start, end), (text, start, end)


@settings(max_examples=examples(2_000), deadline=None)
@given(_spans())
def test_the_stretches_read_as_the_patterns_did(span: tuple[str, int, int]) -> None:
    _same(*span)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES), max_size=8),
    st.integers(1, 4),
    st.lists(st.sampled_from(_PIECES), max_size=8),
)
def test_long_runs_read_as_the_patterns_did(head: list[str], times: int, tail: list[str]) -> None:
    """Runs of many lines of one shape, then whatever ends them."""
    for line in ("#\n", " # c\r\n", "\n", "\r\n", "%x\n", "\t\n"):
        text = "".join(head) + line * (50 * times) + "".join(tail)
        _same(text, 0, len(text))
        _same(text, len("".join(head)), len(text))


def test_every_short_text_reads_as_the_patterns_did() -> None:
    """Every text of up to five of the characters that matter, from every start to
    every end: the possessive spelling matched "%" on Python 3.11.2 (gh-106052),
    found only when a CI run's random examples happened on it."""
    alphabet = [" ", "\t", "\r", "\n", "#", "%", ".", "-", "\x85", "{"]
    for size in range(6):
        for chars in itertools.product(alphabet, repeat=size):
            text = "".join(chars)
            _same(text, 0, size)
            if size:
                _same(text, 1, size)
                _same(text, 0, size - 1)


def test_the_markers_of_a_stretch_are_read_whole() -> None:
    """Texts too long for the exhaustive test: the markers are three characters."""
    lines = ["---", "--- # c", "...", "... # c", "# c", "", "%YAML 1.1", "{", "x"]
    ends = ["\n", "\r\n", "\r", ""]
    for first, second in itertools.product(lines, repeat=2):
        for end_1, end_2 in itertools.product(ends, repeat=2):
            text = first + end_1 + second + end_2
            _same(text, 0, len(text))
