"""Benchmark: what `exclude_urls` costs per target reference, with 0, 1 and 10 patterns.

Makes N records (default 20,000) with bench/load_corpus.py's generator (real
publishers' URL shapes, ~90 characters on average: web, AMP, AMP-cache,
images, provider logos, related items) and their target references, then
times, interleaved `--repeat` times (medians):

- the audit's added step alone, over every document's references: nothing with
  0 patterns (the audit skips it), else the list kept by `UrlExclusion.excludes`;
- for scale, `document_refs` itself (what making the references costs);
- the whole `audit_document` with each set (signature check and static checks
  included: the difference is within its noise on a shared machine).

The ten patterns are the kind operators write (anchored hosts, a path, an
extension, a query) and match none of the URLs: the costly case, every pattern
tried on every URL. No network.

    .venv/bin/python bench/exclude_urls.py --records 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_corpus import make_record

from monitor.config import Settings
from monitor.corpus.article import Article, Document
from monitor.rules.audit import AuditRules, audit_document
from monitor.secured.keys import KeyRing
from monitor.targets import document_refs

TEN = [
    r"^https?://ads\.",
    r"^https?://[^/]*\.doubleclick\.net/",
    r"tracking\.example\.com",
    r"/pixel\.gif$",
    r"^https?://partner-down\.example/",
    r"[?&]utm_",
    r"^https?://cdn\.blocked\.example/",
    r"/beacon/",
    r"^https?://metrics\.",
    r"\.(?:mp4|webm)$",
]
SETS = {"0 patterns": [], "1 pattern": TEN[:1], "10 patterns": TEN}


def _median_per(times: list[float], count: int) -> float:
    return statistics.median(times) / count * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    docs = []
    for i in range(args.records):
        raw = make_record(rng, i)
        docs.append(Document("bench.jsonl", i + 1, raw, Article.model_validate(raw)))
    ring, now = KeyRing([]), datetime.now(UTC)
    rules = {name: AuditRules.of(Settings(exclude_urls=p)) for name, p in SETS.items()}
    all_refs = [document_refs(d) for d in docs]
    count = sum(len(refs) for refs in all_refs)
    step: dict[str, list[float]] = {name: [] for name in SETS}
    making: list[float] = []
    audit: dict[str, list[float]] = {name: [] for name in SETS}
    for _ in range(args.repeat):
        started = time.perf_counter()
        for d in docs:
            document_refs(d)
        making.append(time.perf_counter() - started)
        for name, r in rules.items():
            started = time.perf_counter()
            if r.urls:  # as audit_document: no patterns, no step
                excludes = r.urls.excludes
                for refs in all_refs:
                    [ref for ref in refs if not excludes(ref[0])]
            step[name].append(time.perf_counter() - started)
            started = time.perf_counter()
            for d in docs:
                audit_document(d, ring, now=now, rules=r)
            audit[name].append(time.perf_counter() - started)
    excluded = sum(
        audit_document(d, ring, now=now, rules=rules["10 patterns"]).excluded for d in docs
    )
    print(
        f"{args.records} records, {count} target references ({excluded} matched), "
        f"repeat {args.repeat}, medians per reference:"
    )
    print(f"  document_refs (for scale):       {_median_per(making, count):6.3f} µs")
    for name in SETS:
        print(f"  exclusion step, {name:11}:     {_median_per(step[name], count):6.3f} µs")
    for name in SETS:
        print(f"  whole audit, {name:11}:        {_median_per(audit[name], count):6.3f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
