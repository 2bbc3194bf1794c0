"""Runs one child program per tree of the package, interleaved over rounds (A/B).

Each tree (`NAME=DIR`) is imported by PYTHONPATH in its own child, started from
an empty folder (`python -c` puts the working directory first on `sys.path`,
which would make every tree the checkout's). The child prints its figure as the
last word of its output.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence


def parse_trees(specs: Sequence[str]) -> list[tuple[str, str]]:
    """`NAME=DIR` options; none means the package as installed here."""
    pairs = [spec.split("=", 1) for spec in specs]
    return [(name, tree) for name, tree in pairs] or [("here", ".")]


def run_trees(
    trees: Sequence[tuple[str, str]], rounds: int, child: str, argv: Sequence[str]
) -> dict[str, list[float]]:
    """Each tree's figures, one per round, the trees taking turns in every round."""
    figures: dict[str, list[float]] = {name: [] for name, _ in trees}
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(rounds):
            for name, tree in trees:
                env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
                out = subprocess.run(
                    [sys.executable, "-c", child, *argv],
                    env=env,
                    cwd=cwd,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                figures[name].append(float(out.stdout.split()[-1]))
    return figures


def print_medians(figures: dict[str, list[float]], unit: str, digits: int = 1) -> None:
    """One line per tree: the median, then every round's figure."""
    for name, values in figures.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {name:<8} {statistics.median(values):6.{digits}f} {unit} ({rounds})")
