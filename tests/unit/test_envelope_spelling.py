"""One spelling per envelope (session 6): a legacy envelope whose base64 sets the
unused trailing bits of its last character decoded to the same bytes, so three
other strings verified as the signer's envelope; v2 and ed25519 already refused it."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from monitor.secured.envelopes import V2, Ed25519, Legacy, Malformed, parse_envelope

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _respelled(b64: str) -> list[str]:
    """The other characters that decode to the same bytes at the last data position."""
    body = b64.rstrip("=")
    pad = b64[len(body) :]
    unused = {2: 4, 1: 2}.get(len(pad), 0)  # "==": 4 bits unused; "=": 2
    if not unused:
        return []
    value = _ALPHABET.index(body[-1])
    same = [c for i, c in enumerate(_ALPHABET) if i >> unused == value >> unused and i != value]
    return [body[:-1] + c + pad for c in same]


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=1, max_size=4).map(lambda b: b * 4))
def test_only_the_canonical_spelling_is_an_envelope(iv: bytes, blocks: bytes) -> None:
    ciphertext = (blocks * 16)[:16] if len(blocks) < 16 else blocks[: len(blocks) // 16 * 16]
    c64, iv64 = base64.b64encode(ciphertext).decode(), base64.b64encode(iv).decode()
    assert parse_envelope(f"{c64};{iv64}") == Legacy(ciphertext, iv)
    others = [f"{c64};{v}" for v in _respelled(iv64)] + [f"{c};{iv64}" for c in _respelled(c64)]
    assert iv64.endswith("==") and len(others) >= 15
    for other in others:
        assert isinstance(parse_envelope(other), Malformed), other


_KIDS = st.text("abcXYZ019_-", min_size=1, max_size=64)


@given(st.one_of(
    st.builds(Legacy, st.binary(min_size=1, max_size=8).map(lambda b: (b * 16)[:32]),
              st.binary(min_size=16, max_size=16)),
    st.builds(V2, _KIDS, st.binary(min_size=12, max_size=12), st.binary(min_size=16, max_size=80)),
    st.builds(Ed25519, _KIDS, st.binary(min_size=64, max_size=64)),
))  # fmt: skip
def test_parse_of_format_is_the_envelope(envelope: Legacy | V2 | Ed25519) -> None:
    assert parse_envelope(envelope.format()) == envelope
    assert parse_envelope(f"  {envelope.format()}\n") == envelope


_ENVELOPE_TEXT = st.text("AQgw+/_-=;.v2ed5519kK", max_size=120) | st.sampled_from(
    ["v2.k.", "ed25519.k.", "v2.k.AAAAAAAAAAAAAAAA.", ";AAAAAAAAAAAAAAAAAAAAAA=="]
).flatmap(lambda head: st.text("AQgw+/_-=", max_size=100).map(lambda tail: head + tail))


def _last_char_replaced(text: str, char: str) -> str:
    body = text.rstrip("=")
    return body[:-1] + char + text[len(body) :]


_RESPELLED = st.builds(
    lambda c, iv, a, b: f"{_last_char_replaced(c, a)};{_last_char_replaced(iv, b)}",
    st.binary(min_size=16, max_size=16).map(lambda b: base64.b64encode(b).decode()),
    st.binary(min_size=16, max_size=16).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(_ALPHABET),
    st.sampled_from(_ALPHABET),
)


@given(_ENVELOPE_TEXT | _RESPELLED)
def test_any_text_is_an_envelope_in_its_one_spelling_or_malformed(text: str) -> None:
    found = parse_envelope(text)
    if not isinstance(found, Malformed):
        assert found.format() == text.strip()


def test_an_envelope_wrapped_over_lines_says_so() -> None:
    c64 = base64.b64encode(bytes(32)).decode()
    iv64 = base64.b64encode(bytes(16)).decode()
    for text, aimed in (
        (f"{c64[:20]} {c64[20:]};{iv64}", "legacy"),  # as YAML folds a wrapped plain value
        (f"v2.k.AAAAAAAAAAAAAAAA.{'A' * 20}\n{'A' * 10}", "v2"),
        (f"ed25519.k.{'A' * 40}\t{'A' * 46}", "ed25519"),
    ):
        found = parse_envelope(text)
        assert isinstance(found, Malformed)
        assert "white space inside" in found.reason and found.envelope == aimed
