"""Make chosen folders fail to list, for root too (permission bits do not stop root).

`os.scandir` is wrapped, so whatever walks the corpus (the walker of today
or of tomorrow) meets the error exactly where a real one would be.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def failing_listings(
    monkeypatch: pytest.MonkeyPatch, failures: dict[Path, int]
) -> Iterator[dict[Path, int]]:
    """Listing a folder in `failures` raises OSError with that errno; the dict may be
    changed while in use (remove a folder to make it readable again)."""
    real: Callable[..., Any] = os.scandir

    def scandir(path: Any = ".") -> Any:
        code = failures.get(Path(os.fsdecode(path)).absolute())
        if code is not None:
            raise OSError(code, os.strerror(code), os.fsdecode(path))
        return real(path)

    with monkeypatch.context() as patch:
        patch.setattr(os, "scandir", scandir)
        yield failures


EACCES = errno.EACCES
EMFILE = errno.EMFILE
