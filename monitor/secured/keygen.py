"""Make new keys and write their files (`article-monitor keygen`).

Secret key files are created with mode 0600 from the first byte, never
through a symlink, and never over an existing file unless asked: the key
loader in `keys` refuses secret files that group or others can read, and
this is the writer that keeps to that rule.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from monitor.config import ConfigError
from monitor.secured.keys import KEY_BYTES
from monitor.whole_write import write_all

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


def ed25519_pems() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as PEM: the private key (PKCS#8, unencrypted), the public."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def new_key_files(key_type: KeyType, out: Path) -> list[KeyFile]:
    """The file(s) of a new key: FILE for aes256; FILE and FILE.pub for ed25519."""
    if key_type == "aes256":
        return [KeyFile(out, aes256_hex().encode("ascii"), SECRET_MODE)]
    private_pem, public_pem = ed25519_pems()
    pub = out.with_name(out.name + ".pub")
    return [KeyFile(out, private_pem, SECRET_MODE), KeyFile(pub, public_pem, PUBLIC_MODE)]


def _temporary(file: KeyFile) -> str:
    """The content in a new file beside the target: mode set from the first byte, synced."""
    fd, tmp = tempfile.mkstemp(
        prefix=f".{_short(file.path.name)}.", suffix=".new", dir=file.path.parent
    )
    try:
        os.fchmod(fd, file.mode)
        write_all(lambda view: os.write(fd, view), file.data, fd)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def write_key_files(files: list[KeyFile], *, force: bool) -> Path | None:
    """Write every file or none, or say why not (ConfigError); existing files need `force`.
    The folder of FILE is made (mode 0700, its missing parents too) when it does not
    exist yet, as `--out keys/prod.key` in a fresh checkout asks: returned, else None.

    Each file is written beside its target and then linked (no overwrite) or,
    with `force`, renamed over it: an existing name is replaced, never written
    through, so a symlink or a hard link there does not carry the new key to
    another file, and a crash leaves the old key or the new one, not half.
    """
    for file in files:  # the one thing a rename over it would fail on, so check first
        if file.path.is_dir() and not file.path.is_symlink():
            raise ConfigError(f"{file.path} is a directory: choose another --out")
        special = _special(file.path)
        if special is not None:
            raise ConfigError(
                f"{file.path} is {special}, not a key file: a rename over it would replace "
                "it; choose another --out (without --out the key goes to standard output)"
            )
    if not force:
        existing = [str(f.path) for f in files if f.path.exists() or f.path.is_symlink()]
        if existing:
            verb = "exists" if len(existing) == 1 else "exist"
            raise ConfigError(f"{' and '.join(existing)} already {verb}: pass --force to overwrite")
    made = _make_folder(files[0].path.parent)
    temps: list[str] = []
    placed: list[Path] = []
    try:
        for file in files:
            temps.append(_temporary(file))
        for file, tmp in zip(files, temps, strict=True):
            if force:
                os.replace(tmp, file.path)
            else:
                os.link(tmp, file.path, follow_symlinks=False)
            placed.append(file.path)
    except FileExistsError as exc:
        _undo(placed, force)
        raise ConfigError(f"{exc.filename2 or exc.filename} already exists: pass --force") from None
    except OSError as exc:
        _undo(placed, force)
        where = next((f.path for f in files if f.path not in placed), files[0].path)
        raise ConfigError(f"cannot write {where}: {exc.strerror}") from None
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if made is not None and not placed:  # nothing written: the folder made goes too
            with contextlib.suppress(OSError):
                made.rmdir()
    with contextlib.suppress(OSError):
        fd = os.open(files[0].path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return made


def _make_folder(folder: Path) -> Path | None:
    """Make `folder` (mode 0700: it holds secrets) when nothing is there; return it,
    or None when it was there already (a file there fails at the write, as before)."""
    if folder.exists() or folder.is_symlink():
        return None
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:  # made meanwhile by another: use it
        return None
    except OSError as exc:
        raise ConfigError(f"cannot make the folder {folder}: {exc.strerror}") from None
    return folder


def _special(path: Path) -> str | None:
    """What `path` is when it is, or links to, a device, a named pipe or a socket
    (/dev/null, /dev/stdout): `--force` renamed the key over the node itself. A
    name in /dev itself or in /proc (/dev/stdout when it is a file, /dev/fd/1) too."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # none, or a dangling link: a key file may take its place
        mode = 0
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    parent = Path(os.path.realpath(path.parent))
    if parent == Path("/dev") or parent.parts[:2] == ("/", "proc"):
        return "a name of the system's (in /dev or /proc)"
    return None


def _undo(placed: list[Path], force: bool) -> None:
    """A pair is all or nothing: remove the half already made (new files only)."""
    if force:
        return  # the old files are gone already; keep the new half rather than nothing
    for path in placed:
        with contextlib.suppress(OSError):
            path.unlink()


def _short(name: str) -> str:
    """A name cut to 64 bytes, for a temporary name that stays under NAME_MAX."""
    return name.encode("utf-8", "surrogateescape")[:64].decode("utf-8", "ignore")
