"""`check --ca-bundle`: the bundle is loaded once, before the run (to refuse a
bad one with exit 2 before any report), and that context serves the run's
checks; it was loaded a second time by the engine (~20-40 ms of CPU each)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Pki

from monitor.cli import cli

ARTICLE = (
    '---\nwebUrl: "https://news.test/a/"\ntitle: "t"\n'
    "provider:\n  name: N\n  domain: news.test\n---\n"
)


@pytest.fixture
def loads(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The loads of the test CA's bundle into any SSL context, from now on."""
    found: list[str] = []
    original = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, cafile: Any = None, *args: Any, **kwargs: Any) -> None:
        if cafile is not None and Path(cafile) == pki.ca_file:
            found.append(str(cafile))
        original(self, cafile, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    return found


def test_check_loads_the_ca_bundle_once(tmp_path: Path, pki: Pki, loads: list[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ARTICLE)
    # the target is dialled at 127.0.0.1, which is blocked: checked, never fetched
    args = ["check", str(corpus), "--ca-bundle", str(pki.ca_file), "--workers", "1"]
    args += ["--connect-to", "news.test:443:127.0.0.1:9", "--format", "json"]
    result = CliRunner().invoke(cli, args, env={"ARTICLE_MONITOR_CONFIG": ""})
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    (target,) = report["articles"][0]["targets"]
    assert target["outcome"] == "blocked"
    assert len(loads) == 1, loads


def test_run_loads_the_ca_bundle_once(tmp_path: Path, pki: Pki, loads: list[str]) -> None:
    """The daemon too: its start refuses a bad bundle, and that context serves its
    in-process checker (checker processes, for big corpora, build their own)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ARTICLE)
    args = ["run", str(corpus), "--once", "--data-dir", str(tmp_path / "data")]
    args += ["--ca-bundle", str(pki.ca_file), "--connect-to", "news.test:443:127.0.0.1:9"]
    result = CliRunner().invoke(cli, args, env={"ARTICLE_MONITOR_CONFIG": ""})
    assert result.exit_code in (0, 1), result.output
    status = CliRunner().invoke(
        cli, ["status", "--data-dir", str(tmp_path / "data"), "--format", "json"]
    )
    # checked (blocked at 127.0.0.1, never fetched)
    assert json.loads(status.output)["last_check"] is not None, status.output
    assert len(loads) == 1, loads
