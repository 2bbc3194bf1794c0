"""Results survive the trip through a worker's pipe unchanged."""

from datetime import UTC, datetime

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
from monitor.parallel import auto_workers, host_bucket, partition
from monitor.targets import Target
from monitor.wire import result_from_line, result_to_line

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
    line = result_to_line(result)
    assert "\n" not in line  # one result, one line
    assert result_from_line(line) == result


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
    assert len(result_to_line(r)) < 120


def test_partition_keeps_each_host_in_one_worker() -> None:
    targets = [Target(f"https://h{i % 7}.example/p{i}", Kind.WEB) for i in range(200)]
    parts = partition(targets, 3)
    assert sorted(i for p in parts for i in p) == list(range(200))
    for part in parts:
        hosts = {targets[i].url.split("/")[2] for i in part}
        for other in parts:
            if other is not part:
                assert hosts.isdisjoint({targets[i].url.split("/")[2] for i in other})
    assert host_bucket("https://H0.example/x", 3) == host_bucket("https://h0.example/y", 3)


def test_auto_workers() -> None:
    assert auto_workers(3, 10) == 3  # explicit wins
    assert auto_workers(0, 100, cpus=8) == 1  # small runs stay in one process
    assert auto_workers(0, 50_000, cpus=2) == 2
    assert auto_workers(0, 50_000, cpus=64) == 4
