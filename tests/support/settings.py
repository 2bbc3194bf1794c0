"""Settings for engine tests: loopback allowed, short timeouts, names mapped.

Tests request public-looking names (`news.example`) and map them with
connect-to rules onto loopback servers, exactly as a user would with
`--connect-to`, so Host, SNI and certificate names are realistic.
"""

from __future__ import annotations

from typing import Any

from monitor.config import ConnectTo, Settings

LOOPBACK = ["127.0.0.0/8", "::1/128"]


def settings(routes: dict[str, int] | None = None, **overrides: Any) -> Settings:
    """Settings where each name in `routes` connects to 127.0.0.1:<port>."""
    values: dict[str, Any] = {
        "allow_network": LOOPBACK,
        "timeout": 3.0,
        "connect_timeout": 1.0,
        "retries": 0,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "retry_after_max": 2.0,
        "concurrency": 16,
        "per_host": 4,
        # engine tests count the requests a check makes; the soft-404 probe's
        # own tests (test_check_drift.py, test_probe.py) switch it on
        "soft_404_probe": False,
    }
    values.update(overrides)
    values["connect_to"] = [
        ConnectTo(host1=name, host2="127.0.0.1", port2=port)
        for name, port in (routes or {}).items()
    ] + list(values.get("connect_to", []))
    return Settings(**values)
