"""`check -o FILE`: a report file must not be one the run reads.

`check a.txt -o a.txt` replaced the article by its report, `-o k.key` the
key, and `check . -o report.json` read its own empty report as a document
(an invalid document: exit 1 on every run of a healthy corpus).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from monitor.config import Settings

# the secrets a config file shared with `run` names, which `check` does not read:
# a report written over one lost it (the endpoints' token, their TLS key)
_DAEMON_SECRETS = ("metrics_token_file", "metrics_basic_auth_file", "tls_cert_file", "tls_key_file")


def read_by(settings: Settings, config_file: Path | None) -> dict[Path, str]:
    """The files the run reads besides the corpus, each with the option naming it:
    the config file as `load_settings` finds it (config_path: the flag, else the
    environment), each key file as `secured.keys` reads its PATH or KID=PATH,
    each request header's value file, and the secret files the settings name
    for `run` (_DAEMON_SECRETS)."""
    from monitor.config import ConfigError, config_path
    from monitor.secured.keys import parse_key_spec

    config_file = config_path(config_file)
    files = {config_file: "--config"} if config_file is not None else {}
    if settings.ca_bundle is not None:
        files[settings.ca_bundle] = "--ca-bundle"
    for name in _DAEMON_SECRETS:
        if (path := getattr(settings, name)) is not None:
            files[path] = name
    for rule in settings.request_headers:
        if rule.value_file is not None:
            files[rule.value_file] = "--header-file"
    for spec in settings.key_file:
        files[Path(spec)] = "--key-file"
        try:
            files[parse_key_spec(spec)[1]] = "--key-file"
        except ConfigError:  # said when the keys are read
            pass
    return files


def output_clash(
    output: Path,
    paths: Sequence[Path],
    inputs: dict[Path, str] | None = None,
    shown: str | None = None,
    *,
    emptied: bool = False,
) -> str | None:
    """Why `-o FILE` would spoil the run, or None: FILE is a document given to
    check or another file the run reads (the report would replace it), or a
    file the scan of a given folder would read as a document (the report,
    empty or half written, is then an invalid document of its own run).
    `emptied`: the shell's `> FILE` truncated FILE before the run began, which
    the user must hear (their document is now empty and must be restored)."""
    from monitor.corpus.files import SUFFIXES

    shown = shown or f"-o {output}"
    target = _resolved(output)
    lost = (
        f"; the shell's `>` has already emptied {output} before the command began: "
        "restore it (from a backup or version control), then write the report elsewhere"
    )
    for path, option in (inputs or {}).items():
        if _resolved(path) == target or _same_file(path, target):
            return f"{shown} is the {option} file: the report would replace it" + (
                lost if emptied else ""
            )
    for given in paths:
        where = _resolved(given)
        if where.is_dir():
            if where not in target.parents or target.suffix.lower() not in SUFFIXES:
                continue
            if any(part.startswith(".") for part in target.relative_to(where).parts):
                continue  # hidden: the scan skips it
            made = (
                f"; the shell's `>` has already created or emptied {output}: if it "
                "held a document, restore it (from a backup or version control), else remove it"
            )
            return (
                f"{shown} is inside the corpus folder {given}, where the report would "
                f"be read as a document: write it outside that folder, or under a hidden "
                f"name (.{output.name}), which the scan skips" + (made if emptied else "")
            )
        if where == target or _same_file(where, target):
            return f"{shown} is {given}, a document to check: the report would replace it" + (
                lost if emptied else "; write the report elsewhere"
            )
    linked = _linked_document(target, [p for p in paths if _resolved(p).is_dir()])
    if linked is not None:
        return (
            f"{shown} is {linked}, a document to check (a hard or symbolic link to the "
            "same file, or the same file through a bind mount): the report would replace it"
        ) + (lost if emptied else "; write the report elsewhere")
    return None


def _linked_document(target: Path, folders: Sequence[Path]) -> Path | None:
    """A document the scan of `folders` would read that is `target` under another
    name: a hard link to it, a symbolic link to it (the scan follows those), or
    the same file through a bind mount. Only when the report goes to a file that
    exists: a walk of the folders, and a stat of each symbolic link found; of
    each document only when `target` may have another name (_other_names)."""
    from monitor.corpus.files import iter_files

    if not folders:
        return None
    try:
        wanted = os.stat(target)
    except OSError:
        return None
    for found in iter_files(folders, links_only=not _other_names(wanted)):
        if isinstance(found, Path):
            try:
                seen = os.stat(found)
            except OSError:
                continue
            if (seen.st_ino, seen.st_dev) == (wanted.st_ino, wanted.st_dev):
                return found
    return None


def _other_names(st: os.stat_result, mountinfo: str = "/proc/self/mountinfo") -> bool:
    """Whether the file of `st` may be reached under another name than through a
    symbolic link: it has hard links, or its file system is mounted at more than
    one place (a bind mount: `docker run -v /data:/corpus -v /data/r.json:/out/r.json`),
    or that cannot be told (no /proc: not Linux). A file with one link on a file
    system mounted once has no other name, so the walk need not stat each document."""
    if st.st_nlink > 1:
        return True
    device = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as lines:
            mounts = sum(1 for line in lines if line.split(" ", 3)[2:3] == [device])
    except OSError:
        return True
    return mounts != 1


def emptied_by_shell() -> bool:
    """Standard output is a file opened by `>` (truncating; `>>` appends and
    `1<>` keeps the content): it is empty now, whatever it held before."""
    try:
        import fcntl

        flags = fcntl.fcntl(1, fcntl.F_GETFL)
        return not flags & os.O_APPEND and os.fstat(1).st_size == 0
    except (OSError, ImportError):  # no fcntl (Windows): say nothing rather than guess
        return False


def stdout_clash(settings: Settings, config_file: Path | None) -> str | None:
    """`output_clash` for standard output redirected to a file (`> FILE`), which
    the shell made (and emptied) before the command began: check, verify and
    sign each read the documents and files that FILE may be one of."""
    redirected = stdout_file()
    if redirected is None:
        return None
    return output_clash(
        redirected,
        settings.paths,
        read_by(settings, config_file),
        f"stdout ({redirected})",
        emptied=emptied_by_shell(),
    )


def nothing_found(paths: Sequence[Path]) -> str:
    """The warning for a run that found no document: a mistyped folder is not a healthy corpus."""
    from monitor.corpus.files import SUFFIXES

    where = " ".join(str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
    kinds = " ".join(f"*{s}" for s in sorted(SUFFIXES))
    return f"Warning: no documents found under {where} (searched for {kinds}); nothing was checked"


def stdout_file() -> Path | None:
    """The regular file stdout was redirected to, where the system tells (Linux)."""
    try:
        if not stat.S_ISREG(os.fstat(1).st_mode):
            return None
        return Path(os.readlink("/proc/self/fd/1"))
    except OSError:
        return None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def open_report(path: Path) -> NamedOutput:
    """`-o FILE` written in place (a FIFO, a device, hard links: report_file),
    opened (created if missing) but not emptied: a stop or an error before the
    report's first byte left FILE emptied with "no report", the last run's
    report lost. It is emptied at the first write."""
    from monitor.whole_write import whole_text

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        stream = whole_text(fd)
    except BaseException:
        os.close(fd)
        raise
    return NamedOutput(stream, path, empty_first=True)


class NamedOutput:
    """The report file: a write that fails names the file (`-o /dev/full` said
    only `No space left on device`). Everything else is the file's own."""

    def __init__(self, stream: IO[str], path: Path, *, empty_first: bool = False) -> None:
        self._stream = stream
        self._path = path
        self._empty_first = empty_first  # open_report's: emptied at the first write

    def write(self, text: str) -> int:
        try:
            if self._empty_first:
                self._empty_first = False
                self._empty()
            return self._stream.write(text)
        except OSError as exc:
            raise self._named(exc) from None

    def _empty(self) -> None:
        """What FILE held before is dropped now (a regular file's: a FIFO or a
        device has nothing to drop)."""
        fd = self._stream.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise self._named(exc) from None

    def close(self) -> None:
        try:
            self._stream.close()
        except OSError as exc:
            raise self._named(exc) from None

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding: rich asks
        return getattr(self._stream, name)

    def _named(self, exc: OSError) -> OSError:
        return named_error(exc, self._path)


def named_error(exc: OSError, path: Path) -> OSError:
    """A failed write of the report, naming the report's FILE (not a temporary file)."""
    reason = exc.strerror or str(exc)
    return OSError(exc.errno, f"cannot write the report ({reason})", str(path))
