"""content/simhash.py: a page's visible text, its simhash, and the own-drift decision."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.content.html import head_facts
from monitor.content.simhash import (
    MAX_WORDS,
    MIN_WORDS,
    TEXT_WINDOW,
    PageMark,
    from_signed,
    hamming,
    page_simhash,
    simhash,
    text_change,
    title_key,
    to_signed,
    visible_text,
    window_end,
)
from monitor.daemon.outcome import Policy, page_mark
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome

PROSE = " ".join(f"word{i % 97} other{i % 13}" for i in range(200))


def test_visible_text_is_what_a_reader_sees() -> None:
    html = (
        "<p>One &amp; two</p><script>var x = '<p>no</p>';</script><style>p{}</style>"
        "<!-- hidden --><nav><a href=/>Home</a></nav><abbr>three</abbr>"
        "<template><p>no</p></template><p>four<SCRIPT>never closed"
    )
    assert visible_text(html) == "One & two three four"


def test_an_unclosed_comment_hides_the_rest_and_an_unclosed_link_nothing() -> None:
    assert visible_text("a <!-- b c") == "a"
    assert visible_text("a <a href=/x>b c <A>d</p>") == "a b c d"
    assert visible_text("<a href=/>nav</a> a <a href=/x>b c") == "a b c"


@settings(max_examples=300)
@given(st.text(alphabet="<>/!-ascriptyle &;p\n", max_size=200))
def test_visible_text_never_raises_and_holds_no_tags(fragment: str) -> None:
    text = visible_text(fragment)
    assert "<script" not in text.lower()


def test_hostile_fragments_are_read_in_one_pass() -> None:
    # thousands of openers that never close: each search starts past the last
    assert visible_text("<script " * 20_000) == ""
    assert visible_text("<a " * 20_000 + "x").endswith(" x")
    assert visible_text("<p" * 20_000) == "<p" * 20_000


def test_simhash_needs_enough_words_and_ignores_case() -> None:
    assert simhash(" ".join(["w"] * (MIN_WORDS - 1))) is None
    assert simhash(PROSE) == simhash(PROSE.upper())
    assert simhash(PROSE) is not None


def test_an_edit_moves_few_bits_and_another_text_many() -> None:
    base = simhash(PROSE)
    edited = simhash(PROSE.replace("word5 ", "changed ", 1))
    other = simhash(" ".join(f"term{i % 89} thing{i % 7}" for i in range(200)))
    assert base is not None and edited is not None and other is not None
    assert hamming(base, edited) <= 8 < 20 <= hamming(base, other)


@given(st.integers(0, 2**64 - 1))
def test_signed_storage_round_trips(value: int) -> None:
    assert -(2**63) <= to_signed(value) < 2**63
    assert from_signed(to_signed(value)) == value


BODY_WORDS = st.lists(
    st.sampled_from(["alpha", "béta", "gamma", "δέλτα", "ε", "&amp;", "<b>"]), min_size=1
)


@settings(max_examples=100)
@given(BODY_WORDS, st.integers(0, 4000), st.sampled_from([None, "utf-8", "latin-1"]))
def test_the_hash_reads_a_fixed_window_however_much_was_read(
    body: list[str], extra: int, charset: str | None
) -> None:
    """The reader stops anywhere past the window's end: the hash is the same."""
    words = " ".join((body * 20000)[:20000])  # past the window in any of the charsets
    page = f"<html><head><title>T</title></head><body><p>{words}</p>".encode(
        charset or "utf-8", "replace"
    )
    end = window_end(page)
    assert end is not None
    full = head_facts(page, base_url="http://a.test/", charset=charset, text_hash=True)
    assert len(page) > end
    cut = page[: end + extra]
    got = head_facts(cut, base_url="http://a.test/", charset=charset, text_hash=True)
    assert got.text_hash == full.text_hash


def test_a_page_without_head_and_body_tags_has_a_hash_too() -> None:
    page = f"<!doctype html><title>T</title><p>{PROSE}</p>"
    got = head_facts(page.encode(), base_url="http://a.test/", text_hash=True)
    assert got.text_hash is not None and got.text_hash == simhash(PROSE)


def test_no_hash_before_the_head_ends() -> None:
    assert page_simhash(b"<html><head><title>x", "<html><head><title>x", None) is None
    assert window_end(b"<head><title>x</title></head><p>") == len(b"<head><title>x") + 8 + (
        TEXT_WINDOW
    )


def test_title_key_is_the_headline_whatever_its_case_and_entities() -> None:
    assert title_key("Apple &amp; Google sue!") == title_key(None, "  apple & google SUE ")
    assert title_key("Apple sues") != title_key("Google sues")
    assert title_key(None, "", " ") == ""


def test_text_change_is_a_move_beyond_the_tolerance_under_the_same_title() -> None:
    new = PageMark(0b1111, "k", 3)
    assert text_change(0, "k", new) == 4
    assert text_change(0b1, "k", new) is None  # 3 bits: within
    assert text_change(0, "other", new) is None  # a new headline: a new baseline


def _result(outcome: Outcome, kind: Kind = Kind.WEB, text_hash: int | None = 5) -> CheckResult:
    return CheckResult(
        url="http://a.test/x",
        kind=kind,
        outcome=outcome,
        checked_at=datetime(2026, 1, 1, tzinfo=UTC),
        facts=ContentFacts(title="T", text_hash=text_hash),
    )


POLICY = Policy(3600.0, 60.0, 0.0, 3, 1, text_tolerance=14)


def test_only_a_page_that_loaded_with_text_gets_a_mark() -> None:
    assert page_mark(_result(Outcome.OK), POLICY) == PageMark(5, title_key("T"), 14)
    assert page_mark(_result(Outcome.MOVED), POLICY) is not None
    assert page_mark(_result(Outcome.HTTP_ERROR), POLICY) is None
    assert page_mark(_result(Outcome.TIMEOUT), POLICY) is None
    assert page_mark(_result(Outcome.OK, Kind.IMAGE), POLICY) is None
    assert page_mark(_result(Outcome.OK, Kind.CDN), POLICY) is None  # web/AMP pages only
    assert page_mark(_result(Outcome.OK, text_hash=None), POLICY) is None
    off = Policy(3600.0, 60.0, 0.0, 3, 1)
    assert page_mark(_result(Outcome.OK), off) is None


def test_the_mark_takes_the_title_key_the_checker_sent() -> None:
    """The checker process takes the title key beside the text hash (issue 16: the
    parent's word analysis missed its cache with 40,000 titles); a result without
    one (an older checker, a test) gets the same key computed here."""
    sent = _result(Outcome.OK)
    sent.facts.title_key = "0123456789abcdef"  # a key's shape (another: outcome.py computes it)
    assert page_mark(sent, POLICY) == PageMark(5, "0123456789abcdef", 14)
    assert page_mark(_result(Outcome.OK), POLICY) == PageMark(5, title_key("T"), 14)


def test_long_words_are_not_kept_in_the_word_cache() -> None:
    """The word-hash cache keeps 65,536 words: a page serving one new 15,000-letter
    "word" at each check left 15 KB in it per check (45 MB after 3,000 checks,
    ~1 GB once full). Only words a language has are cached; the hash is the same."""
    from monitor.content import simhash as sh

    sh._word_hashes.clear()
    words = [f"{'q' * 500}{n}" for n in range(20)] + [f"w{n}" for n in range(30)]
    got = sh.simhash(" ".join(words))
    assert len(sh._word_hashes) == 30
    sh._word_hashes.clear()
    assert sh.simhash(" ".join(words)) == got


def _naive_simhash(text: str) -> int | None:
    """The simhash as its docstring says, one shingle and one bit at a time."""
    import hashlib
    import string

    table = str.maketrans(dict.fromkeys(string.punctuation, " "))
    tokens = text[: 16 * MAX_WORDS].lower().translate(table).split()[:MAX_WORDS]
    if len(tokens) < MIN_WORDS:
        return None
    hashes = [
        int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
        for w in tokens
    ]

    def rotl(value: int, r: int) -> int:
        return ((value << r) | (value >> (64 - r))) & ((1 << 64) - 1)

    shingles = [
        a ^ rotl(b, 21) ^ rotl(c, 42)
        for a, b, c in zip(hashes, hashes[1:], hashes[2:], strict=False)
    ]
    return sum(
        1 << bit for bit in range(64) if 2 * sum((s >> bit) & 1 for s in shingles) > len(shingles)
    )


@given(
    st.lists(
        st.sampled_from(["news", "Storm", "city", "a", "rain's", "x" * 40, "één"]), max_size=60
    )
)
@settings(max_examples=200)
def test_the_fast_simhash_is_the_one_bit_at_a_time_reading(words: list[str]) -> None:
    text = " ".join(words)
    assert simhash(text) == _naive_simhash(text)
