"""Benchmark: page heads read by selectolax (lexbor) against `head_facts`.

Issue 9 asked whether selectolax's HTML5 parser should replace the regex
scanner with its html.parser fallback (monitor/content/head_scan.py,
head_parser.py). This script times both on a mix of generated pages, as
the engine hands them over (prefixes cut where the head is complete, by
bench/content_scan.py's reader):

- small: bench/websim.py's web, AMP, AMP-cache and 404 pages (16 KiB reads);
- large: heads shaped like big news sites' (20-40 KB of <meta>, <link>,
  scripts, JSON-LD and CSS), with and without an <h1>, soft 404s, and markup
  inside <title> (which sends today's code to html.parser);
- malformed: seeded random heads built from hostile pieces (unquoted and
  duplicate attributes, stray `<`, comments holding `--`, unclosed <title>,
  <noscript>/<template> content, a <div> or text in the head, `</head>`
  missing, upper-case tags, entities);
- charsets: the same heads in windows-1252, ISO-8859-2, Shift_JIS and UTF-8
  with a BOM, declared by <meta charset>, by the transport, or not at all.

The candidate, `lexbor_head_facts`, decodes the prefix as today (charset.py),
parses it whole with selectolax.lexbor and reads the same facts from the
tree: the AMP marker on <html>, the first <base>, canonical and amphtml
<link> with an href among the head's children, the head's <title>, the
body's first <h1> (soft 404 by soft404.py, URLs made absolute as today).
It cannot know two things today's code uses: whether a <title> or <h1> was
cut by the end of the prefix (today: never judged), and where the head ended
in the text (HTML5 moves a <link> after </head> back into the head).

Both are run round by round, interleaved; CPU time (time.process_time),
medians; "x" is today's time over the candidate's (above 1: selectolax
faster), summed up as the geometric mean over the cases. "agree" is the
share of pages where both give equal HtmlFacts.
No network.

    .venv/bin/pip install selectolax==1.0.2
    .venv/bin/python bench/page_heads.py                   # 40 pages a case, 7 rounds
    .venv/bin/python bench/page_heads.py --pages 10 --rounds 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import content_scan  # noqa: E402

from monitor.content.charset import decode  # noqa: E402
from monitor.content.html import HtmlFacts, _absolute, head_facts  # noqa: E402
from monitor.content.soft404 import is_soft_404_text  # noqa: E402

HeadFacts = Callable[..., HtmlFacts]


@dataclass(frozen=True, slots=True)
class Case:
    url: str
    prefix: bytes
    charset: str | None = None  # the transport's, from Content-Type


# --- the candidate ------------------------------------------------------------------


def lexbor_head_facts(prefix: bytes, *, base_url: str, charset: str | None = None) -> HtmlFacts:
    """`head_facts` read from selectolax's lexbor tree of the whole prefix."""
    from selectolax.lexbor import LexborHTMLParser

    text = decode(prefix, charset)
    tree = LexborHTMLParser(text)
    root = tree.root
    is_amp = root is not None and any(name in ("amp", "⚡") for name in root.attributes)
    base = canonical = amphtml = title = None
    head = tree.head
    if head is not None:
        for node in head.iter():
            tag = node.tag
            if tag == "title" and title is None:
                title = " ".join(node.text(deep=True).split())
            elif tag == "base" and base is None:
                base = (node.attributes.get("href") or "").strip() or None
            elif tag == "link":
                href = (node.attributes.get("href") or "").strip()
                rels = (node.attributes.get("rel") or "").lower().split()
                if href and "canonical" in rels and canonical is None:
                    canonical = href
                if href and "amphtml" in rels and amphtml is None:
                    amphtml = href
    base_at = base_url if not base else (_absolute(base, base_url) or base_url)
    title = title or None
    soft = is_soft_404_text(title)
    body = tree.body
    h1 = body.css_first("h1") if body is not None else None
    if not soft and h1 is not None:
        heading = " ".join(h1.text(deep=True, separator=" ").split())
        if heading != title:
            soft = is_soft_404_text(heading)
    return HtmlFacts(
        canonical=_absolute(canonical, base_at),
        amphtml=_absolute(amphtml, base_at),
        is_amp=is_amp,
        title=title,
        soft_404=soft,
    )


# --- the pages ------------------------------------------------------------------------

HOSTILE = [
    "<!doctype html>",
    "<html amp lang=en>",
    "<HTML ⚡>",
    "<html lang='en'>",
    "<head>",
    "<HEAD>",
    "<meta charset=utf-8>",
    '<meta name="description" content="a < b & c">',
    "<title>Page not found</title>",
    "<title>Story &amp; more | News</title>",
    "<title>Unclosed title",
    "<title>Site <b>bold</b></title>",
    '<link rel="canonical" href="/canon">',
    "<link rel=canonical href=https://h.example/a>",
    '<link rel="canonical" href="">',
    '<LINK REL="AMPHTML" HREF="/amp/x">',
    "<link rel=amphtml href=/amp/y rel=canonical>",
    '<link href="/dup" href="/dup2" rel="canonical">',
    '<base href="https://cdn.example/base/">',
    "<script>var a = '<link rel=canonical href=/no>';</script>",
    "<script>if (a < b) {}</script>",
    "<style>a{b:c}</style>",
    "<noscript><link rel=canonical href=/noscript></noscript>",
    "<template><link rel=amphtml href=/tpl></template>",
    "<!-- <link rel=canonical href=/comment> -->",
    "<!-- a -- b -->",
    "<!--->",
    "stray < text",
    "a & b",
    "<div>x</div>",
    "<img src=x.png>",
    "</head>",
    "<body>",
    "<h1>Page not found</h1>",
    "<h1>Big story",
    "<p>text</p>",
    "</html>",
    "\n",
    "   ",
]


def hostile_heads(count: int, seed: str = "hostile") -> list[Case]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        parts = rng.choices(HOSTILE, k=rng.randint(3, 14))
        if rng.random() < 0.5:
            parts = ["<!doctype html>", "<html>", "<head>", *parts]
        url = f"https://h{i % 5}.example/news/{i}/story.html"
        out.append(Case(url, "".join(parts).encode()))
    return out


TITLES = [
    "Café crème – l’été à Paris",
    "Zażółć gęślą jaźń",
    "東京のニュース 速報",
    "Page not found",
]
ENCODINGS = [("windows-1252", 0), ("iso-8859-2", 1), ("shift_jis", 2), ("utf-8", 3)]


def charset_heads(count: int) -> list[Case]:
    """Heads whose title needs the right charset, declared in three ways."""
    out = []
    for i in range(count):
        encoding, t = ENCODINGS[i % len(ENCODINGS)]
        title = TITLES[t]
        how = (i // len(ENCODINGS)) % 3  # 0: <meta charset>, 1: transport, 2: UTF-8 BOM
        meta = f'<meta charset="{encoding}">' if how == 0 else ""
        page = (
            f"<!doctype html><html><head>{meta}<title>{title}</title>"
            f'<link rel="canonical" href="/c/{i}"></head><body><h1>{title}</h1><p>x</p>'
        )
        data = page.encode(encoding if how != 2 else "utf-8")
        if how == 2:
            data = b"\xef\xbb\xbf" + data
        url = f"https://h.example/charset/{i}"
        out.append(Case(url, data, encoding if how == 1 else None))
    return out


def cases(count: int) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for name, pages in content_scan.page_cases(count).items():
        if name.endswith("/16k"):  # the usual reads; /mss and /whole only cut differently
            out[name.removesuffix("/16k")] = [Case(p.url, p.prefix) for p in pages]
    out["malformed"] = hostile_heads(count * 4)
    out["charsets"] = charset_heads(count)
    return out


# --- timing ---------------------------------------------------------------------------


def per_page(fn: HeadFacts, pages: list[Case], min_s: float) -> float:
    """CPU seconds per page of `fn` over `pages`, repeated to at least `min_s`."""
    reps, spent = 0, 0.0
    while spent < min_s:
        t0 = time.process_time()
        for p in pages:
            fn(p.prefix, base_url=p.url, charset=p.charset)
        spent += time.process_time() - t0
        reps += 1
    return spent / reps / len(pages)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--pages", type=int, default=40, help="pages per case (malformed: 4x)")
    ap.add_argument("--rounds", type=int, default=7, help="timed rounds; the median is shown")
    ap.add_argument("--min-seconds", type=float, default=0.05, help="CPU time per measure")
    args = ap.parse_args(argv)
    try:
        import selectolax
    except ImportError:
        print("selectolax is not installed: .venv/bin/pip install selectolax==1.0.2")
        return 2

    impls: dict[str, HeadFacts] = {"current": head_facts, "selectolax": lexbor_head_facts}
    print(f"selectolax {selectolax.__version__}; CPU µs per page, median of {args.rounds} rounds")
    print(f"{'case':<16}{'pages':>6}{'KB':>6}{'current':>10}{'selectolax':>12}{'x':>7}{'agree':>8}")
    all_now: list[float] = []
    all_cand: list[float] = []  # per case
    agreed = total = 0
    for name, pages in cases(args.pages).items():
        same = sum(
            head_facts(p.prefix, base_url=p.url, charset=p.charset)
            == lexbor_head_facts(p.prefix, base_url=p.url, charset=p.charset)
            for p in pages
        )
        agreed, total = agreed + same, total + len(pages)
        times: dict[str, list[float]] = {k: [] for k in impls}
        for r in range(args.rounds):
            for k in list(impls) if r % 2 == 0 else list(impls)[::-1]:
                times[k].append(per_page(impls[k], pages, args.min_seconds))
        now, cand = (statistics.median(times[k]) * 1e6 for k in impls)
        all_now.append(now)
        all_cand.append(cand)
        kb = statistics.mean(len(p.prefix) for p in pages) / 1024
        print(
            f"{name:<16}{len(pages):>6}{kb:>6.1f}{now:>10.1f}{cand:>12.1f}"
            f"{now / cand:>6.2f}x{same / len(pages):>8.0%}"
        )
    ratio = statistics.geometric_mean(n / c for n, c in zip(all_now, all_cand, strict=True))
    print(f"{'geometric mean of the x column':<50}{ratio:>6.2f}x{agreed / total:>8.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
