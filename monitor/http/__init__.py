"""The network edge: one session, per-host politeness, SSRF guard, capped reads.

`Checker(settings)` is the only entry point the rest of the package needs.
"""

from monitor.http.client import user_agent
from monitor.http.engine import Checker

__all__ = ["Checker", "user_agent"]
