"""/readyz's verdict: ready only while everything the daemon must do works."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.daemon.readiness import Health, judge

HEALTHY = Health(corpus_problems=())


def test_a_healthy_daemon_is_ready_and_says_so() -> None:
    ready, detail = judge(replace(HEALTHY, backlog=3, in_flight=2))
    assert ready
    assert detail == {
        "database": "ok",
        "scheduler": "running",
        "writer": "ok",
        "backlog": 3,
        "in_flight": 2,
        "corpus": [],
    }


@pytest.mark.parametrize(
    ("fault", "key", "shown"),
    [
        ({"database_error": "no answer within 2 s"}, "database", "unreachable: no answer"),
        ({"damaged": "x.db is damaged (…)"}, "database", "damaged: x.db is damaged"),
        ({"scheduler_running": False}, "scheduler", "stopped"),
        ({"writer_error": "database is locked"}, "writer", "failing: database is locked"),
        ({"claim_error": "disk I/O error"}, "claims", "failing: disk I/O error"),
        ({"scan_error": "database or disk is full"}, "scan", "cannot record the corpus: "),
    ],
)
def test_each_persistent_fault_makes_it_not_ready_and_is_named(
    fault: dict[str, object], key: str, shown: str
) -> None:
    ready, detail = judge(replace(HEALTHY, **fault))  # type: ignore[arg-type]
    assert not ready
    assert str(detail[key]).startswith(shown), detail


def test_damage_is_shown_over_a_ping_that_still_answers() -> None:
    _, detail = judge(replace(HEALTHY, damaged="bad", database_error=None))
    assert detail["database"] == "damaged: bad"


def test_corpus_problems_are_listed_but_do_not_fail_readiness() -> None:
    ready, detail = judge(replace(HEALTHY, corpus_problems=("unreadable document: a.txt",)))
    assert ready and detail["corpus"] == ["unreadable document: a.txt"]
    assert judge(Health())[1]["corpus"] == ["not scanned yet"]


def test_a_follower_of_a_shared_corpus_says_the_leader_records_it() -> None:
    ready, detail = judge(Health(corpus_by_leader=True))
    assert ready
    assert detail["corpus"] == ["scanned by the cluster's leader (corpus_shared)"]


def test_a_stuck_member_is_not_ready_and_says_why() -> None:
    ready, detail = judge(replace(HEALTHY, stuck="no result recorded"))
    assert not ready
    assert detail["progress"] == "stuck: no result recorded"
