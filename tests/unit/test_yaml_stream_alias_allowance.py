"""What YAML aliases may add to a `.yaml` stream is bounded for the whole file, as it was
when a `.yaml` file was one document: the limit of a million expanded nodes held per
document, so a 16 MiB stream of 300-byte "laughs" documents, each just under it,
expanded to some 5 * 10^10 nodes for everything after the reader (the daemon's
content hash alone: 50 ms of CPU a document, 45 minutes a rescan of such a file)."""

from __future__ import annotations

import yaml

from monitor.corpus import parse_text
from monitor.corpus.article import Document, InvalidDocument
from monitor.corpus.yaml_safe import MAX_NODES, check_graph


def _laughs(n: int) -> str:
    """A document adding ~666,000 nodes through 46 aliases, under the per-document limit."""
    lines = ["---", f"webUrl: https://news.example.com/{n}", "a0: &a0 [x,x,x,x,x,x,x,x,x,x]"]
    for k in range(1, 5):
        lines.append(f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 10) + "]")
    lines.append("b: [" + ",".join(["*a4"] * 5) + "]")
    return "\n".join(lines) + "\n"


def test_check_graph_tells_what_the_aliases_add() -> None:
    node = yaml.compose("a: &a [1, 2, 3]\nb: [*a, *a, *a]\n")
    assert node is not None
    # distinct: map, 2 keys, 2 lists, 3 items = 8; expanded: 8 + 3 * 4 = 20
    assert check_graph(node) == 12


def test_a_stream_of_laughs_costs_one_allowance() -> None:
    text = "".join(_laughs(n) for n in range(6))
    items = list(parse_text("s.yaml", text, ".yaml"))
    read = [i for i in items if isinstance(i, Document)]
    refused = [i for i in items if isinstance(i, InvalidDocument)]
    assert len(read) == 1 and len(refused) == 5
    assert len(text) + MAX_NODES < 2 * 666_000
    first = refused[0]
    assert first.line == 10  # the line of its record: its first key
    assert "through aliases" in first.error and "whole file" in first.error


def test_documents_that_merge_a_base_each_are_all_read() -> None:
    """Anchors do not cross documents, so each repeats its own base: ordinary use."""
    doc = (
        "---\nbase: &b {{name: P, domain: news.example.com}}\n"
        "provider: {{<<: *b}}\nwebUrl: https://news.example.com/{n}\nextra: [*b, *b, *b]\n"
    )
    items = list(parse_text("s.yaml", "".join(doc.format(n=n) for n in range(3_000)), ".yaml"))
    assert len(items) == 3_000
    assert all(isinstance(i, Document) for i in items)
