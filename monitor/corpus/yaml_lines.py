"""File lines for PyYAML's marks: YAML 1.1 breaks lines where a file does not.

PyYAML counts NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR and a CR alone as line
breaks, so in a document holding one every error after it named a later line
(and a wrong column) than the file's, whose lines end in `\\n`. The marks'
character index is right: line and column are told from it again.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

import yaml
from yaml.nodes import Node

from monitor.corpus.yaml_nodes import distinct_nodes

# What YAML 1.1 counts as a line break and a file's lines do not.
_ODD_BREAK = re.compile(r"\r(?!\n)|[\x85\u2028\u2029]")


class FileLines:
    """The `\\n`-ended lines of one YAML text, for its marks."""

    def __init__(self, text: str) -> None:
        self._ends = [found.start() for found in re.finditer("\n", text)]

    @classmethod
    def of(cls, text: str) -> FileLines | None:
        """None when PyYAML's lines are the file's already (the usual case: no walk)."""
        return cls(text) if _ODD_BREAK.search(text) else None

    def mark(self, mark: Any) -> Any:
        """The mark at its file line and column (libyaml's marks cannot be changed)."""
        if mark is None:
            return None
        line = bisect.bisect_left(self._ends, mark.index)
        column = mark.index - (self._ends[line - 1] + 1 if line else 0)
        return yaml.Mark(mark.name, mark.index, line, column, None, 0)

    def mend(self, root: Node) -> None:
        """Every mark of every node of the graph, set to its file line."""
        for node in distinct_nodes(root):
            node.start_mark = self.mark(node.start_mark)
            node.end_mark = self.mark(node.end_mark)
