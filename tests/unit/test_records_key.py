"""The digest the daemon keeps of what its stored audit was worked out with
(`AuditRules.records_key`, meta `corpus_rules`): it moves with anything that
changes a verdict or a target (keys, exclude_fields, kinds, related,
exclude_urls), stays put for what does not (where a key was read from, the
order the files were given, an Ed25519 private key for its public half), and
holds nothing of a key."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from monitor.config import Settings
from monitor.rules.audit import AuditRules
from monitor.secured.keys import KeyRing, SymmetricKey

SECRET = bytes(range(32))
OTHER = bytes(range(1, 33))


def aes(path: Path, secret: bytes = SECRET) -> Path:
    path.write_text(secret.hex() + "\n")
    path.chmod(0o600)
    return path


def digest(keyring: KeyRing, **settings: Any) -> str:
    return AuditRules.of(Settings(**settings)).records_key(keyring)


def ring(*paths: Path) -> KeyRing:
    return KeyRing.load(list(paths), environ={})


def test_where_and_in_which_order_keys_are_read_does_not_move_it(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    a, b = aes(tmp_path / "a.key"), aes(tmp_path / "b.key", OTHER)
    moved = aes(tmp_path / "elsewhere" / "a.key")
    assert digest(ring(a, b)) == digest(ring(b, moved))
    assert digest(ring(a)) == digest(KeyRing([SymmetricKey("a", SECRET, "$ARTICLE_MONITOR_KEY")]))


@pytest.mark.parametrize(
    "change",
    ["rotated", "added", "removed", "kid", "exclude_fields", "kinds", "related", "exclude_urls"],
)
def test_each_change_of_verdicts_or_targets_moves_it(tmp_path: Path, change: str) -> None:
    a = aes(tmp_path / "a.key")
    before = digest(ring(a))
    after = {
        "rotated": lambda: digest(ring(aes(a, OTHER))),  # same path and kid, new bytes
        "added": lambda: digest(ring(a, aes(tmp_path / "b.key", OTHER))),
        "removed": lambda: digest(KeyRing.empty()),
        "kid": lambda: digest(ring(Path(f"b={a}"))),
        "exclude_fields": lambda: digest(ring(a), exclude_fields=["title"]),
        "kinds": lambda: digest(ring(a), kinds=["web"]),
        "related": lambda: digest(ring(a), related=False),
        "exclude_urls": lambda: digest(ring(a), exclude_urls=["ads"]),
    }[change]()
    assert after != before


def test_an_ed25519_key_is_known_by_its_public_half(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "signer.key").write_bytes(pem)
    (tmp_path / "signer.key").chmod(0o600)
    (tmp_path / "signer.key.pub").write_bytes(pub)
    signing, verifying = ring(tmp_path / "signer.key"), ring(tmp_path / "signer.key.pub")
    assert digest(signing) == digest(verifying)
    other = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "signer.key.pub").write_bytes(
        other.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert digest(ring(tmp_path / "signer.key.pub")) != digest(verifying)


def test_nothing_of_a_key_is_in_it_or_in_the_identity(tmp_path: Path) -> None:
    """The stored digest is 64 hex digits; the AES key's identity (hashed into it)
    is an HMAC check value, not the key or a plain hash of it."""
    secret = os.urandom(32)
    keyring = ring(aes(tmp_path / "a.key", secret))
    text = digest(keyring)
    assert len(text) == 64 and int(text, 16) >= 0
    (identity,) = [i for _, _, i in keyring.identities()]
    for spelling in (
        secret.hex(),
        base64.b64encode(secret).decode(),
        hashlib.sha256(secret).hexdigest(),
        hashlib.sha256(secret.hex().encode()).hexdigest(),
    ):
        assert spelling not in text and spelling not in identity
    assert secret.hex() not in repr(keyring.identities())
