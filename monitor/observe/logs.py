"""Logging for the daemon: human text by default, JSON lines on request.

Per-check context travels as `extra={"ctx": {...}}` and is rendered as
`key=value` pairs (text) or members (JSON). URLs are logged without their
user-info part, and the database URL without its password: a log line never
carries a secret.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

# apscheduler warns about every skipped tick of a job still running: expected here
_QUIET = {
    "apscheduler": logging.ERROR,
    "aiohttp.access": logging.WARNING,
    "alembic": logging.WARNING,
}


def redact_url(url: str) -> str:
    """The URL without user:password@ (which may be a credential)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _context(record: logging.LogRecord) -> dict[str, Any]:
    ctx = getattr(record, "ctx", None)
    return dict(ctx) if isinstance(ctx, dict) else {}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx = _context(record)
        if ctx:
            line += " " + " ".join(f"{k}={_text(v)}" for k, v in ctx.items())
        return line


def _text(value: Any) -> str:
    s = str(value)
    return json.dumps(s) if (" " in s or not s) else s


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(_context(record))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def setup_logging(fmt: str = "text", level: str = "info", stream: IO[str] | None = None) -> None:
    """Configure the root logger once for a daemon process."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
