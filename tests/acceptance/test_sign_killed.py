"""`sign --in-place` killed (SIGKILL: the OOM killer, a CI or systemd timeout) while
it writes a file's new content leaves nothing in the corpus folder.

A `.json` list is written as it is read, so its temporary file lives as long as
the file is signed (30 s for a 194 MB list): killed then, a `.NAME.XXXX.signing`
as large as the file stayed beside it. The new content is now an unnamed file
(O_TMPFILE) until it is written, synced and about to replace the old one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from daemon_harness import CLI, aes_key, user_env


def _writing_in(pid: int, folder: Path, source: Path) -> bool:
    """Whether the process holds a file of `folder` open for writing other than `source`."""
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
            flags = int((Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().split()[3], 8)
        except OSError:
            continue
        if (
            target.startswith(f"{folder}/")
            and target != str(source)
            and flags & (os.O_WRONLY | os.O_RDWR)
        ):
            return True
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_sign_killed_mid_file_leaves_no_temporary_file(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = corpus / "many.json"
    records = [{"webUrl": f"https://news.example/{n}", "excerpt": "e" * 900} for n in range(30_000)]
    source.write_text(json.dumps(records, indent=1))
    before = source.read_bytes()
    key = aes_key(tmp_path / "pub.key")
    proc = subprocess.Popen(
        [CLI, "sign", source, "--key-file", key, "--in-place"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=user_env(),
    )
    try:
        deadline = time.monotonic() + 60
        while not _writing_in(proc.pid, corpus, source):  # its new content is being written
            assert proc.poll() is None, "it ended before it was seen writing"
            assert time.monotonic() < deadline, "never seen writing"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert sorted(p.name for p in corpus.iterdir()) == ["many.json"]
    assert source.read_bytes() == before
