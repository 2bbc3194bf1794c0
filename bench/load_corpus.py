"""Benchmark: loading a corpus with `monitor.corpus.iter_documents`, against plain parsers.

Generates N realistic article records (default 100,000) under a temporary
directory, as a production corpus tends to look: most records in JSON Lines
exports (10,000 lines per file) and a share (default 20%) as front-matter
`.txt` files, 100 per subdirectory. Then, each in a fresh subprocess so the
generator's memory does not count, and interleaved `--repeat` times:

- peer:  plain `json.loads` of every JSONL line and `yaml.CSafeLoader` of
         every front matter (split on the `---` lines): the floor any loader
         that parses these formats pays;
- load:  `iter_documents` (decode, parse, validate into Article models);
- full:  load, plus each document's target references (`document_refs`;
         the distinct URLs kept in a set, as `check` keeps them) and the static
         checks (`monitor.rules.static.document_problems`, `DuplicateDetector.add`) when
         that module is present.

It prints wall time, records/s (medians), peak RSS (ru_maxrss) and its growth
over the process's baseline after imports, and the load/peer ratios. Data is
deleted afterwards unless --keep is given. No network.

    .venv/bin/python bench/load_corpus.py --records 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PUBLISHERS = [
    ("The Verge", "theverge.com", "www.theverge.com", "/platform/amp{path}"),
    ("Ars Technica", "arstechnica.com", "arstechnica.com", "{path}?amp=1"),
    ("BBC News", "bbc.co.uk", "www.bbc.co.uk", "/news/amp{path}"),
    ("Reuters", "reuters.com", "www.reuters.com", None),
    ("The Guardian", "theguardian.com", "www.theguardian.com", "amp.theguardian.com{path}"),
    ("Wired", "wired.com", "www.wired.com", "/amp{path}"),
    ("Engadget", "engadget.com", "www.engadget.com", "/amp{path}"),
    ("The New York Times", "nytimes.com", "www.nytimes.com", "{path}.amp.html"),
    (
        "The Washington Post",
        "washingtonpost.com",
        "www.washingtonpost.com",
        "{path}?outputType=amp",
    ),
    ("ZDNet", "zdnet.com", "www.zdnet.com", None),
    ("CNN", "cnn.com", "edition.cnn.com", "amp.cnn.com/cnn{path}"),
    ("Business Standard", "business-standard.com", "www.business-standard.com", "/amp{path}"),
    ("Space.com", "space.com", "www.space.com", "/amp{path}"),
    ("The Register", "theregister.com", "www.theregister.com", "/AMP{path}"),
    ("heise online", "heise.de", "www.heise.de", "/amp{path}"),
    ("BleepingComputer", "bleepingcomputer.com", "www.bleepingcomputer.com", "{path}amp/"),
    ("TechCrunch", "techcrunch.com", "techcrunch.com", "{path}amp/"),
    ("AnandTech", "anandtech.com", "www.anandtech.com", None),
    ("Le Monde", "lemonde.fr", "www.lemonde.fr", "/amp{path}"),
    ("Der Spiegel", "spiegel.de", "www.spiegel.de", "/amp{path}"),
]
TOPICS = ["AI", "Security", "Space", "Climate", "Business", "Policy", "Gaming", "Hardware", "Linux"]
WORDS = (
    "the a new report says company launch users data security update review market "
    "government study after week year million billion price release software chip"
).split()

FM_PER_DIR = 100
JSONL_PER_FILE = 10_000


# --- generation ------------------------------------------------------------------------


def cdn_url(amp: str) -> str:
    """AMP cache URL for an ASCII host (every generated host is ASCII)."""
    parts = urlsplit(amp)
    host = parts.hostname or ""
    sub = host.replace("-", "--").replace(".", "-")
    query = f"?{parts.query}" if parts.query else ""
    return f"https://{sub}.cdn.ampproject.org/c/s/{parts.netloc}{parts.path}{query}"


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def page(rng: random.Random, i: int, suffix: str) -> dict[str, Any]:
    name, domain, host, amp_pattern = rng.choice(PUBLISHERS)
    y, m, d = rng.randint(2019, 2024), rng.randint(1, 12), rng.randint(1, 28)
    hh, mm = rng.randint(0, 23), rng.randint(0, 59)
    slug = "-".join(rng.choice(WORDS) for _ in range(6))
    path = f"/{y}/{m:02d}/{d:02d}/{slug}-{i}{suffix}/"
    web = f"https://{host}{path}"
    amp = None
    if amp_pattern is not None and rng.random() < 0.85:
        filled = amp_pattern.format(path=path)
        amp = f"https://{filled}" if not filled.startswith("/") else f"https://{host}{filled}"
    images = [
        {
            "url": f"https://cdn.{domain}/uploads/{y}/{m:02d}/{slug}-{i}{suffix}-{k}.jpg",
            "width": rng.choice([800, 1024, 1200, 1600]),
            "height": rng.choice([450, 533, 675, 900]),
        }
        for k in range(rng.randint(1, 3))
    ]
    if rng.random() < 0.5:
        images[0]["title"] = sentence(rng, 6)
    return {
        "title": sentence(rng, 9),
        "publishedDateTime": f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:00Z",
        "webUrl": web,
        "ampWebUrl": amp,
        "cdnAmpWebUrl": cdn_url(amp) if amp else None,
        "type": "article",
        "provider": {
            "name": name,
            "domain": domain,
            "images": [
                {
                    "url": f"https://insideout.app/ai/assets/images/organizations/{domain}-50x50.jpg",
                    "width": 50,
                    "height": 50,
                }
            ],
        },
        "images": images,
    }


def make_record(rng: random.Random, i: int) -> dict[str, Any]:
    rec = {"category": "news", **page(rng, i, "")}
    rec["excerpt"] = sentence(rng, 45) + " ..."
    rec["quality"] = rng.randint(40, 99)
    rec["heat"] = rng.randint(10, 99)
    rec["published"] = True
    rec["topics"] = rng.sample(TOPICS, rng.randint(1, 3))
    if rng.random() < 0.3:
        rel = [page(rng, i, f"-r{k}") for k in range(rng.randint(1, 2))]
        for r in rel:
            r["provider"].pop("images")
        rec["related"] = rel
    return rec


def _yaml_value(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_yaml_value(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(key, item)}")
    else:
        for item in value:
            sub = (
                _yaml_value(item, indent + 2)
                if isinstance(item, dict)
                else [f"{pad}  {_yaml_scalar('', item)}"]
            )
            sub[0] = f"{pad}- {sub[0].lstrip()}"
            lines.extend(sub)
    return lines


def _yaml_scalar(key: str, value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[]"
    if key.endswith("DateTime"):
        return str(value)  # a bare RFC 3339 timestamp, as in the seed
    return json.dumps(value, ensure_ascii=False)


def front_matter(rec: dict[str, Any]) -> str:
    return "---\n" + "\n".join(_yaml_value(rec, 0)) + "\n---\n\nBody text, ignored.\n"


def generate(root: Path, records: int, fm_share: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    n_fm = round(records * fm_share)
    n_jsonl = records - n_fm
    (root / "jsonl").mkdir(parents=True)
    files = 0
    for start in range(0, n_jsonl, JSONL_PER_FILE):
        with (root / "jsonl" / f"part-{start // JSONL_PER_FILE:05d}.jsonl").open("w") as fh:
            for i in range(start, min(start + JSONL_PER_FILE, n_jsonl)):
                fh.write(json.dumps(make_record(rng, i), ensure_ascii=False) + "\n")
        files += 1
    for j in range(n_fm):
        i = n_jsonl + j
        directory = root / "fm" / f"{j // FM_PER_DIR:05d}"
        if j % FM_PER_DIR == 0:
            directory.mkdir(parents=True)
        (directory / f"{i:07d}.txt").write_text(front_matter(make_record(rng, i)), "utf-8")
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    return {"jsonl_records": n_jsonl, "jsonl_files": files, "fm_files": n_fm, "bytes": size}


# --- measured children -------------------------------------------------------------------


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def child_peer(root: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    baseline = _rss_bytes()
    start = time.perf_counter()
    count = 0
    for path in sorted(root.rglob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    json.loads(line)
                    count += 1
    for path in sorted(root.rglob("*.txt")):
        text = path.read_text("utf-8")
        end = text.index("\n---", 3)
        yaml.load(text[4:end], Loader=loader)  # CSafeLoader: safe
        count += 1
    return {
        "records": count,
        "invalid": 0,
        "wall_s": time.perf_counter() - start,
        "baseline_rss": baseline,
        "peak_rss": _rss_bytes(),
        "static": None,
    }


def child_monitor(root: Path, full: bool) -> dict[str, Any]:
    from datetime import UTC, datetime

    from monitor.corpus import iter_documents
    from monitor.corpus.article import InvalidDocument
    from monitor.targets import document_refs

    static = "skipped (integrity not available)"
    checks: Any = None
    if full:
        try:
            from monitor.rules.static import DuplicateDetector, document_problems

            checks = (DuplicateDetector(), document_problems)
            static = "document_problems + DuplicateDetector.add"
        except ImportError:
            pass
    urls: set[str] = set()  # what `check` keeps corpus-wide: each distinct URL once
    now = datetime.now(UTC)
    baseline = _rss_bytes()
    start = time.perf_counter()
    count = invalid = problems = 0
    for item in iter_documents([root]):
        if isinstance(item, InvalidDocument):
            invalid += 1
            continue
        count += 1
        if full:
            urls.update(url for url, _ in document_refs(item))
            if checks is not None:
                checks[0].add(item)
                problems += len(checks[1](item, now=now))
    out: dict[str, Any] = {
        "records": count,
        "invalid": invalid,
        "wall_s": time.perf_counter() - start,
        "baseline_rss": baseline,
        "peak_rss": _rss_bytes(),
    }
    if full:
        out.update(static=static, targets=len(urls), problems=problems)
    return out


def run_child(mode: str, root: Path, timeout: float) -> dict[str, Any] | None:
    """One measured run in a fresh interpreter; None if it ran out of time."""
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", mode, str(root)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# --- driver --------------------------------------------------------------------------------

MODES = {
    "peer": "peer: json.loads + yaml.CSafeLoader",
    "load": "load: iter_documents",
    "full": "full: load + targets + static checks",
}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument(
        "--front-matter-share",
        type=float,
        default=0.2,
        help="share of records written as front-matter files (default 0.2)",
    )
    ap.add_argument("--repeat", type=int, default=3, help="runs of each mode, interleaved")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="generate here and keep the data")
    ap.add_argument(
        "--modes", default="peer,load,full", help="comma-separated subset of peer,load,full"
    )
    ap.add_argument(
        "--child-timeout", type=float, default=900, help="seconds allowed for one measured run"
    )
    ap.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _terminate)

    if args.child:
        mode, root = args.child[0], Path(args.child[1])
        result = child_peer(root) if mode == "peer" else child_monitor(root, full=mode == "full")
        print(json.dumps(result))
        return 0

    tmp = None
    if args.keep:
        root = args.keep
        if root.exists() and any(root.iterdir()):
            raise SystemExit(f"--keep {root}: directory is not empty")
    else:
        tmp = tempfile.mkdtemp(prefix="load-corpus-")
        root = Path(tmp) / "corpus"
    try:
        start = time.perf_counter()
        info = generate(root, args.records, args.front_matter_share, args.seed)
        print(
            f"corpus: {args.records:,} records ({info['jsonl_records']:,} in {info['jsonl_files']} "
            f"JSONL files, {info['fm_files']:,} front-matter files), "
            f"{info['bytes'] / 1e6:.1f} MB, generated in {time.perf_counter() - start:.1f} s"
        )
        modes = [m for m in MODES if m in args.modes.split(",")]
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
        timed_out: set[str] = set()
        for _ in range(args.repeat):
            for mode in modes:
                if mode in timed_out:
                    continue
                measured = run_child(mode, root, args.child_timeout)
                if measured is None:
                    timed_out.add(mode)
                else:
                    runs[mode].append(measured)
        return report(runs, args.records, timed_out, args.child_timeout)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def report(
    runs: dict[str, list[dict[str, Any]]], expected: int, timed_out: set[str], timeout: float
) -> int:
    rates: dict[str, float] = {}
    head = ("run", "records", "wall s", "records/s", "peak RSS MB", "growth MB")
    print(f"{head[0]:<40} {head[1]:>9} {head[2]:>8} {head[3]:>10} {head[4]:>12} {head[5]:>10}")
    ok = not timed_out
    for mode, results in runs.items():
        label = MODES[mode]
        if mode in timed_out:
            print(f"{label:<40} timed out after {timeout:.0f} s (see --child-timeout)")
            continue
        wall = statistics.median(r["wall_s"] for r in results)
        peak = max(r["peak_rss"] for r in results)
        growth = max(r["peak_rss"] - r["baseline_rss"] for r in results)
        records = results[0]["records"]
        rates[mode] = records / wall
        print(
            f"{label:<40} {records:>9,} {wall:>8.2f} {rates[mode]:>10,.0f} "
            f"{peak / 1e6:>12.1f} {growth / 1e6:>10.1f}"
        )
        if any(r["records"] != expected or r["invalid"] for r in results):
            ok = False
            bad = results[0]["invalid"]
            print(f"  ERROR: {mode}: {records:,} records, {bad} invalid; expected {expected:,}")
    if runs.get("full"):
        full = runs["full"][0]
        problems = "" if "not available" in full["static"] else f" ({full['problems']} problems)"
        print(f"targets: {full['targets']:,}; static checks: {full['static']}{problems}")
    if "peer" in rates:
        ratios = [
            f"{m}/peer: {rates[m] / rates['peer']:.2f}x" for m in ("load", "full") if m in rates
        ]
        if ratios:
            print(f"ratio {'; '.join(ratios)} (records/s, medians of {len(runs['peer'])} runs)")
    return 0 if ok else 1


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so the temporary corpus is still removed


if __name__ == "__main__":
    sys.exit(main())
