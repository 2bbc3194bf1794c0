"""A world-readable file that holds a public key first and its private key after it
(`cat signer.key.pub signer.key > both.pem`) is a secret file (session 6): it was
read as a public key and accepted at mode 0644, the private key open to all."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError
from monitor.secured.keygen import ed25519_pems as _pems
from monitor.secured.keys import KeyRing


def _write(path: Path, data: bytes, mode: int) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("header", [b"PRIVATE KEY", b"ENCRYPTED PRIVATE KEY", b"RSA PRIVATE KEY"])
def test_a_public_key_followed_by_a_private_one_is_refused_when_readable(
    tmp_path: Path, header: bytes
) -> None:
    priv, pub = _pems()
    tail = priv.replace(b"PRIVATE KEY", header)
    path = _write(tmp_path / "both.pem", pub + tail, 0o644)
    with pytest.raises(ConfigError) as info:
        KeyRing.load([path], environ={})
    message = str(info.value)
    assert "0644" in message and f"chmod 600 {path}" in message
    assert "private key" in message and priv.decode() not in message


def test_the_same_file_kept_private_still_loads_as_the_public_key(tmp_path: Path) -> None:
    priv, pub = _pems()
    ring = KeyRing.load([_write(tmp_path / "both.pem", pub + priv, 0o600)], environ={})
    (key,) = ring.ed25519()
    assert key.kid == "both"
    ring = KeyRing.load([_write(tmp_path / "open.pem", pub + priv, 0o644)], environ={},
                        allow_insecure=True)  # fmt: skip
    assert ring.kids == ("open",)


def test_a_public_key_alone_stays_world_readable(tmp_path: Path) -> None:
    _priv, pub = _pems()
    assert KeyRing.load([_write(tmp_path / "s.pub", pub, 0o644)], environ={}).kids == ("s",)


def test_one_file_named_twice_is_one_key_and_two_files_one_kid_still_clash(
    tmp_path: Path,
) -> None:
    key = _write(tmp_path / "k.key", bytes(range(32)).hex().encode(), 0o600)
    other = _write(tmp_path / "sub.k.key", bytes(range(1, 33)).hex().encode(), 0o600)
    ring = KeyRing.load([key, Path(f"{tmp_path}/./k.key"), Path("k=" + str(key))], environ={})
    assert ring.kids == ("k",)
    with pytest.raises(ConfigError, match="two keys have the kid 'k'"):
        KeyRing.load([key, Path("k=" + str(other))], environ={})
