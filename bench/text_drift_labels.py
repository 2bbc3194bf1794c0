"""A labelled set of page pairs for the daemon's own-drift check, and its
precision/recall by tolerance (simhash bits that may differ).

Each case is a publisher's article page (navigation, byline, timestamp, the
article's paragraphs, a "most read" box, recommendations, a newsletter box,
a footer: the template of a news site) seen twice with the same title,
labelled `same` (what publishers do to a live article page every day) or
`changed` (the text under the headline is no longer the article):

same    - fetched again unchanged; its timestamp and counters moved; its
          "most read" and recommendation boxes changed; a cookie banner
          appeared; typos fixed; a correction or an update paragraph
          added; one paragraph rewritten.
changed - another article under the old headline (a reused slug); a
          paywall cut it to its first paragraph; a "no longer available"
          notice with links; most of it rewritten; a section index of
          headlines under the old title.

The pages go through `head_facts(..., text_hash=True)`, as the daemon reads
them (the text window after the head, content/simhash.py). Run::

    .venv/bin/python bench/text_drift_labels.py                 # 2000 cases, seed 15
    .venv/bin/python bench/text_drift_labels.py --cases 6000 --seed 3

Measured 2026-12-05 (2000 cases, seed 15; 6000 cases, seed 3), a change
reported when more than `tolerance` bits differ:

    tolerance  precision  recall     precision  recall
    10         0.962      1.000      0.958      1.000
    12         0.986      0.997      0.985      0.998
    14         0.997      0.992      0.995      0.997   <- the default (text_drift_bits)
    16         0.999      0.984      0.998      0.990
    20         1.000      0.928      1.000      0.943

Link text (<a>) is not read: navigation, "most read" and recommendation
boxes are lists of links, and with them read a box refreshed on a short
article moved up to 22 bits (precision 0.961 at 16). The `same` pairs that
come closest are an update paragraph put on top of a short article (up to
18 bits); the `changed` ones a paywall that keeps the first paragraph (from
8). At most the first 1,000 words of the window are hashed. CPU: ~0.5 ms per
page here for the window's text and hash (0.02 ms without; 0.6-0.9 ms on
bench/content_scan.py's realistic pages), on the 2-core development
machine: the daemon asks for it, `check` does not.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.content.html import head_facts
from monitor.content.simhash import BITS, hamming

FUNCTION = (
    "the of and to a in that is was he for it with as his on be at by i this had not are "
    "but from or have an they which one you were her all she there would their we him been "
    "has when who will more no if out so said what up its about into than them can only "
    "other new some could time these two may then do first any my now such like our over"
).split()


def _lexicon(rng: random.Random, n: int) -> list[str]:
    letters = "etaoinshrdlucmfwypvbgkqjxz"
    out = set()
    while len(out) < n:
        size = rng.randint(3, 10)
        out.add("".join(rng.choice(letters[: rng.randint(8, 26)]) for _ in range(size)))
    return sorted(out)


class Writer:
    """Sentences with a Zipf-like word distribution: shingles repeat as in prose."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = _lexicon(rng, 6000)
        self.cum = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(self.words))))

    def sentence(self, topic: list[str]) -> str:
        rng = self.rng
        size = rng.randint(8, 26)
        out = []
        for _ in range(size):
            r = rng.random()
            if r < 0.45:
                out.append(rng.choice(FUNCTION))
            elif r < 0.6:
                out.append(rng.choice(topic))
            else:
                out.append(rng.choices(self.words, cum_weights=self.cum)[0])
        return " ".join(out).capitalize() + "."

    def paragraph(self, topic: list[str]) -> str:
        return " ".join(self.sentence(topic) for _ in range(self.rng.randint(2, 6)))

    def headline(self) -> str:
        size = self.rng.randint(6, 12)
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum, k=size))

    def topic(self) -> list[str]:
        return self.rng.sample(self.words[200:], 12)


def render(p: dict[str, object]) -> bytes:
    nav = "".join(f"<li><a href=/s{i}>{w}</a></li>" for i, w in enumerate(p["nav"]))  # type: ignore[arg-type]
    most = "".join(f"<li><a href=/m>{h}</a></li>" for h in p["most"])  # type: ignore[attr-defined]
    recs = "".join(f"<li><a href=/r>{h}</a></li>" for h in p["recs"])  # type: ignore[attr-defined]
    paras = "".join(f"<p>{t}</p>" for t in p["paras"])  # type: ignore[attr-defined]
    head = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{p['title']} | {p['site']}</title>"
        "<link rel=stylesheet href=/a.css><script>window.dataLayer=[];</script>"
        "</head>"
    )
    body = (
        f"<body>{p['banner']}<header><nav><ul>{nav}</ul></nav></header>"
        f"<main><article><h1>{p['title']}</h1>"
        f"<p class=byline>By {p['author']} <time>{p['stamp']}</time> {p['counts']}</p>"
        f"{paras}{p['note']}</article>"
        f"<aside><h2>Most read</h2><ol>{most}</ol></aside>"
        f"<section><h2>Recommended</h2><ul>{recs}</ul></section>"
        "<div class=newsletter>Sign up for our daily newsletter and get the news first</div>"
        "</main><footer>About us Contact Terms Privacy Careers Advertise</footer>"
        "<script>(function(){var x='<p>not text</p>';})();</script></body></html>"
    )
    return (head + body).encode()


def base_page(w: Writer) -> dict[str, object]:
    rng = w.rng
    topic = w.topic()
    return {
        "site": rng.choice(["The Daily", "News Now", "Tech Review", "Courier"]),
        "title": w.headline(),
        "nav": [w.rng.choice(w.words[:300]) for _ in range(rng.randint(8, 24))],
        "author": w.headline()[:20],
        "stamp": f"Updated {rng.randint(1, 59)} minutes ago",
        "counts": f"{rng.randint(0, 900)} comments",
        "paras": [w.paragraph(topic) for _ in range(rng.randint(4, 14))],
        "most": [w.headline() for _ in range(5)],
        "recs": [w.headline() for _ in range(6)],
        "banner": "",
        "note": "",
        "topic": topic,
    }


Edit = Callable[[Writer, dict[str, object]], None]


def _paras(p: dict[str, object]) -> list[str]:
    paras = p["paras"]
    assert isinstance(paras, list)
    return paras


def _topic(p: dict[str, object]) -> list[str]:
    topic = p["topic"]
    assert isinstance(topic, list)
    return topic


def unchanged(w: Writer, p: dict[str, object]) -> None:
    pass


def stamps(w: Writer, p: dict[str, object]) -> None:
    p["stamp"] = f"Updated {w.rng.randint(1, 23)} hours ago"
    p["counts"] = f"{w.rng.randint(0, 900)} comments {w.rng.randint(0, 99)} shares"


def boxes(w: Writer, p: dict[str, object]) -> None:
    p["most"] = [w.headline() for _ in range(5)]
    p["recs"] = [w.headline() for _ in range(6)]
    stamps(w, p)


def banner(w: Writer, p: dict[str, object]) -> None:
    p["banner"] = (
        "<div class=consent>We use cookies and similar technologies to improve your "
        "experience, measure audiences and show you personalised ads. You can accept or "
        "manage your choices at any time. Accept all Manage choices</div>"
    )


def typos(w: Writer, p: dict[str, object]) -> None:
    paras = _paras(p)
    for _ in range(w.rng.randint(1, 3)):
        i = w.rng.randrange(len(paras))
        words = paras[i].split()
        words[w.rng.randrange(len(words))] = w.rng.choice(w.words)
        paras[i] = " ".join(words)


def correction(w: Writer, p: dict[str, object]) -> None:
    p["note"] = "<p><em>Correction: " + w.sentence(_topic(p)) + "</em></p>"
    stamps(w, p)


def update(w: Writer, p: dict[str, object]) -> None:
    _paras(p).insert(0, "Update: " + w.paragraph(_topic(p)))
    stamps(w, p)


def one_paragraph(w: Writer, p: dict[str, object]) -> None:
    paras = _paras(p)
    i = w.rng.randrange(len(paras))
    paras[i] = w.paragraph(_topic(p))


def another_article(w: Writer, p: dict[str, object]) -> None:
    topic = w.topic()
    p["paras"] = [w.paragraph(topic) for _ in range(w.rng.randint(4, 14))]
    boxes(w, p)


def paywall(w: Writer, p: dict[str, object]) -> None:
    p["paras"] = [
        _paras(p)[0],
        "Subscribe to continue reading. Get unlimited access to our journalism for "
        "just 1 a week. Already a subscriber? Sign in.",
    ]


def removed(w: Writer, p: dict[str, object]) -> None:
    p["paras"] = [
        "This article is no longer available. It may have been removed or expired.",
        "Read more: " + " ".join(w.headline() + "." for _ in range(6)),
    ]


def rewritten(w: Writer, p: dict[str, object]) -> None:
    paras = _paras(p)
    topic = _topic(p)
    keep = max(1, len(paras) // 4)
    p["paras"] = paras[:keep] + [w.paragraph(topic) for _ in range(len(paras) - keep + 1)]


def section_index(w: Writer, p: dict[str, object]) -> None:
    p["paras"] = [w.headline() + ". " + w.sentence(w.topic()) for _ in range(20)]


SAME: list[Edit] = [unchanged, stamps, boxes, banner, typos, correction, update, one_paragraph]
CHANGED: list[Edit] = [another_article, paywall, removed, rewritten, section_index]


def cases(n: int, seed: int) -> list[tuple[str, str, int]]:
    """(label, shape, distance) for `n` page pairs."""
    rng = random.Random(seed)
    w = Writer(rng)
    out = []
    for i in range(n):
        edit = SAME[i % len(SAME)] if i % 2 == 0 else CHANGED[i % len(CHANGED)]
        label = "same" if i % 2 == 0 else "changed"
        before = base_page(w)
        after = {k: (list(v) if isinstance(v, list) else v) for k, v in before.items()}
        edit(w, after)
        a = head_facts(render(before), base_url="https://n.test/a", text_hash=True).text_hash
        b = head_facts(render(after), base_url="https://n.test/a", text_hash=True).text_hash
        assert a is not None and b is not None, edit.__name__
        out.append((label, edit.__name__, hamming(a, b)))
    return out


def cpu_per_page(seed: int, pages: int = 200) -> float:
    """CPU milliseconds of `head_facts(..., text_hash=True)` per page (the pages made first)."""
    w = Writer(random.Random(seed))
    made = [render(base_page(w)) for _ in range(pages)]
    started = time.process_time()
    for data in made:
        head_facts(data, base_url="https://n.test/a", text_hash=True)
    with_hash = time.process_time() - started
    started = time.process_time()
    for data in made:
        head_facts(data, base_url="https://n.test/a")
    without = time.process_time() - started
    print(f"head_facts without the text hash: {without / pages * 1e3:.2f} ms per page")
    return with_hash / pages * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    got = cases(args.cases, args.seed)
    print(f"{len(got)} cases, seed {args.seed}; {cpu_per_page(args.seed):.2f} ms CPU per page")
    print("tolerance  precision  recall")
    for tol in range(4, 33, 2):
        tp = sum(1 for lab, _, d in got if d > tol and lab == "changed")
        fp = sum(1 for lab, _, d in got if d > tol and lab == "same")
        fn = sum(1 for lab, _, d in got if d <= tol and lab == "changed")
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{tol:9d}  {precision:9.3f}  {recall:6.3f}")
    print("\ndistance by shape (min / median / max of", BITS, "bits):")
    by: dict[str, list[int]] = {}
    for _, shape, d in got:
        by.setdefault(shape, []).append(d)
    for shape, ds in by.items():
        ds.sort()
        label = "same" if shape in {e.__name__ for e in SAME} else "changed"
        print(f"  {label:8s}{shape:16s} {ds[0]:3d} {ds[len(ds) // 2]:3d} {ds[-1]:3d}")


if __name__ == "__main__":
    main()
