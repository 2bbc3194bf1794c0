#!/usr/bin/env bash
# Runs the tests that root skips because it reads any file ("root reads any
# file") as an unprivileged user, so CI runs them both ways: `make test` runs
# the suite as whoever runs it, then this script. Idempotent and bounded: the
# user is created once (useradd, no home, no login shell); a directory on the
# interpreter's path that others cannot enter (a pyenv under /root, say) gets
# o+x (enter, not list) only for the run, and its mode is put back on exit.
# Not root: the selection runs as this user, where those tests are not skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
py=${PY:-$repo/.venv/bin/python}
user=${ARTICLE_MONITOR_TEST_USER:-am-test}
limit=${ARTICLE_MONITOR_TEST_LIMIT:-600}  # seconds
# CI runs with a minimal PATH; useradd and runuser live outside it
export PATH="$PATH:/usr/sbin:/sbin"
run=(env ARTICLE_MONITOR_TEST_ONLY_WITHOUT_ROOT=1 PYTHONDONTWRITEBYTECODE=1
  "$py" -m pytest -q -p no:cacheprovider -rs tests/unit tests/integration "$@")

if [ "$(id -u)" != 0 ]; then
  exec timeout "$limit" "${run[@]}"
fi

id "$user" >/dev/null 2>&1 \
  || useradd --system --no-create-home --shell /usr/sbin/nologin "$user" \
  || { echo "test-unprivileged: cannot create user $user" >&2; exit 1; }

# every directory from / down to the interpreter and the checkout must be enterable
opened=()
restore() {
  local entry
  for entry in "${opened[@]+"${opened[@]}"}"; do
    chmod "${entry%% *}" "${entry#* }" || true
  done
}
trap restore EXIT
for target in "$(readlink -f "$py")" "$repo/tests"; do
  dir=$(dirname "$target")
  while [ "$dir" != / ]; do
    if ! runuser -u "$user" -- test -x "$dir" 2>/dev/null; then
      opened+=("$(stat -c %a "$dir") $dir")
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
done

runuser -u "$user" -- "$py" -c 'import monitor' \
  || { echo "test-unprivileged: $user cannot import the project from $repo" >&2; exit 1; }
# a temporary directory of the user's own (pytest's tmp_path, Hypothesis) and no HOME writes
work=$(mktemp -d /tmp/am-unpriv.XXXXXX)
chown "$user" "$work"
cleanup() { restore; rm -rf "$work"; }
trap cleanup EXIT
timeout "$limit" runuser -u "$user" -- env HOME="$work" TMPDIR="$work" "${run[@]}" \
  --basetemp "$work/pytest"
