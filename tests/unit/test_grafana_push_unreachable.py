"""`grafana push` to a Grafana that is not there says why and what to check (r5 review).

It said "cannot reach Grafana (ConnectError)": the class name of an httpx
exception, not the refusal nor what to do about it.
"""

import socket
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli


def test_a_refused_connection_is_said_with_what_to_check(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = tmp_path / "token"
    token.write_text("glsa_secret\n")
    token.chmod(0o600)
    result = CliRunner().invoke(
        cli, ["grafana", "push", "--url", f"http://127.0.0.1:{port}", "--token-file", str(token)]
    )
    assert result.exit_code == 2, result.output
    assert "Connection refused" in result.output, result.output
    assert "--url" in result.output and "ConnectError" not in result.output, result.output
    assert "glsa_secret" not in result.output
