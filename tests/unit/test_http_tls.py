"""The run's TLS context: always verifying, and built once per process.

Without `--ca-bundle` it is the context aiohttp built at import from the same
system store (issue 16: a third load of the store cost ~20 ms of start-up),
unless aiohttp was imported the run's way, without the store
(aiohttp_import.py); with a bundle it is a context of its own, so aiohttp's
is never changed.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from support.certs import CertAuthority

from monitor.http import aiohttp_import, aiohttp_parts
from monitor.http.tls import make_ssl_context


def _verifies(ctx: ssl.SSLContext) -> None:
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname is True
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert (
        ctx.cert_store_stats()["x509_ca"]
        == ssl.create_default_context().cert_store_stats()["x509_ca"]
    )


@pytest.fixture
def aiohttps_context(monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """aiohttp's verifying context as aiohttp 3.14 builds it at import, with the
    TLS 1.2 floor that OpenSSL's system configuration gives it on most systems
    (not on every runtime: Debian's Python 3.11.2 leaves it at the minimum, and
    then the run builds its own, tested below)."""
    from aiohttp import connector

    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    monkeypatch.setattr(connector, "_SSL_CONTEXT_VERIFIED", ctx)
    monkeypatch.setattr(aiohttp_import, "skipped_trust_store", False)  # imported before it
    return ctx


def test_without_a_bundle_no_trust_store_is_loaded_again(
    aiohttps_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = aiohttp_parts.shared_tls_context()
    assert shared is aiohttps_context
    _verifies(shared)

    def no_new_context(*args: object, **kwargs: object) -> ssl.SSLContext:
        raise AssertionError("the system trust store was loaded again")

    monkeypatch.setattr(ssl, "create_default_context", no_new_context)
    ctx = make_ssl_context()
    assert ctx is shared  # identity is the point: one context, not an equal second one


def test_a_bundle_gets_a_context_of_its_own(
    aiohttps_context: ssl.SSLContext, tmp_path: Path
) -> None:
    before = aiohttps_context.cert_store_stats()
    ctx = make_ssl_context(CertAuthority(tmp_path).cert_file)
    assert ctx is not aiohttps_context
    assert ctx.cert_store_stats()["x509_ca"] == before["x509_ca"] + 1
    assert aiohttps_context.cert_store_stats() == before  # aiohttp's context is never changed


def test_aiohttps_context_without_a_tls_floor_is_not_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the runtime leaves aiohttp's context at OpenSSL's minimum version (Debian's
    Python 3.11.2), the run builds its own with TLS 1.2 as the floor, never lowers it."""
    from aiohttp import connector

    floorless = ssl.create_default_context()
    floorless.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    monkeypatch.setattr(connector, "_SSL_CONTEXT_VERIFIED", floorless)
    assert aiohttp_parts.shared_tls_context() is None
    ctx = make_ssl_context()
    assert ctx is not floorless
    _verifies(ctx)
    assert floorless.minimum_version == ssl.TLSVersion.MINIMUM_SUPPORTED


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


def test_aiohttps_context_built_without_the_store_is_not_shared(
    aiohttps_context: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imported through aiohttp_import, aiohttp's context holds no CA: sharing it
    would fail every https target, so the run loads the store into its own."""
    monkeypatch.setattr(aiohttp_import, "skipped_trust_store", True)
    assert aiohttp_parts.shared_tls_context() is None
    ctx = make_ssl_context()
    assert ctx is not aiohttps_context
    _verifies(ctx)


def test_the_import_skips_only_its_own_threads_loads() -> None:
    """In a fresh interpreter: aiohttp's contexts come without the store, a
    context another thread builds during the import still gets it, and ssl's
    own method is back once the import is over."""
    import subprocess
    import sys

    probe = """
import importlib.abc, ssl, sys, threading
name = "set_default_verify_paths"
before = getattr(ssl.SSLContext, name)
others = []
class Other(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == "aiohttp.connector":  # another thread builds a context mid-import
            t = threading.Thread(target=lambda: others.append(ssl.create_default_context()))
            t.start(); t.join()
        return None
assert "aiohttp" not in sys.modules
sys.meta_path.insert(0, Other())
import monitor.http  # imports aiohttp through aiohttp_import
from monitor.http import aiohttp_import
from aiohttp import connector
aiohttps = connector._SSL_CONTEXT_VERIFIED
print(aiohttps.cert_store_stats()["x509"], aiohttp_import.skipped_trust_store)
print(others[0].cert_store_stats()["x509"] > 0, getattr(ssl.SSLContext, name) == before)
print(name in ssl.SSLContext.__dict__)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True", "True", "True", "False"]
