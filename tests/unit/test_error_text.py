"""A check's error as the daemon stores it: one line, URLs' credentials hidden,
clipped (monitor/error_text.py)."""

from __future__ import annotations

from monitor.error_text import STORED_ERROR, stored_error


def test_a_stored_error_is_one_line_redacted_and_clipped() -> None:
    assert stored_error(None) is None and stored_error("") is None
    assert stored_error("connection\n  refused") == "connection refused"
    said = stored_error(
        "redirect to https://user:hunter2@evil.test/x?token=abc&page=2 (blocked: 10.0.0.1)"
    )
    assert said == "redirect to https://***@evil.test/x?token=***&page=2 (blocked: 10.0.0.1)"
    assert "hunter2" not in str(stored_error("see (http://me:pw1@h.test/)"))
    long = stored_error("x" * 5000)
    assert long == "x" * STORED_ERROR + "…"
