"""A corpus file with many invalid records logs a bounded number of lines per read:
each is counted (the `invalid_documents` gauge, `status`), the first ones are named
with file and line, the rest summed up in one line. 200,000 invalid lines wrote
200,000 warnings, again at each change of the file (one appended to: every line
again), however small the change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from daemon_harness import CLI, LinkServer, write_config

LOGGED = 20  # the invalid records of one file named in the log per read


def test_a_file_of_invalid_records_logs_a_bounded_number_of_lines(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    lines = [json.dumps({"webUrl": "http://news.test/ok/"})]
    lines += [json.dumps({"title": f"no url {n}"}) for n in range(1000)]
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, interval=3600.0)
        (corpus / "bad.jsonl").write_text("\n".join(lines) + "\n")
        run = subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=60
        )
        status = subprocess.run(
            [CLI, "status", "--config", str(cfg), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 0, run.stderr
    named = [line for line in run.stderr.splitlines() if "invalid document" in line]
    source = corpus / "bad.jsonl"
    assert f"invalid document {source}:2: missing required field webUrl" in named[0]
    assert len(named) == LOGGED + 1, named[-3:]
    assert named[-1].endswith(
        f"invalid document {source}: {1000 - LOGGED} more invalid records not logged "
        f"(1000 in all; `article-monitor check --offline {source}` lists them)"
    ), named[-1]
    assert json.loads(status.stdout)["invalid_documents"] == 1000


def test_a_file_of_bad_signatures_logs_a_bounded_number_of_lines(tmp_path: Path) -> None:
    """A key rotated without keeping the old one: every signed article of a file
    logged "secured is …" at each read (a SIGHUP re-reads them all)."""
    corpus = tmp_path / "corpus"
    key = tmp_path / "aes.key"
    key.write_text("00" * 32 + "\n")
    key.chmod(0o600)
    lines = [
        json.dumps({"webUrl": f"http://news.test/{n}/", "secured": "garbage"}) for n in range(100)
    ]
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port, interval=3600.0, key_file=[str(key)])
        (corpus / "signed.jsonl").write_text("\n".join(lines) + "\n")
        run = subprocess.run(
            [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 0, run.stderr
    said = [line for line in run.stderr.splitlines() if "secured is" in line]
    assert len(said) == LOGGED + 1, said[-3:]
    source = corpus / "signed.jsonl"
    assert said[-1].endswith(
        f"secured is not valid in {100 - LOGGED} more articles of {source}, not logged "
        "(100 in all; `article-monitor verify` lists them)"
    ), said[-1]
