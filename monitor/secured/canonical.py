"""The canonical form of an article: what v2 digests and Ed25519 signatures cover.

The same record must give the same bytes whether it was read from YAML front
matter (where PyYAML turns unquoted timestamps into datetime/date objects),
from JSON (where they are strings), or rewritten with its keys reordered. So
values are first *normalised*, then serialised as RFC 8785 (JCS) JSON:

- datetimes become UTC `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (fraction without
  trailing zeros, omitted when zero; a naive datetime is taken as UTC);
- dates become `YYYY-MM-DD`;
- a string counts as a timestamp exactly when YAML 1.1 would resolve the same
  text, unquoted, as one (PyYAML's implicit timestamp rule), and is then
  normalised as the value PyYAML would build from it (fraction truncated to
  microseconds); any other string is kept byte for byte;
- tuples become lists; mapping keys that are not strings become their JSON
  text (`1` -> "1", `true` -> "true").

Pure: no I/O. docs/signatures.md is the user-facing statement of these rules.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import rfc8785

from monitor.text_clip import clip

if TYPE_CHECKING:
    import yaml.constructor

SECURED: Final = "secured"
MAX_SAFE_INT: Final = 2**53 - 1
SHOWN: Final = 200  # characters of a path or a reason an error carries

# PyYAML's implicit resolver for tag:yaml.org,2002:timestamp, as full match
# (its own `$` would also accept a trailing newline).
_YAML_TIMESTAMP: Final = re.compile(
    r"""[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
     (?:[Tt]|[\ \t]+)[0-9][0-9]?
     :[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
     (?:[\ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?""",
    re.X,
)
_TIMESTAMP_TAG: Final = "tag:yaml.org,2002:timestamp"


class CanonicalFormError(ValueError):
    """The record holds a value that has no canonical JSON form; `path` says where."""

    def __init__(self, path: str, reason: str) -> None:
        # clipped: a path of long keys is as long as the record, and it reaches the
        # reports and the database (a 15 MB record made a 15 MB `fields` row)
        path, reason = clip(path, SHOWN), clip(reason, SHOWN)
        super().__init__(f"{path or '(top level)'}: {reason}")
        self.path = path
        self.reason = reason


def format_instant(value: datetime) -> str:
    """UTC `Z` form with the shortest exact fraction."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    out = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        out += f".{value.microsecond:06d}".rstrip("0")
    return out + "Z"


def format_date(value: date) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


@cache
def _constructor() -> yaml.constructor.SafeConstructor:
    """Made on first use: PyYAML costs ~10 ms of imports, and a `check` of JSON
    Lines with no key configured never parses a timestamp here."""
    import yaml

    return yaml.constructor.SafeConstructor()


def _node(text: str) -> Any:
    import yaml

    return yaml.ScalarNode(_TIMESTAMP_TAG, text)


def parse_timestamp(text: str) -> datetime | date | None:
    """The datetime/date PyYAML would build from `text` unquoted, or None if not a timestamp."""
    if len(text) > 64 or not _YAML_TIMESTAMP.fullmatch(text):
        return None
    try:
        value = _constructor().construct_yaml_timestamp(_node(text))
    except (ValueError, OverflowError):
        return None  # e.g. month 13: YAML would not load it; here it stays a string
    assert isinstance(value, date)
    return value


def normalise_scalar_text(text: str) -> str:
    """A string, or the canonical text of the timestamp it denotes."""
    value = parse_timestamp(text)
    if value is None:
        return text
    try:
        return format_instant(value) if isinstance(value, datetime) else format_date(value)
    except OverflowError:  # an offset that pushes year 1 or 9999 out of range
        return text


# Where a value is: dotted text, or (where its parent is, its key or index), joined
# into text only for an error. Joined at each level on the way down, the paths of a
# record nested 255 deep under 60,000-character keys (15 MB of JSON) were all held at
# once: 2 GB, the record's size times half its depth.
Where = str | tuple[Any, str | int]


def _key_text(key: object, path: Where) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        try:
            return str(rfc8785.dumps(key).decode("ascii"))
        except rfc8785.CanonicalizationError as exc:
            raise CanonicalFormError(
                dotted_path(path), f"mapping key {key!r} has no JSON form"
            ) from exc
    if isinstance(key, datetime):
        return format_instant(key)
    if isinstance(key, date):
        return format_date(key)
    raise CanonicalFormError(dotted_path(path), f"mapping key of type {type(key).__name__}")


def _below(path: Where, segment: str | int) -> Where:
    return (path, segment)


def dotted_path(where: Where) -> str:
    """The dotted text of `where`, as it was joined before (empty segments before the
    first other one leave no dot)."""
    segments: list[str | int] = []
    while isinstance(where, tuple):
        where, segment = where
        segments.append(segment)
    path = where
    for segment in reversed(segments):
        path = f"{path}.{segment}" if path else str(segment)
    return path


def normalise(value: Any, path: Where = "") -> Any:
    """The JSON-shaped value with timestamps in canonical text (see module docstring)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return normalise_scalar_text(value)
    if isinstance(value, datetime):
        try:
            return format_instant(value)
        except OverflowError as exc:
            raise CanonicalFormError(dotted_path(path), "timestamp out of range in UTC") from exc
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            text = _key_text(key, path)
            if text in out:
                raise CanonicalFormError(dotted_path(path), f"two keys both read as {text!r}")
            out[text] = normalise(item, _below(path, text))
        return out
    if isinstance(value, list | tuple):
        return [normalise(item, _below(path, i)) for i, item in enumerate(value)]
    raise CanonicalFormError(
        dotted_path(path), f"value of type {type(value).__name__} has no JSON form"
    )


def _ijson(value: Any, path: Where) -> Any:
    """RFC 8785 numbers are IEEE doubles: an integer beyond ±(2**53-1) becomes the
    nearest double, as a JSON parser (or JavaScript) reading the canonical text would."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) <= MAX_SAFE_INT:
            return value
        try:
            return float(value)
        except OverflowError:
            raise CanonicalFormError(
                dotted_path(path), "integer too large for a JSON number"
            ) from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalFormError(dotted_path(path), f"{value} is not a JSON number")
        return value
    if isinstance(value, dict):
        return {key: _ijson(item, _below(path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_ijson(item, _below(path, i)) for i, item in enumerate(value)]
    return value


def split_path(path: str) -> list[str]:
    return path.split(".") if path else []


def exclude_path_problem(path: str) -> str | None:
    """Why an `exclude_fields` path cannot be what was meant (it would be silently ignored
    or would leave the whole article unsigned), or None when it is well formed."""
    if not path.strip():
        return "an empty path excludes nothing"
    # a control character, a space around a segment, a `*` within one: each matched
    # nothing, silently (no field name holds them), and the field stayed signed
    control = _CONTROL.search(path)
    if control is not None:
        return (
            f"a control character ({ascii(control.group())[1:-1]}) at character"
            f" {control.start() + 1} (a paste error?): a field name never holds one"
        )
    if path != path.strip():
        return "space around the path (a field name never has it)"
    if any(not segment for segment in path.split(".")):
        return "an empty segment (two dots, or a dot at an end)"
    if path == "*":
        return "`*` alone would leave the whole article out of the signature"
    for segment in path.split("."):
        if segment != segment.strip():
            return f"space around the segment {segment!r} (a field name never has it)"
        if "*" in segment and segment != "*":
            return (
                f"`*` matches a whole segment only ({segment!r}): write it alone,"
                " as in images.*.title"
            )
    return None


# C0 and C1 controls, DEL, the Unicode line and paragraph separators (monitor/path_text.py)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


ABSENT: Final = object()  # no value at that path
UNSUPPORTED: Final = object()  # a value there, but with no JSON form


def lookup(raw: Mapping[str, Any], path: str) -> Any:
    """The normalised value at a dotted path, ABSENT if there is none."""
    node: Any = raw
    for segment in split_path(path):
        if isinstance(node, Mapping):
            if segment in node:
                node = node[segment]
                continue
            matches = [k for k in node if not isinstance(k, str) and _key_matches(k, segment)]
            if not matches:
                return ABSENT
            node = node[matches[0]]
        elif isinstance(node, list | tuple):
            index = _index(segment)
            if index is None or index >= len(node):
                return ABSENT
            node = node[index]
        else:
            return ABSENT
    try:
        return normalise(node, path)
    except CanonicalFormError:
        return UNSUPPORTED


def _index(segment: str) -> int | None:
    """A list index as a claim path writes it: ASCII digits, no leading zero.
    (`"²".isdigit()` is true and `int("²")` a ValueError: a claim or an exclude
    path holding it made a record "malformed", an "internal error".)"""
    if not (segment.isascii() and segment.isdigit()) or (len(segment) > 1 and segment[0] == "0"):
        return None
    return _list_index(segment)


# digits of an index past every list's end: int() refuses text of over 4,300 digits
# (a ValueError, read as the record's "internal error"), and no list holds 10**19 items
_INDEX_DIGITS: Final = 19


def _list_index(digits: str) -> int | None:
    """The index ASCII `digits` write (leading zeros allowed), None past every list's end."""
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= _INDEX_DIGITS else None


def _key_matches(key: object, segment: str) -> bool:
    try:
        normalised = normalise({key: None})
    except CanonicalFormError:
        return False
    return segment in normalised


def _mark(value: Any, segments: list[str], marked: dict[int, tuple[Any, set[Any]]]) -> None:
    """Add to `marked` (container id → the container and its keys or indices) what
    the path `segments` names in `value`, as written: nothing is removed yet."""
    head, rest = segments[0], segments[1:]
    keys: Iterable[Any]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
    elif isinstance(value, list):
        if head == "*":
            keys = range(len(value))
        elif head.isascii() and head.isdigit():
            index = _list_index(head)
            keys = [index] if index is not None and index < len(value) else []
        else:
            keys = []
    else:
        return
    for key in keys:
        if rest:
            _mark(value[key], rest, marked)
        else:
            marked.setdefault(id(value), (value, set()))[1].add(key)


def without(value: dict[str, Any], exclude: Sequence[str]) -> dict[str, Any]:
    """The normalised record minus top-level `secured` and the excluded dotted paths.

    A `*` segment matches every key or index (`images.*.title`). Each path names a
    place in the record as written, so the order of the paths and their repeats
    carry no meaning: they were removed one after the other, and `images.0` then
    `images.1` removed the first and the third image (the second had moved up), a
    repeated `images.0` the first two, while `images.1` then `images.0` removed the
    first two: a signer and a verifier listing the same paths in another order
    disagreed. Mutates and returns `value`, which must be a fresh result of `normalise`.
    """
    value.pop(SECURED, None)
    marked: dict[int, tuple[Any, set[Any]]] = {}
    for path in exclude:
        if path:
            _mark(value, split_path(path), marked)
    # within a container removed as a whole, the removals are harmless
    for container, keys in marked.values():
        for key in sorted(keys, reverse=True) if isinstance(container, list) else keys:
            del container[key]
    return value


def canonical_bytes(raw: Mapping[str, Any], *, exclude: Sequence[str] = ()) -> bytes:
    """RFC 8785 bytes of the article without `secured` and the excluded paths.

    Raises CanonicalFormError for values JSON cannot carry exactly (bytes,
    integers beyond a double's range, NaN, infinities, nesting deeper than Python's
    recursion limit).
    """
    try:
        value = normalise(raw)
        if not isinstance(value, dict):
            raise CanonicalFormError("", "an article is a mapping")
        value = _ijson(without(value, exclude), "")
        return bytes(rfc8785.dumps(value))
    except RecursionError:
        raise CanonicalFormError("", "nested too deeply") from None
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalFormError("", str(exc)) from None


def same_value(a: Any, b: Any) -> bool:
    """Equality of two normalised values: strings exactly, numbers numerically, bool apart."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return False
