"""The nodes of one composed YAML graph, for every walk of it.

Aliases share nodes, so a walk that does not remember what it has seen visits a
shared node once per alias (the billion laughs): the size check, the file-line
marks and the values built again all walk through here.
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, SequenceNode


def children(node: Node) -> list[Node]:
    """A node's children in document order (a mapping's key before its value)."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        out: list[Node] = []
        for key, value in node.value:
            out.append(key)
            out.append(value)
        return out
    return []


def distinct_nodes(root: Node) -> Iterator[Node]:
    """Each node reachable from `root` once, in document order (depth first)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(children(node)))
