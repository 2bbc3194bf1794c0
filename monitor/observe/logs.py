"""Logging for the daemon: human text by default, JSON lines on request.

Per-check context travels as `extra={"ctx": {...}}` and is rendered as
`key=value` pairs (text) or members (JSON). URLs are logged without their
user-info part, and the database URL without its password: a log line never
carries a secret.

Log lines carry bytes that others chose (corpus file names, URLs, server
answers), so a text line escapes every control and other non-printable
character: a newline in a file name cannot forge a second line, an ANSI
sequence cannot repaint the operator's terminal. A traceback keeps its lines,
each indented, so a line that starts at column 0 is always a real record.
JSON lines stay valid JSON (lone surrogates from undecodable file names are
spelled out). A message repeated within `repeat_window` seconds is written
once, then summarised with its count and when it came: a flood (an accept
loop out of file descriptors, a storm of bad requests) cannot fill the disk.
What an operator caused or must see when it happens (a reload refused or
done, the stop, a recovery) is logged with `extra=EVERY` and never held back:
a second SIGHUP with the same broken configuration said nothing for a minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any, Final

from monitor import urls
from monitor.text_clip import clip

# apscheduler warns about every skipped tick of a job still running: expected here
_QUIET = {
    "apscheduler": logging.ERROR,
    "aiohttp.access": logging.WARNING,
    "alembic": logging.WARNING,
}

REPEAT_WINDOW = 60.0
_MAX_TRACKED = 512  # distinct recent messages remembered for the repeat summary
_SUMMARY_EXCERPT = 160

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# `log.info(..., extra=EVERY)`: written every time, never held back as a repeat
EVERY: Final = {"every": True}


# the one rule for showing a URL without its secrets (monitor/urls.py)
redact_url = urls.redact


# kept by escape(typography=True): they shape text (a Persian word's non-joiner, an
# emoji's joiners, a German soft hyphen) but neither reorder it nor break a line
_TYPOGRAPHY = frozenset("\u00ad\u200c\u200d")


def escape(text: str, *, typography: bool = False) -> str:
    """`text` with every non-printable character (controls, ANSI ESC, bidi
    overrides, lone surrogates) spelled as a Python-style escape.

    With `typography` (pages, not log lines), Unicode space separators
    (no-break, thin, ideographic: category Zs), joiners and soft hyphens are
    kept: they neither break a line nor reorder text, and a headline with them
    spelled (`\\xa0`, `\\u200c`) was unreadable."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or (typography and _kept(c)) else _escape_char(c) for c in text
    )


def _kept(c: str) -> bool:
    return c in _TYPOGRAPHY or unicodedata.category(c) == "Zs"


def _escape_char(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    n = ord(c)
    if n < 0x100:
        return f"\\x{n:02x}"
    return f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def _context(record: logging.LogRecord) -> dict[str, Any]:
    ctx = getattr(record, "ctx", None)
    return dict(ctx) if isinstance(ctx, dict) else {}


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        ctx = _context(record)
        if ctx:
            line += " " + " ".join(f"{k}={_text(v)}" for k, v in ctx.items())
        line = escape(line)
        extra = ""
        if record.exc_info:
            extra += self.formatException(record.exc_info)
        if record.stack_info:
            extra += ("\n" if extra else "") + self.formatStack(record.stack_info)
        if extra:
            line += "".join("\n    " + escape(part) for part in extra.splitlines())
        return line


def _text(value: Any) -> str:
    s = str(value)
    return json.dumps(s) if (" " in s or not s) else s


def _json_safe(value: Any) -> Any:
    """Strings with lone surrogates (undecodable file names) spelled out, so
    the line encodes as UTF-8 and parses as JSON anywhere."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {str(_json_safe(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN and Infinity are not JSON
    if value is None or isinstance(value, bool | int | float):
        return value
    return _json_safe(str(value))


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
        return json.dumps(_json_safe(out), ensure_ascii=False)


class RepeatLimitedHandler(logging.StreamHandler[IO[str]]):
    """A stream handler that writes a repeated message once per window, then
    one summary line with the number of repeats it held back: with the next
    line logged after the window, or from a timer when the log goes quiet
    (`timer=False` leaves it to the next line, for tests with a fake clock)."""

    def __init__(
        self,
        stream: IO[str],
        *,
        window: float = REPEAT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
    ) -> None:
        super().__init__(stream)
        self.window = window
        self._clock = clock
        self._use_timer = timer
        self._timer: threading.Timer | None = None
        # (logger, level, message, context) → [first seen, repeats held back, first
        # record, wall time of the first and of the last repeat held back]
        self._recent: dict[tuple[str, int, str, str], list[Any]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        now = self._clock()
        self._summarise(now)
        if getattr(record, "every", False):  # an operator's event: never held back
            super().emit(record)
            return
        try:
            # the context is part of the message: "checked" for two targets is two lines
            ctx = _context(record)
            key = (record.name, record.levelno, record.getMessage(), repr(ctx) if ctx else "")
        except Exception:  # a bad format string: let the formatter report it
            super().emit(record)
            return
        seen = self._recent.get(key)
        if seen is not None:
            seen[1] += 1
            if seen[1] == 1:
                seen[3] = record.created
            seen[4] = record.created
            self._schedule(seen[0] + self.window - now)
            return
        if len(self._recent) >= _MAX_TRACKED:
            self._summarise(now, everything=True)
        self._recent[key] = [now, 0, record, 0.0, 0.0]
        super().emit(record)

    def _summarise(self, now: float, *, everything: bool = False) -> None:
        """Forget the messages whose window has passed, writing their counts.

        The dict is in first-seen order, so the sweep stops at the first
        message still in its window: each line costs O(1), not O(messages)."""
        while self._recent:
            key, (first, repeats, record, since, until) = next(iter(self._recent.items()))
            if not everything and now - first < self.window:
                return
            del self._recent[key]
            if repeats:
                utc = isinstance(self.formatter, JsonFormatter)  # as its lines' `ts`
                super().emit(_summary(record, repeats, since, until, utc=utc))

    def _schedule(self, delay: float) -> None:
        """A timer for the next summary due, unless one is set (lock held)."""
        if self._use_timer and self._timer is None:
            self._timer = threading.Timer(max(delay, 0.0) + 0.05, self._on_timer)
            self._timer.daemon = True
            self._timer.start()

    def _on_timer(self) -> None:
        self.acquire()
        try:
            self._timer = None
            now = self._clock()
            self._summarise(now)
            pending = [seen[0] for seen in self._recent.values() if seen[1]]
            if pending:
                self._schedule(min(pending) + self.window - now)
        finally:
            self.release()

    def flush_repeats(self) -> None:
        """Write the pending summaries now (before the daemon's "stopped", say);
        otherwise each is written with the first line logged after its window."""
        self.acquire()
        try:
            self._summarise(self._clock(), everything=True)
        finally:
            self.release()

    def close(self) -> None:
        self.flush_repeats()
        self.acquire()
        try:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        finally:
            self.release()
        super().close()


def _summary(
    record: logging.LogRecord, repeats: int, since: float, until: float, *, utc: bool = False
) -> logging.LogRecord:
    """The count of a message's repeats held back, said with when they came: written
    later (the next line after the window, the stop), "the last message was
    repeated 2 more times in 1 s" read as the latest event, after "stopped" too."""
    message = record.getMessage()
    excerpt = message.splitlines()[0] if message else ""
    excerpt = clip(excerpt, _SUMMARY_EXCERPT)
    return logging.LogRecord(
        record.name,
        record.levelno,
        record.pathname,
        record.lineno,
        "repeated %d more times between %s and %s: %s",
        (repeats, _clock_time(since, utc), _clock_time(until, utc), excerpt),
        None,
    )


def _clock_time(created: float, utc: bool) -> str:
    """HH:MM:SS as the lines' own time is said: local in text, UTC in JSON."""
    return time.strftime("%H:%M:%S", time.gmtime(created) if utc else time.localtime(created))


def flush_repeats() -> None:
    """Write every summary still held back by the root logger's handlers now: before
    "stopped", which is the log's last word (at the exit a summary came after it)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, RepeatLimitedHandler):
            handler.flush_repeats()


def _not_a_job_stopped_with_the_daemon(record: logging.LogRecord) -> bool:
    """APScheduler cancels the coroutine jobs still running when it shuts down (the
    daemon's stop: a rescan retry, a heartbeat) and logs each as "Error running
    job" with CancelledError's traceback: a traceback in the log of a clean stop.
    Only its executors' records of a cancellation are dropped."""
    exc = record.exc_info[1] if record.exc_info else None
    return not (
        record.name.startswith("apscheduler.executors") and isinstance(exc, asyncio.CancelledError)
    )


def setup_logging(
    fmt: str = "text",
    level: str = "info",
    stream: IO[str] | None = None,
    *,
    repeat_window: float = REPEAT_WINDOW,
) -> None:
    """Configure the root logger once for a daemon process."""
    handler = RepeatLimitedHandler(stream or sys.stderr, window=repeat_window)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, RepeatLimitedHandler):
            old.flush_repeats()
    handler.addFilter(_not_a_job_stopped_with_the_daemon)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, floor in _QUIET.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
