"""The one rule that cuts a long title for display (storage listing, status pages)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.observe.status import pages
from monitor.storage import listing
from monitor.text_clip import ELLIPSIS, clip, fit


@given(st.text(max_size=40), st.integers(min_value=0, max_value=40))
def test_clip_keeps_a_short_text_and_marks_a_cut(text: str, longest: int) -> None:
    out = clip(text, longest)
    if len(text) <= longest:
        assert out == text
    else:
        assert out == text[:longest] + ELLIPSIS
        assert len(out) == longest + 1


@given(st.text(max_size=40), st.integers(min_value=0, max_value=40))
def test_both_layers_cut_as_the_one_rule(text: str, longest: int) -> None:
    assert pages.clip(text, longest) == clip(text, longest)
    assert listing._clipped(text, longest) == clip(text, longest)


def test_listing_keeps_a_missing_title_missing() -> None:
    assert listing._clipped(None) is None


@given(st.text(max_size=40), st.integers(min_value=1, max_value=40))
def test_fit_keeps_a_text_within_its_width_and_marks_a_cut(text: str, limit: int) -> None:
    out = fit(text, limit)
    # the form http/errors.py and content/fingerprint.py each wrote out before
    assert out == (text if len(text) <= limit else text[: limit - 1] + "\u2026")
    assert len(out) <= limit


@given(st.text(max_size=300))
def test_one_line_messages_are_cut_by_the_one_rule(text: str) -> None:
    from monitor.content.fingerprint import shown
    from monitor.http.errors import _short

    assert len(_short(text)) <= 160 and len(shown(text)) <= 120
    folded = " ".join(text.split())
    assert _short(text) == fit(folded, 160)
