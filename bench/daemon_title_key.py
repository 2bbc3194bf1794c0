"""Benchmark: the daemon parent's page mark with and without the title key sent
by the checker process (issue 16).

`outcome.page_mark` over 40,000 distinct titles (the 100,000-target benchmark's
web and AMP pages): the parent computing `title_key` (its word cache keeps
4,096 entries, so every title misses) against the key taken in the checker
process and sent with the result. CPU per marked page (`time.thread_time`),
interleaved rounds, medians. No network. Usage:

    .venv/bin/python bench/daemon_title_key.py [--titles 40000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

from monitor.content.simhash import title_key
from monitor.daemon.outcome import Policy, page_mark
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--titles", type=int, default=40_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(16)
    letters = "abcdefghijklmnopqrstuvwxyz"
    lexicon = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(6000)]
    titles = [
        " ".join(
            rng.choice(lexicon).capitalize() if i % 3 == 0 else rng.choice(lexicon)
            for i in range(rng.randint(6, 12))
        )
        + " | Example News"
        for _ in range(args.titles)
    ]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    policy = Policy(3600.0, 60.0, 0.0, 3, 1, text_tolerance=14)

    def results(sent: bool) -> list[CheckResult]:
        return [
            CheckResult(
                "http://a.test/x",
                Kind.WEB,
                Outcome.OK,
                at,
                facts=ContentFacts(title=t, text_hash=5, title_key=title_key(t) if sent else None),
            )
            for t in titles
        ]

    cases = {"parent computes": results(False), "checker sent it": results(True)}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, batch in cases.items():
            start = time.thread_time()
            for r in batch:
                page_mark(r, policy)
            times[name].append((time.thread_time() - start) / len(batch) * 1e6)
    for name, values in times.items():
        rounds = ", ".join(f"{v:.1f}" for v in values)
        print(f"{name:<16} {statistics.median(values):6.2f} us per marked page ({rounds})")


if __name__ == "__main__":
    main()
