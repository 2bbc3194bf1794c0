"""How deep an article may nest, one bound for every reader and every command.

Without it the bound was Python's recursion limit less the caller's stack:
`check`, `verify` and `sign` read a record nested ~975 levels deep
differently (`sign --envelope legacy` signed a line `check` called invalid),
and the daemon's content hash could fail where `check` had passed. A record
deeper than `MAX_DEPTH` is invalid wherever it is read; within it, every
recursive step after the readers (validation, canonical form, hashing, the
reports) keeps hundreds of frames to spare.
"""

from __future__ import annotations

from itertools import compress
from typing import Any, Final

MAX_DEPTH: Final = 256  # lists and mappings on one path, the article's own mapping counted

Container = dict[str, Any] | list[Any] | tuple[Any, ...]
_CONTAINERS: Final = (dict, list, tuple)
_IS_CONTAINER: Final = frozenset(_CONTAINERS).__contains__


def too_deep_message(what: str) -> str:
    return (
        f"{what} nests lists and mappings deeper than {MAX_DEPTH} levels, the limit for "
        "one article: flatten it"
    )


def text_is_shallow(text: str) -> bool:
    """Whether JSON `text` surely parses to a value within MAX_DEPTH: it opens no more
    brackets than that in all (a bracket in a string counts too, so False only means
    "walk the value"). Two C-speed counts, against ~4 µs to walk a usual article."""
    return text.count("{") + text.count("[") <= MAX_DEPTH


def deep_field(record: dict[str, Any]) -> str | None:
    """The first field whose value takes the record past MAX_DEPTH; None if none does."""
    for key, value in record.items():
        if isinstance(value, _CONTAINERS) and _deeper(value, MAX_DEPTH - 1):
            return key
    return None


def deeper_than(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests more than `limit` lists and mappings on some path."""
    return isinstance(value, _CONTAINERS) and _deeper(value, limit)


def _deeper(value: Container, limit: int) -> bool:
    """Level by level, without recursion: the walk is what must not depend on the
    stack. A YAML alias is walked at each use; the readers bound what aliases
    expand to (yaml_safe.check_graph), so the walk is bounded too.

    A container's children are sifted by their exact type in C (the readers build
    plain dicts and lists): a comprehension for each container cost ~0.2 us, so a
    JSON Lines line wide and deep took 4x the CPU of decoding it (62 MB: 1.5 s to
    5.9 s of `check --offline`; now 2.4 s)."""
    level: list[Any] = [value]
    for _ in range(limit):
        below: list[Any] = []
        for item in level:
            if item:  # an empty container has no children
                children = item.values() if isinstance(item, dict) else item
                below += compress(children, map(_IS_CONTAINER, map(type, children)))
        if not below:
            return False
        level = below
    return True
