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

To time another version of the package (e.g. the last commit) unpack it and
put it first on the path; the editable install yields to PYTHONPATH::

    mkdir -p /tmp/content_before && git archive HEAD monitor | tar -x -C /tmp/content_before
    PYTHONPATH=/tmp/content_before .venv/bin/python bench/content_scan.py --save /tmp/before.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def per_item_us(run: Callable[[], object], items: int, rounds: int, min_s: float) -> float:
    """Median over `rounds` of the CPU microseconds per item of `run` (repeated to `min_s`)."""
    reps = 1
    while True:
        t0 = time.process_time()
        for _ in range(reps):
            run()
        spent = time.process_time() - t0
        if spent >= min_s:
            break
        reps *= 2
    samples = []
    for _ in range(rounds):
        t0 = time.process_time()
        for _ in range(reps):
            run()
        samples.append((time.process_time() - t0) / (reps * items) * 1e6)
    return statistics.median(samples)


def time_pages(pages: list[Page], rounds: int, min_s: float) -> dict[str, float]:
    def facts() -> None:
        for p in pages:
            head_facts(p.prefix, base_url=p.url, charset="utf-8")

    def complete() -> None:
        for p in pages:
            buf = bytearray()
            for chunk in p.chunks:
                before = len(buf)
                buf += chunk
                head_complete(buf, before)

    def copies() -> None:  # the buffer handling alone, to subtract
        for p in pages:
            buf = bytearray()
            for chunk in p.chunks:
                buf += chunk

    n = len(pages)
    base = per_item_us(copies, n, rounds, min_s)
    return {
        "head_facts": per_item_us(facts, n, rounds, min_s),
        "head_complete": max(0.0, per_item_us(complete, n, rounds, min_s) - base),
    }


def time_images(images: list[bytes], rounds: int, min_s: float) -> dict[str, float]:
    def sniff() -> None:
        for b in images:
            sniff_image(b)

    return {"sniff_image": per_item_us(sniff, len(images), rounds, min_s)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pages", type=int, default=60, help="pages per websim case")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds; the median is shown")
    ap.add_argument("--min-seconds", type=float, default=0.05, help="CPU time per round")
    ap.add_argument("--save", type=Path, help="write the figures as JSON")
    ap.add_argument("--baseline", type=Path, help="JSON from --save to compare against")
    args = ap.parse_args(argv)

    print(f"# monitor from {Path(monitor.__file__).parent}", file=sys.stderr)
    results: dict[str, dict[str, float]] = {}
    for name, pages in page_cases(args.pages).items():
        row: dict[str, float] = {
            "prefix_kb": statistics.mean(len(p.prefix) for p in pages) / 1024,
            "reads": statistics.mean(len(p.chunks) for p in pages),
        }
        row.update(time_pages(pages, args.rounds, args.min_seconds))
        results[name] = row
    for name, images in image_cases(args.pages).items():
        results[name] = time_images(images, args.rounds, args.min_seconds)

    base: dict[str, dict[str, float]] = (
        json.loads(args.baseline.read_text()) if args.baseline else {}
    )
    print(render(results, base), flush=True)
    if args.save:
        args.save.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def render(results: dict[str, dict[str, float]], base: dict[str, dict[str, float]]) -> str:
    funcs = ("head_facts", "head_complete", "sniff_image")
    header = f"{'case':<22} {'prefix KB':>9} {'reads':>5}"
    for f in funcs:
        header += f" {f + ' µs':>18}"
        if base:
            header += f" {'before':>8} {'x':>5}"
    lines = [header]
    for name, row in results.items():
        line = f"{name:<22} {row.get('prefix_kb', 0):>9.1f} {row.get('reads', 1):>5.1f}"
        for f in funcs:
            if f not in row:
                line += f" {'':>18}" + (f" {'':>8} {'':>5}" if base else "")
                continue
            line += f" {row[f]:>18.2f}"
            if base:
                was = base.get(name, {}).get(f)
                ratio = f"{was / row[f]:.1f}" if was and row[f] > 0 else "-"
                line += f" {was if was is not None else float('nan'):>8.2f} {ratio:>5}"
        lines.append(line)
    pages = [r for n, r in results.items() if "head_facts" in r]
    mean_facts = statistics.mean(r["head_facts"] for r in pages)
    summary = f"mean head_facts over the page cases: {mean_facts:.1f} µs"
    if base:
        before = [
            base[n]["head_facts"] for n, r in results.items() if "head_facts" in r and n in base
        ]
        if len(before) == len(pages):
            summary += f" (before {statistics.mean(before):.1f} µs)"
    lines.append(summary)
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
