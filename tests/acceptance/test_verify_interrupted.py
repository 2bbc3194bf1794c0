"""`verify` cut short by Ctrl-C or SIGTERM (CONTRACT section 2: exit 130 and a
valid partial report). It said "interrupted before the command began" whatever
it had verified, and printed no report at all."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import monitor.secured.verify as verify_module
from monitor.check.interrupt import STOP_SIGNALS
from monitor.cli import cli


@pytest.fixture(autouse=True)
def _signals_restored() -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_a_signal_mid_run_gives_a_partial_report_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals, fmt: str
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"webUrl": f"https://news.test/{i}"}) + "\n" for i in range(10))
    )
    real = verify_module.verify_document
    seen = 0

    def verify_then_signal(*args: Any, **kwargs: Any) -> Any:
        nonlocal seen
        seen += 1
        if seen == 3:  # the user presses Ctrl-C while the third article is verified
            os.kill(os.getpid(), sig)
        return real(*args, **kwargs)

    monkeypatch.setattr(verify_module, "verify_document", verify_then_signal)
    for name in os.environ:
        if name.startswith("ARTICLE_MONITOR_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(cli, ["verify", str(corpus), "--format", fmt])
    assert result.exit_code == 130, result.output
    assert f"interrupted ({sig.name})" in result.stderr
    assert "before the command began" not in result.stderr
    if fmt == "json":
        report = json.loads(result.stdout)
        assert report["summary"]["incomplete"] is True
        assert report["summary"]["articles"] == 3 == len(report["articles"])
    else:
        assert "incomplete" in result.stdout
    assert seen == 3  # stopped: the other seven were never verified
