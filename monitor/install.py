"""A broken install said as one: a package that article-monitor imports where it
is first used (issue 16: not at the start) and that is missing or fails to import.

`check` meets such a package midway and says `Error: cannot import NAME (…): the
install is broken…`, exit 2 (monitor.cli.known_error). The daemon imports the
corpus readers' packages at its start and at each SIGHUP's reload
(`corpus_readers`): its first scan imported them, and a broken install was a
rescan that failed with a traceback and a daemon never ready, nothing naming the
package. Imports nothing itself.
"""

from __future__ import annotations

BROKEN_INSTALL = "the install is broken; reinstall article-monitor with its dependencies"
# A checker process's exit status when a package failed to import in one of its
# checks (it has said which on standard error): its parent ends the run as broken.
# sysexits.h's EX_CONFIG, which no crash of the interpreter gives.
WORKER_BROKEN_INSTALL = 78


class InstallBroken(Exception):
    """A broken install found by another process, which named the package: the
    message is the whole of what to say."""


def cannot_import(exc: BaseException) -> str | None:
    """`cannot import NAME (…): the install is broken; …` for a package other than
    monitor's own that fails to import, else None (one of monitor's own modules that
    fails to import is a bug, not the install's).

    Failing to import is an ImportError naming the package, or any exception raised
    by a package's own code while it is imported (a half-installed or damaged one:
    a RuntimeError, a SyntaxError, an ImportError that names nothing, as a
    compiled extension's loader raises): those were a traceback (exit 70) or, read
    by the corpus readers, "internal error while reading this file" for every file.
    Within an ExceptionGroup (the task group of `check`'s checks, or of a checker
    process's: html.parser's head reader is imported at the first head the fast
    scanner gives up on) it is said as well: it was "internal error … a bug", exit
    70, with a traceback, or a checker process's traceback and a report missing its
    targets.
    """
    if not isinstance(exc, Exception):
        return None
    if isinstance(exc, InstallBroken):
        return str(exc)
    if isinstance(exc, ExceptionGroup):  # a check's task group: a late import in one check
        return next(filter(None, map(cannot_import, exc.exceptions)), None)
    name = exc.name if isinstance(exc, ImportError) else None
    if name is None:
        name = _importing(exc)
        if name is None:
            return None
    elif name.partition(".")[0] == "monitor":
        return None
    said = str(exc) if isinstance(exc, ImportError) else f"{type(exc).__name__}: {exc}"
    return f"cannot import {name} ({said}): {BROKEN_INSTALL}"


def _importing(exc: BaseException) -> str | None:
    """The top-level package other than monitor whose module code (run only while it
    is imported) the traceback of `exc` passes through, or None. A module that does
    not compile has no frame: its SyntaxError names its file, found on sys.path."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "<module>":
            module = frame.f_globals.get("__name__")
            if isinstance(module, str) and module != "__main__":
                package = module.partition(".")[0]
                if package != "monitor":
                    return package
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename:
        return _package_of(exc.filename)
    return None


def _package_of(filename: str) -> str | None:
    """The top-level package (other than monitor) of a module file, by the most
    specific sys.path entry holding it; None for any other file (`<string>`, …)."""
    import os
    import sys

    path = os.path.abspath(filename)
    best = ""
    for entry in sys.path:
        root = os.path.abspath(entry or os.curdir)
        if path.startswith(root.rstrip(os.sep) + os.sep) and len(root) > len(best):
            best = root
    if not best or not filename.endswith(".py"):
        return None
    top = os.path.relpath(path, best).split(os.sep)[0].removesuffix(".py")
    return None if top in ("monitor", "") or not top.isidentifier() else top


def corpus_readers() -> None:
    """Import what reading the corpus imports at its first document: PyYAML (front
    matter) and publicsuffixlist (at the first provider domain judged), the names
    the code takes from them included. Raises ImportError (`cannot_import` says it).

    ~15 ms, which the daemon's first scan pays anyway, and ~40 ms to load the public
    suffix list (at the start only: it is kept); `check` does not call it (it pays
    only for what its records need)."""
    import yaml
    from publicsuffixlist import PublicSuffixList

    from monitor.rules.suffixes import _suffixes

    del yaml, PublicSuffixList
    _suffixes()  # its list too, a file of its install (~40 ms once, cached for the scans)


def page_reader() -> None:
    """Import html.parser's head reader (monitor.content.head_parser, html.parser
    with it), which a check imports at the first head the fast scanner gives up on
    (issue 16). The daemon imports it at its start and at each reload, as it does
    `corpus_readers`: met by a check, a broken one was a traceback logged for each
    such page, each check 'failed unexpectedly' and nothing recorded. Raises as an
    import does (`cannot_import` says it). `check` does not call it."""
    import importlib

    # by name, binding nothing: `del monitor.content.head_parser` after an import
    # statement removed the package's attribute, and the next call (the first
    # SIGHUP) failed on it: every reload refused with an AttributeError
    importlib.import_module("monitor.content.head_parser")
