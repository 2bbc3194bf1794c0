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
import sys
from array import array
from dataclasses import dataclass
from functools import lru_cache

from monitor.content.charset import decode
from monitor.content.fingerprint import words

TEXT_WINDOW = 32 * 1024  # bytes of the body, after the head, whose text is hashed
MIN_WORDS = 24  # fewer words than this (a JS shell, a redirect stub): no hash
MAX_WORDS = 1000  # the top of the article: enough to tell an edit from another text
_MAX_CHARS = 16 * MAX_WORDS  # of visible text searched for them
BITS = 64
# Chosen on bench/text_drift_labels.py's labelled set (see its docstring for the figures).
DEFAULT_TOLERANCE = 14

# Where the head ends in the raw bytes (http/body.py's head_complete looks for the same).
_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)
# Elements whose content is not text a reader sees, and comments.
_HIDDEN_OPEN = re.compile(
    r"<(script|style|template|noscript|textarea|svg|select|a)(?![-.a-zA-Z0-9:_])|<!--",
    re.IGNORECASE,
)
_CLOSERS: dict[str, re.Pattern[str]] = {}
_TAG = re.compile(r"<[^<>]*>")
# ASCII punctuation splits words as spaces do ("Code," "code" and "code." are one word)
_PUNCTUATION = str.maketrans(dict.fromkeys(string.punctuation, " "))
_MASK = (1 << BITS) - 1


def window_end(data: bytes | bytearray) -> int | None:
    """The byte index where the text window ends (head end + TEXT_WINDOW), or None
    while the head has not ended in `data`."""
    found = _HEAD_END.search(data)
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
    while (found := _HIDDEN_OPEN.search(fragment, pos)) is not None:
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
    text = _TAG.sub(" ", " ".join(parts))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split()) if collapse else text


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


# words recur across pages: most are hashed once per process
_word_hash = lru_cache(maxsize=1 << 16)(_hash)
CACHED_WORD = 32  # characters: a longer "word" (a hostile page's new one each check) is not kept


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
# byte -> b"\x01" where bit k is set, else b"\x00": with bytes.translate and count,
# the votes of every shingle on one bit are counted at C speed (a big-int AND and
# bit count per bit took longer: each walks every lane)
_BIT_OF = [bytes((b >> k) & 1 for b in range(256)) for k in range(8)]


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
    XORs over all lanes at once; each bit's votes are a translate and a count of
    one byte column."""
    # at most MAX_WORDS words from at most _MAX_CHARS characters: bounded, and the
    # same answer for the same text
    tokens = text[:_MAX_CHARS].lower().translate(_PUNCTUATION).split()[:MAX_WORDS]
    if len(tokens) < MIN_WORDS:
        return None
    cached, direct, longest = _word_hash, _hash, CACHED_WORD
    words = array("Q", [cached(w) if len(w) <= longest else direct(w) for w in tokens])
    if sys.byteorder != "little":
        words.byteswap()
    lanes = int.from_bytes(words.tobytes(), "little")
    shingles = len(tokens) - 2
    mixed = lanes ^ _rotl(lanes >> BITS, _ROT1) ^ _rotl(lanes >> 2 * BITS, _ROT2)
    packed = (mixed & ((1 << BITS * shingles) - 1)).to_bytes(8 * shingles, "little")
    out = 0
    for byte in range(8):  # byte `byte` of every shingle, then each of its bits' votes
        column = packed[byte::8]
        for k in range(8):
            if 2 * column.translate(_BIT_OF[k]).count(1) > shingles:
                out |= 1 << (8 * byte + k)
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
        return simhash(visible_text(text[head_end : head_end + TEXT_WINDOW], collapse=False))
    if end < len(data):  # the window is cut in bytes, so chunking cannot move it
        text = decode(data[:end], charset)
    return simhash(visible_text(text[head_end:], collapse=False))


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
