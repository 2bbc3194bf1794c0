"""The network edge: one session, per-host politeness, SSRF guard, capped reads.

`Checker(settings)` is the only entry point the rest of the package needs.
"""

from monitor.http.aiohttp_import import import_aiohttp

import_aiohttp()  # before any module below imports it: aiohttp_import.py says why

from monitor.http.client import user_agent  # noqa: E402
from monitor.http.engine import Checker  # noqa: E402

__all__ = ["Checker", "user_agent"]
