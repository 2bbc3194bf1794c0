"""Pure: recent results → the shapes of a small latency chart drawn as inline SVG.

Numbers only (the template escapes nothing here but draws these). Oldest on
the left. A failed check is a cross on the baseline, an answered one a dot,
so the chart does not rely on colour; the description says the same in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WIDTH = 600
HEIGHT = 160
PAD_LEFT = 48
PAD_RIGHT = 8
PAD_TOP = 12
PAD_BOTTOM = 20
UP = {"ok", "moved"}


@dataclass(slots=True)
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    line: str = ""  # polyline points of answered checks
    dots: list[tuple[float, float]] = field(default_factory=list)
    crosses: list[tuple[float, float]] = field(default_factory=list)
    top_ms: int = 0
    baseline: float = HEIGHT - PAD_BOTTOM
    left: int = PAD_LEFT
    right: int = WIDTH - PAD_RIGHT
    summary: str = ""


def _nice(value: int) -> int:
    """A round ceiling for the axis (1, 2, 5 × 10^n)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def latency_chart(results: list[dict[str, Any]]) -> Chart | None:
    """`results` newest first (as the API lists them); None when there are none."""
    if not results:
        return None
    ordered = list(reversed(results))
    latencies = [r["latency_ms"] for r in ordered if r["latency_ms"] is not None]
    top = _nice(max([1, *latencies]))
    chart = Chart(top_ms=top)
    span = chart.right - chart.left
    usable = chart.baseline - PAD_TOP
    step = span / max(1, len(ordered) - 1)
    points = []
    failed = 0
    for i, r in enumerate(ordered):
        x = round(chart.left + i * step, 1)
        if r["outcome"] in UP and r["latency_ms"] is not None:
            y = round(chart.baseline - usable * min(r["latency_ms"], top) / top, 1)
            points.append(f"{x},{y}")
            chart.dots.append((x, y))
        else:
            failed += 1
            chart.crosses.append((x, chart.baseline))
    chart.line = " ".join(points)
    answered = sorted(
        r["latency_ms"] for r in ordered if r["outcome"] in UP and r["latency_ms"] is not None
    )
    if answered:
        median = answered[len(answered) // 2]
        chart.summary = (
            f"{len(ordered)} checks, oldest first: median latency {median} ms, "
            f"highest {answered[-1]} ms, {failed} failed"
        )
    else:
        chart.summary = f"{len(ordered)} check{'s' if len(ordered) != 1 else ''}, all failed"
    return chart
