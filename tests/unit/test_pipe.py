"""Results survive the trip through a worker's pipe unchanged."""

import marshal
import zlib
from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.check.host_share import _host_hash
from monitor.check.pipe import (
    FACTS_FIELDS,
    HEADER,
    MAX_FRAME,
    RESULT_FIELDS,
    CorruptFrame,
    Frames,
    frame,
    result_row,
    results_frame,
    results_from_frame,
    targets_frame,
    targets_from_frame,
)
from monitor.check.processes import auto_workers, host_owner
from monitor.urls import host_key
from monitor.vocabulary import (
    CheckResult,
    ContentFacts,
    Kind,
    Outcome,
    Problem,
    ProblemCode,
    Redirect,
)

text = st.text(min_size=0, max_size=40)
opt_text = st.none() | text
opt_int = st.none() | st.integers(min_value=0, max_value=1 << 40)
utc_instants = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
# what the engine makes (UTC, any microsecond, either fold), and the general
# path for what it does not: other offsets and naive datetimes
instants = st.one_of(
    utc_instants,
    st.builds(lambda d, fold: d.replace(fold=fold), utc_instants, st.sampled_from([0, 1])),
    st.datetimes(
        min_value=datetime(2, 1, 1),
        max_value=datetime(9998, 1, 1),
        timezones=st.none()
        | st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23))),
    ),
)

facts = st.builds(
    ContentFacts,
    content_type=opt_text,
    canonical=opt_text,
    amphtml=opt_text,
    is_amp=st.none() | st.booleans(),
    soft_404=st.booleans(),
    image_format=opt_text,
    width=opt_int,
    height=opt_int,
    bytes_read=st.integers(min_value=0, max_value=1 << 30),
    title=opt_text,
    text_hash=st.none() | st.integers(min_value=0, max_value=(1 << 64) - 1),
    title_key=st.none() | st.text(alphabet="0123456789abcdef", max_size=16),
    image_invalid=opt_text,
)
results = st.builds(
    CheckResult,
    url=text,
    kind=st.sampled_from(Kind),
    outcome=st.sampled_from(Outcome),
    checked_at=instants,
    http_status=st.none() | st.integers(100, 599),
    final_url=opt_text,
    redirects=st.lists(st.builds(Redirect, st.integers(300, 399), text), max_size=3),
    latency_ms=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
    attempts=st.integers(0, 11),
    error=opt_text,
    facts=facts,
    cert_not_after=st.none() | instants,
    problems=st.lists(st.builds(Problem, st.sampled_from(ProblemCode), text, opt_text), max_size=3),
)


def payloads(data: bytes) -> list[bytes]:
    """The payloads of a stream of whole frames."""
    reader = Frames()
    out = list(reader.feed(data))
    assert reader.pending == 0
    return out


def assert_same(got: list[tuple[str, CheckResult]], sent: list[tuple[str, CheckResult]]) -> None:
    assert got == sent
    # == compares datetimes by instant: the repr also holds zone, offset and fold
    assert repr(got) == repr(sent)


@given(results)
def test_round_trip(result: CheckResult) -> None:
    data = results_frame([result_row(result.url, result)])
    [payload] = payloads(data)
    assert_same(results_from_frame(payload), [(result.url, result)])


@given(st.lists(st.tuples(text, results), max_size=5))
def test_a_batch_round_trips_with_its_keys(batch: list[tuple[str, CheckResult]]) -> None:
    """The key is the URL the parent sent; the result's own URL may differ."""
    [payload] = payloads(results_frame([result_row(key, r) for key, r in batch]))
    assert_same(results_from_frame(payload), batch)


def test_the_fast_datetime_path_keeps_the_utc_singleton_and_microseconds() -> None:
    at = datetime(2026, 11, 26, 12, 57, 51, 22132, tzinfo=UTC)
    r = CheckResult("u", Kind.WEB, Outcome.OK, at, cert_not_after=at + timedelta(days=90))
    row = result_row("u", r)
    assert isinstance(row[4], bytes) and isinstance(row[12], bytes)  # not the ISO fallback
    [(_, got)] = results_from_frame(payloads(results_frame([row]))[0])
    assert got.checked_at.tzinfo is UTC and got.cert_not_after is not None
    assert got.checked_at.isoformat() == "2026-11-26T12:57:51.022132+00:00"
    assert got.cert_not_after.isoformat() == "2027-02-24T12:57:51.022132+00:00"


def test_the_row_order_is_the_models_field_order() -> None:
    """Results and facts are rebuilt positionally: a new or moved field must show here."""
    assert RESULT_FIELDS == tuple(f.name for f in fields(CheckResult))
    assert FACTS_FIELDS == tuple(f.name for f in fields(ContentFacts))
    assert len(result_row("k", CheckResult("k", Kind.WEB, Outcome.OK, datetime.now(UTC)))) == (
        1 + len(RESULT_FIELDS)
    )


@given(st.lists(st.tuples(st.sampled_from(Kind), st.text(max_size=40)), max_size=20))
def test_targets_round_trip(batch: list[tuple[Kind, str]]) -> None:
    [payload] = payloads(targets_frame(batch))
    assert targets_from_frame(payload) == batch


def test_a_lone_surrogate_in_a_url_survives() -> None:
    batch = [(Kind.WEB, "http://a.example/\ud800"), (Kind.IMAGE, "x\ny")]
    assert targets_from_frame(payloads(targets_frame(batch))[0]) == batch


@given(
    st.lists(st.binary(max_size=300), max_size=8),
    st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=20),
)
def test_frames_split_the_same_however_the_stream_is_cut(
    messages: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(frame(m) for m in messages)
    reader = Frames()
    got: list[bytes] = []
    pos = 0
    for size in cuts * (len(stream) // sum(cuts) + 1):  # the pipe hands over any pieces
        if pos >= len(stream):
            break
        got += list(reader.feed(stream[pos : pos + size]))
        pos += size
    assert got == messages and reader.pending == 0


@given(st.binary(min_size=1, max_size=300), st.data())
def test_a_stream_that_ends_inside_a_frame_leaves_it_pending(
    message: bytes, data: st.DataObject
) -> None:
    whole = frame(message)
    cut = data.draw(st.integers(min_value=1, max_value=len(whole) - 1))
    reader = Frames()
    assert list(reader.feed(frame(b"first") + whole[:cut])) == [b"first"]
    assert reader.pending == cut  # never decoded, never mistaken for a batch


def test_text_on_the_pipe_is_a_corrupt_frame_at_once() -> None:
    reader = Frames()
    got = []
    with pytest.raises(CorruptFrame):
        for payload in reader.feed(frame(b"ok") + b"Traceback (most recent call last):\n"):
            got.append(payload)
    assert got == [b"ok"]  # what came whole before the garbage is still delivered
    assert int.from_bytes(b"    ", "little") > MAX_FRAME  # the lowest "length" text can make
    assert len(frame(b"x")) == HEADER + 1


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # marshal: EOF
        b"garbage",  # marshal: bad data
        marshal.dumps([("web",)]),  # the wrong shape
        marshal.dumps([("no-such-kind", "u")]),  # an unknown kind
        marshal.dumps(42),
    ],
)
def test_a_payload_that_is_not_a_batch_is_corrupt(payload: bytes) -> None:
    from monitor.check.pipe import answers_from_frame, requests_from_frame

    with pytest.raises(CorruptFrame):
        targets_from_frame(payload)
    with pytest.raises(CorruptFrame):
        results_from_frame(payload)
    with pytest.raises(CorruptFrame):
        requests_from_frame(payload)
    with pytest.raises(CorruptFrame):
        answers_from_frame(payload)


def test_frame_is_compact() -> None:
    r = CheckResult(
        "https://a.example/",
        Kind.WEB,
        Outcome.OK,
        datetime(2026, 1, 1, tzinfo=UTC),
        http_status=200,
        final_url="https://a.example/",
        attempts=1,
        latency_ms=12.5,
    )
    assert len(results_frame([result_row(r.url, r)])) < 120


def test_each_host_stays_with_one_worker() -> None:
    def owner_of(url: str) -> int:
        return host_owner(url, 3, parent_weight=0.0)  # three workers, no parent share

    urls = [f"https://h{i % 7}.example/p{i}" for i in range(200)]
    owner: dict[str, int] = {}
    for url in urls:
        host = url.split("/")[2]
        assert owner.setdefault(host, owner_of(url)) == owner_of(url)
    assert len(set(owner.values())) > 1  # and the hosts are spread
    assert owner_of("https://H0.example/x") == owner_of("https://h0.example/y")
    # unparseable: the owner of the empty host, like any URL without one
    assert owner_of("http://[::1/") == owner_of("http:///x")


def test_host_owner_gives_each_host_to_one_checker_by_weight() -> None:
    urls = [f"https://h{i}.example/p{j}" for i in range(400) for j in range(2)]
    owners = [host_owner(url, 2, parent_weight=0.5) for url in urls]
    assert owners[0::2] == owners[1::2]  # both URLs of a host: the same checker
    counts = {o: owners.count(o) / len(owners) for o in (-1, 0, 1)}
    assert set(owners) == {-1, 0, 1}
    assert 0.1 < counts[-1] < 0.3 and 0.3 < counts[0] < 0.5  # weights 0.5 : 1 : 1
    assert {host_owner(url, 0) for url in urls} == {-1}  # no children: the parent
    assert {host_owner(url, 1, parent_weight=0.0) for url in urls} == {0}


def test_auto_workers() -> None:
    assert auto_workers(3, 10) == 3  # explicit wins
    assert auto_workers(0, 100, cpus=8) == 1  # small runs stay in one process
    # issue 16: up to 50,000 targets one process takes less CPU and memory than
    # two, and was as fast or faster in most runs; at 100,000 two are faster
    assert auto_workers(0, 10_000, cpus=2) == 1
    assert auto_workers(0, 50_000, cpus=2) == 1
    assert auto_workers(0, 59_999, cpus=8) == 1
    assert auto_workers(0, 60_000, cpus=2) == 2
    assert auto_workers(0, 100_000, cpus=2) == 2
    assert auto_workers(0, 100_000, cpus=64) == 4


def _host_hash_by_full_parse(url: str) -> int:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    return zlib.crc32(host_key(host).encode("utf-8", "surrogatepass"))


@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda scheme, auth, rest: f"{scheme}://{auth}{rest}",
            st.sampled_from(["http", "https", "HTTP", "ftp", "a/b", "ht tp", "1http"]),
            st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=25),
            st.sampled_from(["", "/", "/p?q#f", "?x", "#y", "/a/b"]),
        ),
    )
)
def test_host_hash_by_authority_equals_a_full_parse(url: str) -> None:
    """The per-authority cache gives every URL the bucket a full parse would."""
    assert _host_hash(url) == _host_hash_by_full_parse(url)


def test_a_host_spelled_in_unicode_or_punycode_stays_with_one_checker() -> None:
    """The engine's per-host gate keys a host by its punycode form (yarl's raw_host):
    split by the Unicode spelling, `bücher.example` and `xn--bcher-kva.example` went
    to two processes and got per_host twice over at one server."""
    spellings = [
        "https://bücher.example/a",
        "https://BÜCHER.example/b",
        "https://xn--bcher-kva.example/c",
        "https://XN--BCHER-KVA.example:8443/d",
    ]
    assert len({_host_hash(url) for url in spellings}) == 1
    assert len({host_owner(url, 3, parent_weight=0.0) for url in spellings}) == 1


def test_an_offset_under_a_second_survives() -> None:
    """fromisoformat read "+00:00:00.000001" as UTC (found by test_round_trip)."""
    for offset in (timedelta(microseconds=1), timedelta(seconds=-1, microseconds=5)):
        at = datetime(2000, 1, 1, tzinfo=timezone(offset), fold=1)
        r = CheckResult("u", Kind.WEB, Outcome.OK, at, cert_not_after=at.replace(tzinfo=None))
        [(_, got)] = results_from_frame(payloads(results_frame([result_row("u", r)]))[0])
        assert repr(got) == repr(r)


_WALL = datetime(2024, 1, 1).__reduce_ex__(4)[1][0]  # a naive wall time's pickle state


@pytest.mark.parametrize("offset", [10**30, -(10**30), float("inf"), 1.5, True, "60"])
@pytest.mark.parametrize("field", [4, 12])  # checked_at, cert_not_after
def test_a_hostile_offset_is_a_corrupt_frame(offset: object, field: int) -> None:
    """An offset past C's ints raised OverflowError through results_from_frame,
    a float one was rounded to a made-up zone: a worker's bad output is a
    CorruptFrame, which the parent reports as that worker's failure."""
    good = result_row("u", CheckResult("u", Kind.WEB, Outcome.OK, datetime.now(UTC)))
    row = (*good[:field], (_WALL, offset), *good[field + 1 :])
    with pytest.raises(CorruptFrame):
        results_from_frame(marshal.dumps([row]))


@given(
    st.lists(
        st.tuples(st.sampled_from(Kind), st.text(max_size=40), st.integers(0, 2**62)), max_size=20
    )
)
def test_requests_round_trip_with_their_ids(batch: list[tuple[Kind, str, int]]) -> None:
    """The daemon's requests carry ids; `check`'s targets come back keyed by their URL."""
    from monitor.check.pipe import requests_frame, requests_from_frame

    [payload] = payloads(requests_frame(batch))
    assert requests_from_frame(payload) == (batch, ())
    [payload] = payloads(targets_frame([(k, u) for k, u, _ in batch]))
    assert requests_from_frame(payload) == ([(k, u, u) for k, u, _ in batch], ())


@given(st.lists(st.integers(0, 2**62), max_size=20))
def test_ids_round_trip_both_ways(ids: list[int]) -> None:
    from monitor.check.pipe import answers_from_frame, ids_frame, requests_from_frame

    [payload] = payloads(ids_frame(ids))
    assert requests_from_frame(payload) == ([], tuple(ids))
    assert answers_from_frame(payload) == ([], tuple(ids))


@pytest.mark.parametrize("payload", [marshal.dumps(("1",)), marshal.dumps((True,))])
def test_ids_that_are_not_ints_are_corrupt(payload: bytes) -> None:
    from monitor.check.pipe import answers_from_frame, requests_from_frame

    with pytest.raises(CorruptFrame):
        requests_from_frame(payload)
    with pytest.raises(CorruptFrame):
        answers_from_frame(payload)


def test_a_result_keyed_by_a_request_id_carries_its_url() -> None:
    from monitor.check.pipe import answers_from_frame

    r = CheckResult("https://a.example/", Kind.WEB, Outcome.OK, datetime.now(UTC))
    [payload] = payloads(results_frame([result_row(7, r)]))
    [(key, got)] = answers_from_frame(payload)[0]
    assert key == 7 and got == r
