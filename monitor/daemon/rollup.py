"""Pure: one target's day of results → its rollup row (counts by outcome, p50, p95)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any


def percentile(sorted_values: Sequence[int], q: float) -> int | None:
    """Nearest-rank percentile (q in 0..1) of an ascending sequence."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def rollup_row(
    target_id: int, day: int, samples: Sequence[tuple[int, int | None]]
) -> dict[str, Any]:
    """`samples` are (outcome code, latency ms or None) of one target on one day."""
    counts = Counter(code for code, _ in samples)
    latencies = sorted(lat for _, lat in samples if lat is not None)
    return {
        "target_id": target_id,
        "day": day,
        "checks": len(samples),
        "counts": " ".join(f"{code}:{n}" for code, n in sorted(counts.items())),
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
    }
