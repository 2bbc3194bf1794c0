"""The canonical form holds no path text while it walks a record: each level's
dotted path was joined as it went down and held until it came back, so a record
nested 255 deep (within the readers' bound) under 60,000-character keys, 15 MB
of JSON, held 2 GB of paths at once (`sign`, `verify` and `check` with an
Ed25519 or v2 key: 1.96 GB peak RSS). The path is joined when a value has no
canonical form, and then reads as before."""

from __future__ import annotations

import math
from typing import Any

import pytest
from support.traced import traced

from monitor.secured.canonical import SHOWN, CanonicalFormError, canonical_bytes, lookup
from monitor.text_clip import clip

DEPTH = 254  # field levels under the article's own mapping: within nesting.MAX_DEPTH
KEY = 2_000  # characters a key


def _nested(leaf: Any, key: str = "k" * KEY) -> dict[str, Any]:
    value = leaf
    for _ in range(DEPTH):
        value = {key: value}
    return {"webUrl": "https://news.example.com/a", "x": value}


def test_a_deep_record_under_long_keys_holds_no_path_text() -> None:
    record = _nested(1)  # ~0.5 MB of keys, shared: a path joined per level is 65 MB
    with traced() as mem:
        canonical = canonical_bytes(record)
    assert len(canonical) > DEPTH * KEY
    assert mem.peak < 8 * len(canonical), mem


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"": {"": [math.nan]}}, "0"),  # an empty key adds nothing to the path, as before
        ({"a": {"": {"b": [1, 10**400]}}}, "a..b.1"),
        ({"a": [{"b": {1: "x", "1": "y"}}]}, "a.0.b"),
    ],
)
def test_the_path_of_a_value_with_no_form_reads_as_before(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(CanonicalFormError) as info:
        canonical_bytes(raw)
    assert info.value.path == path


def test_the_deep_path_is_still_named() -> None:
    with pytest.raises(CanonicalFormError) as info:
        canonical_bytes(_nested(math.inf, key="k"))
    assert info.value.path == clip("x." + ".".join(["k"] * DEPTH), SHOWN)  # clipped for display


def test_lookup_names_its_own_path_prefix() -> None:
    from monitor.secured.canonical import UNSUPPORTED

    assert lookup({"a": {"b": [b"bytes"]}}, "a.b") is UNSUPPORTED
