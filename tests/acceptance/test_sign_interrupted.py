"""`sign --in-place` stopped by SIGTERM or SIGINT (second hostile review).

It exited 130 from the process-wide early handler, in the middle of the file
loop, saying "interrupted before the command began" when files had been
rewritten, without the folders' fsync. Now the file being rewritten is
finished, the command says how many files it signed, and exits 130; every
file is either as it was or fully signed, and no temporary file is left.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI

FILES = 2000  # far more than are signed before the signal lands


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_in_place_run_says_what_it_did(tmp_path: Path, sig: int) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    originals = {}
    for i in range(FILES):
        text = f'---\nwebUrl: "http://news.test/{i}"\ntitle: t\n---\n'
        (corpus / f"a{i:05d}.txt").write_text(text)
        originals[f"a{i:05d}.txt"] = text
    key = tmp_path / "k.key"
    key.write_text("22" * 32)
    key.chmod(0o600)
    with subprocess.Popen(
        [CLI, "sign", "--in-place", str(corpus), "--key-file", str(key)],
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # one file is signed: the command has begun
        assert "signed 1 article(s)" in first, first
        proc.send_signal(sig)
        rest = proc.stderr.read()
        assert proc.wait(timeout=60) == 130, rest
    assert "before the command began" not in rest and "Traceback" not in rest
    last = rest.strip().splitlines()[-1]
    assert last.startswith(f"interrupted ({signal.Signals(sig).name}): "), last
    signed = int(last.split(": ", 1)[1].split(" ", 1)[0])
    assert 1 <= signed < FILES
    names = sorted(p.name for p in corpus.iterdir())
    assert names == sorted(originals), "a temporary file was left behind"
    changed = [n for n in names if (corpus / n).read_text() != originals[n]]
    assert len(changed) == signed
    for name in changed:
        assert (corpus / name).read_text().count("secured: ") == 1
