"""Verify a record's `secured` envelope against the configured keys (CONTRACT section 4).

The part of `monitor.secured.verify` a record without `secured`, or a run
without keys, never reaches: it and the envelope and canonical modules it needs
(~22 M instructions of imports, rfc8785's among them) are imported at the first
signed record that is checked against a key, not by every `check` (issue 16).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from monitor.corpus.nesting import deeper_than, text_is_shallow
from monitor.secured.canonical import (
    ABSENT,
    UNSUPPORTED,
    CanonicalFormError,
    canonical_bytes,
    lookup,
    normalise,
    same_value,
)
from monitor.secured.envelopes import (
    AES_BLOCK,
    DIGEST,
    IAT,
    RESERVED,
    V2,
    Ed25519,
    Legacy,
    Malformed,
    digest,
    parse_envelope,
)
from monitor.secured.keys import Ed25519Key, Key, KeyRing, SymmetricKey
from monitor.vocabulary import SignatureResult, SignatureStatus

S = SignatureStatus


def verify_secured(
    raw: Mapping[str, Any], keyring: KeyRing, secured: Any, exclude: Sequence[str]
) -> SignatureResult:
    """The status of `secured`, the record's envelope, against a non-empty `keyring`."""
    envelope = parse_envelope(secured)
    if isinstance(envelope, Malformed):
        return SignatureResult(S.MALFORMED, detail=envelope.reason, envelope=envelope.envelope)
    if isinstance(envelope, Legacy):
        return _verify_legacy(raw, keyring, envelope)
    if isinstance(envelope, V2):
        return _verify_v2(raw, keyring, envelope, exclude)
    return _verify_ed25519(raw, keyring, envelope, exclude)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a repeated key")  # which copy counts is not for us to guess
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The signed claims by the corpus's rules: a key given twice, or NaN/Infinity,
# makes the plaintext no claims at all (json.loads let the last copy win).
_CLAIMS: Final = json.JSONDecoder(object_pairs_hook=_unique, parse_constant=_no_constant)


def _load_claims(plaintext: bytes) -> dict[str, Any] | None:
    """The claims, or None; nested past the corpus's bound they are none either, at
    any depth of the caller's stack (RecursionError alone came at ~970 levels less it)."""
    try:
        text = plaintext.decode("utf-8")
        claims = _CLAIMS.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(claims, dict):
        return None
    return claims if text_is_shallow(text) or not deeper_than(claims) else None


# cryptography is imported where a key is used (~20 ms of start-up a run
# without keys, or without signed records, never pays; issue 16)


def _decrypt_cbc(key: SymmetricKey, envelope: Legacy) -> dict[str, Any] | None:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(key.secret), modes.CBC(envelope.iv)).decryptor()
    padded = decryptor.update(envelope.ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(AES_BLOCK * 8).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None
    return _load_claims(plaintext)


def _differing_paths(raw: Mapping[str, Any], claims: Mapping[str, Any]) -> list[str]:
    differ = []
    for path, signed in claims.items():
        if path in RESERVED:
            continue
        actual = lookup(raw, path)
        if actual is ABSENT or actual is UNSUPPORTED:
            differ.append(path)
            continue
        try:
            expected = normalise(signed)
        except CanonicalFormError:
            differ.append(path)
            continue
        if not same_value(expected, actual):
            differ.append(path)
    return differ


def _signed_paths(claims: Mapping[str, Any]) -> list[str]:
    return [p for p in claims if p not in RESERVED]


def _issued(claims: Mapping[str, Any]) -> str:
    iat = claims.get(IAT)
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        return ""
    try:
        return f", issued {datetime.fromtimestamp(iat, UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    except (OverflowError, OSError, ValueError):
        return ""


def _tampered(paths: list[str], envelope: str, kid: str | None) -> SignatureResult:
    return SignatureResult(
        S.TAMPERED,
        fields=tuple(paths),
        detail=f"signed field(s) differ from the article: {', '.join(paths)}",
        kid=kid,
        envelope=envelope,
    )


def _verify_legacy(raw: Mapping[str, Any], keyring: KeyRing, envelope: Legacy) -> SignatureResult:
    keys = keyring.symmetric()
    if not keys:
        return SignatureResult(
            S.UNKNOWN_KEY,
            detail="legacy envelope needs an AES-256 key, and only Ed25519 keys are configured",
            envelope="legacy",
        )
    for key in keys:
        claims = _decrypt_cbc(key, envelope)
        if claims is None:
            continue
        differ = _differing_paths(raw, claims)
        if differ:
            return _tampered(differ, "legacy", key.kid)
        signed = _signed_paths(claims)
        return SignatureResult(
            S.VALID,
            detail=f"legacy envelope, key {key.kid!r}: {len(signed)} field(s) match"
            + _issued(claims),
            kid=key.kid,
            envelope="legacy",
        )
    kids = ", ".join(repr(k.kid) for k in keys)
    return SignatureResult(
        S.UNDECRYPTABLE,
        detail=f"legacy envelope: no configured AES key ({kids}) decrypts it to a JSON object; "
        "wrong key, or corrupted ciphertext",
        envelope="legacy",
    )


def _key_for(keyring: KeyRing, kid: str, want: type[Key], envelope: str) -> Key | SignatureResult:
    key = keyring.get(kid)
    if key is None:
        have = ", ".join(repr(k) for k in keyring.kids)
        return SignatureResult(
            S.UNKNOWN_KEY,
            detail=f"{envelope} envelope names kid {kid!r}, and no key has it (configured: {have})",
            kid=kid,
            envelope=envelope,
        )
    if not isinstance(key, want):
        need = "an AES-256" if want is SymmetricKey else "an Ed25519"
        return SignatureResult(
            S.UNKNOWN_KEY,
            detail=f"kid {kid!r} is a {key.type} key; a {envelope} envelope needs {need} key",
            kid=kid,
            envelope=envelope,
        )
    return key


def _verify_v2(
    raw: Mapping[str, Any], keyring: KeyRing, envelope: V2, exclude: Sequence[str]
) -> SignatureResult:
    key = _key_for(keyring, envelope.kid, SymmetricKey, "v2")
    if isinstance(key, SignatureResult):
        return key
    assert isinstance(key, SymmetricKey)
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        plaintext = AESGCM(key.secret).decrypt(
            envelope.nonce, envelope.ciphertext, envelope.kid.encode("ascii")
        )
    except InvalidTag:
        return SignatureResult(
            S.UNDECRYPTABLE,
            detail=f"v2 envelope does not authenticate under key {envelope.kid!r}: "
            "wrong key for this kid, or the envelope was altered",
            kid=envelope.kid,
            envelope="v2",
        )
    claims = _load_claims(plaintext)
    if claims is None or not isinstance(claims.get(DIGEST), str):
        return SignatureResult(
            S.MALFORMED,
            detail="v2 envelope authenticates, but its plaintext is not a JSON object "
            "with a `sha256` member (a signer bug)",
            kid=envelope.kid,
            envelope="v2",
        )
    differ = _differing_paths(raw, claims)
    if differ:
        return _tampered(differ, "v2", envelope.kid)
    try:
        actual = digest(canonical_bytes(raw, exclude=exclude))
    except CanonicalFormError as exc:
        return _unrepresentable(exc, "v2", envelope.kid)
    if not hmac.compare_digest(actual.encode("utf-8"), str(claims[DIGEST]).encode("utf-8")):
        return SignatureResult(
            S.TAMPERED,
            detail="the signed fields match, but a field outside them changed "
            "(the canonical SHA-256 differs; check exclude_fields if the signer used others)",
            kid=envelope.kid,
            envelope="v2",
        )
    return SignatureResult(
        S.VALID,
        detail=f"v2 envelope, key {envelope.kid!r}: {len(_signed_paths(claims))} field(s) "
        "and the canonical digest match" + _issued(claims),
        kid=envelope.kid,
        envelope="v2",
    )


def _unrepresentable(exc: CanonicalFormError, envelope: str, kid: str) -> SignatureResult:
    return SignatureResult(
        S.TAMPERED,
        fields=(exc.path,) if exc.path else (),
        detail=f"the article has no canonical form ({exc}), so it cannot be what was signed",
        kid=kid,
        envelope=envelope,
    )


def _verify_ed25519(
    raw: Mapping[str, Any], keyring: KeyRing, envelope: Ed25519, exclude: Sequence[str]
) -> SignatureResult:
    key = _key_for(keyring, envelope.kid, Ed25519Key, "ed25519")
    if isinstance(key, SignatureResult):
        return key
    assert isinstance(key, Ed25519Key)
    try:
        canonical = canonical_bytes(raw, exclude=exclude)
    except CanonicalFormError as exc:
        return _unrepresentable(exc, "ed25519", envelope.kid)
    from cryptography.exceptions import InvalidSignature

    try:
        key.public.verify(envelope.signature, canonical)
    except InvalidSignature:
        return SignatureResult(
            S.TAMPERED,
            detail="the Ed25519 signature does not match the article's canonical form: "
            "some field changed (this format cannot tell which), or another key signed it",
            kid=envelope.kid,
            envelope="ed25519",
        )
    return SignatureResult(
        S.VALID,
        detail=f"ed25519 signature by {envelope.kid!r} matches the canonical form",
        kid=envelope.kid,
        envelope="ed25519",
    )
