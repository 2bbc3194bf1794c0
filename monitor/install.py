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


def cannot_import(exc: BaseException) -> str | None:
    """`cannot import NAME (…): the install is broken; …` for a package other than
    monitor's own that fails to import, else None (one of monitor's own modules that
    fails to import is a bug, not the install's).

    Failing to import is an ImportError naming the package, or any exception raised
    by a package's own code while it is imported (a half-installed or damaged one:
    a RuntimeError, a SyntaxError, an ImportError that names nothing, as a
    compiled extension's loader raises): those were a traceback (exit 70) or, read
    by the corpus readers, "internal error while reading this file" for every file.
    """
    if not isinstance(exc, Exception):
        return None
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
    is imported) the traceback of `exc` passes through, or None."""
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
    return None


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
