"""aiohttp, imported without the trust-store loads it would never serve us.

Importing aiohttp builds two SSL contexts (`aiohttp.connector`), and each
reads the system's CA bundle: about 470 M of the 5,200 M instructions a
5,000-URL `check` takes (bench/check_ir.py), paid by every run, checker
process and CLI child, https or not. article-monitor's connections never use
those contexts (client.py passes its own, tls.py), so the first import of
aiohttp, here, skips the importing thread's loads; the run's verifying
context reads the store once, at its first https dial (tls.py builds it when
aiohttp's own has none).

Other threads are left alone (the skip looks at the thread), and aiohttp
imported before this module (a test's server) keeps its loaded contexts.
"""

from __future__ import annotations

import ssl
import sys
import threading

_NAME = "set_default_verify_paths"  # what load_default_certs calls on Linux

# True once aiohttp's contexts were built here without the system store
skipped_trust_store = False


def import_aiohttp() -> None:
    """Import aiohttp now, this thread's store loads skipped; idempotent."""
    global skipped_trust_store
    if "aiohttp" in sys.modules:  # its package imports aiohttp.connector
        return
    me = threading.get_ident()
    inherited = getattr(ssl.SSLContext, _NAME)  # the C method of _ssl._SSLContext
    own = ssl.SSLContext.__dict__.get(_NAME)

    def load_unless_importing(ctx: ssl.SSLContext) -> None:
        if threading.get_ident() != me:
            inherited(ctx)

    setattr(ssl.SSLContext, _NAME, load_unless_importing)
    try:
        import aiohttp  # noqa: F401  (builds the contexts: aiohttp.connector)
    finally:
        if own is None:
            delattr(ssl.SSLContext, _NAME)
        else:
            setattr(ssl.SSLContext, _NAME, own)
    skipped_trust_store = True
