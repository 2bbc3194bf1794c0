"""content/simhash.py's speed-ups held to the plain reading: the word-hash cache
(two generations), the byte-column vote, and the marks of windows seen last
(a recheck of the same window is not computed again) (issue 16)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_simhash import PROSE, _naive_simhash

from monitor.content import simhash as sh
from monitor.content.html import head_facts

VOCABULARY = [f"w{n}" for n in range(300)] + ["Storm", "één", "rain's", "x" * 40, "a"]


@pytest.fixture
def small_generations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A word cache of 8 words a generation: every page swaps generations."""
    monkeypatch.setattr(sh, "WORD_GENERATION", 8)
    sh._word_hashes.clear()
    yield
    sh._word_hashes.clear()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), min_size=20, max_size=1200))
def test_long_texts_hash_as_the_one_bit_at_a_time_reading(words: list[str]) -> None:
    """Up to and past MAX_WORDS: every byte column of the vote, every lane."""
    text = " ".join(words)
    assert sh.simhash(text) == _naive_simhash(text)


@pytest.mark.usefixtures("small_generations")
def test_the_word_cache_is_bounded_and_never_changes_a_hash() -> None:
    for n in range(40):  # new words at every page, old ones coming back
        text = " ".join(VOCABULARY[(7 * n + i) % len(VOCABULARY)] for i in range(60))
        assert sh.simhash(text) == _naive_simhash(text)
        assert len(sh._word_hashes) <= 2 * 8


def test_a_page_with_a_few_new_words_hashes_as_the_plain_reading() -> None:
    """Known words with a few new ones (a page's own name, a date): the missing are
    added and the page picked again, never a lane out of place."""
    sh._word_hashes.clear()
    known = " ".join(VOCABULARY[:60])
    assert sh.simhash(known) == _naive_simhash(known)
    for n in range(5):
        long = f" {'y' * 40}{n}" if n >= 3 else ""  # a word too long to keep: the general path
        text = f"{known} story{n} {VOCABULARY[n]}{long} fresh{n}"
        assert sh.simhash(text) == _naive_simhash(text)
    # the long words were hashed for their pages and not kept
    assert not any(len(word) > sh.CACHED_WORD for word in sh._word_hashes.young)
    assert {"story0", "fresh4"} <= sh._word_hashes.young.keys()


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts whose simhash is computed (not taken from the window marks)."""
    computed: list[str] = []
    real: Callable[[str], int | None] = sh.simhash

    def counted(text: str) -> int | None:
        computed.append(text)
        return real(text)

    monkeypatch.setattr(sh, "simhash", counted)
    return computed


def _page(head_noise: str, body: str) -> bytes:
    return (
        f"<html><head><title>T</title><script>var nonce='{head_noise}'</script></head>"
        f"<body><p>{body}</p></body></html>"
    ).encode()


def test_a_recheck_of_the_same_window_is_not_computed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sh._window_marks.clear()
    computed = _counting(monkeypatch)
    first = head_facts(_page("n1", PROSE), base_url="http://a.test/", text_hash=True)
    # another answer with the same text after a head that changed (a nonce): no work
    again = head_facts(_page("n2", PROSE), base_url="http://a.test/", text_hash=True)
    assert first.text_hash is not None and again.text_hash == first.text_hash
    assert len(computed) == 1
    edited = PROSE.replace("word5 ", "changed ", 1)
    moved = head_facts(_page("n2", edited), base_url="http://a.test/", text_hash=True)
    assert len(computed) == 2 and moved.text_hash == sh.simhash(edited)
    assert (sh._window_marks.hits, sh._window_marks.misses) == (1, 2)


def test_too_short_a_text_is_remembered_as_no_mark(monkeypatch: pytest.MonkeyPatch) -> None:
    sh._window_marks.clear()
    computed = _counting(monkeypatch)
    for _ in range(3):
        got = head_facts(_page("n", "a few words"), base_url="http://a.test/", text_hash=True)
        assert got.text_hash is None
    assert len(computed) == 1


def test_the_window_marks_are_bounded_and_least_recently_used_go_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marks = sh._WindowMarks(3)
    monkeypatch.setattr(sh, "_window_marks", marks)
    computed = _counting(monkeypatch)
    texts = [f"<p>{PROSE} page{n}</p>" for n in range(5)]
    for text in texts[:3]:
        sh.window_simhash(text)
    sh.window_simhash(texts[0])  # used again: now the most recent
    sh.window_simhash(texts[3])  # evicts texts[1], the least recently used
    assert len(marks.marks) == 3
    before = len(computed)
    sh.window_simhash(texts[0])
    assert len(computed) == before  # kept
    sh.window_simhash(texts[1])
    assert len(computed) == before + 1  # was evicted: computed again


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["alpha", "<b>", "&amp;", "béta", "<!--", "-->", "<a>", "</a>"])),
    st.integers(0, 3),
)
def test_a_mark_from_the_window_marks_is_the_mark_computed_afresh(
    parts: list[str], repeats: int
) -> None:
    fragment = " ".join(parts * 10)
    fresh = sh.simhash(sh.visible_text(fragment, collapse=False))
    for _ in range(repeats + 1):
        assert sh.window_simhash(fragment) == fresh
