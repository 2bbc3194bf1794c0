"""Pure: what a page's <head> says about it, from a prefix of its bytes.

The engine reads a capped prefix of each page; the facts needed (the AMP
marker on <html>, <link rel=canonical>, <link rel=amphtml>, <title>) live in
the head, so parsing stops where the head ends, as a browser's does: at
</head>, <body>, or the first element that cannot be in a head (an <img> or
<div> in the head closes it, and Google then ignores later canonical links).
Content of <noscript> and <template> is skipped, as a scripting browser
does. The one look past the head is the first complete <h1> of the prefix,
for the soft-404 check, found by a fast scan that steps over scripts and
comments.

Soft 404 (a 2xx page that says it is not found) is deliberately
conservative: the title, split at site-name separators (" | ", " - ", " – ",
" — ", " · ", " :: ", " » "), must have a part that is *entirely* a
not-found phrase ("Page not found", "404", "Error 404", "404 Not Found",
"This page doesn't exist", "Content no longer available", and the same in
German, French, Spanish, Italian, Portuguese, Dutch and Polish); or the first
<h1> must be entirely such a phrase. A headline that merely contains "404"
or "no longer available" ("Apple Music no longer available in Russia", "The
404 page is dead") is not a soft 404.
"""

from __future__ import annotations

import codecs
import functools
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = [
    "HtmlFacts",
    "head_facts",
    "is_html_content_type",
    "is_image_content_type",
    "is_soft_404_text",
    "media_type",
]


@dataclass(frozen=True, slots=True)
class HtmlFacts:
    canonical: str | None = None  # absolute
    amphtml: str | None = None  # absolute
    is_amp: bool = False
    title: str | None = None
    soft_404: bool = False


def media_type(value: str | None) -> str | None:
    """The lower-cased type/subtype of a Content-Type value, parameters dropped."""
    if value is None:
        return None
    mtype = value.split(";", 1)[0].strip().lower()
    return mtype or None


def is_html_content_type(value: str | None) -> bool:
    return media_type(value) in ("text/html", "application/xhtml+xml")


def is_image_content_type(value: str | None) -> bool:
    mtype = media_type(value)
    return mtype is not None and mtype.startswith("image/") and len(mtype) > len("image/")


# --- soft 404 ------------------------------------------------------------

_P404 = r"(?:(?:http|error) )?404(?: error)?"
_SUBJECT = (
    r"(?:(?:the|this|that) )?(?:requested )?"
    r"(?:page|file|article|content|story|resource|document|url|post)"
)
_NOT_FOUND = r"(?:(?:was|is|could not be|cannot be|can't be|can not be) )?not found"
_GONE = (
    r"(?:(?:you are|you're|you were) looking for )?"
    r"(?:does not exist|doesn't exist|no longer exists|is no longer available"
    r"|isn't available|is not available|is unavailable|could not be found|cannot be found"
    r"|can't be found|was not found|has been removed|has been deleted)"
)
_ENGLISH = (
    rf"{_P404}"
    rf"|(?:{_P404} )?(?:(?:oops|sorry|error) )?(?:{_SUBJECT} )?{_NOT_FOUND}"
    rf"|(?:{_P404} )?(?:(?:oops|sorry|error) )?{_SUBJECT} {_GONE}"
    rf"|(?:(?:oops|sorry) )?(?:{_SUBJECT} )?(?:is )?no longer available"
    r"|(?:(?:oops|sorry) )?we (?:couldn't|could not|can't|cannot) find (?:that|this|the) page"
    r"|nothing found"
)
_OTHER_LANGUAGES = (
    r"(?:fehler|erreur|error|errore|erro|fout|błąd) 404"
    r"|(?:die )?seite (?:wurde )?nicht gefunden|nicht gefunden"  # de
    r"|(?:la )?page (?:non trouvée|introuvable)|la page (?:demandée )?n'existe pas"  # fr
    r"|(?:la )?página no encontrada|no se encontró la página|la página no existe"  # es
    r"|(?:la )?pagina non trovata|la pagina non esiste"  # it
    r"|(?:a )?página não encontrada|a página não existe"  # pt
    r"|(?:de )?pagina niet gevonden|deze pagina bestaat niet"  # nl
    r"|nie znaleziono strony|strona nie została znaleziona|nie znaleziono"  # pl
)
_SOFT_404 = re.compile(rf"(?:{_ENGLISH}|{_OTHER_LANGUAGES})")
_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|·|::|»|«|/)\s+")
_PUNCTUATION = re.compile(r"[\s.,:;!?¡¿…\"«»()\[\]*~_-]+")


# Every phrase above holds one of these words: most titles hold none, and are
# answered without the splitting and the long pattern.
_KEYWORDS = re.compile(
    r"404|found|exist|esiste|availab|find|gefunden|trouv|encontr|trovat|gevonden|bestaat"
    r"|znalezion|removed|deleted"
)


def is_soft_404_text(text: str | None) -> bool:
    """Whether a title or heading is, in one of its parts, only a not-found phrase."""
    if not text:
        return False
    lowered = text.lower()
    return _KEYWORDS.search(lowered) is not None and _has_404_part(lowered)


def _has_404_part(lowered: str) -> bool:
    normal = " ".join(lowered.replace("’", "'").split())
    for part in _SEPARATORS.split(normal):
        words = _PUNCTUATION.sub(" ", part).strip()
        if words and _SOFT_404.fullmatch(words):
            return True
    return False


# --- charset ---------------------------------------------------------------

_META_CHARSET = re.compile(
    rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


@functools.lru_cache(maxsize=64)  # pure, and pages name a handful of charsets
def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    # HTML: a page declaring UTF-16 in ASCII-compatible bytes is really UTF-8
    if codec.startswith("utf-16") or codec.startswith("utf-32"):
        return "utf-8"
    return codec


def decode(prefix: bytes, charset: str | None = None) -> str:
    """Text of a page prefix: BOM, else the transport charset, else <meta charset>,
    else UTF-8; undecodable bytes (a character cut by the prefix) are replaced."""
    for bom, name in _BOMS:
        if prefix.startswith(bom):
            return prefix[len(bom) :].decode(name, "replace")
    codec = _codec(charset)
    if codec is None:
        found = _META_CHARSET.search(prefix[:4096])
        codec = _codec(found.group(1).decode("ascii")) if found else None
    try:
        return prefix.decode(codec or "utf-8", "replace")
    except LookupError:  # pragma: no cover - _codec validated it
        return prefix.decode("utf-8", "replace")


# --- the parser --------------------------------------------------------------

_HEAD_ELEMENTS = frozenset(
    {"html", "head", "title", "base", "link", "meta", "style", "script", "noscript", "template"}
)
_SKIP_CONTENT = frozenset({"noscript", "template"})
_CHUNK = 8192

# The first <h1> of the body, found by a scan rather than by the parser
# (html.parser runs at about 1 MB/s; a regex scan of a 512 KiB prefix takes a
# millisecond). Scripts, styles, comments and templates are stepped over; an
# <h1> cut by the end of the prefix is not matched.
_BODY_SCAN = re.compile(
    r"<(script|style|template|noscript|textarea)\b.*?</\1\s*>|<!--.*?-->"
    r"|<h1\b[^>]*>(.*?)</h1\s*>",
    re.IGNORECASE | re.DOTALL,
)
# Where a _BODY_SCAN match can start: "<" and the first letters of each
# alternative in every case _BODY_SCAN's IGNORECASE accepts ("ſ" is an "s"). A
# search for these skips the other tags at C speed; _BODY_SCAN then decides
# at each hit, so first_h1 answers as _BODY_SCAN.finditer would.
_BODY_OPEN = re.compile(r"<(?:[sS\u017f](?:[cC]|[tT][yY])|[tT][eE]|[nN][oO]|!--|[hH]1)")
_TAG = re.compile(r"<[^>]*>")


class _Stop(Exception):
    """The head ended: nothing more to learn from the parser."""


@dataclass(slots=True)
class _Head:
    """What the head says so far; filled by the fast scanner or by the parser."""

    is_amp: bool = False
    base: str | None = None
    canonical: str | None = None
    amphtml: str | None = None
    title: str | None = None
    title_closed: bool = False  # closed within the prefix, so fit to judge
    head_end: int | None = None  # index in the text where the body starts

    def head_tag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """<base> and <link>: the first of each kind with a non-empty href wins."""
        values = dict(reversed(attrs))  # first occurrence of a duplicate attribute wins
        if tag == "base" and self.base is None and values.get("href"):
            self.base = (values["href"] or "").strip()
        elif tag == "link":
            href = (values.get("href") or "").strip()
            rels = (values.get("rel") or "").lower().split()
            if href and "canonical" in rels and self.canonical is None:
                self.canonical = href
            if href and "amphtml" in rels and self.amphtml is None:
                self.amphtml = href


class _HeadParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.got = _Head()
        self.head_end: tuple[int, int] | None = None  # (line, column) where the body starts
        self._title_parts: list[str] | None = None
        self._skip_depth = 0

    # HTMLParser calls these; the names are fixed by the stdlib.
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._title_parts is not None:  # title is raw text: no tags inside
            self._title_parts.append(self.get_starttag_text() or "")
            return
        if self._skip_depth:
            if tag in _SKIP_CONTENT:
                self._skip_depth += 1
            return
        if tag == "html":
            names = {name for name, _ in attrs}
            self.got.is_amp = self.got.is_amp or "amp" in names or "⚡" in names
        elif tag in _SKIP_CONTENT:
            self._skip_depth = 1
        elif tag == "title":
            if self.got.title is None:
                self._title_parts = []
        elif tag in _HEAD_ELEMENTS:
            self.got.head_tag(tag, attrs)
        else:
            self._end_head()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in _SKIP_CONTENT and self._skip_depth:
            self._skip_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if self._title_parts is not None and tag != "title":
            self._title_parts.append(f"</{tag}>")
            return
        if self._skip_depth:
            if tag in _SKIP_CONTENT:
                self._skip_depth -= 1
            return
        if tag == "title" and self._title_parts is not None:
            self.got.title = _text(self._title_parts)
            self.got.title_closed = True
            self._title_parts = None
        elif tag in ("head", "html"):
            self._end_head()

    def handle_data(self, data: str) -> None:
        if self._title_parts is not None and not self._skip_depth:
            self._title_parts.append(data)

    def _end_head(self) -> None:
        self.head_end = self.getpos()
        raise _Stop

    def finish(self) -> None:
        """The prefix ended inside the head: keep what an unclosed <title> held."""
        if self._title_parts is not None and self.got.title is None:
            self.got.title = _text(self._title_parts) or None


def _text(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


def _offset(text: str, line: int, column: int) -> int:
    """Index in `text` of html.parser's (line, column) position; 0 if out of range."""
    pos = 0
    for _ in range(line - 1):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return 0
    return min(pos + column, len(text))


def first_h1(text: str, start: int = 0) -> str | None:
    """Text of the first complete <h1> in `text[start:]`, outside scripts and comments.

    The same answer as the first <h1> of `_BODY_SCAN.finditer(text, start)`,
    trying _BODY_SCAN only where _BODY_OPEN says a match can start.
    """
    search, match = _BODY_OPEN.search, _BODY_SCAN.match
    pos = start
    while (candidate := search(text, pos)) is not None:
        at = candidate.start()
        found = match(text, at)
        if found is None:
            pos = at + 1
            continue
        inner = found.group(2)
        if inner is not None:
            if "<" in inner or "&" in inner:
                inner = html.unescape(_TAG.sub(" ", inner))
            return " ".join(inner.split())
        pos = found.end()
    return None


# An absolute http(s) URL that urljoin returns unchanged whatever the base:
# lower-case scheme, a non-empty host of plain characters (no brackets),
# a path without dot segments, a non-empty query if any; no ";" (urljoin
# drops an empty parameter), "#", whitespace, backslash or non-ASCII.
# Tested against urljoin with hypothesis.
_PLAIN = r"A-Za-z0-9\-._~%!$&'()*+,=:@"
_PLAIN_ABSOLUTE = re.compile(
    rf"https?://[{_PLAIN}]+(?:/(?!\.)[{_PLAIN}]*)*(?:\?[{_PLAIN}/?]+)?",
)


def _absolute(href: str | None, base: str) -> str | None:
    if href is None:
        return None
    if _PLAIN_ABSOLUTE.fullmatch(href):
        return href
    try:
        return urljoin(base, href)
    except ValueError:
        return href


# --- the fast path -------------------------------------------------------------
#
# Most heads are well-formed: tags with quoted or plain attribute values,
# comments, a doctype, scripts and styles. For those a regex scanner gives the
# same answers as the parser above at a fraction of the cost; it gives up
# (returns None, and the parser runs) on anything it is not sure the parser
# reads the same way: a `<` that starts no tag it knows, odd attribute
# syntax, markup inside <title>, a self-closing <title>/<script>/<style>/
# <noscript>/<template>, a comment holding "--", a prefix ending mid-element.

_WS = "[ \t\n\r\f]"
_VALUE = "(?:\"[^\"]*+\"|'[^']*+'|[^\\s\"'=<>`]++)"
_ATTRS = rf"(?:{_WS}++[^\s/>\"'=<]++(?:{_WS}*+={_WS}*+{_VALUE})?+)*+"
_TOKEN = re.compile(
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


# The end of a script or style, as html.parser finds it.
_CDATA_END = {
    "script": re.compile(rf"</\s*{_any_case('script')}\s*>"),
    "style": re.compile(rf"</\s*{_any_case('style')}\s*>"),
}
_NAME_END = "(?![-.a-zA-Z0-9:_])"  # a tag name ends here: _TOKEN's names are possessive


def _cdata(name: str) -> str:
    """A non-self-closing <script>/<style> start tag and its content up to the first
    match of _CDATA_END[name] (the same pattern, unrolled to scan at C speed)."""
    case = _any_case(name)
    end = rf"/\s*{case}\s*>"
    return rf"<{case}{_NAME_END}{_ATTRS}{_WS}*+>[^<]*+(?:<(?!{end})[^<]*+)*+<{end}"


# What _fast_head skips without a look, outside <title>, <noscript> and
# <template>: text, well-formed comments, doctypes and processing
# instructions, end tags other than </head> and </html>, <meta> and <head>
# start tags, and complete scripts and styles. Each alternative takes
# exactly what the token loop would take for that token, and the loop would
# change nothing else; so one match of this replaces many turns of the loop.
_SKIP_RUN = (
    "(?:"
    r"[^<]++"
    r"|<!--(?!-?>)(?:[^-]++|-(?!-))*+-->"
    r"|<![dD][oO][cC][tT][yY][pP][eE][^>]*+>|<\?[^>]*+>"
    rf"|</(?!(?:[hH][eE][aA][dD]|[hH][tT][mM][lL]){_NAME_END})[a-zA-Z][-.a-zA-Z0-9:_]*+{_WS}*+>"
    rf"|<(?:[mM][eE][tT][aA]|[hH][eE][aA][dD]){_NAME_END}{_ATTRS}{_WS}*+/?>"
    rf"|{_cdata('script')}|{_cdata('style')}"
    ")*+"
)
# One step of _fast_head outside <title>, <noscript> and <template>: the skip
# run (group 1), then, if one follows, a start tag (name, attributes, slash;
# and when the text after it runs to a </title> without markup, that text and
# the end tag, for a <title>) or an end tag (name). Anything else is left to
# _TOKEN.
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
_TITLE_END = re.compile(rf"</[tT][iI][tT][lL][eE]{_WS}*+>")

_SELF_CLOSING_GIVES_UP = frozenset({"title", "script", "style", "noscript", "template"})


def _attributes(raw: str) -> list[tuple[str, str | None]]:
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


def _fast_head(text: str) -> _Head | None:
    """The head facts of a well-formed head, or None when the parser must decide."""
    got = _Head()
    skip = 0
    title_at = -1  # where the text of an open <title> starts
    pos = 0
    find, match, step_at = text.find, _TOKEN.match, _STEP.match
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
                end = _TITLE_END.match(text, lt)
                if end is None:
                    return None  # markup inside <title>: the parser's business
                got.title = _text([html.unescape(text[title_at:lt])])
                got.title_closed = True
                title_at = -1
                pos = end.end()
                continue
            token = match(text, lt)
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
                if tag in _SKIP_CONTENT:
                    skip += 1
            elif tag == "html":
                if _AMP_WORDS.search(attrs):
                    names = {n for n, _ in _attributes(attrs)}
                    got.is_amp = got.is_amp or "amp" in names or "⚡" in names
            elif tag in _SKIP_CONTENT:
                skip = 1
            elif tag == "title":
                if got.title is None:
                    if title_text is not None:  # the text and end tag, seen by _STEP
                        got.title = _text([html.unescape(title_text)])
                        got.title_closed = True
                        pos = title_end
                    else:
                        title_at = pos
            elif tag in _HEAD_ELEMENTS:
                if tag == "base" or (tag == "link" and _LINK_WORDS.search(attrs)):
                    got.head_tag(tag, _attributes(attrs))
            else:
                got.head_end = lt
                return got
            if tag in _CDATA_END and not slash:
                close = _CDATA_END[tag].search(text, pos)
                if close is None:
                    return None
                pos = close.end()
        elif end_name is not None:
            tag = end_name.lower()
            if skip:
                if tag in _SKIP_CONTENT:
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


def _slow_head(text: str) -> _Head:
    """The head facts by html.parser, which copes with anything."""
    parser = _HeadParser()
    try:
        for start in range(0, len(text), _CHUNK):
            parser.feed(text[start : start + _CHUNK])
        parser.close()
    except _Stop:
        pass
    except (AssertionError, ValueError, IndexError):  # pragma: no cover - stdlib parser edge
        pass
    parser.finish()
    got = parser.got
    if parser.head_end is not None:
        got.head_end = _offset(text, *parser.head_end)
    return got


def head_facts(prefix: bytes, *, base_url: str, charset: str | None = None) -> HtmlFacts:
    """Canonical and amphtml links (absolute), AMP marker, title, soft-404 flag.

    `base_url` is the URL the page was finally served from (after
    redirects); a <base href> in the head takes precedence over it, as in a
    browser. `charset` is the Content-Type charset, if any. Never raises.
    """
    text = decode(prefix, charset)
    got = _fast_head(text) or _slow_head(text)
    return _facts(text, got, base_url)


def _facts(text: str, got: _Head, base_url: str) -> HtmlFacts:
    base = base_url
    if got.base:
        base = _absolute(got.base, base_url) or base_url
    title = got.title or None
    # A title or heading cut by the end of the prefix ("Page not found" of
    # "Page not found for decades, ...") is shown but never judged.
    soft = got.title_closed and is_soft_404_text(title)
    if not soft and got.head_end is not None:
        heading = first_h1(text, got.head_end)
        # a heading that repeats a judged title has its answer already
        if not (got.title_closed and heading == title):
            soft = is_soft_404_text(heading)
    return HtmlFacts(
        canonical=_absolute(got.canonical, base),
        amphtml=_absolute(got.amphtml, base),
        is_amp=got.is_amp,
        title=title,
        soft_404=soft,
    )
