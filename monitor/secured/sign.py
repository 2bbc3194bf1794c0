"""Make `secured` envelopes (CONTRACT section 4). Pure: keys come in a KeyRing.

`sign_document` is the inverse of `monitor.secured.verify.verify_document`:
what it makes, the verifier finds `valid` with the same keys and exclusions.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal

import rfc8785
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from monitor.config import ConfigError
from monitor.secured.canonical import (
    ABSENT,
    UNSUPPORTED,
    CanonicalFormError,
    canonical_bytes,
    lookup,
)
from monitor.secured.envelopes import (
    AES_BLOCK,
    DIGEST,
    GCM_NONCE_BYTES,
    IAT,
    LEGACY_IV_BYTES,
    RESERVED,
    V2,
    Ed25519,
    Legacy,
    digest,
)
from monitor.secured.keys import KID_RE, KID_RULE, Ed25519Key, Key, KeyRing, SymmetricKey

EnvelopeName = Literal["v2", "legacy", "ed25519"]
# Signed by default, whichever are present; images.N.{url,width,height} for every image.
DEFAULT_PATHS: Final = (
    "webUrl",
    "ampWebUrl",
    "cdnAmpWebUrl",
    "title",
    "publishedDateTime",
    "updatedDateTime",
    "provider.domain",
)
IMAGE_FIELDS: Final = ("url", "width", "height")


def default_paths(raw: Mapping[str, Any]) -> list[str]:
    """The paths `sign` puts in the plaintext by default: those present in the record."""
    paths = [p for p in DEFAULT_PATHS if lookup(raw, p) is not ABSENT]
    images = raw.get("images")
    if isinstance(images, list | tuple):
        for i, image in enumerate(images):
            if isinstance(image, Mapping):
                paths.extend(f"images.{i}.{f}" for f in IMAGE_FIELDS if f in image)
    return paths


def pick_key(keyring: KeyRing, envelope: EnvelopeName, kid: str | None) -> Key:
    want: type[Key] = Ed25519Key if envelope == "ed25519" else SymmetricKey
    need = "an Ed25519 private key (PEM)" if want is Ed25519Key else "an AES-256 key"
    if kid is not None:
        if not KID_RE.fullmatch(kid):
            raise ConfigError(f"--kid {kid!r} is not a valid kid: {KID_RULE}")
        key = keyring.get(kid)
        if key is None:
            have = ", ".join(repr(k) for k in keyring.kids) or "none"
            raise ConfigError(f"no key has the kid {kid!r} (configured: {have})")
        if not isinstance(key, want):
            raise ConfigError(
                f"kid {kid!r} is a {key.type} key; --envelope {envelope} needs {need}"
            )
    else:
        candidates = [k for k in keyring if isinstance(k, want)]
        if not candidates:
            have = ", ".join(f"{k.kid!r} {k.type}" for k in keyring) or "none"
            raise ConfigError(
                f"--envelope {envelope} needs {need} (configured: {have}): pass --key-file "
                f"(make one with `article-monitor keygen --type "
                f"{'ed25519' if want is Ed25519Key else 'aes256'}`)"
            )
        key = candidates[0]
    if isinstance(key, Ed25519Key) and key.private is None:
        raise ConfigError(
            f"kid {key.kid!r} is only a public key ({key.source}); signing needs the private PEM"
        )
    return key


def signed_claims(raw: Mapping[str, Any], paths: Sequence[str] | None = None) -> dict[str, Any]:
    """Path -> normalised value, for the given paths (default: `default_paths`)."""
    chosen = default_paths(raw) if paths is None else list(paths)
    claims: dict[str, Any] = {}
    for path in chosen:
        if path in RESERVED:
            raise ValueError(f"{path!r} is reserved in the envelope plaintext; it cannot be signed")
        value = lookup(raw, path)
        if value is ABSENT:
            raise ValueError(f"{path}: no such field in the article")
        if value is UNSUPPORTED:
            raise CanonicalFormError(path, "value has no JSON form")
        claims[path] = value
    return claims


def _plaintext(claims: Mapping[str, Any]) -> bytes:
    try:
        return bytes(rfc8785.dumps(dict(claims)))
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalFormError("", str(exc)) from None


def sign_document(
    raw: Mapping[str, Any],
    keyring: KeyRing,
    *,
    envelope: EnvelopeName = "v2",
    kid: str | None = None,
    exclude: Sequence[str] = (),
    now: datetime | None = None,
    paths: Sequence[str] | None = None,
) -> str:
    """The `secured` value for this record.

    Raises ConfigError when no suitable key is configured (exit 2 in the CLI)
    and ValueError (CanonicalFormError) when the record cannot be signed.
    """
    key = pick_key(keyring, envelope, kid)
    issued = int((now or datetime.now(UTC)).timestamp())
    if envelope == "ed25519":
        assert isinstance(key, Ed25519Key) and key.private is not None
        signature = key.private.sign(canonical_bytes(raw, exclude=exclude))
        return Ed25519(key.kid, signature).format()
    assert isinstance(key, SymmetricKey)
    claims = signed_claims(raw, paths)
    claims[IAT] = issued
    if envelope == "legacy":
        padder = padding.PKCS7(AES_BLOCK * 8).padder()
        padded = padder.update(_plaintext(claims)) + padder.finalize()
        iv = os.urandom(LEGACY_IV_BYTES)
        encryptor = Cipher(algorithms.AES(key.secret), modes.CBC(iv)).encryptor()
        return Legacy(encryptor.update(padded) + encryptor.finalize(), iv).format()
    claims[DIGEST] = digest(canonical_bytes(raw, exclude=exclude))
    nonce = os.urandom(GCM_NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, _plaintext(claims), key.kid.encode("ascii"))
    return V2(key.kid, nonce, sealed).format()
