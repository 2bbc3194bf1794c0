"""Which settings a reload (SIGHUP) applies, and which wait for the restart.

Every field of `Settings` is in exactly one of three sets (a test holds it, so a
new setting is sorted when it is added):

- AT_ONCE: read anew by every check's decision, corpus scan, job or heartbeat
  from the reload on (the policies, the scanner, the scheduler's periods, the
  cluster's timings, the stop's grace).
- ON_RESTART: read once, at the start, into what lives as long as the daemon:
  the database engine, the endpoints' server, the log's handler, and the
  checker (its HTTP client, host pool, resolver and TLS context in this
  process; the settings frame every checker process is given, a replacement's
  too). A reload keeps their running values, so every part of the daemon and
  every checker process agree on one: a new `concurrency` taken by the
  dispatcher alone claimed more checks than the checker runs at once.
- CHECK_ONLY: `check`'s, which `run` never reads.
"""

from __future__ import annotations

import logging

from monitor.config import Settings
from monitor.observe.logs import EVERY

log = logging.getLogger("monitor.daemon")

AT_ONCE = frozenset(
    {
        "paths",
        "key_file",
        "allow_insecure_key_permissions",
        "exclude_fields",
        "kinds",
        "related",
        "exclude_urls",
        "interval",
        "intervals",
        "interval_jitter",
        "retry_interval",
        "down_after",
        "up_after",
        "check_content_drift",
        "check_redirect_to_root",
        "drift_threshold",
        "text_drift_bits",
        "rescan_interval",
        "maintenance_interval",
        "retention_days",
        "rollup_retention_days",
        "lease_seconds",
        "shutdown_grace",
        "cluster_heartbeat",
        "cluster_timeout",
        "corpus_shared",
    }
)

ON_RESTART = frozenset(
    {
        # the database, the endpoints, the log
        "db",
        "data_dir",
        "listen",
        "public_url",
        "metrics_token_file",
        "metrics_basic_auth_file",
        "metrics_allow_unauthenticated",
        "tls_cert_file",
        "tls_key_file",
        "log_format",
        "log_level",
        # the checker, in this process or in each checker process
        "workers",
        "concurrency",
        "per_host",
        "host_min_interval",
        "timeout",
        "connect_timeout",
        "retries",
        "backoff_base",
        "backoff_max",
        "retry_after_max",
        "max_redirects",
        "page_cap_bytes",
        "image_cap_bytes",
        "connect_to",
        "ca_bundle",
        "allow_network",
        "user_agent_contact",
        # its values are read again at a reload (an unreadable file refuses it), and a
        # changed rule or value is named in the warning: the checker processes hold
        # the start's in their settings frame, as they hold connect_to
        "request_headers",
        "proxy",  # the client's, as connect_to; its password is never named
        "no_proxy",
        "cert_warning_days",
        "latency_budget_ms",
        "soft_404_probe",
        "text_drift",  # the checker's text marks; text_drift_bits is the decision's
        # the kind of run: a pass that exits, or a service
        "once",
    }
)

CHECK_ONLY = frozenset({"format", "offline"})


def kept_until_restart(running: Settings, new: Settings) -> Settings:
    """`new`, with the running values of the settings read only at the start, and
    a warning naming those the reload changed: "configuration reloaded" alone let
    an operator believe a new `timeout` or metrics token was in force."""
    changed = {name: getattr(running, name) for name in ON_RESTART}
    changed = {k: v for k, v in changed.items() if v != getattr(new, k)}
    if not changed:
        return new
    log.warning(
        "reload: %s changed; they apply on restart (the running values are kept)",
        ", ".join(sorted(changed)),
        extra=EVERY,
    )
    return new.model_copy(update=changed)
