"""`grafana export --out DIR` into a folder others can write to: names planted
there (symlinks above all) never make it write a file elsewhere."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli


def export(out: Path) -> str:
    result = CliRunner().invoke(cli, ["grafana", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_planted_symlink_at_a_temporary_name_is_never_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    (out / "dashboards").mkdir(parents=True)
    for name in ("article-monitor.json", "article-monitor-drilldown.json"):
        (out / "dashboards" / f".{name}.tmp").symlink_to(victim)
    export(out)
    assert victim.read_text() == "precious\n"
    board = out / "dashboards" / "article-monitor.json"
    assert not board.is_symlink() and json.loads(board.read_text())["uid"] == "article-monitor"


def test_a_symlink_at_a_final_name_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    (out / "dashboards").mkdir(parents=True)
    (out / "dashboards" / "article-monitor.json").symlink_to(victim)
    export(out)
    assert victim.read_text() == "precious\n"
    assert not (out / "dashboards" / "article-monitor.json").is_symlink()


def test_the_files_are_readable_as_the_umask_says_and_no_temporary_is_left(
    tmp_path: Path,
) -> None:
    old = os.umask(0o022)
    try:
        export(tmp_path / "out")
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in files)
    assert not [p for p in files if p.name.endswith(".tmp")]


def test_a_webhook_url_of_ones_own_is_written_readable_by_the_owner_alone(tmp_path: Path) -> None:
    """Slack's and PagerDuty's webhook URLs carry their key: the file holding one is 0600."""
    secret = "https://hooks.slack.invalid/services/T000/B000/XXXXXXXXXXXXXXXX"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(
            cli, ["grafana", "export", "--out", str(tmp_path / "out"), "--webhook-url", secret]
        )
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    contact = tmp_path / "out" / "provisioning" / "alerting" / "contact-points.yaml"
    assert secret in contact.read_text()
    assert stat.S_IMODE(contact.stat().st_mode) == 0o600
    others = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p != contact]
    assert others and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in others)


def test_an_out_that_is_a_dangling_symlink_is_refused_saying_so(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    (tmp_path / "out").symlink_to(tmp_path / "missing")
    result = CliRunner().invoke(cli, ["grafana", "export", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "symbolic link to a folder that does not exist" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "missing").exists()
