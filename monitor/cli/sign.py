"""`article-monitor sign`: make the `secured` value of every article, or write it in place.

Thin over monitor.secured.sign (the envelopes) and monitor.secured.inplace
(the safe rewrite of a file); no network.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from monitor.check.interrupt import EXIT_INTERRUPTED, NotedStop
from monitor.cli.options import (
    CorpusPath,
    config_option,
    exclude_option,
    key_options,
    keyring_from,
    settings_from,
)
from monitor.cli.output_path import stdout_clash
from monitor.config import ConfigError
from monitor.corpus.article import Document, InvalidDocument

if TYPE_CHECKING:
    from monitor.secured.inplace import Signable

EXIT_OK, EXIT_PROBLEMS = 0, 1
ENVELOPES = ("v2", "legacy", "ed25519")


@contextmanager
def _stop_between_files() -> Iterator[NotedStop]:
    """SIGINT/SIGTERM during `--in-place`: finish the file being rewritten, then stop.

    The process-wide early handler exited at once, saying the command had not
    begun while files were already rewritten, and skipped the folders' fsync.
    """
    stop = NotedStop()
    previous = stop.install()
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.argument("paths", nargs=-1, type=CorpusPath())
@config_option
@key_options
@exclude_option
@click.option(
    "--envelope",
    type=click.Choice(ENVELOPES),
    default="v2",
    show_default=True,
    help="v2: AES-256-GCM, authenticated, names the changed fields and covers the whole "
    "article; legacy: the old AES-256-CBC shape (unauthenticated, only the signed fields); "
    "ed25519: public-key signature of the whole article (verifiers need only the .pub).",
)
@click.option(
    "--kid",
    help="Which configured key to sign with [default: the first key of the needed type].",
)
@click.option(
    "--in-place",
    is_flag=True,
    help="Rewrite the documents, changing only their `secured` line (or JSON member).",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --in-place: also rewrite read-only files, files with several hard links "
    "(this name becomes a separate file) and files whose owner cannot be kept; each is "
    "said on stderr.",
)
def sign(
    paths: tuple[Path, ...],
    config_file: Path | None,
    envelope: str,
    kid: str | None,
    in_place: bool,
    force: bool,
    **flags: Any,
) -> None:
    """Make the `secured` value for every article under PATH....

    \b
    Without --in-place, prints one value per article (prefixed by
    SOURCE:LINE and a tab when there are several). With --in-place, rewrites
    each file: front matter gets its `secured:` line replaced (or added before
    the closing ---); JSON and JSONL get only the `secured` value replaced
    (or the member appended). Every other byte stays as it was, and a file
    whose rewrite would change anything else is left alone.

    \b
    --in-place replaces each file through a temporary file in its folder,
    keeping its owner, group and mode. It refuses, naming the file and going
    on with the others (exit 1): symbolic links (sign the target by its own
    path), folders it cannot write in, files that change while being signed,
    and, unless --force: read-only files, files with several hard links, and
    files whose owner and group it cannot give back (not root, not the owner).

    \b
    v2 and legacy sign these fields, whichever are present: webUrl, ampWebUrl,
    cdnAmpWebUrl, title, publishedDateTime, updatedDateTime, provider.domain,
    images.N.url/width/height, plus the time of signing (iat). v2 and ed25519
    also cover the whole article in canonical form (docs/signatures.md).

    \b
    Examples:
      article-monitor keygen --type aes256 --out publisher.key
      article-monitor sign article.txt --key-file publisher.key
      article-monitor sign corpus/ --key-file signer.key --envelope ed25519 --in-place

    \b
    Exit codes: 0 every article signed; 1 an invalid document or an article
    that cannot be signed; 2 usage or configuration error (no suitable key);
    130 cut short by Ctrl-C or SIGTERM (with --in-place, the file being
    rewritten is finished first; the files not reached are left as they were).
    """
    from monitor.corpus import Unreadable, folder_error, iter_documents
    from monitor.corpus.files import iter_files
    from monitor.observe.logs import escape
    from monitor.secured.inplace import rewrite_file, sync_folders

    try:  # a package missing (rfc8785, cryptography) is a broken install: exit 2
        from monitor.secured.sign import EnvelopeName, pick_key, sign_document
    except ImportError as exc:
        from monitor.cli import CliError
        from monitor.cli.options import BROKEN_INSTALL

        raise CliError(f"cannot load the signer ({exc}): {BROKEN_INSTALL}") from None

    if force and not in_place:
        raise click.UsageError("--force only applies to --in-place")
    settings = settings_from(config_file, flags, paths)
    if not settings.paths:
        raise click.UsageError("no PATH given (and no `paths` in the config file)")
    if (clash := stdout_clash(settings, config_file)) is not None:  # `sign a.txt > a.txt`
        raise click.UsageError(clash)
    keyring = keyring_from(settings)
    chosen = cast(EnvelopeName, envelope)
    try:
        pick_key(keyring, chosen, kid)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None

    failures = 0

    def say(line: str) -> None:
        """One line on stderr; control characters in a file name cannot forge another."""
        click.echo(escape(line), err=True)

    def sign_one(doc: Signable) -> str | None:
        nonlocal failures
        try:
            return sign_document(
                doc.raw, keyring, envelope=chosen, kid=kid, exclude=settings.exclude_fields
            )
        except ValueError as exc:
            failures += 1
            say(f"{doc.source}:{doc.line}: cannot sign: {exc}")
            return None

    def reported(item: Document | InvalidDocument) -> Document | InvalidDocument:
        nonlocal failures
        if isinstance(item, InvalidDocument):
            where = f"{item.source}:{item.line}" if item.line is not None else item.source
            say(f"{where}: invalid document: {item.error}")
            failures += 1
        return item

    if in_place:
        folders: set[Path] = set()
        rewritten = 0
        with _stop_between_files() as stop:
            for path in iter_files(settings.paths):  # each file read once, signed, replaced
                if stop.received is not None:
                    break
                if isinstance(path, Unreadable):
                    reported(folder_error(path))
                    continue
                done = rewrite_file(path, sign_one, force=force, report=reported)
                for item in done.invalid:
                    reported(item)
                for line in (*done.notes, *done.errors):
                    say(line)
                failures += len(done.errors)
                if done.signed:
                    rewritten += 1
                    say(f"{path}: signed {done.signed} article(s) ({envelope})")
                if done.folder is not None:
                    folders.add(done.folder)
        sync_folders(folders)
        if stop.received is not None:
            say(
                f"interrupted ({signal.Signals(stop.received).name}): {rewritten} file(s) "
                "signed; the files not reached yet were left as they were"
            )
            sys.exit(EXIT_INTERRUPTED)
    else:

        def show(doc: Document, several: bool) -> None:
            value = sign_one(doc)
            if value is not None:
                click.echo(f"{escape(doc.source)}:{doc.line}\t{value}" if several else value)

        # Only the first document is held, until a second one says the values need
        # their SOURCE:LINE: every document was kept until the end (the whole corpus:
        # 50,000 articles, 300 MB), and nothing was printed before all were read.
        first: Document | None = None
        several = False
        for read in map(reported, iter_documents(settings.paths)):
            if not isinstance(read, Document):
                continue
            if not several and first is None:
                first = read
                continue
            if first is not None:
                several = True
                show(first, several)
                first = None
            show(read, several)
        if first is not None:
            show(first, several)
    sys.exit(EXIT_PROBLEMS if failures else EXIT_OK)
