"""Pure: words of a title or description, and how much two of them share.

Publishers change a page's title in routine ways that do not make it another
article: a site name before or after it ("… | The Verge", "BBC News - …"),
case, punctuation, HTML entities, typographic quotes, accents, a lightly
edited headline, a translated headline that keeps its names and numbers.
`words` reduces a text to its meaningful words so that all of those compare
equal; `similarity` is the best overlap between the record's title and any
title-like text of the page (and any of its site-name segments).

Bounded work whatever the page sends: every text is cut to MAX_TEXT
characters before it is read, and at most MAX_WORDS words are kept.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache

from monitor.text_clip import fit

MAX_TEXT = 600  # characters of one text that are read (a headline is ~100)
MAX_WORDS = 64

_WORD = re.compile(r"\w+")
# quotes and apostrophes, straight and typographic: "AI’s" is "AI" + "s"
_QUOTES = str.maketrans({c: " " for c in "'\"‘’‚‛“”„‟′″`´«»‹›"})


# The patterns below are compiled at their first use, not at import: every
# process imports this module (monitor.config does) and most never read a
# title with them; compiling them cost ~37 M instructions of each start,
# _unspaced's ranges ~31 M of it (re's compiler walks each code point of a
# class). Issue 16, bench/README.md's twentieth session.


@cache
def _invisible() -> re.Pattern[str]:
    """Characters that change nothing a reader sees: bidi marks, zero-width ones, soft hyphen."""
    return re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


@cache
def _separators() -> re.Pattern[str]:
    """Site-name separators, as soft404.py splits titles: spaced, so "e-mail" stays
    one word. Compiled at the first title split (`segments`), not at import."""
    return re.compile(r"\s+(?:\||-|–|—|·|::|»|«|/|:)\s+|\s*[|·»«]\s*")


# Function words and site furniture of the languages our publishers write in:
# sharing only these is sharing nothing.
STOPWORDS = frozenset(
    """
    a an the and or but of to in on at by for with from as is are was were be been
    it its this that these those not no yes you your we our they their he she his her
    who what when where why how will would can could has have had do does did than
    then so if into over after before about up out new news home page site official
    latest update updated live video watch read more online blog article story
    der die das und oder ein eine einer eines mit von zu im ist sind auf fur nicht
    le la les un une des du de et ou en au aux est pour par sur dans avec pas que qui
    el los las y o es por para con del se lo al una su
    il lo gli di che per non sono della nel
    """.split()
)


def _fold(text: str) -> str:
    """Lower case without accents or compatibility forms ("Ｃａｆé" → "cafe")."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.casefold()


def _stem(word: str) -> str:
    """A light suffix strip, the same for both sides: "exposes", "exposed",
    "exposing" and "expose" are one word. Not a linguist's stemmer: enough that
    an edited headline's inflections still meet."""
    if len(word) > 4 and word[-1] in "sgd":
        for suffix in _SUFFIXES[word[-1]]:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    if len(word) > 3 and word[-1] == "e":
        word = word[:-1]
    return word


_SUFFIXES = {"s": ("ies", "es", "s"), "g": ("ing",), "d": ("ied", "ed")}


NAME_WEIGHT = 3  # a capitalised word after the first, or one with a digit: a name or number
FIRST_WEIGHT = 2  # the first word: often the subject's name, often just a capital


@lru_cache(maxsize=4096)  # record titles are compared on every check of their targets
def weighted(text: str | None) -> dict[str, int]:
    """The meaningful words of `text` with their weight: entities decoded; case,
    accents, quotes and punctuation dropped; stop words and one-letter words left
    out; suffixes stripped. Names and numbers weigh more: a headline in another
    language keeps them, another article on the same site seldom shares them."""
    if not text:
        return {}
    text = text[:MAX_TEXT]
    if "&" in text:
        text = html.unescape(html.unescape(text))[:MAX_TEXT]  # double-escaped feeds
    text = _invisible().sub("", text).translate(_QUOTES)
    out: dict[str, int] = {}
    first = True
    for match in _WORD.finditer(text):
        raw = match.group().strip("_")
        word = raw.lower() if raw.isascii() else _fold(raw)
        if not word or word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            first = first and not raw
            continue
        if not raw.isalpha() or (not first and raw[:1].isupper()):
            weight = NAME_WEIGHT
        else:
            weight = FIRST_WEIGHT if first and raw[:1].isupper() else 1
        first = False
        if not word.isascii() and _unspaced().search(word):
            # Chinese, Japanese, Korean: no spaces between words, so pairs of characters
            for i in range(max(1, len(word) - 1)):
                out[word[i : i + 2]] = max(weight, out.get(word[i : i + 2], 0))
        else:
            stem = _stem(word)
            out[stem] = max(weight, out.get(stem, 0))
        if len(out) >= MAX_WORDS:
            break
    return out


@cache
def _unspaced() -> re.Pattern[str]:
    """Scripts written without spaces between words (kana, CJK ideographs, hangul)."""
    return re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _scripts(found: Iterable[str]) -> set[bool]:
    """Which scripts words are in: True for Latin (ASCII once folded), False for others;
    numbers are in none."""
    out: set[bool] = set()
    for word in found:
        if not word.isdigit():
            out.add(word.isascii())
    return out


def share_a_script(record_text: str | None, page_texts: Iterable[str | None]) -> bool:
    """Whether the page's texts are written in a script of the record's title: a
    headline in another script (a translation in Arabic or Chinese) cannot be
    compared word by word, so it is not judged."""
    mine = _scripts(weighted(record_text))
    theirs: set[bool] = set()
    for text in page_texts:
        theirs |= _scripts(weighted(text))
    return not mine or not theirs or bool(mine & theirs)


def words(text: str | None) -> frozenset[str]:
    """The meaningful words of `text` (see `weighted`)."""
    return frozenset(weighted(text))


def segments(text: str | None) -> list[str]:
    """`text` and, when it has site-name separators, each part between them."""
    if not text:
        return []
    text = text[:MAX_TEXT]
    parts = [p for p in _separators().split(text) if p.strip()]
    return [text, *parts] if len(parts) > 1 else [text]


def overlap(record: dict[str, int], page: frozenset[str], floor: int = 2) -> float:
    """How much of the lighter side the other holds (0..1), weighed by the record's
    words (a page word the record lacks weighs 1); the lighter side weighs at
    least 2, so one shared plain word is never a full match."""
    if not record or not page:
        return 0.0
    shared = sum(w for t, w in record.items() if t in page)
    if not shared:
        return 0.0
    mine = sum(record.values())
    theirs = sum(record.get(t, 1) for t in page)
    return shared / max(floor, min(mine, theirs))


def _contains(page: str, record: str) -> bool:
    """The record's title, as written, inside the page's (the cheap common case)."""
    return len(record) <= len(page) <= len(record) + 80 and record.lower() in page.lower()


def holds_title(record_text: str | None, page_texts: Iterable[str | None]) -> bool:
    """Whether a page text holds the record's title as written, give or take case and
    a site name: the usual healthy page, answered without splitting into words."""
    if not record_text:
        return False
    record = record_text
    return any(t and _contains(t, record) for t in page_texts)


def similarity(
    record_text: str | None, page_texts: Iterable[str | None], floor: int = 2
) -> float | None:
    """The best overlap of the record's words with any page text or segment of one;
    None when there is nothing to compare (no record words, or no page words)."""
    texts = [t for t in page_texts if t]
    if record_text and any(_contains(t, record_text) for t in texts):
        return 1.0  # the usual healthy page: the headline, perhaps with a site name
    mine = weighted(record_text)
    if not mine:
        return None
    best: float | None = None
    for text in texts:
        for part in segments(text):
            theirs = words(part)
            if not theirs:
                continue
            score = overlap(mine, theirs, floor)
            if best is None or score > best:
                best = score
    return best


@cache
def _parked() -> re.Pattern[str]:
    """A parked or for-sale domain: drift whatever words it shares with the record."""
    return re.compile(
        r"domain (?:name )?(?:is |may be |might be )?for sale|buy this domain"
        r"|(?:this|the) domain (?:is|has been|may be) (?:parked|registered|available)"
        r"|parked (?:free|domain|by)|domain parking|is for sale[!.]?$"
        r"|hugedomains|sedo ?parking|dan\.com|afternic|(?:make an? )?offer on this domain",
    )


def is_parked(texts: Iterable[str | None]) -> bool:
    """Whether a page's title, heading or description says its domain is parked or for sale."""
    for text in texts:
        if text and _parked().search(" ".join(_fold(text[:MAX_TEXT]).split())):
            return True
    return False


def shown(text: str, limit: int = 120) -> str:
    """`text` fit for a one-line message: invisible and control characters out,
    spaces collapsed, cut to `limit` characters."""
    text = _invisible().sub("", text[: limit * 4])
    text = "".join(c if c.isprintable() else " " for c in text)
    text = " ".join(text.split())
    return fit(text, limit)
