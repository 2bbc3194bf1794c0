"""`article-monitor keygen`: a new key for `sign` and `verify`.

Thin over monitor.secured.keygen, which writes secret files 0600 from the first byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from monitor.cli.output_path import stdout_file
from monitor.cli.paths import GivenPath
from monitor.config import ConfigError
from monitor.observe.logs import escape
from monitor.secured.keys import KID_RE, KID_RULE, kid_for_path


@click.command()
@click.option(
    "--type",
    "key_type",
    type=click.Choice(["aes256", "ed25519"]),
    default="aes256",
    show_default=True,
    help="aes256: a shared secret for v2 (and legacy) envelopes, written as 64 hex digits; "
    "ed25519: a key pair, private PEM to FILE and public PEM to FILE.pub.",
)
@click.option(
    "--out",
    type=GivenPath(dir_okay=False, dash="stdout"),
    help="Write the key to FILE (mode 0600; its folder is made, mode 0700, if missing). "
    "Required for ed25519; without it (or with '-') an aes256 key is printed as hex on stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite FILE (and FILE.pub) if they exist.")
def keygen(key_type: Literal["aes256", "ed25519"], out: Path | None, force: bool) -> None:
    """Make a new key for `sign` and `verify`.

    \b
    The kid of a key file is its name up to the first dot: `--out
    publisher.key` makes kid `publisher`, and for ed25519 both
    publisher.key and publisher.key.pub have that kid. Secret key files are
    created with mode 0600; `verify` refuses secret keys that group or
    others can read.

    \b
    Examples:
      article-monitor keygen --type aes256 --out publisher.key
      article-monitor keygen --type ed25519 --out signer.key    # + signer.key.pub
      article-monitor keygen > key.hex && chmod 600 key.hex     # hex on stdout
      ARTICLE_MONITOR_KEY=$(article-monitor keygen) article-monitor verify corpus/

    Exit codes: 0 written; 2 usage error, or a FILE that exists (pass --force)
    or cannot be written.
    """
    try:  # cryptography missing is a broken install: exit 2, not a traceback
        from monitor.secured.keygen import aes256_hex, new_key_files, write_key_files
    except ImportError as exc:
        from monitor.cli import CliError
        from monitor.cli.options import BROKEN_INSTALL

        raise CliError(f"cannot load the key maker ({exc}): {BROKEN_INSTALL}") from None

    if out is None:
        if key_type == "ed25519":
            raise click.UsageError(
                "--type ed25519 needs --out FILE, a file and not stdout"
                " (the public key goes to FILE.pub)"
            )
        click.echo(aes256_hex(), nl=False)
        _warn_if_shared(stdout_file())
        return
    kid = kid_for_path(out)
    if not KID_RE.fullmatch(kid):
        # `sign` and `verify` would refuse the file by this name: say so before
        # a key is made (and handed out) under a name that cannot be used
        raise click.UsageError(
            f"--out {escape(out.name)}: the name gives no kid ({kid!r}: {KID_RULE}, "
            "taken from the name up to its first dot); choose a name like publisher.key"
        )
    files = new_key_files(key_type, out)
    try:
        made = write_key_files(files, force=force)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if made is not None:
        click.echo(f"made the folder {made} (mode 0700)", err=True)
    if key_type == "aes256":
        click.echo(f"wrote {out} (AES-256, mode 0600, kid {kid!r})", err=True)
    else:
        click.echo(
            f"wrote {out} (Ed25519 private, mode 0600) and {files[1].path} (public), "
            f"kid {kid!r}; give verifiers only the .pub",
            err=True,
        )


def _warn_if_shared(path: Path | None) -> None:
    """`keygen > key.hex` leaves the secret at the shell's mode (0644 mostly):
    say so now, with the fix, rather than at the first `verify`, which refuses it."""
    import os
    import stat

    if path is None:
        return
    try:
        mode = os.fstat(1).st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(
            f"Warning: {path} can be read by group or others, and `verify` refuses such a "
            f"key: chmod 600 {path} (or use --out FILE, made 0600)",
            err=True,
        )
