"""The run's TLS context: always verifying, and built once per process.

Without `--ca-bundle` it is the context aiohttp built at import from the same
system store (issue 16: a third load of the store cost ~20 ms of start-up);
with one it is a context of its own, so aiohttp's is never changed.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from support.certs import CertAuthority

from monitor.http import aiohttp_parts
from monitor.http.tls import make_ssl_context


def _verifies(ctx: ssl.SSLContext) -> None:
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert (
        ctx.cert_store_stats()["x509_ca"]
        == ssl.create_default_context().cert_store_stats()["x509_ca"]
    )


def test_without_a_bundle_no_trust_store_is_loaded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = aiohttp_parts.shared_tls_context()
    assert shared is not None, "aiohttp 3.14 builds a verifying context at import"
    _verifies(shared)

    def no_new_context(*args: object, **kwargs: object) -> ssl.SSLContext:
        raise AssertionError("the system trust store was loaded again")

    monkeypatch.setattr(ssl, "create_default_context", no_new_context)
    ctx = make_ssl_context()
    assert ctx is shared  # identity is the point: one context, not an equal second one


def test_a_bundle_gets_a_context_of_its_own(tmp_path: Path) -> None:
    shared = aiohttp_parts.shared_tls_context()
    assert shared is not None
    before = shared.cert_store_stats()
    ctx = make_ssl_context(CertAuthority(tmp_path).cert_file)
    assert ctx is not shared
    assert ctx.cert_store_stats()["x509_ca"] == before["x509_ca"] + 1
    assert shared.cert_store_stats() == before  # aiohttp's context is never changed


def test_no_shared_context_when_aiohttps_does_not_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import connector

    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    monkeypatch.setattr(connector, "_SSL_CONTEXT_VERIFIED", loose)
    assert aiohttp_parts.shared_tls_context() is None
    ctx = make_ssl_context()
    assert ctx is not loose
    _verifies(ctx)
