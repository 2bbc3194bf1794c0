"""A key pasted where a key file's name goes, one character short or long, is never
echoed (session 6): "key file not found: <63 of the 64 hex digits>" gave away all
but four bits of the key, on the terminal and in the daemon's log."""

from __future__ import annotations

import base64
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import ConfigError
from monitor.secured.keys import KeyRing, looks_like_key

CLI = str(Path(sys.executable).with_name("article-monitor"))


def _shapes(secret: bytes) -> list[str]:
    hexed, b64 = secret.hex(), base64.b64encode(secret).decode()
    return [
        hexed[:-1],
        hexed + "0",
        hexed[:56],
        b64[:-2],
        b64[:-1] + "A=",
        base64.urlsafe_b64encode(secret).decode().rstrip("=")[:-1],
        f"new={hexed[:-1]}",
        f"/etc/monitor/{b64[:-2]}",
    ]


def test_near_keys_look_like_keys() -> None:
    draw = random.Random(6)
    for _ in range(2000):
        for text in _shapes(draw.randbytes(32)):
            assert looks_like_key(text), text


@pytest.mark.parametrize(
    "name",
    [
        "publisher.key",
        "keys/signer.key.pub",
        "production-signing-key-for-the-newsroom-2026",
        "new=keys/a.key",
        "/var/lib/article-monitor/keys/rotation-2026-12",
    ],
)
def test_file_names_do_not(name: str) -> None:
    assert not looks_like_key(name)


def test_the_message_names_no_part_of_the_key() -> None:
    secret = os.urandom(32)
    spellings = (secret.hex(), base64.b64encode(secret).decode())
    for text in _shapes(secret):
        with pytest.raises(ConfigError) as info:
            KeyRing.load([Path(text)], environ={})
        message = str(info.value)
        assert "not shown" in message
        assert not any(spelled[:12] in message for spelled in spellings), message


def test_verify_with_a_key_one_digit_short_does_not_print_it(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text("---\nwebUrl: https://e.test/a\n---\n")
    near = os.urandom(32).hex()[:-1]
    done = subprocess.run(
        [CLI, "verify", str(doc), "--key-file", near],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert near[:16] not in done.stderr + done.stdout and "Traceback" not in done.stderr
    assert "not shown" in done.stderr


def test_a_missing_file_in_folders_that_exist_is_a_name(tmp_path: Path) -> None:
    """The folders that exist are the path's own names: a file missing from pytest's
    `pytest-of-root/pytest-134/popen-gw0/test_x0/` read as a run of base64's alphabet
    with 26 different characters, most of a key, and "not found" hid its name (CI's
    basetemp numbers decided it). A key pasted behind a folder is still found."""
    folder = tmp_path / "pytest-of-root" / "pytest-134" / "popen-gw0" / "test_a_value_file_is_a2"
    folder.mkdir(parents=True)
    assert not looks_like_key(str(folder / "missing"))
    near = base64.b64encode(os.urandom(32)).decode()[:-2]
    assert looks_like_key(f"{folder}/{near}")
    assert looks_like_key(f"{folder}/not-there/{near}")
