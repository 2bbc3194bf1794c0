"""`check` against a server answering a status outside 100-599 (600, 000, 099):
HTTP/1.1's grammar allows any three digits, RFC 9110 section 15 says to treat
such an answer as a 5xx, and the report says what was received, within its
published schema. The schema allowed 100-599 only, so a hostile server made
the report invalid against docs/report.schema.json."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from support.cli import run_cli
from support.report_schema import assert_valid_report
from support.servers import RawConn, raw_server


async def test_a_status_outside_100_to_599_is_reported_within_the_schema(
    tmp_path: Path,
) -> None:
    async def serve(conn: RawConn) -> None:
        while request := await conn.read_request():
            status = request.split(b" ")[1].strip(b"/")  # GET /600 HTTP/1.1
            if not await conn.send(b"HTTP/1.1 %s Odd\r\nContent-Length: 0\r\n\r\n" % status):
                return

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for status in ("600", "000", "099"):
        (corpus / f"{status}.txt").write_text(
            f'---\nwebUrl: "http://news.test/{status}"\ntitle: "t"\n'
            "provider:\n  name: N\n  domain: news.test\n---\n"
        )
    async with raw_server(serve) as srv:
        args = ["check", corpus, "--format", "json", "--workers", "1", "--retries", "0"]
        args += ["--connect-to", f"news.test:80:127.0.0.1:{srv.port}"]
        args += ["--allow-network", "127.0.0.0/8"]
        done = await asyncio.to_thread(run_cli, *args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    targets = sorted(
        (t["http_status"], t["outcome"]) for a in report["articles"] for t in a["targets"]
    )
    assert targets == [(0, "http_error"), (99, "http_error"), (600, "http_error")]
    assert_valid_report(report)
