"""Pure: one report entry (and its document's identity) as a plain row, and back.

The row is what `marshal` writes (check/spill.py): tuples of strings, ints,
bytes and None. Enums travel as their index in small tables, a reference's
article id as None when it is the entry's own; field paths keep the
interning of monitor/targets.py (marshal writes an interned string once per
chunk and interns it again when read). The identity's source, line and
webUrl are the entry's own: only the rest of it travels. Every spilled entry
is turned into a row and back, so the frozen references and expectations
are rebuilt through their slots, not their generated `__init__` (a quarter
of the read-back's CPU), by code written from their fields at import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.check.report.rows import ArticleEntry
from monitor.rules.static import DocIdentity
from monitor.targets import TargetRef
from monitor.vocabulary import (
    Expectation,
    Kind,
    Origin,
    Problem,
    ProblemCode,
    SignatureResult,
    SignatureStatus,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Pair = tuple[ArticleEntry, DocIdentity | None]
_D = TypeVar("_D", bound="DataclassInstance")

_KINDS = tuple(Kind)
_ORIGINS = tuple(Origin)
_CODES = tuple(ProblemCode)
_STATUSES = tuple(SignatureStatus)
_KIND_ORIGIN = tuple((k, o) for k in _KINDS for o in _ORIGINS)
_KIND_ORIGIN_INDEX = {pair: n for n, pair in enumerate(_KIND_ORIGIN)}
_KO_KIND = tuple(k for k, _ in _KIND_ORIGIN)
_KO_ORIGIN = tuple(o for _, o in _KIND_ORIGIN)
_CODE_INDEX = {c: n for n, c in enumerate(_CODES)}
_STATUS_INDEX = {s: n for n, s in enumerate(_STATUSES)}


def _by_slots(cls: type[_D]) -> tuple[Callable[[_D], tuple[Any, ...]], Callable[..., _D]]:
    """A frozen slotted dataclass's fields as a tuple, and an instance made
    from them (by position, in the tuple's order, or by name) with each slot
    set directly: its `__init__` sets each through object.__setattr__. Both
    are written from `dataclasses.fields`, as dataclasses writes `__init__`,
    so a field added, renamed or moved travels, or fails loudly where it is
    named: no hand-kept list of fields can fall behind the class."""
    names = [f.name for f in dataclasses.fields(cls)]
    own = {"_obj_", "_new_", "_cls_", *(f"_set_{n}" for n in names)}
    if clash := sorted(own.intersection(names)):
        # a field so named would shadow the code's own name: an instance holding itself
        raise TypeError(f"{cls.__name__}: field {clash[0]!r} is a name of the code written here")
    scope: dict[str, Any] = {"_new_": object.__new__, "_cls_": cls}
    scope |= {f"_set_{name}": getattr(cls, name).__set__ for name in names}  # slots only
    code = (
        f"def row(_obj_):\n    return ({''.join(f'_obj_.{n}, ' for n in names)})\n"
        f"def make({', '.join(names)}):\n    _obj_ = _new_(_cls_)\n"
        + "".join(f"    _set_{n}(_obj_, {n})\n" for n in names)
        + "    return _obj_\n"
    )
    exec(code, scope)
    return scope["row"], scope["make"]


_expectation_row, _expectation = _by_slots(Expectation)
_, _target_ref = _by_slots(TargetRef)


def _signature_row(s: SignatureResult | None) -> tuple[Any, ...] | None:
    if s is None:
        return None
    return (_STATUS_INDEX[s.status], s.fields, s.detail, s.kid, s.envelope)


def to_row(pair: Pair) -> tuple[Any, ...]:
    entry, identity = pair
    aid = entry.id
    ko = _KIND_ORIGIN_INDEX
    refs = [
        (
            url,
            ko[ref.kind, ref.origin],
            ref.path,
            _expectation_row(ref.expectation),
            None if ref.article_id == aid else ref.article_id,
        )
        for url, ref in entry.refs
    ]
    problems = [(_CODE_INDEX[p.code], p.message, p.field) for p in entry.problems]
    ident = None if identity is None else (identity.amp_url, identity.web_key, identity.amp_key)
    return (
        aid,
        entry.source,
        entry.line,
        entry.web_url,
        _signature_row(entry.signature),
        problems,
        refs,
        ident,
    )


def from_row(row: tuple[Any, ...]) -> Pair:
    aid, source, line, web_url, sig, problems, refs, ident = row
    signature = (
        None
        if sig is None
        else SignatureResult(_STATUSES[sig[0]], tuple(sig[1]), sig[2], sig[3], sig[4])
    )
    kinds, origins = _KO_KIND, _KO_ORIGIN
    entry = ArticleEntry(
        aid,
        source,
        line,
        web_url,
        signature,
        [Problem(_CODES[code], message, field) for code, message, field in problems],
        [
            (
                url,
                _target_ref(
                    article_id=aid if ref_aid is None else ref_aid,
                    kind=kinds[ko],
                    origin=origins[ko],
                    expectation=_expectation(*expect),
                    path=path,
                ),
            )
            for url, ko, path, expect, ref_aid in refs
        ],
    )
    if ident is None:
        return entry, None
    return entry, DocIdentity(source, line, web_url, *ident)


def to_rows(pairs: list[Pair]) -> list[tuple[Any, ...]]:
    return [to_row(pair) for pair in pairs]


def from_rows(rows: list[tuple[Any, ...]]) -> Iterator[Pair]:
    """One entry at a time: a chunk's rows are decoded as they are read."""
    for row in rows:
        yield from_row(row)


def size(pair: Pair) -> int:
    """An entry's weight in characters: its URLs, messages, titles and excerpts,
    plus the rest's share. The page references hold the record's title and
    excerpt (content drift): an excerpt of 100 KB weighed as its URLs did, and
    5,000 such articles all stayed in memory."""
    entry = pair[0]
    return (
        len(entry.web_url)
        + sum(len(url) for url, _ in entry.refs)
        + sum(len(p.message) for p in entry.problems)
        + _texts(entry.refs)
        + 64 * len(entry.refs)
        + 128
    )


def _texts(refs: list[tuple[str, TargetRef]]) -> int:
    """The titles and excerpts the references hold; an item's web and AMP
    references share one pair, counted once."""
    total = 0
    last: tuple[str | None, str | None] = (None, None)
    for _, ref in refs:
        e = ref.expectation
        texts = (e.title, e.excerpt)
        if texts != last:
            total += len(e.title or "") + len(e.excerpt or "")
            last = texts
    return total
