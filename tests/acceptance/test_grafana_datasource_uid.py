"""`grafana export|push --datasource-uid` held to what Grafana takes as a uid, as
`--folder` is: an empty one, a line break, or `${VAR}` (which Grafana's
provisioning expands from its environment) was written into every file, and
every panel and rule then named a data source no Grafana can have."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import run_cli


@pytest.mark.parametrize("uid", ["", "a\nb", "${PROM}", "x" * 41, "prom etheus"])
def test_a_datasource_uid_grafana_cannot_have_is_a_usage_error(tmp_path: Path, uid: str) -> None:
    out = tmp_path / "out"
    done = run_cli("grafana", "export", "--out", out, "--datasource-uid", uid, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "is not a Grafana uid" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_a_datasource_uid_is_refused_by_push_before_the_token_is_read(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("glsa_S3cret\n")
    token.chmod(0o600)
    done = run_cli(
        "grafana", "push", "--url", "http://127.0.0.1:9", "--token-file", token,
        "--datasource-uid", "a/b", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "is not a Grafana uid" in done.stderr and "S3cret" not in done.stderr


def test_a_uid_grafana_takes_is_written_as_given(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = run_cli("grafana", "export", "--out", out, "--datasource-uid", "Prom_1-a", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "uid: Prom_1-a" in (out / "provisioning/datasources/prometheus.yaml").read_text()
