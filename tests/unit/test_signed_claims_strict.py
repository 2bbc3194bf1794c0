"""The signed claims are read by the corpus's JSON rules (second hostile review).

The decrypted claims went through `json.loads`, so `{"webUrl": "evil",
"webUrl": "good"}` verified against the second copy and NaN was a number: the
same "readers disagree on which copy wins" hole as duplicate keys in documents
(issue 10 item 9). Such a plaintext is no claims at all.
"""

from __future__ import annotations

import pytest
from support.legacy_claims import KEY, cbc

from monitor.secured.keys import KeyRing
from monitor.secured.verify import verify_document
from monitor.vocabulary import SignatureStatus as S

URL = "https://news.example/a"


def test_the_same_claims_written_once_verify() -> None:
    raw = {"webUrl": URL, "secured": cbc(b'{"webUrl": "%s"}' % URL.encode())}
    assert verify_document(raw, KeyRing([KEY])).status is S.VALID


@pytest.mark.parametrize(
    "claims",
    [
        b'{"webUrl": "https://evil.example/", "webUrl": "%s"}' % URL.encode(),
        b'{"webUrl": "%s", "iat": NaN}' % URL.encode(),
        b'{"webUrl": "%s", "images.0.width": Infinity}' % URL.encode(),
    ],
)
def test_a_repeated_key_or_a_non_json_number_is_no_claims(claims: bytes) -> None:
    raw = {"webUrl": URL, "images": [{"url": URL, "width": 1}], "secured": cbc(claims)}
    assert verify_document(raw, KeyRing([KEY])).status is S.UNDECRYPTABLE
