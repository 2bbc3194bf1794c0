"""Finding corpus files and turning their bytes into text (all file I/O of the corpus).

Directories are walked in sorted order, hidden entries skipped, so two runs
over the same tree see the same documents in the same order. A folder that
cannot be listed is yielded as Unreadable, never taken as empty. Files are
opened without blocking and checked after opening (a FIFO or device is never
read). JSON Lines files are read line by line, `.json` and `.yaml` files a
window at a time (monitor.corpus.text_survey), every other format whole, up
to the limit of a whole file.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SUFFIXES = frozenset({".txt", ".md", ".yaml", ".yml", ".json", ".jsonl", ".ndjson"})
LINE_SUFFIXES = frozenset({".jsonl", ".ndjson"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})

# A file above this size is refused rather than read (JSON Lines aside: `check`
# and `sign --in-place` alike read them a line at a time).
MAX_FILE_BYTES = 512 * 1024 * 1024
# YAML peaks at ~5x its size in memory while parsing (1.09 GB for 200 MB): one
# document of a YAML stream, or a front matter, above this is refused; the other
# documents of the stream are still read. One element of a `.json` list (the
# window holds it whole) has the same cap.
MAX_YAML_BYTES = 16 * 1024 * 1024
# One JSON Lines record above this is refused (and skipped without being held).
MAX_LINE_BYTES = 64 * 1024 * 1024

BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class DecodeError(Exception):
    """Bytes that are not UTF-8 text; `line` is 1-based."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A folder (or a given path) that could not be listed: its files are unknown.

    Never "no files": `check` reports it as an invalid document, and the
    daemon keeps the last known documents under it.
    """

    path: Path
    error: OSError

    @property
    def reason(self) -> str:
        return os_reason(self.error)


def os_reason(exc: OSError) -> str:
    """What went wrong, without the path (the caller names it)."""
    if isinstance(exc, PermissionError):
        return "permission denied"
    why = exc.strerror or str(exc) or type(exc).__name__
    return why[:1].lower() + why[1:]


def source_name(path: Path) -> str:
    """How a corpus path is named in reports, logs and the daemon's database.

    A name that is not UTF-8 (Python decodes it with lone surrogates) keeps its
    odd bytes as \\xNN escapes: written raw, it made `check --format json`
    emit bytes that are not UTF-8, and the daemon's database refuse the row.
    """
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_failure(path: Path, exc: OSError) -> str:
    """Why a corpus file could not be read, in words, for `check` and the daemon alike."""
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return "broken symbolic link: its target does not exist"
        return "no such file or directory"
    if isinstance(exc, NotRegularFile):
        return exc.strerror or "not a regular file"
    return os_reason(exc)


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _listing(top: Path, links_only: bool = False) -> tuple[list[str], list[str]]:
    """(files, subfolders) of `top`, sorted, hidden ones left out; OSError if it cannot be listed.

    The whole listing is read before anything is yielded, so an error half-way
    (EIO, EMFILE) fails the folder rather than hiding the rest of it.
    Symlinked folders are neither followed nor taken as files; an entry whose
    type cannot be told is taken as a file, and reading it says why.
    `links_only`: of the files, only the symbolic links (and those whose type
    cannot be told), from the listing's types, without a stat.
    """
    files: list[str] = []
    dirs: list[str] = []
    with os.scandir(top) as entries:
        for entry in entries:
            if _hidden(entry.name):
                continue
            try:
                is_dir = entry.is_dir()
                if is_dir and entry.is_symlink():
                    continue
            except OSError:
                is_dir = False
            if is_dir:
                dirs.append(entry.name)
            elif Path(entry.name).suffix.lower() in SUFFIXES and (
                not links_only or _maybe_link(entry)
            ):
                files.append(entry.name)
    return sorted(files), sorted(dirs)


def _maybe_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True


def _walk(
    root: Path, skip: Sequence[Path], links_only: bool = False
) -> Iterator[Path | Unreadable]:
    """Corpus files under `root`, sorted; directories whose resolved path is in `skip` pruned.

    Files of a folder come before its subfolders, depth first; a folder that
    cannot be listed is yielded as Unreadable where its files would be.
    """
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            files, dirs = _listing(top, links_only)
        except OSError as exc:
            # a subfolder deleted since its parent was listed is just gone; the folder
            # given is not (it was there a moment ago: an unmount, a swap): nothing
            # found there would read as an empty corpus, and `check` said "0 articles"
            if top == root or not vanished(top, exc):
                yield Unreadable(top, exc)
            continue
        for name in files:
            yield top / name
        subdirs = [top / d for d in dirs]
        if skip:
            subdirs = [d for d in subdirs if _resolved(d) not in skip]
        stack.extend(reversed(subdirs))


def _within(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _given(path: Path, explicit: set[Path]) -> bool:
    return bool(explicit) and _resolved(path) in explicit


def _is_dir(path: Path) -> bool:
    """Whether to walk `path`; if it cannot even be looked at, it is yielded as a
    file, and reading it says why (a loop, a permission, a missing path)."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        return False


def iter_files(
    paths: Sequence[Path | str], *, links_only: bool = False
) -> Iterator[Path | Unreadable]:
    """Every corpus file under `paths`, in a deterministic order, each once.

    A directory is searched recursively for the corpus suffixes (files of a
    directory before its subdirectories, both sorted by name; hidden files
    and directories skipped; symlinked directories not followed). A path
    that is a file is yielded whatever its suffix. A path that does not exist
    is yielded unchanged, so the reader reports it. A folder that cannot be
    listed (permissions, too many open files, I/O error) is yielded as
    Unreadable: never taken as an empty folder.

    Overlapping arguments (`a/` and `a/b/`, or `a/x.txt` and `a/`) yield each
    file once. That bookkeeping is per argument, never per file found, so
    memory does not grow with the size of the corpus.

    `links_only`: of the files found in directories, only the symbolic links
    (told by the listing, no stat each): the files that may be another one
    under a second name when none has hard links (monitor.cli.output_path).
    """
    walked: list[Path] = []  # resolved directories already searched
    explicit: set[Path] = set()  # resolved files given by name
    for given in paths:
        path = Path(given)
        resolved = _resolved(path)
        if _within(resolved, walked) or resolved in explicit:
            continue
        if _is_dir(path):
            inner = [d for d in walked if resolved in d.parents]
            for found in _walk(path, inner, links_only):
                if isinstance(found, Unreadable) or not _given(found, explicit):
                    yield found
            walked.append(resolved)
        else:
            explicit.add(resolved)
            yield path


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, *, base_offset: int = 0, base_line: int = 1) -> str:
    """UTF-8 (optional BOM) bytes → text, or DecodeError saying where and why.

    `base_offset`/`base_line` place a fragment (one JSONL line) in its file.
    """
    skip = 0
    if base_offset == 0:
        if data.startswith(BOM):
            skip = len(BOM)
        elif data.startswith(UTF16_BOMS):
            raise DecodeError("the file is UTF-16: save it as UTF-8", 1)
    nul = data.find(b"\0", skip)
    if nul >= 0:
        line = base_line + data.count(b"\n", 0, nul)
        raise DecodeError(
            f"binary data: NUL byte at byte offset {base_offset + nul} (line {line}); "
            "expected UTF-8 text",
            line,
        )
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = skip + exc.start
        line = base_line + data.count(b"\n", 0, at)
        raise DecodeError(
            f"not valid UTF-8: byte 0x{data[at]:02x} at byte offset {base_offset + at} "
            f"(line {line}); save the file as UTF-8",
            line,
        ) from None


class NotRegularFile(OSError):
    """A directory, FIFO or device where a corpus file was expected: never read."""


@contextmanager
def open_regular(path: Path) -> Iterator[tuple[os.stat_result, io.BufferedReader]]:
    """The open file and its status; OSError if it cannot be opened or is not a regular file.

    Opened without blocking (opening a FIFO would wait for a writer forever)
    and checked with fstat after opening, so the file checked is the file
    read, even if the path is swapped for a FIFO between listing and reading.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            what = (
                "is a directory"
                if stat.S_ISDIR(st.st_mode)
                else "not a regular file (a FIFO or device?)"
            )
            raise NotRegularFile(errno.EINVAL, what, str(path))
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield st, fh


def vanished(path: Path, exc: OSError) -> bool:
    """Whether a listed file is simply gone (deleted since it was listed).

    A dangling symlink is not gone: the link is there, and it points nowhere.
    """
    if not isinstance(exc, FileNotFoundError | NotADirectoryError):
        return False
    return not os.path.lexists(path)


def over_limit(suffix: str) -> DecodeError:
    """A file over MAX_FILE_BYTES, refused whole before a document is read."""
    if suffix.lower() in YAML_SUFFIXES:
        hint = "split it, or use JSON Lines (.jsonl) for a large corpus"
    else:
        hint = "split it, or use JSON Lines (.jsonl), which is streamed"
    return DecodeError(
        f"file is over the {MAX_FILE_BYTES:,}-byte limit for {suffix.lower() or 'this'} "
        f"files: {hint}",
        None,
    )


def read_whole(fh: BinaryIO, suffix: str) -> bytes:
    """The file's bytes, or DecodeError past MAX_FILE_BYTES (nothing more is read).

    One limit for every format: a `.yaml` stream is capped per document when
    parsed, not here (`sign --in-place` and `check` refuse the same files).
    """
    limit = MAX_FILE_BYTES
    try:
        size = os.fstat(fh.fileno()).st_size
    except OSError:  # bytes in memory (io.UnsupportedOperation): read() allocates no more
        size = limit
    want = min(size, limit) + 1  # read(n) allocates n up front: ask for what is there
    data = fh.read(want)
    if len(data) == want <= limit:  # the file grew since: the rest, up to the limit
        data += fh.read(limit + 1 - len(data))
    if len(data) > limit:
        raise over_limit(suffix)
    return data


def line_over_limit() -> str:
    """What is said of a JSON Lines line over MAX_LINE_BYTES (read when said: tests lower it)."""
    return f"line is over the {MAX_LINE_BYTES:,}-byte limit for one JSON Lines record"


def read_lines(fh: BinaryIO) -> Iterator[tuple[int, str | DecodeError]]:
    """(line number, text or DecodeError) for each line, read lazily.

    A NUL byte means the file is binary, not a line with a typo: that error
    is yielded and reading stops. A line over MAX_LINE_BYTES is reported and
    skipped without being held in memory.
    """
    offset = 0
    line_no = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        line_no += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            length = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(1 << 20)
                length += len(raw)
            yield line_no, DecodeError(line_over_limit(), line_no)
            offset += length
            continue
        try:
            yield line_no, decode(raw.rstrip(b"\r\n"), base_offset=offset, base_line=line_no)
        except DecodeError as exc:
            yield line_no, exc
            if b"\0" in raw or (exc.line == 1 and raw.startswith(UTF16_BOMS)):
                return
        offset += len(raw)
