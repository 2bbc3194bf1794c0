"""Benchmark: `check --offline` of one large `.json` list, peak RSS and CPU time.

Generates a `.json` list of N realistic article records (default 120,000, about
200 MB; the records of load_corpus.py, one a line), then runs
`article-monitor check --offline --format json` on it under `/usr/bin/time -v`
and prints its peak resident memory, user and system CPU time and wall time.
`--before REV` runs the same command first with the `monitor` package of git
revision REV (extracted with `git archive` into a temporary directory and put
first on PYTHONPATH), so the two readings of the same file compare; the two
reports must be the same apart from their elapsed time. No network.

    .venv/bin/python bench/json_window.py --records 120000 --before e68bf03
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from load_corpus import make_record

ROOT = Path(__file__).resolve().parent.parent
_FIELDS = {
    "peak_kb": r"Maximum resident set size \(kbytes\): (\d+)",
    "user_s": r"User time \(seconds\): ([\d.]+)",
    "sys_s": r"System time \(seconds\): ([\d.]+)",
    "wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)",
}


def generate(path: Path, records: int, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for i in range(records):
            line = json.dumps(make_record(rng, i), ensure_ascii=False)
            out.write(("," if i else "") + line + "\n")
        out.write("]\n")


def run(corpus: Path, pythonpath: Path | None, report: Path) -> dict[str, Any]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "monitor", "check", "--offline"]
    with report.open("w") as out:
        done = subprocess.run(
            [*cmd, "--format", "json", str(corpus)],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=corpus.parent,
            timeout=1800,
            check=False,
        )
    if done.returncode not in (0, 1):
        raise SystemExit(f"check failed ({done.returncode}):\n{done.stderr[-2000:]}")
    found: dict[str, Any] = {}
    for name, pattern in _FIELDS.items():
        match = re.search(pattern, done.stderr)
        found[name] = match.group(1) if match else "?"
    return found


def summary(report: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(report.read_text())
    data["summary"].pop("elapsed_s", None)
    return data


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=120_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--before", metavar="REV", help="also run the monitor package of git REV")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="json-window-") as tmp:
        work = Path(tmp)
        corpus = work / "list.json"
        generate(corpus, args.records, args.seed)
        print(f"{corpus.stat().st_size / 1e6:.1f} MB, {args.records:,} records")
        runs: list[tuple[str, Path | None]] = [("now", None)]
        if args.before:
            old = work / "old"
            old.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.before, "monitor"],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            runs.insert(0, (args.before, old))
        reports = []
        for name, path in runs:
            report = work / f"report-{len(reports)}.json"
            found = run(corpus, path, report)
            reports.append(report)
            print(
                f"{name:>10}: peak RSS {int(found['peak_kb']) / 1024:.0f} MiB, "
                f"user {found['user_s']} s, sys {found['sys_s']} s, wall {found['wall']}"
            )
        if len(reports) == 2 and summary(reports[0]) != summary(reports[1]):
            print("the two reports differ")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
