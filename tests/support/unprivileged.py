"""Let an unprivileged user run this checkout's interpreter, for tests that drop root.

A fresh clone may sit under a 0700 directory (mktemp -d, /root): `nobody`
then cannot even import the project, and every unprivileged case fails for
a reason that has nothing to do with it. The ancestors of the interpreter
and the checkout get o+x (enter, not list) while any case needs it, as
scripts/test-unprivileged.sh does for its run, and their modes come back.

Cases overlap: two pytest workers, or a second checkout's suite (/root is an
ancestor of both). Each restored only the modes it had changed itself, so the
first to finish took o+x from under the other's running case. The modes
changed are kept in one file for every process, and the last case out (the
only one that can lock `_INSIDE` exclusively) restores them.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SHARED = Path(tempfile.gettempdir()) / "article-monitor-tests-enterable"
_TURN = _SHARED.with_suffix(".turn")  # held while the modes are changed or restored
_INSIDE = _SHARED.with_suffix(".inside")  # held shared by every case inside the block
_SAVED = _SHARED.with_suffix(".json")  # directory → the mode it had before


def _ancestors(path: Path) -> list[Path]:
    return [p for p in path.parents if p != Path("/")]


def _saved() -> dict[str, int]:
    try:
        found = json.loads(_SAVED.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextmanager
def enterable_by_others() -> Iterator[None]:
    """o+x on every directory above the interpreter and the checkout, for the block."""
    targets = {Path(os.path.realpath(sys.executable)), ROOT / "tests"}
    turn, inside = _open(_TURN), _open(_INSIDE)
    try:
        fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            saved = _saved()
            for target in targets:
                for directory in _ancestors(target):
                    mode = directory.stat().st_mode
                    if not mode & stat.S_IXOTH:
                        saved.setdefault(str(directory), stat.S_IMODE(mode))
                        directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
            _SAVED.write_text(json.dumps(saved))
            fcntl.flock(inside, fcntl.LOCK_SH)
        finally:
            fcntl.flock(turn, fcntl.LOCK_UN)
        yield
    finally:
        fcntl.flock(turn, fcntl.LOCK_EX)
        try:
            fcntl.flock(inside, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another case is inside: the last one out restores
        else:
            saved = _saved()
            for name in sorted(saved, key=len, reverse=True):  # deepest first
                Path(name).chmod(saved[name])
            _SAVED.unlink(missing_ok=True)
        finally:
            os.close(inside)
            os.close(turn)
