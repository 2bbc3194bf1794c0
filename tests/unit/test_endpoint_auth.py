"""`EndpointAuth.allows` answers yes or no for any header value, never raises
(an exception there was an HTTP 500 for an unauthenticated client)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from monitor.observe.endpoints import EndpointAuth

AUTH = EndpointAuth.of("tok", ("prometheus", "pa:ss"))


def _as_aiohttp_sees_it(raw: bytes) -> str:
    """aiohttp decodes header bytes as UTF-8 with surrogateescape."""
    return raw.decode("utf-8", "surrogateescape")


@given(
    st.sampled_from([b"", b"Basic ", b"basic ", b"Bearer ", b"BEARER ", b"Digest "]),
    st.binary(max_size=200),
)
def test_no_header_value_raises_or_grants(scheme: bytes, rest: bytes) -> None:
    header = _as_aiohttp_sees_it(scheme + rest)
    granted = AUTH.allows(header)
    assert isinstance(granted, bool)
    if granted:  # only the right credentials, whatever came before them
        assert header.split()[-1] in {"tok", base64.b64encode(b"prometheus:pa:ss").decode()}


@given(st.text(max_size=200))
def test_no_text_raises(header: str) -> None:
    assert isinstance(AUTH.allows(header), bool)


def test_the_shapes_from_the_review() -> None:
    for header in (
        "Basic \xe9abc",  # non-ASCII: was ValueError from b64decode(validate=True)
        _as_aiohttp_sees_it(b"Basic \xff\xfe"),
        _as_aiohttp_sees_it(b"Bearer \xff\xfe"),  # was UnicodeEncodeError
        "Basic !!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
        "Basic",
        "",
        "Basic " + "A" * 100_000,
    ):
        assert AUTH.allows(header) is False, header[:20]


def test_a_lowercase_scheme_is_a_scheme() -> None:
    assert AUTH.allows("basic " + base64.b64encode(b"prometheus:pa:ss").decode())
    assert AUTH.allows("bearer tok") and AUTH.allows("Bearer  tok ")


def test_non_ascii_credentials_compare_as_their_utf8_bytes() -> None:
    auth = EndpointAuth.of("tök", ("usér", "pässword"))
    assert auth.allows("Bearer " + _as_aiohttp_sees_it("tök".encode()))
    assert auth.allows("Basic " + base64.b64encode("usér:pässword".encode()).decode())
