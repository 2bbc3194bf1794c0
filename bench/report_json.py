"""Benchmark: CPU per article of the JSON report writer (monitor.check.report).

Writes the report of a benchmark-shaped run (bench/check_vs_lychee.py's
corpus: five targets per article, every check `ok`, the results of
bench/pipe_codec.py's generator; one article in ten with an article-level
problem, a redirect and non-ASCII text) to a file, as `check --format json
-o FILE` does, with each writer:

- `text`: the hand-written JSON text of `article_text` as of git revision
  f19d937 (`--baseline`), the writer before orjson, run on today's model;
- `dumps`: `json.dumps(article_json(...), ensure_ascii=False)` of today's
  `article_json` (the writer before the hand-written text);
- `orjson`: `orjson.dumps(article_json(...))`, decoded and written to the
  text file, with nothing else;
- `current`: `monitor.check.report.JsonWriter` as it is in this tree.

Every writer's file must parse to the same document before any is timed.
Runs interleaved, order alternating; CPU time (time.process_time), medians;
ratios are against `text` in the same run. No network.

    .venv/bin/python bench/report_json.py                  # 10,000 articles, 7 rounds
    .venv/bin/python bench/report_json.py --articles 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pipe_codec  # noqa: E402

from monitor.check.report import (  # noqa: E402
    ArticleEntry,
    JsonWriter,
    Tally,
    TargetRow,
    article_json,
)
from monitor.corpus.article import InvalidDocument  # noqa: E402
from monitor.targets import TargetRef  # noqa: E402
from monitor.vocabulary import (  # noqa: E402
    Origin,
    Problem,
    ProblemCode,
    Redirect,
    SignatureResult,
    SignatureStatus,
)

Articles = list[tuple[ArticleEntry, list[TargetRow]]]
INVALID = [InvalidDocument("corpus/bad.json", 3, "invalid JSON: Expecting value")]


def articles(n: int) -> Articles:
    """`n` articles of five targets each, shaped like a benchmark run's report."""
    pairs = pipe_codec.results(n * 5)
    out: Articles = []
    for i in range(n):
        group = pairs[i * 5 : i * 5 + 5]
        aid = f"{i:016x}"
        odd = i % 10 == 0
        problems = (
            [Problem(ProblemCode.MISSING_FIELD, "Überschrift fehlt — « titre » manquant", "title")]
            if odd
            else []
        )
        rows = []
        for j, (url, result) in enumerate(group):
            if odd and j == 0:
                result.redirects.append(Redirect(301, url + "?ré=1"))
            rows.append(
                TargetRow(
                    url, TargetRef(aid, result.kind, Origin.ARTICLE, path="webUrl"), result, []
                )
            )
        signature = SignatureResult(SignatureStatus.VALID, (), "v2 envelope, key k1")
        entry = ArticleEntry(aid, f"corpus/{i:06d}.txt", 1, group[0][0], signature, problems, [])
        out.append((entry, rows))
    return out


BASELINE = "f19d937"  # the last hand-written JSON text writer
_baseline: list[Callable[[ArticleEntry, list[TargetRow]], str]] = []


def write_text(out: IO[str], docs: Articles) -> None:
    _write(out, docs, _baseline[0])


def write_dumps(out: IO[str], docs: Articles) -> None:
    _write(out, docs, lambda e, r: json.dumps(article_json(e, r), ensure_ascii=False))


def write_orjson(out: IO[str], docs: Articles) -> None:
    _write(out, docs, lambda e, r: orjson.dumps(article_json(e, r)).decode())


def write_current(out: IO[str], docs: Articles) -> None:
    writer = JsonWriter(out)
    writer.begin(INVALID)
    for entry, rows in docs:
        writer.article(entry, rows)
    writer.finish(_tally(docs), 1.0)


def _write(
    out: IO[str], docs: Articles, text: Callable[[ArticleEntry, list[TargetRow]], str]
) -> None:
    """The streamed document as JsonWriter lays it out, each article by `text`."""
    invalid = json.dumps([d.to_json() for d in INVALID], ensure_ascii=False)
    out.write(f'{{"version": 1, "invalid_documents": {invalid}, "articles": [')
    first = True
    for entry, rows in docs:
        out.write("\n" if first else ",\n")
        first = False
        out.write(text(entry, rows))
    summary = json.dumps(_tally(docs).to_json(1.0), ensure_ascii=False)
    out.write(f'\n], "summary": {summary}}}\n')
    out.flush()


def _tally(docs: Articles) -> Tally:
    tally = Tally()
    for entry, rows in docs:
        tally.add_article(entry, rows)
    return tally


WRITERS: dict[str, Callable[[IO[str], Articles], None]] = {
    "text": write_text,
    "dumps": write_dumps,
    "orjson": write_orjson,
    "current": write_current,
}


def run(writer: Callable[[IO[str], Articles], None], docs: Articles, path: Path) -> float:
    with path.open("w", encoding="utf-8") as out:
        t0 = time.process_time()
        writer(out, docs)
        return time.process_time() - t0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the text writer")
    args = parser.parse_args(argv)
    old = pipe_codec.module_at(
        args.baseline, "monitor/check/report/json_report.py", f"json_report_{args.baseline}"
    )
    _baseline.append(old.article_text)

    docs = articles(args.articles)
    times: dict[str, list[float]] = {name: [] for name in WRITERS}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.json"
        reference = None
        for name, writer in WRITERS.items():  # every writer must give the same document
            run(writer, docs, path)
            document = json.loads(path.read_text(encoding="utf-8"))
            reference = reference or document
            assert document == reference, name
        names = list(WRITERS)
        for rep in range(args.repeat):
            for name in names if rep % 2 == 0 else names[::-1]:
                times[name].append(run(WRITERS[name], docs, path))
    n = len(docs)
    base = statistics.median(times["text"])
    print(
        f"{n} articles of 5 targets written to a file; CPU µs per article, "
        f"median of {args.repeat}; ratio = text / writer (above 1: faster than text)"
    )
    print(f"{'writer':<10}{'µs/article':>12}{'vs text':>9}")
    for name in WRITERS:
        med = statistics.median(times[name])
        print(f"{name:<10}{med / n * 1e6:12.2f}{base / med:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
