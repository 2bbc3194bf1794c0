"""`run --once` over a multi-document `.yaml` file, twice: every document's target is
checked and recorded, and after the file loses a document its target leaves the
schedule while the others keep their rows and their results."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from daemon_harness import CLI, LinkServer, write_config


def _stream(*numbers: int) -> str:
    return "".join(f'---\nwebUrl: "http://news.test/{n}"\ntitle: t{n}\n' for n in numbers)


def _once(cfg: Path) -> None:
    done = subprocess.run(
        [CLI, "run", "--config", str(cfg), "--once"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def _rows(db: Path) -> dict[str, tuple[int, int | None, int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT t.url, t.id, t.active, (SELECT count(*) FROM check_results r"
            " WHERE r.target_id = t.id) FROM targets t"
        )
        return {url: (tid, active, results) for url, tid, active, results in rows}


def test_run_once_follows_the_documents_of_a_stream(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(tmp_path, site.port)
        stream = tmp_path / "corpus" / "s.yaml"
        stream.write_text(_stream(1, 2, 3))
        _once(cfg)
        db = tmp_path / "data" / "article-monitor.db"
        first = _rows(db)
        assert sorted(first) == [f"http://news.test/{n}" for n in (1, 2, 3)]
        assert all(active == 1 and results >= 1 for _id, active, results in first.values())

        stream.write_text(_stream(1, 3))
        _once(cfg)
        second = _rows(db)
    assert second["http://news.test/2"][1] is None  # retired
    for n in (1, 3):
        url = f"http://news.test/{n}"
        assert second[url][0] == first[url][0] and second[url][1] == 1
