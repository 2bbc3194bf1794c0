"""Microbenchmark of the per-page content work: head_facts, head_complete, sniff_image.

The engine reads a page with
``read_prefix(resp, cap, lambda buf, before: head_complete(buf, before))``
(reads of at most 16 KiB, stopping at the first read after which the head is
complete) and then calls ``head_facts(prefix, base_url=url, charset=...)``;
an image is read until ``sniff_image`` has its size. This script builds the
same prefixes without a network — bench/websim.py's own page and image
renderers (web page, AMP page, AMP-cache copy, 404 page, PNG/JPEG/GIF/WebP)
plus a few heads shaped like real news sites (long heads full of
<meta>/<link>/<script>, JSON-LD, inline CSS, a late or missing <h1>) — and
times each function in CPU time (time.process_time), the median of several
rounds, in microseconds per page.

Chunking: "16k" cuts the page into 16 KiB reads as read_prefix does when the
socket has the data buffered (the usual case on loopback); "mss" cuts it
into 1448-byte reads (a slow sender: head_complete runs once per segment);
"whole" hands over the whole 30-60 KB page in one read.

Run::

    .venv/bin/python bench/content_scan.py                       # current code
    .venv/bin/python bench/content_scan.py --save /tmp/after.json
    .venv/bin/python bench/content_scan.py --baseline /tmp/before.json

Before/after: the machine's load swings timings by 2-4x within minutes, so
compare in one process: unpack another version of the package (e.g. a
commit before the change) and time it round by round against the current
code with ``--against``; the "x" column is the median of the per-round
ratios::

    mkdir -p /tmp/content_before
    git archive 76a315e monitor | tar -x -C /tmp/content_before
    .venv/bin/python bench/content_scan.py --against /tmp/content_before

(Saved figures from another run: ``--save FILE`` then ``--baseline FILE``.)
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import websim  # noqa: E402

import monitor  # noqa: E402
from monitor.content.html import head_facts  # noqa: E402
from monitor.content.image import sniff_image  # noqa: E402
from monitor.http.body import head_complete  # noqa: E402

READ = 16 * 1024  # monitor.http.body._READ: the largest read read_prefix asks for
MSS = 1448
PORT = 41889


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    chunks: tuple[bytes, ...]  # the reads read_prefix made, the last one completing the head
    prefix: bytes  # what head_facts gets


def reads(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


def as_read(url: str, body: bytes, size: int, cap: int = 512 * 1024) -> Page:
    """The reads read_prefix makes of `body` in reads of `size`, and the prefix it returns."""
    taken: list[bytes] = []
    buf = bytearray()
    for chunk in reads(body[:cap], size):
        before = len(buf)
        buf += chunk
        taken.append(chunk)
        if head_complete(buf, before):
            break
    return Page(url, tuple(taken), bytes(buf))


# --- pages --------------------------------------------------------------------


def websim_pages(kind: str, count: int) -> list[tuple[str, bytes]]:
    content = websim.Content(seed=7)
    out = []
    for i in range(count):
        host = f"127.0.0.{1 + i % 50}"
        origin = f"127.0.0.{1 + (i + 1) % 50}"
        slug = f"2024-story-{i:05d}-city-council-votes"
        if kind == "web":
            url = websim.page_url(host, PORT, slug)
        elif kind == "amp":
            url = websim.page_url(host, PORT, slug, amp=True)
        elif kind == "cdn":
            url = websim.cdn_url(host, origin, PORT, slug)
        else:  # a missing page
            url = f"http://{host}:{PORT}/gone/{slug}.html"
        path = url.split(f":{PORT}", 1)[1]
        resp = content.respond(path, f"{host}:{PORT}", None)
        out.append((url, b"".join(bytes(p) for p in resp.parts)))
    return out


_SCRIPT = (
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
    "gtag('js',new Date());gtag('config','G-XXXX',{page_path:location.pathname});"
    "if(a<b&&c>d){document.write('<div class=\"ad\"></div>')}</script>\n"
)


def real_world_page(rng: random.Random, i: int, *, h1: str | None, title: str) -> tuple[str, bytes]:
    """A page shaped like a large news site's: a 20-40 KB head, then navigation."""
    site = f"https://www.news{i % 7}.example"
    path = f"/world/2024/05/{i:05d}/officials-report-growth-in-energy-market"
    url = site + path
    e = title.replace("&", "&amp;")
    head = [
        "<!DOCTYPE html>\n",
        '<html lang="en-GB" class="no-js" data-theme="light">\n<head>\n',
        '<meta charset="utf-8">\n<meta http-equiv="X-UA-Compatible" content="IE=edge">\n',
        f"<title>{e}</title>\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
    ]
    for n in range(rng.randint(25, 45)):
        head.append(f'<meta property="og:field{n}" content="value {n} of {e}">\n')
    head.append('<link rel="preconnect" href="https://cdn.example" crossorigin>\n')
    for n in range(rng.randint(8, 16)):
        head.append(f'<link rel="preload" as="font" href="/fonts/f{n}.woff2" crossorigin>\n')
    head.append(f'<link rel="canonical" href="{path}">\n')
    head.append(f'<link rel="amphtml" href="{site}/amp{path}">\n')
    for lang in ("de", "fr", "es", "it"):
        head.append(f'<link rel="alternate" hreflang="{lang}" href="{site}/{lang}{path}">\n')
    head.append("<!--[if lt IE 9]><script src=/html5shiv.js></script><![endif]-->\n")
    for _ in range(rng.randint(3, 8)):
        head.append(_SCRIPT)
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "articleBody": websim._paragraphs(rng, 2000),
            "image": [f"{site}/img/{n}.jpg" for n in range(6)],
        }
    )
    head.append(f'<script type="application/ld+json">{ld}</script>\n')
    css = "".join(f".c{n}{{margin:0 {n}px;color:#{n:06x}}}\n" for n in range(rng.randint(400, 900)))
    head.append(f"<style>{css}</style>\n")
    head.append('<noscript><img src="/pixel.gif" alt=""></noscript>\n')
    head.append("</head>\n")
    body = ['<body class="article">\n<header><nav><ul>\n']
    for n in range(rng.randint(40, 120)):
        body.append(f'<li><a href="/section/{n}">Section {n}</a></li>\n')
    body.append("</ul></nav></header>\n<main>\n")
    body.append(_SCRIPT)
    body.append("<!-- <h1>not this one</h1> -->\n")
    if h1 is not None:
        body.append(f'<h1 class="headline">{h1}</h1>\n')
    body.append(websim._paragraphs(rng, rng.randint(30_000, 60_000)))
    body.append("</main></body></html>\n")
    return url, "".join(head + body).encode()


def real_world(kind: str, count: int) -> list[tuple[str, bytes]]:
    rng = random.Random(kind)
    out = []
    for i in range(count):
        title = f"Officials report growth in energy market, story {i} – The News"
        if kind == "rich":
            out.append(real_world_page(rng, i, h1=f"Officials report growth {i}", title=title))
        elif kind == "no-h1":
            out.append(real_world_page(rng, i, h1=None, title=title))
        elif kind == "soft404":
            out.append(real_world_page(rng, i, h1="Page not found", title="The News"))
        else:  # odd markup: the general parser decides
            odd = title + " <em>live</em>"
            out.append(real_world_page(rng, i, h1="Live", title=odd))
    return out


def page_cases(count: int) -> dict[str, list[Page]]:
    cases: dict[str, list[Page]] = {}
    for kind in ("web", "amp", "cdn", "404"):
        pages = websim_pages(kind, count)
        cases[f"websim-{kind}/16k"] = [as_read(u, b, READ) for u, b in pages]
        if kind == "web":
            cases[f"websim-{kind}/mss"] = [as_read(u, b, MSS) for u, b in pages]
        if kind != "404":
            cases[f"websim-{kind}/whole"] = [as_read(u, b, len(b)) for u, b in pages]
    for kind in ("rich", "no-h1", "soft404", "odd"):
        pages = real_world(kind, max(count // 4, 5))
        cases[f"real-{kind}/16k"] = [as_read(u, b, READ) for u, b in pages]
        if kind == "rich":
            cases[f"real-{kind}/mss"] = [as_read(u, b, MSS) for u, b in pages]
    return cases


def image_cases(count: int) -> dict[str, list[bytes]]:
    content = websim.Content(seed=7)
    cases: dict[str, list[bytes]] = {}
    for ext in websim.IMAGE_EXTS:
        firsts = []
        for i in range(count):
            w, h = websim.IMAGE_SIZES[i % len(websim.IMAGE_SIZES)]
            resp = content.image(f"/img/photo-{i}-{w}x{h}.{ext}")
            assert resp is not None
            firsts.append(b"".join(bytes(p) for p in resp.parts)[:READ])
        cases[f"websim-{ext}/16k"] = firsts
    return cases


# --- timing ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Impl:
    """One version of the three functions under test."""

    head_facts: Callable[..., Any]
    head_complete: Callable[[bytes | bytearray, int], bool]
    sniff_image: Callable[[bytes], Any]


CURRENT = Impl(head_facts, head_complete, sniff_image)


def load_impl(root: Path) -> Impl:
    """The functions of another copy of the package at `root`.

    Its `monitor` package is imported in place of this one for the time of
    the import (the content modules import their siblings), then this one is
    put back; the functions keep the other copy's modules as their globals.
    """
    ours = {k: v for k, v in sys.modules.items() if k == "monitor" or k.startswith("monitor.")}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        html = importlib.import_module("monitor.content.html")
        image = importlib.import_module("monitor.content.image")
        body = importlib.import_module("monitor.http.body")
        assert Path(html.__file__ or "").is_relative_to(root.resolve()), html.__file__
        return Impl(html.head_facts, body.head_complete, image.sniff_image)
    finally:
        sys.path.remove(str(root))
        for name in [k for k in sys.modules if k == "monitor" or k.startswith("monitor.")]:
            del sys.modules[name]
        sys.modules.update(ours)


def calibrate(run: Callable[[], object], min_s: float) -> int:
    """Repetitions of `run` that take at least `min_s` of CPU time."""
    reps = 1
    while True:
        t0 = time.process_time()
        for _ in range(reps):
            run()
        if time.process_time() - t0 >= min_s:
            return reps
        reps *= 2


def measure(
    runs: dict[str, Callable[[], object]], items: int, rounds: int, min_s: float
) -> dict[str, list[float]]:
    """CPU microseconds per item of each run, `rounds` samples each, interleaved."""
    reps = {key: calibrate(run, min_s) for key, run in runs.items()}
    samples: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(rounds):
        for key, run in runs.items():
            t0 = time.process_time()
            for _ in range(reps[key]):
                run()
            samples[key].append((time.process_time() - t0) / (reps[key] * items) * 1e6)
    return samples


def page_runs(impl: Impl, pages: list[Page]) -> dict[str, Callable[[], object]]:
    facts_of, complete_of = impl.head_facts, impl.head_complete

    def facts() -> None:
        for p in pages:
            facts_of(p.prefix, base_url=p.url, charset="utf-8")

    def complete() -> None:
        for p in pages:
            buf = bytearray()
            for chunk in p.chunks:
                before = len(buf)
                buf += chunk
                complete_of(buf, before)

    return {"head_facts": facts, "head_complete": complete}


def buffer_run(pages: list[Page]) -> Callable[[], object]:
    """The buffer handling of the head_complete run alone, to subtract."""

    def copies() -> None:
        for p in pages:
            buf = bytearray()
            for chunk in p.chunks:
                buf += chunk

    return copies


def image_runs(impl: Impl, images: list[bytes]) -> dict[str, Callable[[], object]]:
    sniff = impl.sniff_image

    def run() -> None:
        for b in images:
            sniff(b)

    return {"sniff_image": run}


Row = dict[str, float]


def time_case(
    runs: dict[str, Callable[[], object]],
    other: dict[str, Callable[[], object]],
    buffers: Callable[[], object] | None,
    items: int,
    rounds: int,
    min_s: float,
) -> tuple[Row, Row, Row]:
    """(current figures, other version's figures, per-round ratios other/current)."""
    everything = dict(runs) | {f"other {k}": v for k, v in other.items()}
    if buffers is not None:
        everything["buffers"] = buffers
    samples = measure(everything, items, rounds, min_s)
    offset = samples.pop("buffers", [0.0] * rounds)
    now: Row = {}
    was: Row = {}
    ratio: Row = {}
    for key in runs:
        cur = samples[key]
        if key == "head_complete":
            cur = [max(0.0, c - o) for c, o in zip(cur, offset, strict=True)]
        now[key] = statistics.median(cur)
        if key in other:
            old = samples[f"other {key}"]
            if key == "head_complete":
                old = [max(0.0, c - o) for c, o in zip(old, offset, strict=True)]
            was[key] = statistics.median(old)
            ratio[key] = statistics.median(o / c for o, c in zip(old, cur, strict=True) if c > 0)
    return now, was, ratio


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=60, help="pages per websim case")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds; the median is shown")
    ap.add_argument("--min-seconds", type=float, default=0.03, help="CPU time per round")
    ap.add_argument("--against", type=Path, help="root of another copy of the package to compare")
    ap.add_argument("--save", type=Path, help="write the figures as JSON")
    ap.add_argument("--baseline", type=Path, help="JSON from --save to compare against")
    args = ap.parse_args(argv)

    print(f"# current: monitor from {Path(monitor.__file__).parent}", file=sys.stderr)
    other = load_impl(args.against) if args.against else None
    if args.against:
        print(f"# before: {args.against}/monitor", file=sys.stderr)
    results: dict[str, Row] = {}
    before: dict[str, Row] = {}
    ratios: dict[str, Row] = {}
    for name, pages in page_cases(args.pages).items():
        runs = page_runs(CURRENT, pages)
        others = page_runs(other, pages) if other else {}
        now, was, ratio = time_case(
            runs, others, buffer_run(pages), len(pages), args.rounds, args.min_seconds
        )
        now["prefix_kb"] = statistics.mean(len(p.prefix) for p in pages) / 1024
        now["reads"] = statistics.mean(len(p.chunks) for p in pages)
        results[name], before[name], ratios[name] = now, was, ratio
    for name, images in image_cases(args.pages).items():
        runs = image_runs(CURRENT, images)
        others = image_runs(other, images) if other else {}
        now, was, ratio = time_case(runs, others, None, len(images), args.rounds, args.min_seconds)
        results[name], before[name], ratios[name] = now, was, ratio

    if args.baseline:
        before = json.loads(args.baseline.read_text())
        ratios = {
            name: {k: was / row[k] for k, was in before.get(name, {}).items() if row.get(k)}
            for name, row in results.items()
        }
    print(render(results, before, ratios), flush=True)
    if args.save:
        args.save.write_text(json.dumps(results, indent=1) + "\n")
    return 0


FUNCS = ("head_facts", "head_complete", "sniff_image")


def render(results: dict[str, Row], before: dict[str, Row], ratios: dict[str, Row]) -> str:
    compare = any(before.values())
    header = f"{'case':<20} {'KB':>5} {'reads':>5}"
    for f in FUNCS:
        header += f" {f + ' µs':>17}" + (f" {'before':>8} {'x':>5}" if compare else "")
    lines = [header]
    for name, row in results.items():
        line = f"{name:<20} {row.get('prefix_kb', 0):>5.1f} {row.get('reads', 1):>5.1f}"
        for f in FUNCS:
            if f not in row:
                line += f" {'':>17}" + (f" {'':>8} {'':>5}" if compare else "")
                continue
            line += f" {row[f]:>17.2f}"
            if compare:
                was = before.get(name, {}).get(f)
                x = ratios.get(name, {}).get(f)
                line += f" {was:>8.2f}" if was is not None else f" {'-':>8}"
                line += f" {x:>5.1f}" if x is not None else f" {'-':>5}"
        lines.append(line)
    pages = [name for name, row in results.items() if "head_facts" in row]
    mean_now = statistics.mean(results[n]["head_facts"] for n in pages)
    summary = f"head_facts, mean over the {len(pages)} page cases: {mean_now:.1f} µs"
    was_all = [before.get(n, {}).get("head_facts") for n in pages]
    if compare and all(w is not None for w in was_all):
        mean_was = statistics.mean(w for w in was_all if w is not None)
        summary += f"; before {mean_was:.1f} µs ({mean_was / mean_now:.1f}x)"
    lines.append(summary)
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
