"""Token and password files: a device, a FIFO, a huge or binary file is a
ConfigError naming the setting, never a hang, a MemoryError or a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.config import ConfigError
from monitor.observe.credentials import read_basic_auth, read_token
from monitor.small_files import SMALL_FILE_CAP, read_small_file


def odd_files(tmp_path: Path) -> list[tuple[Path, str]]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # no writer: a blocking open or read would wait forever
    huge = tmp_path / "huge"
    huge.write_bytes(b"a" * (SMALL_FILE_CAP + 1))
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00token")
    return [
        (Path("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (tmp_path, "not a regular file"),
        (huge, "larger than"),
        (binary, "not UTF-8"),
        (tmp_path / "missing", "No such file"),
    ]


def test_odd_files_are_config_errors(tmp_path: Path) -> None:
    for path, needle in odd_files(tmp_path):
        with pytest.raises(ConfigError, match=needle):
            read_small_file(path, "token_file")


def test_the_daemons_credentials_go_through_it(tmp_path: Path) -> None:
    for path, needle in odd_files(tmp_path):
        with pytest.raises(ConfigError, match=f"metrics_token_file .*{needle}"):
            read_token(path)
        with pytest.raises(ConfigError, match=f"metrics_basic_auth_file .*{needle}"):
            read_basic_auth(path)
    good = tmp_path / "good"
    good.write_text("user:pa:ss\n")
    assert read_basic_auth(good) == ("user", "pa:ss")
    assert read_token(good) == "user:pa:ss"


def test_exactly_the_cap_is_read_whole(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.write_bytes(b"b" * SMALL_FILE_CAP)
    assert read_small_file(full, "x")[1] == "b" * SMALL_FILE_CAP


def test_the_status_endpoints_tls_files_are_looked_at_first(tmp_path: Path) -> None:
    """OpenSSL opens tls_cert_file and tls_key_file by name: a FIFO hung the daemon's start."""
    from monitor.config import Settings
    from monitor.observe.endpoints import ssl_context

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    settings = Settings(tls_cert_file=fifo, tls_key_file=fifo)
    with pytest.raises(ConfigError, match=r"tls_cert_file .* not a regular file"):
        ssl_context(settings)


def test_a_byte_order_mark_is_not_part_of_a_token(tmp_path: Path) -> None:
    """Saved by a Windows editor, the token began with U+FEFF: the daemon then
    expected a token no client sends, and grafana push refused it as not ASCII."""
    token = tmp_path / "token"
    token.write_bytes(b"\xef\xbb\xbfs3cr3t\r\n")
    assert read_token(token) == "s3cr3t"
    assert read_small_file(token, "x")[1] == "s3cr3t\r\n"


def test_read_regular_reads_one_byte_past_its_cap_to_say_too_large(tmp_path: Path) -> None:
    """The one reader (key files use it too): never more than `cap` + 1 bytes,
    none at cap 0 (only the check); a FIFO is NotRegularFile, a missing file OSError."""
    from monitor.small_files import NotRegularFile, read_regular

    big = tmp_path / "big"
    big.write_bytes(b"x" * 100)
    assert read_regular(big, 10)[1] == b"x" * 11
    assert read_regular(big, 100)[1] == b"x" * 100
    assert read_regular(big, 0)[1] == b""
    fifo = tmp_path / "fifo2"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):
        read_regular(fifo, 10)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", 10)


CTTY_PROBE = """
import os, sys
from pathlib import Path
from monitor.small_files import NotRegularFile, read_regular
os.setsid()  # a session leader without a controlling terminal, as a daemon under systemd
try:
    read_regular(Path(sys.argv[1]), 64)
except NotRegularFile:
    pass
try:
    os.close(os.open("/dev/tty", os.O_RDONLY))
    print("ctty")
except OSError:
    print("none")
"""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_named_as_a_file_does_not_become_the_controlling_one() -> None:
    import subprocess
    import sys

    leader, follower = os.openpty()
    try:
        out = subprocess.run(
            [sys.executable, "-c", CTTY_PROBE, os.ttyname(follower)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        os.close(leader)
        os.close(follower)
    assert out.stdout.strip() == "none", out
