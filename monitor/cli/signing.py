"""`article-monitor verify`, `sign` and `keygen`: the `secured` field from the command line.

Thin over monitor.secured.keys, monitor.secured.signature and monitor.secured.edit; no network.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, cast

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from monitor.cli.options import config_option, key_options, keyring_from, settings_from
from monitor.config import ConfigError
from monitor.corpus.article import Document, InvalidDocument
from monitor.secured.keys import kid_for_path
from monitor.vocabulary import SignatureResult, SignatureStatus

EXIT_OK, EXIT_PROBLEMS = 0, 1
ENVELOPES = ("v2", "legacy", "ed25519")
_STATUS_STYLE = {
    SignatureStatus.VALID: "green",
    SignatureStatus.MISSING: "yellow",
    SignatureStatus.UNVERIFIED: "yellow",
}


def _exclude_option(func: Any) -> Any:
    return click.option(
        "--exclude-field",
        "exclude_fields",
        multiple=True,
        metavar="PATH",
        help="Dotted path left out of the canonical form (v2 digest, ed25519), e.g. "
        "`heat` or `images.*.title`; must match what the signer used. Repeatable; "
        "also `exclude_fields` in the config file.",
    )(func)


def _documents(paths: list[Path]) -> Iterator[Document | InvalidDocument]:
    from monitor.corpus import iter_documents

    return iter_documents(paths)


# ---------------------------------------------------------------- verify


def _verify_json(
    results: list[tuple[Document, SignatureResult]], invalid: list[InvalidDocument]
) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    for _, result in results:
        by_status[result.status.value] = by_status.get(result.status.value, 0) + 1
    problems = sum(1 for _, r in results if r.status.is_problem)
    return {
        "version": 1,
        "summary": {
            "articles": len(results),
            "problems": problems + len(invalid),
            "invalid_documents": len(invalid),
            "by_status": dict(sorted(by_status.items())),
        },
        "invalid_documents": [doc.to_json() for doc in invalid],
        "articles": [
            {
                "id": doc.id,
                "source": doc.source,
                "line": doc.line,
                "webUrl": doc.article.webUrl,
                "signature": result.to_json(),
            }
            for doc, result in results
        ],
    }


def _verify_table(
    console: Console,
    results: list[tuple[Document, SignatureResult]],
    invalid: list[InvalidDocument],
) -> None:
    table = Table(show_lines=False, expand=False)
    table.add_column("status")
    table.add_column("article", overflow="fold")
    table.add_column("source", overflow="fold")
    table.add_column("detail", overflow="fold")
    for doc, result in results:
        style = _STATUS_STYLE.get(result.status, "bold red")
        detail = result.detail
        if result.fields:
            detail = f"fields: {', '.join(result.fields)}. {detail}"
        table.add_row(
            f"[{style}]{result.status.value}[/]",
            escape(doc.article.webUrl),
            escape(f"{doc.source}:{doc.line}"),
            escape(detail),
        )
    if results:
        console.print(table)
    for bad in invalid:
        where = f"{bad.source}:{bad.line}" if bad.line is not None else bad.source
        console.print(f"[bold red]invalid document[/] {escape(where)}: {escape(bad.error)}")
    counts: dict[str, int] = {}
    for _, result in results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
    console.print(f"{len(results)} article(s): {summary}; {len(invalid)} invalid document(s)")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@config_option
@key_options
@_exclude_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    help="Report format [default: table on a terminal, json otherwise].",
)
def verify(
    paths: tuple[Path, ...],
    config_file: Path | None,
    output_format: str | None,
    **flags: Any,
) -> None:
    """Verify the `secured` field of every article under PATH...; no network.

    \b
    Keys: --key-file FILE (repeatable, for rotation), ARTICLE_MONITOR_KEY_FILE,
    or the key itself, hex or base64, in ARTICLE_MONITOR_KEY. An AES-256 key
    checks legacy and v2 envelopes; an Ed25519 public key (.pub, from keygen)
    checks ed25519 envelopes. The kid of a key file is its name up to the
    first dot; name it explicitly with --key-file KID=PATH.

    \b
    Status per article: valid, tampered (names the fields that differ where
    the envelope can tell), undecryptable (wrong key or corrupted), malformed
    (not an envelope), unknown_key (no key with that kid), missing (no
    `secured`), unverified (no key configured). See docs/signatures.md.

    \b
    Examples:
      article-monitor verify examples/articles --key-file publisher.key
      article-monitor verify corpus/ --key-file old.key --key-file new.key --format json
      article-monitor verify corpus/ --key-file signer.key.pub

    \b
    Exit codes: 0 no problem (missing and unverified are not problems);
    1 tampered, undecryptable, malformed or unknown_key, or an invalid
    document; 2 usage or configuration error (e.g. a key file others can read).
    """
    from monitor.secured.signature import verify_document

    settings = settings_from(config_file, flags, paths)
    if not settings.paths:
        raise click.UsageError("no PATH given (and no `paths` in the config file)")
    keyring = keyring_from(settings)
    fmt = output_format
    if fmt is None:
        fmt = settings.format if settings.format in ("table", "json") else None
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "json"

    results: list[tuple[Document, SignatureResult]] = []
    invalid: list[InvalidDocument] = []
    for item in _documents(settings.paths):
        if isinstance(item, InvalidDocument):
            invalid.append(item)
            continue
        results.append((item, verify_document(item.raw, keyring, exclude=settings.exclude_fields)))

    if fmt == "json":
        click.echo(json.dumps(_verify_json(results, invalid), indent=2, ensure_ascii=False))
    else:
        _verify_table(Console(file=sys.stdout, soft_wrap=False), results, invalid)
    problems = invalid or any(r.status.is_problem for _, r in results)
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)


# ---------------------------------------------------------------- sign


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace the file's content in one step, keeping its mode."""
    target = path.resolve()
    mode = stat.S_IMODE(target.stat().st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same_records(
    before: list[Document | InvalidDocument],
    after: list[Document | InvalidDocument],
    signed: dict[int, str],
) -> bool:
    """The rewritten file parses to the same records, with only `secured` changed."""
    if len(before) != len(after):
        return False
    for index, (old, new) in enumerate(zip(before, after, strict=True)):
        if isinstance(old, InvalidDocument) or isinstance(new, InvalidDocument):
            if type(old) is not type(new):
                return False
            continue
        expected = dict(old.raw)
        if index in signed:
            expected["secured"] = signed[index]
        if new.raw != expected:
            return False
    return True


def _rewrite_file(
    path: Path,
    items: list[Document | InvalidDocument],
    sign_one: Any,
) -> tuple[int, list[str]]:
    """Sign the valid records of one file in place; (count signed, errors)."""
    from monitor.corpus import parse_text
    from monitor.corpus.files import LINE_SUFFIXES
    from monitor.secured.edit import (
        EditError,
        rewrite_front_matter,
        rewrite_json,
        rewrite_jsonl,
    )

    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return 0, [f"{source}: cannot read: {exc}"]
    errors: list[str] = []
    signed: dict[int, str] = {}
    pending = [i for i, item in enumerate(items) if isinstance(item, Document)]

    def signer(parsed: Any) -> str | None:
        for index in pending:
            doc = items[index]
            assert isinstance(doc, Document)
            if doc.raw == parsed:
                pending.remove(index)
                value: str | None = sign_one(doc)
                if value is None:
                    return None
                signed[index] = value
                return value
        return None

    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            new_text = rewrite_json(text, signer)
        elif suffix in LINE_SUFFIXES:
            new_text = rewrite_jsonl(text, signer)
        else:
            doc = next((d for d in items if isinstance(d, Document)), None)
            value = signer(doc.raw) if doc is not None else None
            if value is None:
                return 0, errors
            new_text = rewrite_front_matter(text, value, plain_yaml=suffix in (".yaml", ".yml"))
    except EditError as exc:
        return 0, [f"{source}: cannot rewrite: {exc}; file left unchanged"]
    if not signed:
        return 0, errors
    after = list(parse_text(source, new_text, suffix))
    if not _same_records(items, after, signed):
        return 0, [
            f"{source}: the rewrite would change more than `secured` "
            "(unusual YAML or JSON layout?); file left unchanged"
        ]
    if new_text != text:
        _atomic_write(path, new_text.encode("utf-8"))
    return len(signed), errors


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@config_option
@key_options
@_exclude_option
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
def sign(
    paths: tuple[Path, ...],
    config_file: Path | None,
    envelope: str,
    kid: str | None,
    in_place: bool,
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
    that cannot be signed; 2 usage or configuration error (no suitable key).
    """
    from monitor.secured.signature import EnvelopeName, pick_key, sign_document

    settings = settings_from(config_file, flags, paths)
    if not settings.paths:
        raise click.UsageError("no PATH given (and no `paths` in the config file)")
    keyring = keyring_from(settings)
    chosen = cast(EnvelopeName, envelope)
    try:
        pick_key(keyring, chosen, kid)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None

    failures = 0

    def sign_one(doc: Document) -> str | None:
        nonlocal failures
        try:
            return sign_document(
                doc.raw, keyring, envelope=chosen, kid=kid, exclude=settings.exclude_fields
            )
        except ValueError as exc:
            failures += 1
            click.echo(f"{doc.source}:{doc.line}: cannot sign: {exc}", err=True)
            return None

    by_file: dict[str, list[Document | InvalidDocument]] = {}
    for item in _documents(settings.paths):
        if isinstance(item, InvalidDocument):
            where = f"{item.source}:{item.line}" if item.line is not None else item.source
            click.echo(f"{where}: invalid document: {item.error}", err=True)
            failures += 1
        by_file.setdefault(item.source, []).append(item)

    if in_place:
        for source, items in by_file.items():
            count, errors = _rewrite_file(Path(source), items, sign_one)
            for error in errors:
                click.echo(error, err=True)
            failures += len(errors)
            if count:
                click.echo(f"{source}: signed {count} article(s) ({envelope})", err=True)
    else:
        docs = [d for items in by_file.values() for d in items if isinstance(d, Document)]
        several = len(docs) > 1
        for doc in docs:
            value = sign_one(doc)
            if value is not None:
                click.echo(f"{doc.source}:{doc.line}\t{value}" if several else value)
    sys.exit(EXIT_PROBLEMS if failures else EXIT_OK)


# ---------------------------------------------------------------- keygen


def _create(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Write a new file with `mode` from the first byte (O_EXCL unless --force)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


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
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the key to FILE (mode 0600). Required for ed25519; without it an aes256 key "
    "is printed as hex on stdout.",
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
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if key_type == "aes256":
        secret = os.urandom(32).hex() + "\n"
        if out is None:
            click.echo(secret, nl=False)
            return
        files = [(out, secret.encode("ascii"), 0o600)]
    else:
        if out is None:
            raise click.UsageError(
                "--type ed25519 needs --out FILE (the public key goes to FILE.pub)"
            )
        private = Ed25519PrivateKey.generate()
        private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pub = out.with_name(out.name + ".pub")
        files = [(out, private_pem, 0o600), (pub, public_pem, 0o644)]

    if not force:
        existing = [str(p) for p, _, _ in files if p.exists() or p.is_symlink()]
        if existing:
            raise click.UsageError(
                f"{', '.join(existing)} already exists: pass --force to overwrite"
            )
    for path, data, mode in files:
        try:
            _create(path, data, mode, force)
        except FileExistsError:
            raise click.UsageError(f"{path} already exists: pass --force to overwrite") from None
        except OSError as exc:
            raise click.UsageError(f"cannot write {path}: {exc.strerror}") from None
    kid = kid_for_path(out)
    if key_type == "aes256":
        click.echo(f"wrote {out} (AES-256, mode 0600, kid {kid!r})", err=True)
    else:
        click.echo(
            f"wrote {out} (Ed25519 private, mode 0600) and {files[1][0]} (public), "
            f"kid {kid!r}; give verifiers only the .pub",
            err=True,
        )
