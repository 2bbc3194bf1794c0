"""Pure: a regex scanner of well-formed heads, the fast path of `head_facts`.

Most heads are well-formed: tags with quoted or plain attribute values,
comments, a doctype, scripts and styles. For those this scanner gives the
same answers as html.parser (head_parser.py) at a fraction of the cost; it
gives up (returns None, and the parser runs) on anything it is not sure the
parser reads the same way: a `<` that starts no tag it knows, odd attribute
syntax, markup inside <title>, a self-closing <title>/<script>/<style>/
<noscript>/<template>, a comment holding "--", a prefix ending mid-element.
"""

from __future__ import annotations

import html
import re
from functools import cache

from monitor.content.head import HEAD_ELEMENTS, HEAD_TAG_NAMES, SKIP_CONTENT, Head, collapse

# A repeated group is written `(?>(?:…)*)`, never `(?:…)*+`: the two mean the same,
# but Python 3.11.0-3.11.4's `re` matched a possessive repeat of a group that can
# backtrack inside wrongly (CPython gh-106052, fixed in 3.11.5), and Debian's 3.11.2
# is one we run on: there a skip run swallowed a `</` after a <style>, and the head's
# end was lost. A repeat of one character (`[^<]*+`) was never affected.

_WS = "[ \t\n\r\f]"
_VALUE = "(?:\"[^\"]*+\"|'[^']*+'|[^\\s\"'=<>`]++)"
_ATTRS = rf"(?>(?:{_WS}++[^\s/>\"'=<]++(?>(?:{_WS}*+={_WS}*+{_VALUE})?))*)"


@cache
def _token() -> re.Pattern[str]:
    """The general path's next token. Compiled at the first head _STEP cannot
    step through, not at import (issue 16: 3.2 M instructions, every process)."""
    return re.compile(
        rf"<(?:([a-zA-Z][-.a-zA-Z0-9:_]*+)({_ATTRS}){_WS}*+(/?)>"  # start tag
        rf"|/([a-zA-Z][-.a-zA-Z0-9:_]*+){_WS}*+>"  # end tag
        r"|(!--)"  # comment: its end is checked by hand
        r"|![dD][oO][cC][tT][yY][pP][eE][^>]*+>|\?[^>]*+>)"  # doctype, processing instruction
    )


_ATTR = re.compile(rf"{_WS}+([^\s/>\"'=<]+)(?:{_WS}*={_WS}*({_VALUE}))?")


def _any_case(name: str) -> str:
    """`name` in any ASCII case (html.parser's tag names are ASCII: "ſcript" is
    no "script", though re.IGNORECASE says it is)."""
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in name)


_CDATA_TAGS = frozenset({"script", "style"})


@cache
def _cdata_end(name: str) -> re.Pattern[str]:
    """The end of a script or style (`name`), as html.parser finds it. Compiled
    on the general path at the first one, not at import (issue 16)."""
    return re.compile(rf"</\s*{_any_case(name)}\s*>")


_NAME_END = "(?![-.a-zA-Z0-9:_])"  # a tag name ends here: _token()'s names are possessive


def _cdata(name: str) -> str:
    """A non-self-closing <script>/<style> start tag and its content up to the first
    match of _cdata_end(name) (the same pattern, unrolled to scan at C speed)."""
    case = _any_case(name)
    end = rf"/\s*{case}\s*>"
    return rf"<{case}{_NAME_END}{_ATTRS}{_WS}*+>[^<]*+(?>(?:<(?!{end})[^<]*+)*)<{end}"


# The attributes of an <html> with no attribute named `amp` or `⚡` (any case):
# one that cannot carry the AMP marker, which is all fast_head reads of it.
_NOT_AMP_NAME = r"(?!(?:[aA][mM][pP]|⚡)(?![^\s/>\"'=<]))"
_ATTRS_NOT_AMP = rf"(?>(?:{_WS}++{_NOT_AMP_NAME}[^\s/>\"'=<]++(?>(?:{_WS}*+={_WS}*+{_VALUE})?))*)"

# What fast_head skips without a look, outside <title>, <noscript> and
# <template>: text, well-formed comments, doctypes and processing
# instructions, end tags other than </head> and </html>, <meta> and <head>
# start tags, <html> start tags without an `amp` or `⚡` attribute, and
# complete scripts and styles. Each alternative takes
# exactly what the token loop would take for that token, and the loop would
# change nothing else; so one match of this replaces many turns of the loop.
_SKIP_RUN = (
    "(?>(?:"
    r"[^<]++"
    r"|<!--(?!-?>)(?>(?:[^-]++|-(?!-))*)-->"
    r"|<![dD][oO][cC][tT][yY][pP][eE][^>]*+>|<\?[^>]*+>"
    rf"|</(?!(?:[hH][eE][aA][dD]|[hH][tT][mM][lL]){_NAME_END})[a-zA-Z][-.a-zA-Z0-9:_]*+{_WS}*+>"
    rf"|<(?:[mM][eE][tT][aA]|[hH][eE][aA][dD]){_NAME_END}{_ATTRS}{_WS}*+/?>"
    rf"|<[hH][tT][mM][lL]{_NAME_END}{_ATTRS_NOT_AMP}{_WS}*+/?>"
    rf"|{_cdata('script')}|{_cdata('style')}"
    ")*)"
)
# One step of fast_head outside <title>, <noscript> and <template>: the skip
# run (group 1), then, if one follows, a start tag (name, attributes, slash;
# and when the text after it runs to a </title> without markup, that text and
# the end tag, for a <title>) or an end tag (name). Anything else is left to
# _token().
_STEP = re.compile(
    rf"({_SKIP_RUN})"
    rf"(?:<([a-zA-Z][-.a-zA-Z0-9:_]*+)({_ATTRS}){_WS}*+(/?)>"
    rf"(?=([^<]*+)(</[tT][iI][tT][lL][eE]{_WS}*+>))?"
    rf"|</([a-zA-Z][-.a-zA-Z0-9:_]*+){_WS}*+>)?"
)
# An <html> whose attributes hold neither cannot carry the AMP marker.
_AMP_WORDS = re.compile("amp|⚡", re.IGNORECASE)
# A <link> whose attributes hold neither of these cannot be canonical or amphtml.
_LINK_WORDS = re.compile("canonical|amphtml|&", re.IGNORECASE)


@cache
def _title_end() -> re.Pattern[str]:
    """The general path's </title>, compiled there, not at import (issue 16)."""
    return re.compile(rf"</[tT][iI][tT][lL][eE]{_WS}*+>")


_SELF_CLOSING_GIVES_UP = frozenset({"title", "script", "style", "noscript", "template"})


def attributes(raw: str) -> list[tuple[str, str | None]]:
    """Attributes as html.parser reports them: names lower-cased, values unquoted
    and unescaped, None for an attribute without a value."""
    attrs: list[tuple[str, str | None]] = []
    for name, value in _ATTR.findall(raw):
        if not value:
            attrs.append((name.lower(), None))
            continue
        if value[0] in "\"'":
            value = value[1:-1]
        attrs.append((name.lower(), html.unescape(value) if "&" in value else value))
    return attrs


def first_values(raw: str, wanted: frozenset[str]) -> dict[str, str | None]:
    """`dict(reversed(attributes(raw)))` (the first of a repeated attribute wins)
    cut to the names in `wanted`: only their values are unquoted and unescaped."""
    got: dict[str, str | None] = {}
    for name, value in _ATTR.findall(raw):
        name = name.lower()
        if name not in wanted or name in got:
            continue
        if not value:
            got[name] = None
            continue
        if value[0] in "\"'":
            value = value[1:-1]
        got[name] = html.unescape(value) if "&" in value else value
    return got


def fast_head(text: str) -> Head | None:
    """The head facts of a well-formed head, or None when the parser must decide."""
    got = Head()
    skip = 0
    title_at = -1  # where the text of an open <title> starts
    pos = 0
    find, step_at = text.find, _STEP.match
    while True:
        stepped = False
        if not skip and title_at < 0:
            # the usual case: skip what does not matter, then take the next tag
            step = step_at(text, pos)
            if step is None:  # pragma: no cover - every part of _STEP is optional
                return None
            name, attrs, slash, title_text, _, end_name = step.groups()[1:]
            if name is not None or end_name is not None:
                stepped = True
                lt, pos, comment = step.end(1), step.end(), None
                title_end = step.end(5)
            else:
                pos = step.end(1)  # not a tag: the general path below decides
        if not stepped:
            lt = find("<", pos)
            if lt < 0:
                if title_at >= 0 or skip:
                    return None  # cut inside <title>, <noscript> or <template>
                return got
            if title_at >= 0:
                end = _title_end().match(text, lt)
                if end is None:
                    return None  # markup inside <title>: the parser's business
                got.title = collapse([html.unescape(text[title_at:lt])])
                got.title_closed = True
                title_at = -1
                pos = end.end()
                continue
            token = _token().match(text, lt)
            if token is None:
                return None
            name, attrs, slash, end_name, comment = token.groups()
            title_text = None
            pos = token.end()
        if name is not None:
            tag = name.lower()
            if slash and tag in _SELF_CLOSING_GIVES_UP:
                return None
            if skip:
                if tag in SKIP_CONTENT:
                    skip += 1
            elif tag == "html":
                if _AMP_WORDS.search(attrs):
                    names = {n for n, _ in attributes(attrs)}
                    got.is_amp = got.is_amp or "amp" in names or "⚡" in names
            elif tag in SKIP_CONTENT:
                skip = 1
            elif tag == "title":
                if got.title is None:
                    if title_text is not None:  # the text and end tag, seen by _STEP
                        got.title = collapse([html.unescape(title_text)])
                        got.title_closed = True
                        pos = title_end
                    else:
                        title_at = pos
            elif tag in HEAD_ELEMENTS:
                if tag == "base" or (tag == "link" and _LINK_WORDS.search(attrs)):
                    got.head_values(tag, first_values(attrs, HEAD_TAG_NAMES))
            else:
                got.head_end = lt
                return got
            if tag in _CDATA_TAGS and not slash:
                close = _cdata_end(tag).search(text, pos)
                if close is None:
                    return None
                pos = close.end()
        elif end_name is not None:
            tag = end_name.lower()
            if skip:
                if tag in SKIP_CONTENT:
                    skip -= 1
            elif tag in ("head", "html"):
                got.head_end = lt
                return got
        elif comment is not None:
            close_at = find("--", lt + 4)
            if close_at < 0 or text[close_at + 2 : close_at + 3] != ">":
                return None
            if text[lt + 4 : lt + 5] == ">" or text[lt + 4 : lt + 6] == "->":
                return None
            pos = close_at + 3
