"""The canonical form: one byte string per record, whichever way it was written."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.secured.canonical import (
    ABSENT,
    CanonicalFormError,
    canonical_bytes,
    format_instant,
    lookup,
    normalise,
    normalise_scalar_text,
    same_value,
)

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

FRONT_MATTER = """\
title: "Security lapse exposed Clearview AI source code"
publishedDateTime: 2020-04-16T19:08:00Z
updatedDateTime: 2020-04-16T21:08:00.250+02:00
day: 2020-04-16
webUrl: "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/"
quality: 87
ratio: 0.5
published: true
provider: {name: TechCrunch, domain: techcrunch.com}
images:
  - {url: "https://techcrunch.com/a.jpg?w=1024", width: 1024, height: 568}
related:
  - {title: x, publishedDateTime: 2020-04-17 09:36:00, secured: "kept;in related"}
secured: "7Zpr;Dkp0"
"""

AS_JSON = """{
  "secured": "another value entirely",
  "related": [{"secured": "kept;in related", "publishedDateTime": "2020-04-17T09:36:00Z",
               "title": "x"}],
  "images": [{"height": 568.0, "width": 1024, "url": "https://techcrunch.com/a.jpg?w=1024"}],
  "provider": {"domain": "techcrunch.com", "name": "TechCrunch"},
  "published": true, "ratio": 0.5, "quality": 87,
  "webUrl": "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/",
  "day": "2020-04-16",
  "updatedDateTime": "2020-04-16T19:08:00.25Z",
  "publishedDateTime": "2020-04-16 19:08:00+00:00",
  "title": "Security lapse exposed Clearview AI source code"
}"""


def test_yaml_and_json_of_one_record_give_the_same_bytes() -> None:
    from_yaml = yaml.safe_load(FRONT_MATTER)
    assert isinstance(from_yaml["publishedDateTime"], datetime)
    assert isinstance(from_yaml["day"], date)
    assert canonical_bytes(from_yaml) == canonical_bytes(json.loads(AS_JSON))


def test_the_canonical_text_itself() -> None:
    out = json.loads(canonical_bytes(yaml.safe_load(FRONT_MATTER)))
    assert "secured" not in out
    assert out["publishedDateTime"] == "2020-04-16T19:08:00Z"
    assert out["updatedDateTime"] == "2020-04-16T19:08:00.25Z"
    assert out["day"] == "2020-04-16"
    assert out["related"][0]["secured"] == "kept;in related"  # only the top-level one goes
    raw = canonical_bytes({"b": 1.0, "a": [True, None], "é": "x"})
    assert raw == '{"a":[true,null],"b":1,"é":"x"}'.encode()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2020-04-16T19:08:00Z", "2020-04-16T19:08:00Z"),
        ("2020-04-16t19:08:00z", "2020-04-16t19:08:00z"),  # lower-case z: not YAML's rule
        ("2020-04-16T21:08:00+02:00", "2020-04-16T19:08:00Z"),
        ("2020-04-16T19:08:00-0:30", "2020-04-16T19:38:00Z"),
        ("2020-04-16T17:08:00-02", "2020-04-16T19:08:00Z"),
        ("2020-04-16 19:08:00", "2020-04-16T19:08:00Z"),  # naive: UTC
        ("2020-4-6T9:08:00Z", "2020-04-06T09:08:00Z"),
        ("2020-04-16T19:08:00.000Z", "2020-04-16T19:08:00Z"),
        ("2020-04-16T19:08:00.5Z", "2020-04-16T19:08:00.5Z"),
        ("2020-04-16T19:08:00.123456789Z", "2020-04-16T19:08:00.123456Z"),  # as PyYAML
        ("2020-04-16", "2020-04-16"),
        ("2020-4-6", "2020-4-6"),  # not a YAML date: an ordinary string
        ("2020-13-01", "2020-13-01"),
        ("2020-04-16T19:08:00Z\n", "2020-04-16T19:08:00Z\n"),
        (" 2020-04-16T19:08:00Z", " 2020-04-16T19:08:00Z"),
        ("2020-04-16T24:00:00Z", "2020-04-16T24:00:00Z"),
        ("20200416T190800Z", "20200416T190800Z"),
        ("0001-01-01T00:30:00+01:00", "0001-01-01T00:30:00+01:00"),  # before year 1 in UTC
    ],
)
def test_which_strings_are_timestamps(text: str, canonical: str) -> None:
    assert normalise_scalar_text(text) == canonical


def test_every_text_yaml_reads_as_a_timestamp_normalises_like_the_object() -> None:
    for text in [
        "2020-04-16T19:08:00Z",
        "2020-4-6 9:08:00.1 +05",
        "2020-04-16",
        "1999-12-31t23:59:59",
    ]:
        value = yaml.safe_load(f"v: {text}")["v"]
        assert normalise(value) == normalise_scalar_text(text)


aware = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).flatmap(
    lambda d: st.integers(-14 * 60, 14 * 60).map(
        lambda m: d.astimezone(timezone(timedelta(minutes=m)))
    )
)
# PyYAML itself does not round-trip control characters and line separators.
text = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(text, max_size=20),
    aware,
    st.dates(min_value=date(1000, 1, 1)),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(text, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
records = st.dictionaries(st.text(text, min_size=1, max_size=10), values, max_size=8)


def as_json_text(value: Any, style: int) -> Any:
    """What a JSON writer might have made of the YAML values."""
    if isinstance(value, datetime):
        return [value.isoformat(), value.isoformat(sep=" "), format_instant(value)][style % 3]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_json_text(v, style) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json_text(v, style) for v in value]
    return value


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@settings(max_examples=50, deadline=None)
@given(records, st.integers(0, 2), st.randoms(use_true_random=False))
def test_yaml_json_and_reordered_forms_agree(
    record: dict[str, Any], style: int, rng: random.Random
) -> None:
    dumped = yaml.dump(record, Dumper=DUMPER, allow_unicode=True)
    via_yaml = yaml.load(dumped, Loader=LOADER)
    via_json = json.loads(json.dumps(as_json_text(record, style)))
    expected = canonical_bytes(record)
    assert canonical_bytes(via_yaml) == expected
    assert canonical_bytes(via_json) == expected
    assert canonical_bytes(shuffled(via_json, rng)) == expected
    assert json.loads(expected) == json.loads(canonical_bytes(json.loads(expected)))


@settings(max_examples=40, deadline=None)
@given(records, st.text(max_size=30))
def test_secured_never_matters(record: dict[str, Any], secured: str) -> None:
    assert canonical_bytes({**record, "secured": secured}) == canonical_bytes(
        {k: v for k, v in record.items() if k != "secured"}
    )


def test_exclude_dotted_paths_and_wildcards() -> None:
    raw = {
        "heat": 97,
        "images": [{"url": "a", "title": "t1"}, {"url": "b", "title": "t2"}],
        "provider": {"name": "n", "domain": "d"},
    }
    out = json.loads(canonical_bytes(raw, exclude=["heat", "images.*.title", "provider.name"]))
    assert out == {"images": [{"url": "a"}, {"url": "b"}], "provider": {"domain": "d"}}
    assert json.loads(canonical_bytes(raw, exclude=["images.0"]))["images"] == [
        {"url": "b", "title": "t2"}
    ]
    assert canonical_bytes(raw, exclude=["nope", "images.9.url", "heat.x", ""]) == canonical_bytes(
        raw
    )


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"a": {"b": 10**400}}, "a.b"),
        ({"a": [1.0, math.nan]}, "a.1"),
        ({"a": math.inf}, "a"),
        ({"a": b"bytes"}, "a"),
        ({"a": {1, 2}}, "a"),
        ({"a": {1: "x", "1": "y"}}, "a"),
    ],
)
def test_values_without_a_canonical_form_name_their_path(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(CanonicalFormError) as info:
        canonical_bytes(raw)
    assert info.value.path == path


def test_excluded_unrepresentable_values_are_fine() -> None:
    assert canonical_bytes({"a": 1, "big": 2**60}, exclude=["big"]) == b'{"a":1}'


def test_non_string_keys_read_as_their_json_text() -> None:
    assert canonical_bytes({1: "a", None: "c", 1.5: "d"}) == canonical_bytes(  # type: ignore[dict-item]  # type: ignore[dict-item]  # type: ignore[dict-item]
        {"1": "a", "null": "c", "1.5": "d"}
    )
    assert canonical_bytes({True: "b"}) == canonical_bytes({"true": "b"})  # type: ignore[dict-item]


def test_large_integers_are_the_nearest_double_as_in_rfc_8785() -> None:
    assert canonical_bytes({"a": 2**60}) == canonical_bytes({"a": float(2**60)})
    assert canonical_bytes({"a": 2**53}) == b'{"a":9007199254740992}'
    assert canonical_bytes({"a": 2**53 + 1}) == canonical_bytes({"a": 2**53})


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(CanonicalFormError, match="deeply"):
        canonical_bytes({"a": deep})


def test_lookup_follows_dotted_paths() -> None:
    raw = yaml.safe_load(FRONT_MATTER)
    assert lookup(raw, "images.0.width") == 1024
    assert lookup(raw, "provider.domain") == "techcrunch.com"
    assert lookup(raw, "publishedDateTime") == "2020-04-16T19:08:00Z"
    for missing in ["images.1.url", "images.00.url", "images.-1.url", "title.x", "nope"]:
        assert lookup(raw, missing) is ABSENT
    assert lookup({1: {"x": 2}}, "1.x") == 2  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (1024, 1024.0, True),
        (True, 1, False),
        (False, False, True),
        ("1024", 1024, False),
        (None, None, True),
        (None, "", False),
        ({"a": [1, 2.0]}, {"a": [1.0, 2]}, True),
        ([1], [1, 2], False),
        ({"a": 1}, {"b": 1}, False),
    ],
)
def test_same_value(a: Any, b: Any, same: bool) -> None:
    assert same_value(a, b) is same


def test_an_error_names_a_long_path_clipped() -> None:
    """A path of long keys is as long as the record: unclipped, a 15 MB record made a
    30 MB `verify` report and a 15 MB `fields` row in the daemon's database."""
    raw: dict[str, Any] = {"webUrl": "https://a.example.com/"}
    inner = raw
    for _ in range(20):
        inner["k" * 5_000] = {}
        inner = inner["k" * 5_000]
    inner["n"] = 10**400
    with pytest.raises(CanonicalFormError) as caught:
        canonical_bytes(raw)
    assert len(caught.value.path) <= 201
    assert caught.value.path.startswith("k" * 200) and caught.value.path.endswith("…")
    assert len(str(caught.value)) < 500
