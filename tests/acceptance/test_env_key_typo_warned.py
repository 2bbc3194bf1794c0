"""ARTICLE_MONITOR_KYE (two letters swapped) for ARTICLE_MONITOR_KEY: the
near-miss warning's ratio (0.85) misses a swap in a short name, so the
variable was ignored without a word, no key was configured and `verify`
reported every signed article "unverified", exit 0. A swap of neighbouring
letters is warned of, as a longer name's typo is."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from daemon_harness import CLI, user_env

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "examples" / "articles" / "001_theverge_m1_macbook_air_review.txt"


def test_a_swapped_key_variable_is_warned_of(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    shutil.copy(ARTICLE, article)
    out = subprocess.run(
        [CLI, "verify", article, "--format", "json"],
        capture_output=True,
        text=True,
        env=user_env(ARTICLE_MONITOR_KYE="5f" * 32),
    )
    assert "Traceback" not in out.stderr
    assert "ARTICLE_MONITOR_KYE is not a setting (ignored); did you mean ARTICLE_MONITOR_KEY?" in (
        out.stderr
    ), out.stderr
    assert "5f" * 32 not in out.stdout + out.stderr
