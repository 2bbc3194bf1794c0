"""TLS: one verifying context per run, and the peer certificate's expiry.

Verification uses the system store plus `--ca-bundle`; it is never turned
off. The expiry is read from the live connection's SSL object, so it is the
certificate the server really presented (after SNI), recorded for every
https target whatever its outcome downstream.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.config import ConfigError
from monitor.small_files import require_regular_file


def make_ssl_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """System trust store, plus the extra CAs of `ca_bundle` when given.

    Without a bundle this is the verifying context aiohttp built at import
    from the same store, when it loaded the store (shared, never changed:
    a third load cost every https run ~20 ms of start-up CPU); imported the
    usual way (aiohttp_import.py) it did not, and the one built here is the
    run's only load, made at its first https dial (client.py).

    A bundle that cannot be read or holds no certificate is a configuration
    error naming the file (ssl's own message names neither the file nor the option).
    """
    if ca_bundle is None:
        from monitor.http.aiohttp_parts import shared_tls_context

        shared = shared_tls_context()
        if shared is not None:
            return shared
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_bundle is not None:
        require_regular_file(ca_bundle, "ca_bundle")  # OpenSSL's open of a FIFO never returns
        try:
            ctx.load_verify_locations(cafile=str(ca_bundle))
        except ssl.SSLError as exc:
            raise ConfigError(
                f"ca_bundle {ca_bundle}: no PEM certificate could be read ({exc.reason})"
            ) from None
        except OSError as exc:
            raise ConfigError(f"ca_bundle {ca_bundle}: {exc.strerror or exc}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # what aiohttp's own context offers (the shared one): one handshake whichever is used
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def not_after(peercert: dict[str, Any] | None) -> datetime | None:
    """`notAfter` of a `getpeercert()` dict as an aware UTC datetime."""
    if not peercert:
        return None
    value = peercert.get("notAfter")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(value), UTC)
    except (ValueError, OverflowError):
        return None


def transport_not_after(transport: Any) -> datetime | None:
    """The expiry of the certificate on an aiohttp connection's transport."""
    if transport is None:
        return None
    sslobj = transport.get_extra_info("ssl_object")
    if sslobj is None:
        return None
    try:
        cert = sslobj.getpeercert()
    except (ValueError, ssl.SSLError):
        return None
    return not_after(cert)
