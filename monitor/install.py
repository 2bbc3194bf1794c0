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
    """`cannot import NAME (…): the install is broken; …` for an ImportError of a
    package other than monitor's own, else None (one of monitor's own modules that
    fails to import is a bug, not the install's)."""
    if not isinstance(exc, ImportError):
        return None
    name = exc.name or "monitor"
    if name.partition(".")[0] == "monitor":
        return None
    return f"cannot import {name} ({exc}): {BROKEN_INSTALL}"


def corpus_readers() -> None:
    """Import what reading the corpus imports at its first document: PyYAML (front
    matter) and publicsuffixlist (at the first provider domain judged), the names
    the code takes from them included. Raises ImportError (`cannot_import` says it).

    ~15 ms, which the daemon's first scan pays anyway; `check` does not call it (it
    pays only for what its records need)."""
    import yaml
    from publicsuffixlist import PublicSuffixList

    del yaml, PublicSuffixList
