"""Results survive the trip through a worker's pipe unchanged."""

import zlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st

from monitor.model import (
    CheckResult,
    ContentFacts,
    Kind,
    Outcome,
    Problem,
    ProblemCode,
    Redirect,
)
from monitor.parallel import _host_hash, auto_workers, host_owner
from monitor.wire import (
    result_row,
    results_from_line,
    results_line,
    targets_from_line,
    targets_line,
)

text = st.text(min_size=0, max_size=40)
opt_text = st.none() | text
opt_int = st.none() | st.integers(min_value=0, max_value=1 << 40)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
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


@given(results)
def test_round_trip(result: CheckResult) -> None:
    line = results_line([result_row(result.url, result)])
    assert line.count(b"\n") == 1  # one result, one line
    assert results_from_line(line) == [(result.url, result)]


@given(st.lists(st.tuples(text, results), max_size=5))
def test_a_batch_round_trips_with_its_keys(batch: list[tuple[str, CheckResult]]) -> None:
    """The key is the URL the parent sent; the result's own URL may differ."""
    line = results_line([result_row(key, r) for key, r in batch])
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert results_from_line(line) == batch


@given(st.lists(st.tuples(st.sampled_from(Kind), st.text(max_size=40)), max_size=20))
def test_targets_round_trip(batch: list[tuple[Kind, str]]) -> None:
    line = targets_line(batch)
    assert line.endswith(b"\n") and line.count(b"\n") == 1  # a newline in a URL is escaped
    assert targets_from_line(line) == batch


def test_line_is_compact() -> None:
    r = CheckResult(
        "https://a.example/",
        Kind.WEB,
        Outcome.OK,
        datetime(2026, 1, 1, tzinfo=UTC),
        http_status=200,
        attempts=1,
        latency_ms=12.5,
    )
    assert len(results_line([result_row(r.url, r)]).rstrip(b"\n")) < 120


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
    assert owner_of("http://[::1/") in range(3)  # unparseable: still a worker


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
    assert auto_workers(0, 50_000, cpus=2) == 2
    assert auto_workers(0, 50_000, cpus=64) == 4


def _host_hash_by_full_parse(url: str) -> int:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    return zlib.crc32(host.encode("utf-8", "surrogatepass"))


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
