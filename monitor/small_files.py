"""Small files the user names for a secret or a setting (tokens, passwords, keys).

`Path.read_text` on `/dev/zero` reads until memory runs out, and on a FIFO
waits for a writer forever: a mistyped path hung or killed the command. One
descriptor, opened without blocking, checked to be a regular file, read up
to a cap: `read_regular`, which key files use too (monitor.secured.keys),
each caller with its own wording.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from monitor.config_sources import ConfigError

SMALL_FILE_CAP = 64 * 1024  # far beyond any token or `user:password` line


def require_regular_file(path: Path, what: str) -> None:
    """ConfigError unless `path` is a regular file, for a file another library
    opens by name (OpenSSL): looked at without blocking, so a FIFO cannot hang it."""
    _check_regular(path, what, cap=0)


def read_small_file(path: Path, what: str, cap: int = SMALL_FILE_CAP) -> tuple[os.stat_result, str]:
    """(status, UTF-8 text) of a regular file of at most `cap` bytes, else ConfigError
    naming `what` (the option or setting) and the file."""
    st, data = _check_regular(path, what, cap)
    if len(data) > cap:
        raise ConfigError(f"{what} {path} is larger than {cap} bytes: not the file meant?")
    try:
        return st, data.decode("utf-8").removeprefix("\ufeff")  # a BOM is not text
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text") from None


class NotRegularFile(Exception):
    """The path names a FIFO, a device, a directory or a socket: nothing to read."""


def read_regular(path: Path, cap: int) -> tuple[os.stat_result, bytes]:
    """Status and the first `cap` + 1 bytes (more than `cap`: too large), through
    one non-blocking descriptor. Raises OSError as the system says it, or
    NotRegularFile; the caller words both (a key file's messages are its own)."""
    # O_NOCTTY: a terminal named by mistake must not become the controlling one
    # of a daemon (a session leader without one, under systemd): ^C there stopped it
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(str(path))
        data = b""
        while cap and len(data) <= cap and (chunk := os.read(fd, cap + 1 - len(data))):
            data += chunk
    finally:
        os.close(fd)
    return st, data


def _check_regular(path: Path, what: str, cap: int) -> tuple[os.stat_result, bytes]:
    """`read_regular`, its failures as ConfigError naming `what` and the file (unless
    the name is the secret itself: `metrics_basic_auth_file = "user:password"`)."""
    try:
        return read_regular(path, cap)
    except NotRegularFile:
        raise ConfigError(f"{what} {path} is not a regular file") from None
    except OSError as exc:
        from monitor.secret_shape import shown_name

        shown = shown_name(path, pair=what == "metrics_basic_auth_file")
        raise ConfigError(f"{what} {shown}: {exc.strerror or exc}") from None
