"""Body decoding under a cap: bombs stay small, deflate variants decode."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.http.body import (
    _HEAD_END,
    Decoder,
    UnsupportedEncodingError,
    decoder_for,
    head_complete,
)


def test_gzip_bomb_output_is_bounded_per_call() -> None:
    bomb = gzip.compress(bytes(8 << 20))
    dec = Decoder("gzip")
    out = dec.feed(bomb, 1000)
    assert len(out) == 1000


@pytest.mark.parametrize(
    "encode",
    [
        zlib.compress,  # deflate as the RFC says (zlib wrapper)
        lambda b: zlib.compress(b)[2:-4],  # deflate as many servers send it (raw)
    ],
)
def test_both_deflate_flavours(encode: object) -> None:
    text = b"<html><head></head></html>" * 10
    assert Decoder("deflate").feed(encode(text), 10_000) == text  # type: ignore[operator]


def test_identity_and_unsupported() -> None:
    assert decoder_for(None) is None
    assert decoder_for("identity") is None
    assert isinstance(decoder_for("GZIP"), Decoder)
    with pytest.raises(UnsupportedEncodingError):
        decoder_for("br")


@given(st.binary(max_size=2000), st.integers(min_value=1, max_value=5000))
def test_gzip_roundtrip_prefix(data: bytes, limit: int) -> None:
    assert Decoder("gzip").feed(gzip.compress(data), limit) == data[:limit]


@pytest.mark.parametrize(
    ("html", "done"),
    [
        (b"<html><head><title>x</title></head>", True),
        (b"<HTML><HEAD></HEAD >", True),
        (b"<html><head><title>x</title><body class=a>", True),
        (b"<html><head><title>x</title>", False),
        (b"<html><head><link rel=canonical href=/a><bodyguard>", False),
    ],
)
def test_head_complete(html: bytes, done: bool) -> None:
    assert head_complete(html) is done


HEAD_PIECES = st.sampled_from(
    [
        b"<",
        b"</",
        b"</head",
        b"</HEAD",
        b"</heads>",
        b" ",
        b"\n",
        b"\t" * 20,
        b">",
        b"<body",
        b"<BODY ",
        b"<bodyguard>",
        b"<head>",
        b"x",
        b"<title>a</title>",
        b"/",
        b"</he",
    ]
)


@settings(max_examples=400)
@given(st.lists(HEAD_PIECES, max_size=30), st.lists(st.integers(1, 40), max_size=20))
def test_head_complete_read_by_read_answers_as_for_the_whole_prefix(
    pieces: list[bytes], cuts: list[int]
) -> None:
    """read_prefix's protocol: one call per read with the length before it; the
    first read after which the answer is True is the first whose prefix holds a
    head end, wherever the reads cut it."""
    data = b"".join(pieces)
    buf = bytearray()
    pos = 0
    for size in [*cuts, len(data)]:
        chunk = data[pos : pos + size]
        pos += len(chunk)
        before = len(buf)
        buf += chunk
        expected = _HEAD_END.search(bytes(buf)) is not None
        assert head_complete(buf, before) is expected
        if expected:
            break


def test_a_head_end_cut_after_many_spaces_is_found() -> None:
    first = b"<html><head><title>x</title></head" + b" " * 40
    buf = bytearray(first)
    assert head_complete(buf, 0) is False
    buf += b">"
    assert head_complete(buf, len(first)) is True


@pytest.mark.parametrize("spaces", [0, 3, 9, 200, 70_000])
def test_a_head_end_cut_anywhere_in_a_long_run_of_spaces_is_found(spaces: int) -> None:
    data = b"<head><style>" + b"a{}" * 3000 + b"</style></head" + b" \n" * spaces + b">"
    for cut in (len(data) - 1, len(data) - 1 - spaces, len(data) - 3):
        buf = bytearray(data[:cut])
        assert head_complete(buf, 0) is False
        buf += data[cut:]
        assert head_complete(buf, cut) is True
