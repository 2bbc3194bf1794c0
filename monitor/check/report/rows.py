"""The `check` report's data (CONTRACT section 3): one entry per document, its
target rows, the tallies of the summary, and the protocol every writer keeps.

Writers receive articles one at a time, in input order, as soon as all of
an article's targets are done, so the JSON writer can stream a report of
50,000 targets without holding it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.check.invalid_spill import InvalidList
from monitor.classify import findings
from monitor.content.drift import DEFAULT_RULES, PageRules
from monitor.targets import TargetRef
from monitor.vocabulary import CheckResult, Problem, SignatureResult

REPORT_VERSION = 1


@dataclass(slots=True)
class ArticleEntry:
    """What the report needs of one document; the raw record is not kept."""

    id: str
    source: str
    line: int
    web_url: str
    signature: SignatureResult | None
    problems: list[Problem]
    refs: list[tuple[str, TargetRef]]


@dataclass(slots=True)
class TargetRow:
    url: str
    ref: TargetRef
    result: CheckResult | None
    problems: list[Problem]

    @property
    def healthy(self) -> bool:
        if self.problems:
            return False
        return self.result is None or self.result.outcome.is_up


def target_rows(
    entry: ArticleEntry,
    results: Mapping[str, CheckResult | None],
    rules: PageRules = DEFAULT_RULES,
) -> list[TargetRow]:
    """Targets of one article that have a result (or that were not meant to be fetched)."""
    rows = []
    for url, ref in entry.refs:
        if url not in results:
            continue  # unfinished (run cut short): left out, per the contract
        result = results[url]
        problems = findings(result, ref, rules) if result is not None else []
        rows.append(TargetRow(url, ref, result, problems))
    return rows


@dataclass(slots=True)
class Tally:
    """Summary counts. `problems` counts findings: failed targets, problem entries
    at article and target level, and invalid documents."""

    articles: int = 0
    targets: int = 0
    ok: int = 0
    problems: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_problem: Counter[str] = field(default_factory=Counter)
    invalid_documents: int = 0
    excluded: int = 0  # target references `exclude_urls` left out (never requested)
    incomplete: bool = False
    failure: str | None = None  # why the run could not finish, when it was not Ctrl-C

    def add_invalid(self, count: int = 1) -> None:
        if not count:
            return
        self.invalid_documents += count
        self.problems += count
        self.by_problem["invalid_document"] += count

    def add_article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None:
        self.articles += 1
        self.targets += len(rows)
        self._add_problems(entry.problems)
        by_outcome = self.by_outcome
        for row in rows:
            if row.problems:
                self._add_problems(row.problems)
            result = row.result
            if result is None:
                continue
            # `_value_`, the member's own attribute: `.value` is a Python-level
            # property of Enum (~1,700 instructions on Python 3.11; issue 16)
            by_outcome[result.outcome._value_] += 1
            if not result.outcome.is_up:
                self.problems += 1
            elif not row.problems:  # healthy
                self.ok += 1

    def _add_problems(self, problems: list[Problem]) -> None:
        self.problems += len(problems)
        self.by_problem.update(p.code._value_ for p in problems)

    def to_json(self, elapsed_s: float) -> dict[str, Any]:
        out: dict[str, Any] = {
            "articles": self.articles,
            "targets": self.targets,
            "ok": self.ok,
            "problems": self.problems,
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "by_problem": dict(sorted(self.by_problem.items())),
            "invalid_documents": self.invalid_documents,
            "excluded": self.excluded,
            "elapsed_s": round(elapsed_s, 3),
        }
        if self.incomplete:
            out["incomplete"] = True
        return out


class ReportWriter(Protocol):
    def begin(self, invalid: InvalidList) -> None: ...
    def article(self, entry: ArticleEntry, rows: list[TargetRow]) -> None: ...
    def finish(self, tally: Tally, elapsed_s: float) -> None: ...
