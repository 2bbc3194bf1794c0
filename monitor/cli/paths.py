"""Path parameters of the command line: click.Path, never the empty string."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import click

from monitor import path_text


class GivenPath(click.Path):
    """click.Path, never the empty string, which `Path` reads as the current
    folder: `--out "$DIR"` with the variable unset wrote into the current folder."""

    empty = "an empty path (an unset variable?): give a file or a folder"
    # a path naming what exists is taken whatever it holds (see CorpusPath)
    existing_ok = False

    def __init__(
        self,
        *,
        file_okay: bool = True,
        dir_okay: bool = True,
        dash: Literal["stdout", "refused"] | None = None,
    ) -> None:
        """`dash`: what `-` means for an output. `stdout`: stdout, as if the option
        were not given (the value is None); `refused`: an output that stdout cannot
        hold (a folder of files), said so; None: an input or a folder, where `-` is
        refused too: no command reads stdin (`./-` names a file `-`)."""
        super().__init__(file_okay=file_okay, dir_okay=dir_okay, path_type=Path)
        self.dash = dash

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail(self.empty, param, ctx)
        # `-o -` is stdout by every tool's habit: it wrote a file (or a folder) named `-`
        if value == "-" and self.dash == "stdout":
            return None
        if value == "-" and self.dash == "refused":
            self.fail(
                "'-' (stdout) cannot hold what is written here, a folder of files:"
                " give a folder (./- for one named '-')",
                param,
                ctx,
            )
        if value == "-" and self.dash is None:  # `--config -` was "config file not found: -"
            self.fail(
                "'-' is neither stdin nor stdout here (nothing is read from stdin):"
                " give a path (./- for a file or a folder named '-')",
                param,
                ctx,
            )
        problem = path_text.problem(value) if isinstance(value, str) else None
        if problem is not None and not (self.existing_ok and os.path.lexists(value)):
            self.fail(problem, param, ctx)  # `--data-dir $'data\n'`: a paste error
        # `keys/` names a folder, and `Path` drops the slash: `keygen --out keys/` wrote
        # the key to a file `keys`, `check -o reports/` the report to a file `reports`
        if isinstance(value, str) and not self.dir_okay and value.endswith(("/", os.sep)):
            self.fail(
                f"{value!r} ends with '/', which names a folder: give a file's name"
                f" (e.g. {value.rstrip('/' + os.sep)}/NAME)",
                param,
                ctx,
            )
        # click's file_okay=False refuses a regular file only: a FIFO or a device
        # as --data-dir was "no database at /dev/null/article-monitor.db (run the
        # daemon first)" in status, "cannot create … File exists" in db upgrade
        if isinstance(value, str) and not self.file_okay and os.path.exists(value):
            if not os.path.isdir(value) and not os.path.isfile(value):  # a file: click says so
                self.fail(f"{value!r} is not a folder (a device, a FIFO or a socket)", param, ctx)
        return super().convert(value, param, ctx)


class CorpusPath(GivenPath):
    """A PATH argument (`check "$CORPUS"` with the variable unset checked the current folder)."""

    empty = "an empty PATH (an unset variable?): give a file or a folder"
    # a file that exists under a name holding a tab, a line break or macOS's
    # `Icon\r` is checked when the walk of its folder meets it; named itself (`check
    # corpus/*`, `find -print0 | xargs -0 check`) it refused the whole command
    existing_ok = True
