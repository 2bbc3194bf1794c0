"""The three `secured` envelope shapes (CONTRACT section 4): parse and format, no crypto.

Parsing is strict and total: any string yields either an envelope or a
`Malformed` that says what is wrong, never an exception. The reserved members
of the plaintext JSON (`iat`, `sha256`) are named here too, since the
signer and the verifier must agree on them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Final

LEGACY_IV_BYTES: Final = 16
AES_BLOCK: Final = 16
GCM_NONCE_BYTES: Final = 12
GCM_TAG_BYTES: Final = 16
ED25519_SIG_BYTES: Final = 64
MAX_ENVELOPE_CHARS: Final = 1 << 20
# Members of the plaintext JSON that are metadata, not signed paths.
IAT: Final = "iat"  # issued-at, Unix seconds
DIGEST: Final = "sha256"  # v2: base64url SHA-256 of the canonical form
RESERVED: Final = frozenset({IAT, DIGEST})

_B64: Final = r"[A-Za-z0-9+/]+={0,2}"
_B64URL: Final = r"[A-Za-z0-9_-]+"
_KID: Final = r"[A-Za-z0-9_-]{1,64}"
_SPACE: Final = re.compile(r"\s")
_LEGACY_RE: Final = re.compile(rf"(?P<c>{_B64});(?P<iv>{_B64})")
_V2_RE: Final = re.compile(rf"v2\.(?P<kid>{_KID})\.(?P<nonce>{_B64URL})\.(?P<ct>{_B64URL})")
_ED_RE: Final = re.compile(rf"ed25519\.(?P<kid>{_KID})\.(?P<sig>{_B64URL})")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def digest(canonical: bytes) -> str:
    """The `sha256` member of a v2 plaintext: base64url SHA-256 of the canonical bytes."""
    return b64url_encode(hashlib.sha256(canonical).digest())


def b64url_decode(text: str) -> bytes | None:
    """Unpadded base64url, strictly: None for anything else."""
    if len(text) % 4 == 1 or not re.fullmatch(_B64URL, text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if b64url_encode(data) == text else None  # reject non-canonical trailing bits


def _b64_decode(text: str) -> bytes | None:
    """Padded standard base64, strictly: as b64url_decode, the one spelling of the bytes
    (unused trailing bits set let 3 of every 4 last characters spell the same IV)."""
    if len(text) % 4:
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if base64.b64encode(data).decode("ascii") == text else None


@dataclass(frozen=True, slots=True)
class Legacy:
    ciphertext: bytes
    iv: bytes

    def format(self) -> str:
        c = base64.b64encode(self.ciphertext).decode("ascii")
        iv = base64.b64encode(self.iv).decode("ascii")
        return f"{c};{iv}"


@dataclass(frozen=True, slots=True)
class V2:
    kid: str
    nonce: bytes
    ciphertext: bytes  # ciphertext ‖ 16-byte tag

    def format(self) -> str:
        return f"v2.{self.kid}.{b64url_encode(self.nonce)}.{b64url_encode(self.ciphertext)}"


@dataclass(frozen=True, slots=True)
class Ed25519:
    kid: str
    signature: bytes

    def format(self) -> str:
        return f"ed25519.{self.kid}.{b64url_encode(self.signature)}"


@dataclass(frozen=True, slots=True)
class Malformed:
    reason: str
    envelope: str | None = None  # the shape it seemed to aim at, if any


Envelope = Legacy | V2 | Ed25519


def parse_envelope(value: object) -> Envelope | Malformed:
    """Recognise one of the three shapes; surrounding whitespace is ignored."""
    if not isinstance(value, str):
        return Malformed(f"`secured` is a {type(value).__name__}, not a string")
    text = value.strip()
    if not text:
        return Malformed("`secured` is empty")
    if len(text) > MAX_ENVELOPE_CHARS:
        return Malformed("`secured` is far too long for any envelope")
    if _SPACE.search(text):  # YAML folds a wrapped plain value's line breaks into spaces
        return Malformed(
            "`secured` has white space inside it (a long value wrapped over lines?): "
            "no envelope has any; write it on one line",
            _aimed_at(text),
        )
    if text.startswith("v2."):
        return _parse_v2(text)
    if text.startswith("ed25519."):
        return _parse_ed25519(text)
    return _parse_legacy(text)


def _aimed_at(text: str) -> str | None:
    """The envelope a string seems meant as, by its prefix alone."""
    if text.startswith("v2."):
        return "v2"
    if text.startswith("ed25519."):
        return "ed25519"
    return "legacy" if ";" in text else None


def _parse_legacy(text: str) -> Legacy | Malformed:
    match = _LEGACY_RE.fullmatch(text)
    if match is None:
        return Malformed(
            "not a known envelope: expected BASE64;BASE64 (legacy), "
            "v2.KID.NONCE.CIPHERTEXT or ed25519.KID.SIGNATURE"
        )
    ciphertext, iv = _b64_decode(match["c"]), _b64_decode(match["iv"])
    if ciphertext is None or iv is None:
        return Malformed("legacy envelope: invalid base64 (standard alphabet, padded)", "legacy")
    if len(iv) != LEGACY_IV_BYTES:
        return Malformed(f"legacy envelope: IV has {len(iv)} bytes, not 16", "legacy")
    if not ciphertext or len(ciphertext) % AES_BLOCK:
        return Malformed(
            f"legacy envelope: ciphertext of {len(ciphertext)} bytes is not whole AES blocks",
            "legacy",
        )
    return Legacy(ciphertext, iv)


def _parse_v2(text: str) -> V2 | Malformed:
    match = _V2_RE.fullmatch(text)
    if match is None:
        return Malformed("v2 envelope: expected v2.KID.NONCE.CIPHERTEXT (base64url)", "v2")
    nonce, ciphertext = b64url_decode(match["nonce"]), b64url_decode(match["ct"])
    if nonce is None or ciphertext is None:
        return Malformed("v2 envelope: invalid base64url (unpadded)", "v2")
    if len(nonce) != GCM_NONCE_BYTES:
        return Malformed(f"v2 envelope: nonce has {len(nonce)} bytes, not 12", "v2")
    if len(ciphertext) < GCM_TAG_BYTES:
        return Malformed("v2 envelope: ciphertext shorter than the 16-byte tag", "v2")
    return V2(match["kid"], nonce, ciphertext)


def _parse_ed25519(text: str) -> Ed25519 | Malformed:
    match = _ED_RE.fullmatch(text)
    if match is None:
        return Malformed("ed25519 envelope: expected ed25519.KID.SIGNATURE (base64url)", "ed25519")
    signature = b64url_decode(match["sig"])
    if signature is None:
        return Malformed("ed25519 envelope: invalid base64url (unpadded)", "ed25519")
    if len(signature) != ED25519_SIG_BYTES:
        return Malformed(
            f"ed25519 envelope: signature has {len(signature)} bytes, not 64", "ed25519"
        )
    return Ed25519(match["kid"], signature)
