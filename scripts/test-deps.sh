#!/usr/bin/env bash
# Installs what the tests need beyond Python packages. Idempotent; each step is skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

# AMP-cache URL oracle: @ampproject/toolbox-cache-url under node (tests/oracle)
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null \
    || echo "warning: node/npm unavailable; oracle tests will skip" >&2
fi
if command -v npm >/dev/null 2>&1 && [ -f tests/oracle/package.json ] && [ ! -d tests/oracle/node_modules ]; then
  (cd tests/oracle && npm install --no-audit --no-fund --silent) || echo "warning: npm install of the oracle failed; oracle tests will skip" >&2
fi

# the status pages' browser test: html-validate and axe-core (tests/browser), headless Chromium (Debian)
if command -v npm >/dev/null 2>&1 && [ -f tests/browser/package.json ] && [ ! -d tests/browser/node_modules ]; then
  (cd tests/browser && npm install --no-audit --no-fund --silent) || echo "warning: npm install of tests/browser failed; the browser test will skip" >&2
fi
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || true
  apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || echo "warning: Chromium unavailable; the browser test will skip" >&2
fi

# tinyproxy: a real HTTP proxy for the `proxy` setting's tests (tests/support/tinyproxy.py)
if ! command -v tinyproxy >/dev/null 2>&1 && [ ! -x /usr/bin/tinyproxy ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    # policy-rc.d keeps the package from starting a tinyproxy service of its own
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends tinyproxy >/dev/null \
      || echo "warning: tinyproxy unavailable; the proxy tests will skip" >&2
    rm -f /usr/sbin/policy-rc.d
  fi
fi

# promtool (Debian package prometheus) for metric-format and alert-rule checks
if ! command -v promtool >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    # policy-rc.d keeps the package from starting a Prometheus server of its own
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null || echo "warning: promtool unavailable; promtool tests will skip" >&2
    rm -f /usr/sbin/policy-rc.d
  fi
fi

# Alertmanager (Debian package prometheus-alertmanager) for the end-to-end alerting test
if ! command -v prometheus-alertmanager >/dev/null 2>&1 && ! command -v alertmanager >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null \
      || echo "warning: Alertmanager unavailable; the alerting end-to-end test will skip" >&2
    rm -f /usr/sbin/policy-rc.d
  fi
fi

# systemd-analyze (Debian package systemd) lints the unit files in deploy/systemd
if ! command -v systemd-analyze >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || true
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends systemd >/dev/null \
      || echo "warning: systemd-analyze unavailable; the unit-file tests will skip" >&2
    rm -f /usr/sbin/policy-rc.d
  fi
fi

# PostgreSQL server binaries for the scale-out tests (scripts/with-postgres.sh starts one)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
      || echo "warning: PostgreSQL unavailable; postgres tests will skip" >&2
    rm -f /usr/sbin/policy-rc.d
  fi
fi
