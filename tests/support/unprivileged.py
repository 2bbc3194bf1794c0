"""Let an unprivileged user run this checkout's interpreter, for tests that drop root.

A fresh clone may sit under a 0700 directory (mktemp -d, /root): `nobody`
then cannot even import the project, and every unprivileged case fails for
a reason that has nothing to do with it. The ancestors of the interpreter
and the checkout get o+x (enter, not list) for the session only, as
scripts/test-unprivileged.sh does for its run, and their modes come back.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _ancestors(path: Path) -> list[Path]:
    return [p for p in path.parents if p != Path("/")]


@contextmanager
def enterable_by_others() -> Iterator[None]:
    """o+x on every directory above the interpreter and the checkout, for the block."""
    changed: list[tuple[Path, int]] = []
    targets = {Path(os.path.realpath(sys.executable)), ROOT / "tests"}
    try:
        for target in targets:
            for directory in _ancestors(target):
                mode = directory.stat().st_mode
                if not mode & stat.S_IXOTH:
                    directory.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
                    changed.append((directory, stat.S_IMODE(mode)))
        yield
    finally:
        for directory, mode in reversed(changed):
            directory.chmod(mode)
