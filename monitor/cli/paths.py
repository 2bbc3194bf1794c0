"""Path parameters of the command line: click.Path, never the empty string."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


class GivenPath(click.Path):
    """click.Path, never the empty string, which `Path` reads as the current
    folder: `--out "$DIR"` with the variable unset wrote into the current folder."""

    empty = "an empty path (an unset variable?): give a file or a folder"

    def __init__(self, *, file_okay: bool = True, dir_okay: bool = True) -> None:
        super().__init__(file_okay=file_okay, dir_okay=dir_okay, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail(self.empty, param, ctx)
        return super().convert(value, param, ctx)


class CorpusPath(GivenPath):
    """A PATH argument (`check "$CORPUS"` with the variable unset checked the current folder)."""

    empty = "an empty PATH (an unset variable?): give a file or a folder"
