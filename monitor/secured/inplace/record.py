"""The record handed to signing, shared by the three ways a file is rewritten."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class Signable(Protocol):
    """What signing needs of a record (a Document, or a Record held for a rewrite)."""

    @property
    def source(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def raw(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Record:
    """A valid record of the file being rewritten, without its model: the models of
    a 50,000-article file were ~2.4 KB a record of the ~4 KB each one held."""

    source: str
    line: int
    raw: dict[str, Any]


# Gets one record; returns its new `secured` value, or None when it cannot be signed.
SignOne = Callable[[Signable], str | None]
