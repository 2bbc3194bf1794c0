"""Bounded, safe YAML: JSON-shaped mappings only, no object construction, no alias bombs.

PyYAML's safe loader shares aliased nodes instead of copying them, so a
"billion laughs" document loads quickly into a small, heavily shared object
graph; it is everything downstream (validation, canonical JSON, signing) that
would walk all 10^9 leaves. So the composed node graph is measured first —
its size *with aliases expanded*, computed once per distinct node — and a
document over the limits is refused before anything is constructed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.corpus.json_refused import NAME_SHOWN, name_shown
from monitor.corpus.nesting import MAX_DEPTH, too_deep_message
from monitor.corpus.yaml_lines import FileLines
from monitor.corpus.yaml_nodes import children, distinct_nodes
from monitor.text_clip import clip

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_ALIASES = 1_000
MAX_NODES = 1_000_000

_TAG = "tag:yaml.org,2002:"
# JSON's types plus timestamps (the article format uses bare RFC 3339 values).
ALLOWED_TAGS = frozenset(
    _TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
_STR = _TAG + "str"
_INT = _TAG + "int"
_MERGE = _TAG + "merge"


class YamlError(Exception):
    """A YAML document we refuse, with the 0-based line (within the YAML text) to blame.

    `message` may hold "{line}" (and "{first}", the 0-based `first` line) for
    the caller to fill with file line numbers.
    """

    def __init__(self, message: str, line: int | None, first: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.first = first


@dataclass(slots=True)
class Loaded:
    root: Node | None
    data: Any
    added: int = 0  # the nodes its aliases add: expanded size less distinct nodes


def _check_key(key: Node) -> None:
    if isinstance(key, ScalarNode) and key.tag in (_STR, _MERGE):
        return
    line = key.start_mark.line
    if isinstance(key, ScalarNode):
        kind = key.tag.removeprefix(_TAG)
        raise YamlError(
            f"key {name_shown(key.value)} on line {{line}} is read as {kind}, "
            "not a string: quote it",
            line,
        )
    raise YamlError("complex (non-scalar) mapping key on line {line}: keys must be strings", line)


# A mapping's keys, merges included, and the longest chain of mappings merged into
# one another that ends at it (1: it merges none).
_Merged = dict[int, tuple[dict[str, Node], int]]


def _check_keys(node: MappingNode, merged: _Merged) -> None:
    """String keys only, each once: with a repeated key the last would silently win
    (`webUrl: evil` then `webUrl: good` would be checked and verified as good).

    A key that also arrives through a merge key (`<<: *base`) is repeated too:
    readers disagree on which copy wins (PyYAML lets the last of `<<: [*a, *b]`
    win, the merge-key spec the first, YAML 1.2 readers keep a key named `<<`).
    """
    first: dict[str, Node] = {}
    for key, _value in node.value:
        _check_key(key)
        # by value, never by identity: a key repeated through an alias
        # (`&k webUrl: …` then `*k : …`) is the very same node object
        earlier = first.get(key.value)
        if earlier is None:
            first[key.value] = key
        else:
            raise YamlError(
                f"duplicate key {name_shown(key.value)} on line {{line}} "
                "(first on line {first}): a key may appear only once in a mapping",
                key.start_mark.line,
                earlier.start_mark.line,
            )
    _merged_keys(node, merged, set())


def _merged_keys(node: MappingNode, memo: _Merged, active: set[int]) -> tuple[dict[str, Node], int]:
    """The keys `node` ends up with, merges included (a key met twice is refused), and
    the longest chain of merges that ends at it.

    PyYAML's own merging recurses once a link of such a chain, in an order of its
    own (a chain of aliases built in a list it reads after the mapping that merges
    the last: all at once), so a chain past MAX_DEPTH is refused here, whatever the
    stack: 963-977 links, inline or through aliases, were invalid to `check` and
    signed by `sign`. `active` holds the calls in progress, as long as the chain."""
    nid = id(node)
    done = memo.get(nid)
    if done is not None:
        return done
    if nid in active:
        raise YamlError(
            "recursive alias (a node that contains itself) on line {line}: not allowed",
            node.start_mark.line,
        )
    if len(active) >= MAX_DEPTH:
        raise _chain_too_long(node)
    active.add(nid)
    keys: dict[str, Node] = {}
    chain = 1
    for key, value in node.value:
        if key.tag != _MERGE:
            _add_key(keys, key.value, key, merged=False)
            continue
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if isinstance(source, MappingNode):  # anything else the constructor refuses
                names, links = _merged_keys(source, memo, active)
                chain = max(chain, links + 1)
                for name, where in names.items():
                    _add_key(keys, name, where, merged=True, at=key)
    if chain > MAX_DEPTH:
        raise _chain_too_long(node)
    active.discard(nid)
    memo[nid] = keys, chain
    return keys, chain


def _chain_too_long(node: Node) -> YamlError:
    return YamlError(
        f"merge keys ('<<') chain mappings deeper than {MAX_DEPTH} levels on line {{line}}, "
        "the limit for one article: flatten them",
        node.start_mark.line,
    )


def _add_key(
    keys: dict[str, Node], name: str, where: Node, *, merged: bool, at: Node | None = None
) -> None:
    earlier = keys.get(name)
    if earlier is None:
        keys[name] = where
        return
    line = (at or where).start_mark.line
    via = " (through the merge key '<<' on line {line})" if merged else " on line {line}"
    raise YamlError(
        f"duplicate key {name_shown(name)}{via}, also on line {{first}}: a key may appear only "
        "once in a mapping, merges included (readers disagree on which copy wins)",
        line,
        earlier.start_mark.line,
    )


def _check_int(node: Node) -> None:
    """An integer past int()'s digit limit, refused where it is: constructing it raised a
    bare ValueError that named no line and told the user to call a Python function."""
    limit = sys.get_int_max_str_digits()
    text = str(node.value)
    if limit and len(text) > limit:
        raise YamlError(
            f"an integer of {len(text):,} characters on line {{line}}: over the {limit:,}-digit "
            "limit for a number; quote it if it is an identifier",
            node.start_mark.line,
        )


def check_graph(root: Node, *, max_aliases: int = MAX_ALIASES, max_nodes: int = MAX_NODES) -> int:
    """Refuse alias bombs, recursive aliases, non-string keys and non-JSON tags; return
    the nodes the aliases add (the expanded size less the distinct nodes).

    Iterative depth-first walk; a node reached again after it is finished is
    an alias, and its expanded size is reused, so the cost is linear in the
    number of distinct nodes however large the expansion.
    """
    size: dict[int, int] = {}
    merged: _Merged = {}
    entered: set[int] = set()
    aliases = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        nid = id(node)
        if leaving:
            total = 1 + sum(size[id(child)] for child in children(node))
            if total > max_nodes:
                raise YamlError(
                    f"document expands to more than {max_nodes:,} nodes through aliases "
                    "(a 'billion laughs' document?): refusing it",
                    node.start_mark.line,
                )
            size[nid] = total
            entered.discard(nid)
            continue
        if nid in size:
            aliases += 1
            if aliases > max_aliases:
                raise YamlError(
                    f"more than {max_aliases:,} alias references: refusing the document",
                    node.start_mark.line,
                )
            continue
        if nid in entered:
            raise YamlError(
                "recursive alias (a node that contains itself) on line {line}: not allowed",
                node.start_mark.line,
            )
        if node.tag not in ALLOWED_TAGS and node.tag != _MERGE:
            tag = clip(node.tag.replace(_TAG, "!!"), NAME_SHOWN)
            raise YamlError(
                f"unsupported tag {tag} on line {{line}}: only plain JSON-like values "
                "and timestamps are allowed",
                node.start_mark.line,
            )
        if isinstance(node, MappingNode):
            _check_keys(node, merged)
        elif node.tag == _INT:
            _check_int(node)
        entered.add(nid)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children(node)))
    return size[id(root)] - len(size)


def load(text: str) -> Loaded:
    """Compose one document, check it, then construct it (datetimes stay datetimes)."""
    lines = FileLines.of(text)
    loader = SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _marked(exc, lines) from None
        except yaml.YAMLError as exc:  # ReaderError: a character YAML does not accept
            raise YamlError(f"invalid YAML: {exc}", _reader_line(exc, text)) from None
        if root is None:
            return Loaded(None, None)
        if lines is not None:
            lines.mend(root)
        added = check_graph(root)
        try:
            data = loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            raise _marked(exc, lines) from None
        except _UNBUILT as exc:  # a timestamp like 2020-13-45; `!!bool maybe`
            data = _construct_again(root, exc)
        return Loaded(root, data, added)
    except RecursionError:
        raise YamlError(too_deep_message("the YAML document"), None) from None
    finally:
        loader.dispose()


_BUILT = {
    _TAG + "timestamp": "timestamp",
    _INT: "integer",
    _TAG + "float": "number",
    _TAG + "bool": "boolean",
}
# What PyYAML's constructors raise for a scalar they cannot build: ValueError for an
# impossible date or a bad number, but an explicit tag on text that does not match
# (`!!timestamp soon`, `!!bool maybe`, `!!int` alone) raised AttributeError, KeyError or
# IndexError: a bug report.
_UNBUILT = (ValueError, OverflowError, AttributeError, KeyError, TypeError, IndexError)


def _unbuildable(root: Node) -> list[tuple[ScalarNode, Exception]]:
    """The timestamps, integers and numbers YAML cannot build, in document order (error
    path only: each is built again, alone)."""
    constructor = yaml.constructor.SafeConstructor()
    build = {
        _TAG + "timestamp": constructor.construct_yaml_timestamp,
        _INT: constructor.construct_yaml_int,
        _TAG + "float": constructor.construct_yaml_float,
        _TAG + "bool": constructor.construct_yaml_bool,
    }
    found: list[tuple[ScalarNode, Exception]] = []
    for node in distinct_nodes(root):
        if isinstance(node, ScalarNode) and node.tag in build:
            try:
                build[node.tag](node)
            except _UNBUILT as why:
                found.append((node, why))
    return found


def _construct_again(root: Node, exc: Exception) -> Any:
    """The document with each timestamp YAML cannot build (`2021-02-30`, a leap second
    `23:59:60`, year 0) kept as the text it is, as the same record in JSON keeps it and
    as the canonical form reads it: a field the monitor does not use is never a reason
    to refuse the record, and one it uses says what it expected of that field. Any
    other value that cannot be built is named with its line."""
    failed = _unbuildable(root)
    for node, why in failed:
        # kept as text: a date that cannot be (ValueError), not text that is no date
        if node.tag != _TAG + "timestamp" or not isinstance(why, ValueError | OverflowError):
            shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
            reason = f": {why}" if isinstance(why, ValueError | OverflowError) else ""
            raise YamlError(
                f"invalid {_BUILT[node.tag]} {shown!r} on line {{line}}{reason}; "
                "fix it, or quote it to keep it as text",
                node.start_mark.line,
            )
    if not failed:
        raise YamlError(f"invalid YAML value: {exc}", None)
    for node, _why in failed:
        node.tag = _STR
    try:
        return yaml.constructor.SafeConstructor().construct_document(root)
    except (yaml.YAMLError, *_UNBUILT) as again:
        raise YamlError(f"invalid YAML value: {again}", None) from None


def _marked(exc: yaml.MarkedYAMLError, lines: FileLines | None = None) -> YamlError:
    if lines is not None:
        exc.problem_mark = lines.mark(exc.problem_mark)
        exc.context_mark = lines.mark(exc.context_mark)
    mark = exc.problem_mark or exc.context_mark
    parts = [p for p in (exc.context, exc.problem) if p]
    what = ", ".join(parts) or "syntax error"
    where = f" (line {{line}}, column {mark.column + 1})" if mark is not None else ""
    hint = ""
    if exc.problem and (
        "mapping values" in exc.problem or "could not find expected" in exc.problem
    ):
        hint = ": check the indentation, and quote values that contain ': ' or ' #'"
    return YamlError(f"invalid YAML: {what}{where}{hint}", mark.line if mark else None)


def _reader_line(exc: yaml.YAMLError, text: str) -> int | None:
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        return text.count("\n", 0, position)
    return None


def node_line(root: Node, loc: Sequence[str | int]) -> int | None:
    """0-based line of the field at `loc` (a pydantic location), best effort."""
    node: Node = root
    line: int | None = root.start_mark.line
    for part in loc:
        if isinstance(node, MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.value == part:
                    line, node = key.start_mark.line, value
                    break
            else:
                return line
        elif isinstance(node, SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line
        else:
            return line
    return line
