#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL on loopback, exported as ARTICLE_MONITOR_TEST_PG_URL.
# Without PostgreSQL binaries the command still runs and the postgres-marked tests skip.
set -uo pipefail
# CI runs with a minimal PATH; runuser and the PostgreSQL tools live outside it
export PATH="$PATH:/usr/sbin:/sbin"
initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1 || true)
if [ -z "$initdb" ]; then
  echo "note: PostgreSQL not found; postgres tests will skip" >&2
  exec "$@"
fi
bindir=$(dirname "$initdb")
dir=$(mktemp -d /tmp/am-pg.XXXXXX)
chmod 755 "$dir"
runas=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd -r -M postgres 2>/dev/null || true
  chown postgres "$dir"
  runas=(runuser -u postgres --)
fi
fail() { echo "with-postgres: $*" >&2; [ -f "$dir/log" ] && tail -20 "$dir/log" >&2; exit 1; }
"${runas[@]}" "$bindir/initdb" -D "$dir/data" -U am -A trust >/dev/null || fail "initdb failed"
# a random port may be taken (another server, another run): a few tries, each a new port
started=
for _try in 1 2 3 4 5; do
  port=$(( 20000 + RANDOM % 20000 ))
  if "${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" start >/dev/null; then
    started=1
    break
  fi
done
[ -n "$started" ] || fail "PostgreSQL did not start"
"${runas[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U am am_test 2>/dev/null \
  || "${runas[@]}" psql -h 127.0.0.1 -p "$port" -U am -d postgres -qc 'create database am_test' >/dev/null
export ARTICLE_MONITOR_TEST_PG_URL="postgresql+psycopg://am@127.0.0.1:$port/am_test"
"$@"
rc=$?
cd / || true  # the postgres user may not enter the caller's directory
"${runas[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
rm -rf "$dir"
exit $rc
