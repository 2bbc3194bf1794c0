"""`keygen --out FILE --force` renames the new key over FILE: over a device, a
named pipe or a socket (or a symbolic link to one: /dev/stdout) that replaced
the node itself with the key file (`--out /dev/full --force` as root made
/dev/full a regular file holding the key, and said "wrote /dev/full")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from monitor.config import ConfigError
from monitor.secured.keygen import _special, new_key_files, write_key_files


def test_a_named_pipe_is_not_replaced_by_a_key(tmp_path: Path) -> None:
    pipe = tmp_path / "k.key"
    os.mkfifo(pipe)
    with pytest.raises(ConfigError, match="named pipe"):
        write_key_files(new_key_files("aes256", pipe), force=True)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["k.key"]  # no temporary left


def test_a_link_to_a_device_is_not_replaced_by_a_key(tmp_path: Path) -> None:
    """As /dev/stdout is a link to /proc/self/fd/1, a link here to /dev/null."""
    link = tmp_path / "k.key"
    link.symlink_to(os.devnull)
    with pytest.raises(ConfigError, match="device"):
        write_key_files(new_key_files("ed25519", link), force=True)
    assert os.readlink(link) == os.devnull
    assert not (tmp_path / "k.key.pub").exists()


def test_the_pub_file_is_checked_too(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "k.key.pub")
    with pytest.raises(ConfigError, match=r"k\.key\.pub"):
        write_key_files(new_key_files("ed25519", tmp_path / "k.key"), force=True)
    assert not (tmp_path / "k.key").exists()


def test_a_link_to_a_regular_file_is_still_replaced_with_force(tmp_path: Path) -> None:
    old = tmp_path / "old.key"
    old.write_text("old")
    link = tmp_path / "k.key"
    link.symlink_to(old)
    write_key_files(new_key_files("aes256", link), force=True)
    assert not link.is_symlink() and old.read_text() == "old"


def test_dev_stdout_is_refused_whatever_standard_output_is() -> None:
    """/dev/stdout links to /proc/self/fd/1, a regular file under `> key.txt`
    (and under pytest's capture): the link itself must not be replaced."""
    assert _special(Path("/dev/stdout")) is not None
    assert _special(Path("/dev/fd/1")) is not None
    assert _special(Path("/proc/self/fd/1")) is not None
