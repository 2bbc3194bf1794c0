"""Page charsets a hostile server can name (second hostile review).

`content.charset._codec` accepts any Python codec name, not only the web's
encodings (WHATWG Encoding Standard labels), so a server chooses the decoder:

- `charset=punycode`: Python's punycode decoder is superlinear; a crafted
  512 KiB page costs about a minute of CPU in the event loop. Measured: one
  such page made `check --timeout 10` take 144 s (60 s CPU), and the daemon's
  /healthz did not answer for over a minute (repro in the report).
- `charset=undefined` (and `idna`): decoding raises UnicodeError despite
  errors="replace", so a page served 200 is reported `connection_error
  request failed: UnicodeError`.

Now only the WHATWG labels name an encoding: any other is ignored (UTF-8, as
browsers fall back), and decoding never raises.
"""

from __future__ import annotations

import pytest

from monitor.content.charset import decode

PAGE = b"<html><head><title>Caf\xc3\xa9</title></head></html>"


@pytest.mark.parametrize("label", ["undefined", "idna"])
def test_decoding_never_raises(label: str) -> None:
    assert decode(b"x" * 100 + b"." * 70, label)


@pytest.mark.parametrize(
    "label", ["punycode", "undefined", "idna", "unicode_escape", "raw_unicode_escape"]
)
def test_a_label_that_is_no_web_encoding_falls_back_to_utf8(label: str) -> None:
    assert decode(PAGE, label) == PAGE.decode("utf-8")


@pytest.mark.parametrize(
    ("label", "text"),
    [("ISO-8859-1", "café"), ("latin1", "café"), ("windows-1252", "café"), ("us-ascii", "café")],
)
def test_web_labels_still_name_their_encoding(label: str, text: str) -> None:
    assert decode(b"caf\xe9", label) == text


def test_a_punycode_label_costs_linear_time() -> None:
    """The superlinear decoder is never reached: 512 KiB decodes as UTF-8, whose
    output length shows which decoder ran."""
    body = b"x" * (512 * 1024)
    assert decode(body, "punycode") == body.decode()
