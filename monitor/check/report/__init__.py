"""The `check` report (CONTRACT section 3): entries and tallies (rows), and the
four writers: json_report, table, markdown, junit.

The table, markdown and junit writers are imported on first use (PEP 562):
a run writes one format, and the other three cost ~25 ms of imports (rich,
xml.sax) that a 5,000-URL `check` paid on every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from monitor.check.report.json_report import (
    JsonWriter,
    article_json,
    article_text,
    target_json,
)
from monitor.check.report.rows import (
    REPORT_VERSION,
    ArticleEntry,
    ReportWriter,
    Tally,
    TargetRow,
    target_rows,
)

if TYPE_CHECKING:
    from monitor.check.report.junit import JunitWriter
    from monitor.check.report.markdown import MarkdownWriter
    from monitor.check.report.table import TableWriter

_LAZY = {
    "JunitWriter": "monitor.check.report.junit",
    "MarkdownWriter": "monitor.check.report.markdown",
    "TableWriter": "monitor.check.report.table",
}

__all__ = [
    "REPORT_VERSION",
    "ArticleEntry",
    "JsonWriter",
    "JunitWriter",
    "MarkdownWriter",
    "ReportWriter",
    "TableWriter",
    "Tally",
    "TargetRow",
    "article_json",
    "article_text",
    "target_json",
    "target_rows",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
