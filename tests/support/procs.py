"""Other processes as Linux's /proc shows them, read so that one ending midway
is skipped rather than raised."""

from __future__ import annotations

import os
from pathlib import Path


def children(pid: int) -> set[int]:
    """The live (not zombie) child processes of `pid`. Read from each process's
    `stat`, not from `/proc/PID/task/TID/children`: a thread of `pid` that ends
    between the listing and the read made that file vanish (FileNotFoundError,
    a test failed so under load)."""
    out: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        if int(fields[1]) == pid and fields[0] != "Z":
            out.add(int(entry.name))
    return out


def has_open(pid: int, path: Path) -> bool:
    """Whether process `pid` holds `path` open (a daemon's database check has begun)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False
