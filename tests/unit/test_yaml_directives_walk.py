"""The `%YAML`/`%TAG` lines that open the document of a `---` are found by regular
expressions (`_directives_before`) exactly where the walk back a line at a time
(`_walk_back`) found them: that walk cost ~0.7 us a line of the comments before a
`---`, 90 s of CPU for a 512 MB file, in the whole-text reading and the
windowed one alike."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from support.traced import traced

from monitor.corpus.frontmatter import _directives_before, _walk_back

LINES = [
    "%YAML 1.1",
    "%YAML\t1.2",
    "%TAG ! tag:x,2000:",
    "%YAMLx",
    "%foo",
    " %YAML 1.1",
    "# c",
    "  # c",
    "\t# c",
    "\r# c",
    "",
    "  ",
    "\r",
    " \t\r ",
    "a: 1",
    "---",
    "...",
    "  - x",
    "#",
    "%TAG",
]


@settings(max_examples=1500, deadline=None)
@given(
    lines=st.lists(st.tuples(st.sampled_from(LINES), st.sampled_from(["\n", "\r\n"])), max_size=30),
    data=st.data(),
)
def test_the_directives_are_where_the_walk_back_finds_them(
    lines: list[tuple[str, str]], data: st.DataObject
) -> None:
    text = "".join(line + end for line, end in lines) + "---\n"
    starts = [0]
    for line, end in lines:
        starts.append(starts[-1] + len(line) + len(end))
    at = data.draw(st.sampled_from(starts))
    floor = data.draw(st.sampled_from([s for s in starts if s <= at]))
    assert _directives_before(text, at, floor) == _walk_back(text, at, floor)


def test_a_long_run_of_comments_before_directives() -> None:
    text = "a: 1\n%YAML 1.1\n" + "# c\n" * 1000 + "%TAG ! t:\n" + "\n" * 1000 + "---\n"
    at = len(text) - 4
    assert _directives_before(text, at, 0) == _walk_back(text, at, 0) == len("a: 1\n")
    text = "%YAML 1.1\nb: 2\n" + "# c\n" * 1000 + "---\n"
    at = len(text) - 4
    assert _directives_before(text, at, 0) == _walk_back(text, at, 0) == at


def test_a_long_run_of_comments_before_a_directive_s_dash_is_not_held() -> None:
    """The lines between a directive and its `---` are checked without the regex
    engine keeping a state for each (~250 bytes a line: 2 GB for 16 MB of `#` lines)."""
    text = "a: 1\n%YAML 1.1\n" + "#\n" * 200_000 + "---\n"
    with traced() as mem:
        cut = _directives_before(text, len(text) - 4, 0)
    assert cut == 5
    assert mem.peak < len(text) // 10, mem
