"""Pydantic's plugin search is left out of every start (issue 16), unless the user asks.

At the first model it builds, pydantic reads the entry points of every installed
distribution to find its plugins (25 M instructions of each start, callgrind), for plugins
article-monitor never uses. A fake distribution on the path offers one (it leaves
a file when loaded); `check` runs as a user runs it, and the plugin is not
loaded, unless PYDANTIC_DISABLE_PLUGINS says otherwise (set, even empty: kept).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = """
import os
from pathlib import Path

Path(os.environ["FAKE_PLUGIN_MARK"]).write_text("loaded")


class Plugin:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None


plugin = Plugin()
"""


def _site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    dist = site / "fakeplug-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[pydantic]\nfake = fakeplug:plugin\n")
    (site / "fakeplug.py").write_text(PLUGIN)
    return site


def _check(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    corpus = tmp_path / "corpus.json"
    corpus.write_text('{"webUrl": "https://news.example.com/2020/story"}')
    mark = tmp_path / "mark"
    mark.unlink(missing_ok=True)
    base = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    paths = [str(_site(tmp_path)), base.get("PYTHONPATH", "")]
    base["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "check", str(corpus), "--offline", "--format", "json"],
        env={**base, "FAKE_PLUGIN_MARK": str(mark), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out, mark


def test_check_does_not_load_pydantic_plugins(tmp_path: Path) -> None:
    out, mark = _check(tmp_path)
    assert out.returncode == 1, out.stderr  # the bare record's problems, not an error
    assert not mark.exists()


@pytest.mark.parametrize("value", ["", "other"])
def test_a_users_own_setting_is_kept(tmp_path: Path, value: str) -> None:
    """Empty or naming other plugins: pydantic loads ours (which also shows the
    fake plugin is found when asked for, so the test above can fail)."""
    out, mark = _check(tmp_path, PYDANTIC_DISABLE_PLUGINS=value)
    assert out.returncode == 1, out.stderr  # the bare record's problems, not an error
    assert mark.read_text() == "loaded"
