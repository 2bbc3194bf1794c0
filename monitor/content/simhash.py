"""Pure: a page's visible text, its 64-bit simhash, and whether it changed.

The daemon keeps, per target, the simhash of the text a reader sees at the top
of the page's body (issue 15): when a later check finds the text far from it
(more than a tolerance of differing bits, the Hamming distance) while the
title stayed, the article was rewritten or replaced under its old headline, and
that is an event in the target's history. Charikar's simhash: each 3-word
shingle votes on each of 64 bits, so a few edited words move a few bits and
another text about half of them.

The text read is a fixed window: TEXT_WINDOW bytes after the end of the head
(the reader fetches that much when asked), so the same page always gives the
same hash however its bytes arrived. Work is linear in the window: scripts,
styles and comments are skipped by forward searches, never by backtracking.
"""

from __future__ import annotations

import hashlib
import html
import re
import string
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from operator import itemgetter

from monitor.content.charset import decode
from monitor.content.fingerprint import words

TEXT_WINDOW = 32 * 1024  # bytes of the body, after the head, whose text is hashed
MIN_WORDS = 24  # fewer words than this (a JS shell, a redirect stub): no hash
MAX_WORDS = 1000  # the top of the article: enough to tell an edit from another text
_MAX_CHARS = 16 * MAX_WORDS  # of visible text searched for them
BITS = 64
# Chosen on bench/text_drift_labels.py's labelled set (see its docstring for the figures).
DEFAULT_TOLERANCE = 14

_CLOSERS: dict[str, re.Pattern[str]] = {}


# The patterns are compiled at their first use, not at import: only the daemon's
# checkers mark pages' text, and every process imports this module (issue 16).
@cache
def _head_end() -> re.Pattern[bytes]:
    """Where the head ends in the raw bytes (http/body.py's head_complete looks for the same)."""
    return re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)


@cache
def _hidden_open() -> re.Pattern[str]:
    """Elements whose content is not text a reader sees, and comments."""
    return re.compile(
        r"<(script|style|template|noscript|textarea|svg|select|a)(?![-.a-zA-Z0-9:_])|<!--",
        re.IGNORECASE,
    )


@cache
def _tag() -> re.Pattern[str]:
    return re.compile(r"<[^<>]*>")


# ASCII punctuation splits words as spaces do ("Code," "code" and "code." are one word)
_PUNCTUATION = str.maketrans(dict.fromkeys(string.punctuation, " "))
_MASK = (1 << BITS) - 1


def window_end(data: bytes | bytearray) -> int | None:
    """The byte index where the text window ends (head end + TEXT_WINDOW), or None
    while the head has not ended in `data`."""
    found = _head_end().search(data)
    return None if found is None else found.start() + TEXT_WINDOW


def _closer(name: str) -> re.Pattern[str]:
    pattern = _CLOSERS.get(name)
    if pattern is None:
        pattern = _CLOSERS[name] = re.compile(rf"</{name}\s*>", re.IGNORECASE)
    return pattern


def visible_text(fragment: str, *, collapse: bool = True) -> str:
    """The text of an HTML fragment as a reader sees it: no tags, scripts, styles,
    comments, templates or link text; entities decoded; spaces collapsed. An
    element left open runs to the end (as a browser reads an unclosed <script>),
    but for a link: an <a> never closed hides nothing."""
    parts: list[str] = []
    pos = 0
    unclosed_link = False  # no </a> after some <a>: none after any later one either
    hidden_open = _hidden_open().search
    while (found := hidden_open(fragment, pos)) is not None:
        parts.append(fragment[pos : found.start()])
        name = found.group(1)
        if name is None:
            end = fragment.find("-->", found.end())
            pos = -1 if end < 0 else end + 3
        elif (link := name in "aA") and unclosed_link:
            parts.append(found.group())  # the tag itself: stripped with the others
            pos = found.end()
        else:
            close = _closer(name.lower()).search(fragment, found.end())
            if close is not None:
                pos = close.end()
            elif link:
                parts.append(found.group())
                unclosed_link, pos = True, found.end()
            else:
                pos = -1
        if pos < 0:
            break
    else:
        parts.append(fragment[pos:])
    text = _tag().sub(" ", " ".join(parts))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split()) if collapse else text


def _hash(word: str) -> bytes:
    """The word's 64-bit hash as 8 little-endian bytes: a lane of `simhash`'s int."""
    return hashlib.blake2b(word.encode(), digest_size=8).digest()


CACHED_WORD = 32  # characters: a longer "word" (a hostile page's new one each check) is not kept
WORD_GENERATION = 1 << 15  # words per generation of the word-hash cache (two are kept)


class _WordHashes:
    """The words' hashes, cached: words recur across pages, so most are hashed once
    per process. Two generations of plain dicts (the older dropped when the newer
    is full, a word found in it moved up): bounded at 2 * WORD_GENERATION words.
    A page's lanes are its words' hashes joined (bytes, one C-level `itemgetter`
    and `join`: 12 us for a small page's 400 words, where an `array` of ints
    took 21, and an lru_cache call per word a sixth of the whole hash)."""

    def __init__(self) -> None:
        self.young: dict[str, bytes] = {}
        self.old: dict[str, bytes] = {}

    def of(self, tokens: list[str]) -> bytes:
        """The hashes of `tokens` (at least two), 8 bytes each, in order."""
        young = self.young
        pick = itemgetter(*tokens)
        try:
            return b"".join(pick(young))
        except KeyError:
            pass
        # A page with a few new words (its own name, a date) among known ones: the
        # missing found by one C-level set difference and added, then picked again.
        missing = set(tokens).difference(young)
        if len(young) + len(missing) <= WORD_GENERATION and all(
            len(word) <= CACHED_WORD for word in missing
        ):
            old = self.old
            for word in missing:
                value = old.get(word)
                young[word] = _hash(word) if value is None else value
            return b"".join(pick(young))
        got: dict[str, bytes] = {}
        for word in set(tokens):
            value = self.young.get(word)
            if value is None:
                value = self.old.get(word)
                if value is None:
                    value = _hash(word)
                if len(word) <= CACHED_WORD:
                    if len(self.young) >= WORD_GENERATION:
                        self.old, self.young = self.young, {}
                    self.young[word] = value
            got[word] = value
        return b"".join(pick(got))

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def clear(self) -> None:
        self.young, self.old = {}, {}


_word_hashes = _WordHashes()


# Every shingle hash is a 64-bit lane of one big int, so the mixing and the
# counting below are a few C-speed operations over all lanes at once.
_LANES = MAX_WORDS
_ROT1, _ROT2 = 21, 42  # a shingle's 2nd and 3rd word rotated: word order matters


def _lane_mask(bits: range) -> int:
    """`bits` of every one of _LANES lanes."""
    lane = sum(1 << b for b in bits)
    return int.from_bytes(lane.to_bytes(8, "little") * _LANES, "little")


_LOW = {r: _lane_mask(range(r)) for r in (_ROT1, _ROT2)}
_HIGH = {r: _lane_mask(range(r, BITS)) for r in (_ROT1, _ROT2)}
# bit k of every byte of a column of _LANES bytes: one byte of every shingle read
# as one int, the votes on its bit k are an AND and a bit count (a bytes.translate
# and count per bit took twice as long; an AND over all lanes at once, 8x longer)
_BYTE_BIT = tuple(int.from_bytes(bytes([1 << k]) * _LANES, "little") for k in range(8))


def _rotl(lanes: int, r: int) -> int:
    """Each 64-bit lane rotated left by `r` bits."""
    return ((lanes << r) & _HIGH[r]) | ((lanes >> (BITS - r)) & _LOW[r])


def simhash(text: str) -> int | None:
    """The 64-bit simhash of `text`'s 3-word shingles (lower case), or None when it
    has fewer than MIN_WORDS words: too little to tell an edit from a new text.

    Each word is hashed with blake2b (stable across processes and versions); a
    shingle's hash is its words' XORed, the 2nd and 3rd rotated (the three are
    independent random values, so the XOR is as random); the words' hashes are
    64-bit lanes of one int, so every shingle is made by a few shifts, ANDs and
    XORs over all lanes at once; each bit's votes are an AND and a bit count of
    one byte column."""
    # at most MAX_WORDS words from at most _MAX_CHARS characters: bounded, and the
    # same answer for the same text
    # (split with maxsplit: the words past MAX_WORDS are not made, the rest is one string)
    tokens = text[:_MAX_CHARS].lower().translate(_PUNCTUATION).split(None, MAX_WORDS)[:MAX_WORDS]
    if len(tokens) < MIN_WORDS:
        return None
    lanes = int.from_bytes(_word_hashes.of(tokens), "little")
    shingles = len(tokens) - 2
    mixed = lanes ^ _rotl(lanes >> BITS, _ROT1) ^ _rotl(lanes >> 2 * BITS, _ROT2)
    packed = (mixed & ((1 << BITS * shingles) - 1)).to_bytes(8 * shingles, "little")
    half = shingles >> 1  # a bit is set when more than half of the shingles vote for it
    out = 0
    for byte in range(8):  # byte `byte` of every shingle, then each of its bits' votes
        column = int.from_bytes(packed[byte::8], "little")
        bit = 1 << 8 * byte
        for mask in _BYTE_BIT:
            if (column & mask).bit_count() > half:
                out |= bit
            bit <<= 1
    return out


def page_simhash(
    data: bytes, text: str, head_end: int | None, charset: str | None = None
) -> int | None:
    """The simhash of the text window of a page: `text` is `data` decoded (with
    `charset`) and `head_end` the index in `text` where the parser saw the body begin."""
    if head_end is None:
        return None
    end = window_end(data)
    if end is None:
        # no </head> nor <body> tag (HTML5 lets both go): the reader read to the
        # end or the cap, so the window after where the parser saw the head end is fixed
        return window_simhash(text[head_end : head_end + TEXT_WINDOW])
    if end < len(data):  # the window is cut in bytes, so chunking cannot move it
        text = decode(data[:end], charset)
    return window_simhash(text[head_end:])


# ------------------------------------------------------- rechecks: the same window

MARKS_KEPT = 1 << 16  # windows' marks kept per process (bench/text_marks.py --memory: 11.3 MB full)


class _WindowMarks:
    """The marks of the text windows seen last, by a digest of the window's text.

    Most rechecks in the daemon find the same page: the window's digest (SHA-256
    cut to 128 bits: ~2 us for a small page, ~19 for a 32 KiB window, half of
    blake2b's time where the CPU has SHA instructions) then stands for its
    visible text and simhash (~90 and ~300 us). The mark is a function of the
    window's text alone, so a hit is exactly what computing it again gives (up
    to a 128-bit digest's collision). The key is the decoded window, not the page's
    bytes: a head that changes at every answer (a nonce, a timestamp) still
    hits. Least recently used first out, at most MARKS_KEPT per process; the
    daemon's checker processes live as long as the daemon and each host goes to
    one of them, so a target's rechecks meet its earlier mark."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.marks: OrderedDict[bytes, int | None] = OrderedDict()
        self.hits = self.misses = 0

    def mark(self, fragment: str) -> int | None:
        key = hashlib.sha256(fragment.encode("utf-8", "surrogatepass")).digest()[:16]
        marks = self.marks
        found = marks.pop(key, -1)  # popped and put back: the most recent now
        if found == -1:
            self.misses += 1
            found = simhash(visible_text(fragment, collapse=False))
        else:
            self.hits += 1
        marks[key] = found
        if len(marks) > self.size:
            with suppress(KeyError):  # another thread's eviction came first
                marks.popitem(last=False)
        return found

    def clear(self) -> None:
        self.marks.clear()
        self.hits = self.misses = 0


_window_marks = _WindowMarks(MARKS_KEPT)


def window_simhash(fragment: str) -> int | None:
    """The simhash of the visible text of a page's text window (the HTML after
    the head), from the marks of the windows seen last when it is one of them."""
    return _window_marks.mark(fragment)


def hamming(a: int, b: int) -> int:
    """Bits that differ between two hashes."""
    return ((a ^ b) & _MASK).bit_count()


def to_signed(value: int) -> int:
    """A 64-bit hash as a BIGINT (signed) for the database."""
    return value - (1 << BITS) if value >> (BITS - 1) else value


def from_signed(value: int) -> int:
    return value & _MASK


# ---------------------------------------------------------------- own drift


@dataclass(frozen=True, slots=True)
class PageMark:
    """What the daemon keeps of a page to compare its next check with."""

    text_hash: int  # unsigned, 64 bits
    title_key: str  # `title_key` of the page's title
    tolerance: int  # bits that may differ with the text still "the same"


def title_key(*titles: str | None) -> str:
    """A short digest of the first non-empty title's meaningful words: the same
    for the same headline whatever its case, punctuation or entities."""
    for title in titles:
        if title and title.strip():
            key = " ".join(sorted(words(title))) or " ".join(title.split()).lower()
            return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    return ""


def text_change(old_hash: int, old_title: str, new: PageMark) -> int | None:
    """The Hamming distance when the text moved beyond the tolerance while the
    title stayed; None when nothing happened worth recording."""
    if old_title != new.title_key:
        return None  # a new headline: a new baseline (content_drift judges titles)
    distance = hamming(old_hash, new.text_hash)
    return distance if distance > new.tolerance else None


def text_change_message(distance: int) -> str:
    return (
        f"the page's text changed while its title stayed ({distance} of {BITS} simhash bits differ)"
    )
