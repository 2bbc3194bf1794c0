"""Microbenchmark: the CPU of a page's text mark (content/simhash.py) per page.

The daemon asks `head_facts(..., text_hash=True)` of every page it checks; `check`
never does. This times, in CPU (time.thread_time), medians of interleaved rounds,
in microseconds per page:

- `facts`: `head_facts` without the mark (what `check` pays);
- `first`: with the mark, every window new (the window marks cleared before
  each round): a first sighting, or `run --once`;
- `recheck`: with the mark, every window seen before (a recheck of an unchanged page);
- `simhash`, `visible`, `digest`: the parts (the simhash of the visible text, the
  visible text of the window, the window marks' SHA-256 (cut to 128 bits) of the window's text).

Pages: bench/websim.py's small (1-3 KB after the head, as
`check_vs_lychee.py --shape small` and `daemon_vs_check.py` serve) and realistic
(~30-60 KB) web pages, and content_scan.py's real-world heads (20-40 KB, then
navigation and 30-60 KB of text). With `--against DIR` (a copy of the package,
e.g. ``git worktree add /tmp/base HEAD~1``) the same pages go through that tree's
`head_facts` in the same rounds: `base first` (it has no window marks: every
page is computed). `--memory N` fills the window marks with N windows and prints
their size (tracemalloc). Usage::

    .venv/bin/python bench/text_marks.py --pages 200 --rounds 7 [--against /tmp/base]
    .venv/bin/python bench/text_marks.py --memory 100000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import content_scan  # noqa: E402
import websim  # noqa: E402

from monitor.content import simhash as sh  # noqa: E402
from monitor.content.charset import decode  # noqa: E402
from monitor.content.head_scan import fast_head  # noqa: E402
from monitor.content.html import head_facts  # noqa: E402

Pages = list[tuple[str, bytes]]


def websim_pages(shape: str, count: int) -> Pages:
    content = websim.Content(seed=7, shape=websim.SHAPES[shape])
    out = []
    for i in range(count):
        host = f"127.0.0.{1 + i % 50}:{content_scan.PORT}"
        url = websim.page_url(host.split(":")[0], content_scan.PORT, f"story-{i:05d}-votes")
        resp = content.respond(url.split(host, 1)[1], host, None)
        out.append((url, b"".join(bytes(p) for p in resp.parts)))
    return out


def windows(pages: Pages) -> list[str]:
    """The text window of each page, as page_simhash cuts it."""
    out = []
    for _, data in pages:
        text = decode(data)
        head_end = fast_head(text).head_end or 0  # type: ignore[union-attr]
        end = sh.window_end(data)
        if end is not None and end < len(data):
            text = decode(data[:end])
        out.append(text[head_end:])
    return out


def cpu_per_item(run: Callable[[], object], items: int) -> float:
    start = time.thread_time()
    run()
    return (time.thread_time() - start) / items * 1e6


def cases(pages: Pages, base: Callable[..., object] | None) -> dict[str, Callable[[], object]]:
    frags = windows(pages)
    texts = [sh.visible_text(f, collapse=False) for f in frags]

    def facts() -> None:
        for url, data in pages:
            head_facts(data, base_url=url)

    def marked() -> None:
        for url, data in pages:
            head_facts(data, base_url=url, text_hash=True)

    def first() -> None:
        sh._window_marks.clear()
        marked()

    def digest() -> None:
        for f in frags:
            sh.hashlib.sha256(f.encode("utf-8", "surrogatepass")).digest()[:16]

    out: dict[str, Callable[[], object]] = {
        "facts": facts,
        "first": first,
        "recheck": marked,
        "simhash": lambda: [sh.simhash(t) for t in texts],
        "visible": lambda: [sh.visible_text(f, collapse=False) for f in frags],
        "digest": digest,
    }
    if base is not None:
        out["base first"] = lambda: [base(d, base_url=u, text_hash=True) for u, d in pages]
    return out


def bench(name: str, pages: Pages, rounds: int, base: Callable[..., object] | None) -> None:
    runs = cases(pages, base)
    runs["recheck"]()  # the window marks hold these pages
    got: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            if key == "recheck":
                runs["recheck"]()  # warm again: `first` cleared them
            got[key].append(cpu_per_item(run, len(pages)))
    sizes = statistics.mean(len(d) for _, d in pages)
    cells = "  ".join(f"{k} {statistics.median(v):7.1f}" for k, v in got.items())
    print(f"{name:18} {sizes / 1024:5.1f} KB  {cells}")


def memory(entries: int) -> None:
    marks = sh._WindowMarks(entries)
    tracemalloc.start()
    for n in range(entries):
        key = sh.hashlib.sha256(n.to_bytes(8, "little")).digest()[:16]
        marks.marks[key] = (n * 0x9E3779B97F4A7C15) & ((1 << 64) - 1)
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"window marks: {entries} entries, {size / 1e6:.1f} MB, {size / entries:.0f} B each")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--against", type=Path, help="root of another copy of the package")
    ap.add_argument("--memory", type=int, help="fill the window marks with N windows")
    args = ap.parse_args(argv)
    if args.memory:
        memory(args.memory)
        return 0
    base = content_scan.load_impl(args.against).head_facts if args.against else None
    print("CPU us per page, medians of", args.rounds, "interleaved rounds")
    bench("websim small", websim_pages("small", args.pages), args.rounds, base)
    bench("websim realistic", websim_pages("realistic", args.pages), args.rounds, base)
    real = content_scan.real_world("rich", max(args.pages // 4, 5))
    bench("real-world rich", real, args.rounds, base)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
