"""A restart or a SIGHUP with other keys or `exclude_fields` verifies the corpus
again, through real `run` processes on one SQLite file and an unchanged corpus.

The start's scan skips a file whose mtime and size did not move, so the
`secured` verdicts stored under the last run's keys stayed (status pages, API,
metrics, `signature_invalid`) until each file changed: an operator who rotated
a key and restarted saw the old verdicts, for days on a quiet corpus. The
database keeps a digest of what the verdicts and targets were worked out with
(the keys' public identities, never their bytes); nothing of a key reaches the
database, the log or /metrics.
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

from daemon_harness import (
    CLI,
    DaemonProcess,
    LinkServer,
    article,
    metric,
    query,
    wait_for,
    write_config,
)

STATUS = "select signature_status from articles"


def keygen(path: Path, *, force: bool = False) -> bytes:
    """A new AES key at `path` (kid: the name up to its first dot); its 32 bytes."""
    args = [CLI, "keygen", "--out", str(path)] + (["--force"] if force else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return bytes.fromhex(path.read_text().strip())


def signed_corpus(tmp: Path, key: Path) -> Path:
    """One article, signed with `key` (a v2 envelope naming its kid)."""
    corpus = tmp / "corpus"
    corpus.mkdir()
    doc = corpus / "a.txt"
    doc.write_text(article("http://news.test/a/"))
    done = subprocess.run(
        [CLI, "sign", str(doc), "--key-file", str(key), "--in-place"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return doc


def run_once(tmp: Path, port: int, **settings: Any) -> str:
    """`run --once` with these settings over the corpus; its log."""
    daemon = DaemonProcess(write_config(tmp, port, interval=3600.0, **settings), "--once")
    try:
        assert daemon.wait(60) == 0, daemon.text()
    finally:
        daemon.kill()
    text = daemon.text()
    assert "Traceback" not in text, text
    return text


def test_a_restart_with_other_keys_or_exclude_fields_verifies_again(tmp_path: Path) -> None:
    """Four `run --once` over one unchanged signed file, each changing one thing,
    each stored verdict the one its keys give: the key (valid), an
    exclude_fields the signer did not use (tampered), the key rotated in place
    at the same path and kid without keeping the old one (undecryptable), the
    key removed (unverified). Each restart kept the previous run's verdict.
    Four starts of a real daemon (~2.5 s each under load): the defect is in
    what a start reads, so each step is a start."""
    key = tmp_path / "pub.key"
    keygen(key)
    doc = signed_corpus(tmp_path, key)
    stat = doc.stat()
    db = tmp_path / "data" / "article-monitor.db"
    steps: list[tuple[dict[str, Any], str]] = [
        ({"key_file": [str(key)]}, "valid"),
        ({"key_file": [str(key)], "exclude_fields": ["title"]}, "tampered"),
        ({"key_file": [str(key)], "exclude_fields": ["title"], "rotate": True}, "undecryptable"),
        ({"exclude_fields": ["title"]}, "unverified"),
    ]
    with LinkServer() as site:
        for n, (settings, expected) in enumerate(steps):
            if settings.pop("rotate", False):
                keygen(key, force=True)  # a new key in place: same path, same kid
            text = run_once(tmp_path, site.port, **settings)
            assert query(db, STATUS) == [(expected,)], (n, settings, text)
            if n:
                assert "every document is read again" in text, text
    assert (doc.stat().st_mtime_ns, doc.stat().st_size) == (stat.st_mtime_ns, stat.st_size)


def _spellings(secret: bytes) -> list[bytes]:
    """The forms a key could take in a file, a log or a page."""
    hexed = secret.hex()
    return [
        secret,
        hexed.encode(),
        hexed.upper().encode(),
        base64.b64encode(secret).rstrip(b"="),
        base64.urlsafe_b64encode(secret).rstrip(b"="),
        hashlib.sha256(secret).hexdigest().encode(),  # a plain hash of it is not stored either
        hashlib.sha256(hexed.encode()).hexdigest().encode(),
    ]


def test_a_sighup_with_a_rotated_key_verifies_again_and_no_key_byte_is_kept(
    tmp_path: Path,
) -> None:
    """A running daemon (log at debug) verifies with the key, then a SIGHUP with
    the key rotated in place: the stored verdict, the API and the
    `article_monitor_signatures` gauge follow the new key (a SIGHUP re-read
    every file before this change too: held here). The digest of the keys is
    stored, and neither key, in any spelling (raw, hex, base64, its SHA-256),
    is in the database file and its WAL, the log or /metrics."""
    key = tmp_path / "pub.key"
    old = keygen(key)
    signed_corpus(tmp_path, key)
    db = tmp_path / "data" / "article-monitor.db"
    with LinkServer() as site:
        cfg = write_config(
            tmp_path, site.port, key_file=[str(key)], interval=3600.0, rescan_interval=3600.0
        )
        daemon = DaemonProcess(cfg, "--log-level", "debug")
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, STATUS) == [("valid",)], what=daemon.text)
            new = keygen(key, force=True)
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: query(db, STATUS) == [("undecryptable",)], what=daemon.text)

            def counted() -> float | None:
                _, text = daemon.get("/metrics")
                return metric(text, "article_monitor_signatures", status="undecryptable")

            wait_for(lambda: counted() == 1.0, what=daemon.text)
            (article_id,) = query(db, "select id from articles")[0]
            status, body = daemon.get(f"/api/v1/articles/{article_id}")
            assert status == 200 and json.loads(body)["signature"]["status"] == "undecryptable", (
                body
            )
            _, metrics = daemon.get("/metrics")
            assert daemon.stopped(30) == 0
        finally:
            daemon.kill()
    kept = {
        "log": daemon.text().encode(),
        "metrics": metrics.encode(),
        **{p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)},
    }
    assert query(db, "select value from meta where key = 'corpus_rules'"), "no digest stored"
    for secret in (old, new):
        for spelling in _spellings(secret):
            for where, data in kept.items():
                assert spelling not in data, f"a key ({spelling[:8]!r}...) in the {where}"
