"""`sign --in-place` on a read-only file system: refused, --force or not.

Its files' modes say nothing there (0644 is not "read-only"), and no rename
can be made: the refusal names the file system, --force does not override it,
and nothing says a file was "rewritten because of --force" when it was not.
Needs a tmpfs mounted read-only (root with the right to mount; skipped where
that is not given).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "examples" / "articles" / "003_bbc_suez_canal.txt"
MOUNT = shutil.which("mount")


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    assert MOUNT is not None
    return subprocess.run([MOUNT, *args], capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def read_only_corpus(tmp_path: Path) -> Iterator[Path]:
    """A folder on a tmpfs holding a story, a .json list and JSON Lines, then
    remounted read-only."""
    if MOUNT is None:
        pytest.skip("no mount(8)")
    folder = tmp_path / "ro"
    folder.mkdir()
    made = _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        shutil.copyfile(STORY, folder / "story.txt")
        (folder / "list.json").write_text('[{"webUrl": "https://example.com/a"}]\n')
        (folder / "lines.jsonl").write_text('{"webUrl": "https://example.com/b"}\n')
        again = _mount("-o", "remount,ro", str(folder))
        assert again.returncode == 0, again.stderr
        yield folder
    finally:
        _mount("-o", "remount,rw", str(folder))  # so umount finds nothing busy
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=30, check=False)


@pytest.mark.parametrize("force", [False, True])
def test_every_format_is_refused_on_a_read_only_file_system(
    tmp_path: Path, read_only_corpus: Path, force: bool
) -> None:
    key = tmp_path / "publisher.key"
    assert run_cli("keygen", "--out", key, cwd=tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in read_only_corpus.iterdir()}
    extra = ["--force"] if force else []
    done = run_cli("sign", read_only_corpus, "--key-file", key, "--in-place", *extra, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    for name in before:
        line = f"{read_only_corpus / name}: is on a read-only file system"
        assert line in done.stderr, done.stderr
    assert "--force" not in done.stderr  # neither offered nor said to have been used
    assert "rewritten" not in done.stderr
    assert {p.name: p.read_bytes() for p in read_only_corpus.iterdir()} == before
