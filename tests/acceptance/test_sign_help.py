"""`sign --help` names every exit code `sign` uses: 130 (Ctrl-C or SIGTERM) was
missing, though `sign` exits 130 with and without --in-place, as `check` and
`verify` say of themselves."""

from __future__ import annotations

import subprocess

from daemon_harness import CLI, user_env


def test_sign_help_names_the_exit_code_of_an_interruption() -> None:
    done = subprocess.run(
        [CLI, "sign", "--help"],
        capture_output=True,
        text=True,
        env=user_env(),
        timeout=60,
        check=True,
    )
    said = " ".join(done.stdout.split())
    assert (
        "2 usage or configuration error (no suitable key); 130 cut short by Ctrl-C or SIGTERM"
        in said
    )
