"""The one walk of a composed YAML graph (monitor/corpus/yaml_nodes.py): each
distinct node once, in document order, however often aliases share it."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st
from yaml.nodes import Node, ScalarNode

from monitor.corpus.yaml_nodes import children, distinct_nodes


def _compose(text: str) -> Node:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    assert node is not None
    return node


def _scalars(root: Node) -> list[str]:
    return [n.value for n in distinct_nodes(root) if isinstance(n, ScalarNode)]


def test_document_order_keys_before_values() -> None:
    root = _compose("a: [1, 2]\nb: {c: 3}\nd: 4\n")
    assert _scalars(root) == ["a", "1", "2", "b", "c", "3", "d", "4"]


def test_a_node_shared_by_aliases_comes_once() -> None:
    root = _compose("base: &b {x: 1}\none: *b\ntwo: [*b, *b]\n")
    walked = list(distinct_nodes(root))
    assert len(walked) == len({id(n) for n in walked})
    assert _scalars(root) == ["base", "x", "1", "one", "two"]


def test_a_billion_laughs_is_walked_in_its_distinct_nodes() -> None:
    lines = ["a0: &a0 [x]"]
    lines += [f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}, *a{n - 1}]" for n in range(1, 30)]
    walked = list(distinct_nodes(_compose("\n".join(lines) + "\n")))
    assert len(walked) == 1 + 30 * 2 + 1  # the root, each key and list, and "x"


def _naive(node: Node) -> list[Node]:
    """The tree walk without sharing (document order by recursion), for small trees."""
    return [node, *(n for child in children(node) for n in _naive(child))]


_values = st.recursive(
    st.integers(0, 9) | st.text("ab", max_size=2),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text("kxyz", min_size=1, max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(_values)
def test_without_aliases_it_is_the_plain_tree_walk(value: object) -> None:
    root = _compose(yaml.safe_dump(value))
    assert list(distinct_nodes(root)) == _naive(root)
