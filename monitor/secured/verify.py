"""Verify `secured` envelopes (CONTRACT section 4). Pure: keys come in a KeyRing.

`verify_document` is total: whatever the record and its `secured` hold, it
returns one of the seven statuses and never raises, but for a broken install
(a package that fails to import: monitor.install), which is no verdict. The comparison of signed
values with the article follows the canonical module's normalisation, so a
timestamp written `+02:00` in YAML and signed as UTC `Z` is the same instant.
Digests and tags are compared in constant time (`hmac.compare_digest`, and
the AEAD and Ed25519 checks of `cryptography`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from monitor.secured.keys import KeyRing
from monitor.vocabulary import SignatureResult, SignatureStatus

SECURED: Final = "secured"  # the field (canonical.SECURED, whose module this one no longer imports)

log = logging.getLogger(__name__)

_INTERNAL: Final = "internal error"

S = SignatureStatus


def verify_document(
    raw: Mapping[str, Any], keyring: KeyRing, *, exclude: Sequence[str] = ()
) -> SignatureResult:
    """The status of the record's `secured` field against the configured keys. Never
    raises, but for a broken install (an ImportError or what a package raises at its
    import: monitor.install.cannot_import)."""
    try:
        return _verify(raw, keyring, exclude)
    except RecursionError:
        return SignatureResult(S.MALFORMED, detail="the record is nested too deeply to verify")
    except Exception as exc:  # a bug, not the input's fault; the daemon must go on
        from monitor.install import cannot_import

        if cannot_import(exc) is not None:
            # the install's (cryptography's compiled part missing, a package half
            # installed), not the record's: no verdict. It was `malformed: internal
            # error (ImportError)` for every signed record, in reports and the database
            raise
        log.error("signature verification failed unexpectedly: %s", type(exc).__name__)
        return SignatureResult(S.MALFORMED, detail=f"{_INTERNAL} ({type(exc).__name__})")


# The two answers most articles of a run share: one immutable object each,
# rather than one per article held until the report is written.
_MISSING: Final = SignatureResult(S.MISSING, detail="no `secured` field")
_UNVERIFIED: Final = SignatureResult(
    S.UNVERIFIED, detail="no key configured: pass --key-file or set ARTICLE_MONITOR_KEY"
)


def _verify(raw: Mapping[str, Any], keyring: KeyRing, exclude: Sequence[str]) -> SignatureResult:
    secured = raw.get(SECURED) if isinstance(raw, Mapping) else None
    if secured is None:
        return _MISSING
    if not keyring:
        return _UNVERIFIED
    # the envelopes and canonical forms: imported for the first signed record (signed.py)
    from monitor.secured.signed import verify_secured

    return verify_secured(raw, keyring, secured, exclude)
