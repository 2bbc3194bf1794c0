"""Make new keys and write their files (`article-monitor keygen`).

Secret key files are created with mode 0600 from the first byte, never
through a symlink, and never over an existing file unless asked: the key
loader in `keys` refuses secret files that group or others can read, and
this is the writer that keeps to that rule.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from monitor.config import ConfigError
from monitor.secured.keys import KEY_BYTES

KeyType = Literal["aes256", "ed25519"]
SECRET_MODE: Final = 0o600
PUBLIC_MODE: Final = 0o644


@dataclass(frozen=True, slots=True)
class KeyFile:
    """One file to write: where, what, and with which mode."""

    path: Path
    data: bytes
    mode: int

    def __repr__(self) -> str:  # never the bytes
        return f"KeyFile(path={str(self.path)!r}, mode={self.mode:04o})"


def aes256_hex() -> str:
    """A new AES-256 key as 64 hex digits and a newline."""
    return os.urandom(KEY_BYTES).hex() + "\n"


def new_key_files(key_type: KeyType, out: Path) -> list[KeyFile]:
    """The file(s) of a new key: FILE for aes256; FILE and FILE.pub for ed25519."""
    if key_type == "aes256":
        return [KeyFile(out, aes256_hex().encode("ascii"), SECRET_MODE)]
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub = out.with_name(out.name + ".pub")
    return [KeyFile(out, private_pem, SECRET_MODE), KeyFile(pub, public_pem, PUBLIC_MODE)]


def _create(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Write a new file with `mode` from the first byte (O_EXCL unless `force`)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def write_key_files(files: list[KeyFile], *, force: bool) -> None:
    """Write every file or say why not (ConfigError); existing files need `force`."""
    if not force:
        existing = [str(f.path) for f in files if f.path.exists() or f.path.is_symlink()]
        if existing:
            raise ConfigError(f"{', '.join(existing)} already exists: pass --force to overwrite")
    for file in files:
        try:
            _create(file.path, file.data, file.mode, force)
        except FileExistsError:
            raise ConfigError(f"{file.path} already exists: pass --force to overwrite") from None
        except OSError as exc:
            raise ConfigError(f"cannot write {file.path}: {exc.strerror}") from None
