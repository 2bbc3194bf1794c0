"""docs/report.schema.json follows CONTRACT section 3's notes: members may be
added, their order carries no meaning, and the closed sets match the vocabulary."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.report_schema import SCHEMA, assert_valid_report

from monitor.vocabulary import Outcome, ProblemCode

# the contract's example report, filled in
EXAMPLE: dict[str, Any] = {
    "version": 1,
    "summary": {
        "articles": 1,
        "targets": 1,
        "ok": 0,
        "problems": 1,
        "by_outcome": {"not_found": 1},
        "elapsed_s": 0.41,
    },
    "invalid_documents": [{"source": "bad.txt", "line": 3, "error": "bad YAML"}],
    "articles": [
        {
            "id": "0123456789abcdef",
            "source": "path/to/file.txt",
            "webUrl": "https://news.example/a",
            "signature": {"status": "valid", "fields": [], "detail": "ok"},
            "problems": [{"code": "cdn_url_mismatch", "field": "cdnAmpWebUrl", "message": "m"}],
            "targets": [
                {
                    "url": "https://news.example/a",
                    "kind": "web",
                    "origin": "article",
                    "outcome": "not_found",
                    "http_status": 404,
                    "final_url": "https://news.example/b",
                    "redirects": [{"status": 301, "location": "https://news.example/b"}],
                    "latency_ms": 123.4,
                    "attempts": 1,
                    "error": None,
                    "problems": [{"code": "content_drift", "message": "m"}],
                }
            ],
        }
    ],
}


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_the_example_and_an_incomplete_run_are_valid() -> None:
    assert_valid_report(EXAMPLE)
    cut = copy.deepcopy(EXAMPLE)
    cut["summary"]["incomplete"] = True
    cut["articles"][0]["targets"] = []  # unfinished targets are left out
    assert_valid_report(cut)


def test_no_object_forbids_additional_members() -> None:
    for node in walk(schema()):
        assert node.get("additionalProperties") is not False, node
        assert node.get("unevaluatedProperties") is not False, node


def test_members_beyond_the_contract_are_allowed_at_every_level() -> None:
    report = copy.deepcopy(EXAMPLE)
    for n, obj in enumerate(list(walk(report))):
        if obj is report["summary"]["by_outcome"]:
            continue  # its names are outcomes, a closed set
        obj[f"x_added_{n}"] = {"any": ["value"]}
    assert_valid_report(report)


@pytest.mark.parametrize("summary_first", [True, False])
def test_member_order_carries_no_meaning(summary_first: bool) -> None:
    keys = ["summary", "version", "invalid_documents", "articles"]
    if not summary_first:
        keys = keys[1:] + keys[:1]  # a streamed report writes the summary last
    text = "{" + ", ".join(f'"{k}": {json.dumps(EXAMPLE[k])}' for k in keys) + "}"
    report = json.loads(text)
    assert next(iter(report)) == keys[0]
    assert_valid_report(report)


def test_closed_sets_match_the_vocabulary() -> None:
    defs = schema()["$defs"]
    assert set(defs["outcome"]["enum"]) == {o.value for o in Outcome}
    codes = set(defs["problemCode"]["enum"])
    assert {c.value for c in ProblemCode} <= codes
    assert {"content_drift", "redirect_to_root"} <= codes  # CONTRACT revision 2026-12-04


def test_attempts_and_order_are_documented_in_the_schema() -> None:
    s = schema()
    attempts = s["$defs"]["target"]["properties"]["attempts"]["description"]
    assert "redirect" in attempts and "resend" in attempts
    assert "order" in s["description"]
    Draft202012Validator.check_schema(s)
