"""The systemd units' /proc lets the daemon read this boot's identity.

The honest wall clock's mark (monitor/daemon/wall_mark.py) is stored with the
boot it was read in, Linux's /proc/sys/kernel/random/boot_id: without it a start
counts from the newest result stored, as before the mark, and a daemon whose
clock once ran a year ahead purges all history at its restart. The units had
ProcSubset=pid, which mounts the service's /proc with only the processes' files:
no /proc/sys, so boot_id() was None under the shipped units and the mark's
protection was off. The unit's /proc options are mounted here as systemd mounts
them (a private mount namespace: root only), and the daemon's own boot_id() read
there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNITS = ["article-monitor.service", "article-monitor-once.service"]
UNSHARE = shutil.which("unshare")
pytestmark = pytest.mark.skipif(
    UNSHARE is None or os.geteuid() != 0, reason="a mount namespace needs unshare and root"
)


def proc_options(name: str) -> str:
    """procfs mount options for the unit's ProtectProc= and ProcSubset=."""
    values = {}
    for line in (SYSTEMD / name).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    options = []
    if values.get("ProtectProc", "default") != "default":
        options.append(f"hidepid={values['ProtectProc']}")
    if values.get("ProcSubset", "all") == "pid":
        options.append("subset=pid")
    return ",".join(options) or "defaults"


@pytest.mark.parametrize("name", UNITS)
def test_the_daemon_reads_the_boot_id_under_the_units_proc(name: str) -> None:
    assert UNSHARE
    code = "from monitor.daemon.wall_mark import boot_id; print(boot_id())"
    script = f'mount -t proc -o {proc_options(name)} proc /proc && exec "$0" -c "$1"'
    out = subprocess.run(
        [UNSHARE, "--mount", "--propagation", "private", "sh", "-c", script, sys.executable, code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if out.returncode != 0 and "mount" in out.stderr:
        pytest.skip(f"cannot mount procfs here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() != "None", f"{name}: no boot_id under its /proc"
