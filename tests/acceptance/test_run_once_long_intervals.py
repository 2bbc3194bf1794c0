"""`run --once` twice on one SQLite file with intervals of ten years (the bound of
a duration) and the full jitter: the second start must not take the far due
times for a clock stepped back (a false step pulls the whole queue in, and the
second pass checks everything again)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from daemon_harness import CLI, LinkServer, article, write_config

TEN_YEARS = 10 * 366 * 86400.0


def test_ten_year_intervals_make_no_false_step_at_the_next_start(tmp_path: Path) -> None:
    with LinkServer() as site:
        cfg = write_config(
            tmp_path, site.port, interval=TEN_YEARS, interval_jitter=1.0, lease_seconds=300.0
        )
        for i in range(3):
            (tmp_path / "corpus" / f"{i}.txt").write_text(article(f"http://news.test/{i}/"))
        runs = []
        for _ in range(2):
            runs.append(
                subprocess.run(
                    [CLI, "run", "--config", str(cfg), "--once"],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
            )
        assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
        assert site.hits == 3  # the first run's; the second had nothing due
    said = runs[1].stderr
    assert "stepped back" not in said and "beyond" not in said, said
