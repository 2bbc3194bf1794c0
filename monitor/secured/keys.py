"""Keys for `secured`: loading, permission checks, kids, rotation (CONTRACT section 4).

All key-file I/O of the signature feature lives here, so the verifier and the
signer stay pure. Key material is held only inside the key objects, whose
repr names the kid and the file, never the bytes; every error message names
the file and what to do, never the content.

Kid rule: `KID=PATH` names the key explicitly; otherwise the kid is the file
name up to its first dot (`publisher.key` -> `publisher`, and the public half
written by `keygen --out signer.key`, `signer.key.pub`, is `signer` too). The
key from the environment variable ARTICLE_MONITOR_KEY has the kid `env`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from monitor.config import ConfigError
from monitor.secured.key_text import (
    ENV_KEY,
    KEY_BYTES,
    KEY_TEXT_FORMS,
    KID_RE,
    KID_RULE,
    kid_for_path,
    looks_like_key,
    parse_key_spec,
    parse_symmetric_text,
)
from monitor.small_files import NotRegularFile, read_regular

# cryptography (~20 ms of imports) only where a PEM key is read or written: a
# `check` without Ed25519 keys never loads it (issue 16, start-up)
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [  # the key-text names are kept importable from here, where they lived
    "ENV_KEY",
    "ENV_KEY_FILE",
    "ENV_KID",
    "KEY_BYTES",
    "KID_RE",
    "KID_RULE",
    "Ed25519Key",
    "Key",
    "KeyRing",
    "SymmetricKey",
    "kid_for_path",
    "load_key_file",
    "looks_like_key",
    "parse_key_spec",
    "parse_symmetric_text",
]

ENV_KEY_FILE: Final = "ARTICLE_MONITOR_KEY_FILE"
ENV_KID: Final = "env"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")
_MAX_KEY_FILE: Final = 64 * 1024
_CHECK_VALUE_TEXT: Final = b"article-monitor key check value v1"


class SymmetricKey:
    """A 32-byte AES-256 key (legacy CBC and v2 GCM envelopes)."""

    __slots__ = ("_secret", "kid", "source")

    def __init__(self, kid: str, secret: bytes, source: str) -> None:
        if len(secret) != KEY_BYTES:
            raise ValueError(f"an AES-256 key has {KEY_BYTES} bytes, not {len(secret)}")
        self.kid = kid
        self.source = source
        self._secret = secret

    @property
    def secret(self) -> bytes:
        """The key bytes; for the cipher only, never for printing."""
        return self._secret

    @property
    def type(self) -> str:
        return "aes256"

    def identity(self) -> str:
        """A check value that tells this key from another without revealing it:
        HMAC-SHA256 keyed by the key over a fixed text. HMAC is a PRF: its output
        says nothing of a 256-bit key, and the one attack, trying candidate keys,
        is open anyway against any envelope of the corpus (each authenticated
        under the key). For the daemon's digest of its verdicts' keys."""
        return hmac.new(self._secret, _CHECK_VALUE_TEXT, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"SymmetricKey(kid={self.kid!r}, source={self.source!r})"

    __str__ = __repr__


class Ed25519Key:
    """An Ed25519 key: the public half always, the private half when signing."""

    __slots__ = ("_private", "kid", "public", "source")

    def __init__(
        self,
        kid: str,
        public: Ed25519PublicKey,
        source: str,
        private: Ed25519PrivateKey | None = None,
    ) -> None:
        self.kid = kid
        self.public = public
        self.source = source
        self._private = private

    @property
    def private(self) -> Ed25519PrivateKey | None:
        return self._private

    @property
    def type(self) -> str:
        return "ed25519-private" if self._private is not None else "ed25519-public"

    def public_raw(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def identity(self) -> str:
        """The public key (public already); the private half verifies nothing more."""
        return self.public_raw().hex()

    def __repr__(self) -> str:
        return f"Ed25519Key(kid={self.kid!r}, type={self.type!r}, source={self.source!r})"

    __str__ = __repr__


Key = SymmetricKey | Ed25519Key


class KeyRing:
    """The configured keys, by kid, in the order given (files first, then the env key).

    Several keys at once is how rotation works: v2 and ed25519 envelopes name
    their kid; a legacy envelope names none, so every AES key is tried.
    """

    __slots__ = ("_keys",)

    def __init__(self, keys: Sequence[Key] = ()) -> None:
        by_kid: dict[str, Key] = {}
        for key in keys:
            if key.kid in by_kid:
                raise ConfigError(
                    f"two keys have the kid {key.kid!r} ({by_kid[key.kid].source} and "
                    f"{key.source}): name one explicitly with --key-file KID=PATH"
                )
            by_kid[key.kid] = key
        self._keys = by_kid

    @classmethod
    def empty(cls) -> KeyRing:
        return cls(())

    @classmethod
    def load(
        cls,
        paths: Sequence[Path],
        *,
        environ: Mapping[str, str] | None = None,
        allow_insecure: bool = False,
    ) -> KeyRing:
        """Read every key file and the ARTICLE_MONITOR_KEY variable; ConfigError says how to fix."""
        env = os.environ if environ is None else environ
        blank_file = env.get(ENV_KEY_FILE)
        if blank_file is not None and not blank_file.strip():
            raise ConfigError(
                f"{ENV_KEY_FILE} is set but empty: unset it, or name a key file "
                '(an empty value is a mistake, not "no key")'
            )
        keys: list[Key] = []
        given: set[tuple[str, str]] = set()
        for spec in paths:
            kid, path = parse_key_spec(spec)
            same = (kid, os.path.realpath(path))
            if same in given:  # one file named twice under one kid is one key, not a clash
                continue
            given.add(same)
            keys.append(load_key_file(path, kid=kid, allow_insecure=allow_insecure))
        env_key = _env_key(env.get(ENV_KEY))
        if env_key is not None:
            keys.append(env_key)
        return _merge_pairs(keys)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys.values())

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def get(self, kid: str) -> Key | None:
        return self._keys.get(kid)

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def symmetric(self) -> list[SymmetricKey]:
        return [k for k in self._keys.values() if isinstance(k, SymmetricKey)]

    def ed25519(self) -> list[Ed25519Key]:
        return [k for k in self._keys.values() if isinstance(k, Ed25519Key)]

    def identities(self) -> list[tuple[str, str, str]]:
        """(kid, algorithm, identity) of each key, by kid: what decides the
        verdicts, never a key's bytes (`identity`), and not where a key was read
        from (the same key at another path gives the same verdicts)."""
        return sorted(
            (k.kid, "aes256" if isinstance(k, SymmetricKey) else "ed25519", k.identity())
            for k in self._keys.values()
        )

    def __repr__(self) -> str:
        inner = ", ".join(f"{k.kid}:{k.type}" for k in self._keys.values())
        return f"KeyRing([{inner}])"

    __str__ = __repr__


def _env_key(value: str | None) -> SymmetricKey | None:
    """The key in ARTICLE_MONITOR_KEY; set but empty or not a key is a ConfigError."""
    if value is None:
        return None
    if not value.strip():
        raise ConfigError(
            f"{ENV_KEY} is set but empty: unset it, or set it to a key: {KEY_TEXT_FORMS}"
        )
    secret = parse_symmetric_text(value.encode("utf-8", "replace"))
    if secret is None:
        hint = ""
        if os.path.isfile(value.strip()):
            hint = f"; it names a file: give a key file with {ENV_KEY_FILE} or --key-file"
        raise ConfigError(
            f"{ENV_KEY} is not a key (value not shown): expected {KEY_TEXT_FORMS}" + hint
        )
    return SymmetricKey(ENV_KID, secret, f"${ENV_KEY}")


def _merge_pairs(keys: list[Key]) -> KeyRing:
    """A private key and its own `.pub` given together are one key, not a kid clash."""
    merged: list[Key] = []
    for key in keys:
        twin = next((m for m in merged if m.kid == key.kid), None)
        if (
            isinstance(twin, Ed25519Key)
            and isinstance(key, Ed25519Key)
            and twin.public_raw() == key.public_raw()
        ):
            if twin.private is None and key.private is not None:
                merged[merged.index(twin)] = key
            continue
        merged.append(key)
    return KeyRing(merged)


def _too_open(mode: int) -> bool:
    return os.name == "posix" and bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def _replaceable(mode: int) -> bool:
    """Group or others may write it: they could swap in their own key, secret or public."""
    return os.name == "posix" and bool(mode & (stat.S_IWGRP | stat.S_IWOTH))


def _read_key_file(path: Path) -> tuple[os.stat_result, bytes]:
    """Status and bytes by small_files.read_regular (no FIFO waits, no growth past
    the cap), in a key file's words; OSError is load_key_file's to word."""
    try:
        st, data = read_regular(path, _MAX_KEY_FILE)
    except NotRegularFile:
        raise ConfigError(f"key file {path} is not a regular file") from None
    if len(data) > _MAX_KEY_FILE:
        raise ConfigError(f"key file {path} is too large to be a key")
    return st, data


def load_key_file(path: Path, *, kid: str, allow_insecure: bool = False) -> Key:
    """One key file -> a key. Secret keys that group or others can read are refused."""
    if not KID_RE.fullmatch(kid):
        raise ConfigError(f"{path}: invalid kid {kid!r} ({KID_RULE})")
    try:
        st, data = _read_key_file(path)
    except FileNotFoundError:
        raise ConfigError(f"key file not found: {path}") from None
    except PermissionError:
        raise ConfigError(
            f"cannot read key file {path}: permission denied "
            "(run the monitor as the file's owner, or give it read access)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from None

    source = str(path)
    key = _parse_key(data, kid, source)
    # a public key read from a file that also holds a private one (`cat signer.key.pub
    # signer.key > both.pem`) is still a secret file: it was accepted world-readable
    mixed = isinstance(key, Ed25519Key) and key.private is None and _holds_private(data)
    secret = isinstance(key, SymmetricKey) or key.private is not None or mixed
    if secret and _too_open(st.st_mode) and not allow_insecure:
        what = "a file holding a private key (after the public one)" if mixed else "a secret key"
        raise ConfigError(
            f"permissions {stat.S_IMODE(st.st_mode):04o} for key file {path} are too open: "
            f"{what} must not be readable by group or others. Fix: chmod 600 {path} "
            "(or pass --allow-insecure-key-permissions)"
        )
    if _replaceable(st.st_mode) and not allow_insecure:
        raise ConfigError(
            f"permissions {stat.S_IMODE(st.st_mode):04o} for key file {path} are too open: "
            f"group or others could replace the key. Fix: chmod go-w {path} "
            "(or pass --allow-insecure-key-permissions)"
        )
    return key


def _parse_key(data: bytes, kid: str, source: str) -> Key:
    if not data.strip():
        raise ConfigError(f"key file {source} is empty (make a key with `article-monitor keygen`)")
    if data.lstrip().startswith(b"-----BEGIN"):
        return _parse_pem(data.strip(), kid, source)
    if data.startswith(_UTF16_BOMS):
        raise ConfigError(f"{source} is UTF-16 text: save the key as ASCII (or UTF-8)")
    if len(data) == KEY_BYTES and not _short_text(data):
        return SymmetricKey(kid, data, source)
    secret = parse_symmetric_text(data)
    if secret is None:
        raise ConfigError(
            f"{source} is not a key: expected {KEY_BYTES} raw bytes, 64 hex digits, the base64 "
            f"of {KEY_BYTES} bytes, or an Ed25519 PEM (make one with `article-monitor keygen`)"
        )
    return SymmetricKey(kid, secret, source)


@cache
def _private_pem() -> re.Pattern[bytes]:
    """Compiled at the first PEM key file read, not at import (issue 16)."""
    return re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")


def _holds_private(data: bytes) -> bool:
    """Whether any PEM block of the file is a private key (of any kind, encrypted or not)."""
    return _private_pem().search(data) is not None


def _short_text(data: bytes) -> bool:
    """32 bytes of printable text and a final newline: a text key cut short, not a raw key."""
    return data.endswith(b"\n") and all(0x20 <= b < 0x7F or b in b"\t\r\n" for b in data)


def _parse_pem(data: bytes, kid: str, source: str) -> Key:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    if b"PRIVATE KEY" in data.split(b"\n", 1)[0]:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except TypeError:
            raise ConfigError(
                f"{source}: encrypted private keys are not supported; "
                "export it without a passphrase and keep it at mode 0600"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigError(f"{source}: not a readable PEM private key") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"{source}: only Ed25519 PEM keys are supported")
        return Ed25519Key(kid, private.public_key(), source, private)
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{source}: not a readable PEM public key") from None
    if not isinstance(public, Ed25519PublicKey):
        raise ConfigError(f"{source}: only Ed25519 PEM keys are supported")
    return Ed25519Key(kid, public, source)
