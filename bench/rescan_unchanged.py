"""Benchmark: a rescan of an unchanged corpus (the daemon's every `rescan_interval`).

Writes FILES small front-matter files (default 20,000, 100 a folder, no dates
ahead), stores them with one pass of `CorpusScanner` into a SQLite file, then
times `--rounds` passes over the unchanged files (each lists, stats and compares
every file with its stored fingerprint, and reads none) and prints the median
CPU time (process_time: the machine may be shared) and its spread in ms, and
µs a file. Run it against two trees to compare:

    .venv/bin/python bench/rescan_unchanged.py --files 20000
    PYTHONPATH=/path/to/other/tree .venv/bin/python bench/rescan_unchanged.py

No network: nothing is checked, only scanned.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import monitor
from monitor.config import Settings
from monitor.daemon.scan import CorpusScanner
from monitor.secured.keys import KeyRing
from monitor.storage.engine import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.repository import Repository


def doc(n: int) -> str:
    return (
        f'---\nwebUrl: "https://news{n % 97}.example.com/a/{n}"\ntitle: "t{n}"\n'
        f'publishedDateTime: "2026-01-01T10:00:00Z"\n'
        f"provider:\n  name: News\n  domain: news{n % 97}.example.com\n---\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="am-rescan-") as tmp:
        root = Path(tmp) / "corpus"
        for n in range(args.files):
            folder = root / f"d{n // 100}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{n}.txt").write_text(doc(n))
        engine = make_engine(f"sqlite:///{tmp}/am.db")
        upgrade(engine)
        settings = Settings(paths=[root], data_dir=Path(tmp), kinds=["web"])
        scanner = CorpusScanner(Repository(engine), settings, KeyRing.empty())
        first = scanner.scan()
        assert first.changed == args.files, first
        times = []
        for _ in range(args.rounds):
            t = time.process_time()
            report = scanner.scan()
            times.append(time.process_time() - t)
            assert report.changed == 0 and report.files == args.files, report
        engine.dispose()
    med = statistics.median(times)
    print(
        f"{monitor.__file__}\n{args.files} unchanged files, {args.rounds} rescans: median "
        f"{med * 1000:.0f} ms ({min(times) * 1000:.0f}-{max(times) * 1000:.0f}), "
        f"{med / args.files * 1e6:.1f} µs a file"
    )


if __name__ == "__main__":
    main()
