"""The `check` report (CONTRACT section 3): entries and tallies (rows), and the
four writers: json_report, table, markdown, junit."""

from monitor.check.report.json_report import (
    JsonWriter,
    article_json,
    article_text,
    target_json,
)
from monitor.check.report.junit import JunitWriter
from monitor.check.report.markdown import MarkdownWriter
from monitor.check.report.rows import (
    REPORT_VERSION,
    ArticleEntry,
    ReportWriter,
    Tally,
    TargetRow,
    target_rows,
)
from monitor.check.report.table import TableWriter

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
