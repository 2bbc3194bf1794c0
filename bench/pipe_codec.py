"""Benchmark: CPU per result of the worker pipe's format (monitor.check.pipe).

Encodes and decodes the results of a benchmark-shaped run (bench/check_vs_lychee.py's
corpus: web, AMP, AMP-cache pages and two images per record, every check `ok`,
the facts the engine finds on bench/websim.py's pages) the way a run does:
the worker turns each result into a row and each batch into a frame; the
parent splits the stream as the pipe hands it over (64 KiB reads) and
rebuilds the results. Targets are timed the same way in the other direction.

The baseline is the pipe module as of a git revision (default: the JSON-lines
format it replaced, then monitor/wire.py), loaded from `git show` with its
imports of the old tree mapped onto today's, so both run on today's model.
The candidates are today's module with its payload codec (`marshal`)
swapped for another, rows and frames unchanged: `msgspec` (MessagePack,
one Encoder and one Decoder reused) and `pickle5` (pickle protocol 5).
Every format must give back the exact results before any is timed. Runs are
interleaved; CPU time (time.process_time), medians; "vs current" is the
current format's total over the format's (above 1: faster).
No network.

    .venv/bin/python bench/pipe_codec.py                 # 50,000 results, batches of 32
    .venv/bin/python bench/pipe_codec.py --batch 512 --no-gc
"""

from __future__ import annotations

import argparse
import gc
import pickle
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.check import pipe
from monitor.vocabulary import CheckResult, ContentFacts, Kind, Outcome

BASELINE = "26e34d5"  # the last JSON-lines pipe format (then monitor/wire.py)
CHUNK = 64 * 1024  # what one read from the pipe hands over, at most
SIZES = [(1200, 675), (1024, 568), (800, 600), (640, 480)]
IMAGES = [("png", "image/png"), ("jpg", "image/jpeg"), ("gif", "image/gif"), ("webp", "image/webp")]

Pairs = list[tuple[str, CheckResult]]


def results(n: int, port: int = 33855, hosts: int = 50) -> Pairs:
    """`n` results shaped like a benchmark run's (what the engine reports there)."""
    start = datetime(2026, 11, 26, 12, 57, 51, 22132, tzinfo=UTC)
    out: Pairs = []
    i = 0
    while len(out) < n:
        site, cdn, img = (
            f"127.0.0.{1 + (i * k + c) % hosts}" for k, c in ((1, 0), (7, 3), (13, 5))
        )
        web = f"http://{site}:{port}/news/story-{i:06d}.html"
        amp = f"http://{site}:{port}/amp/news/story-{i:06d}.html"
        cache = f"http://{cdn}:{port}/c/{site}:{port}/amp/news/story-{i:06d}.html"
        html = "text/html; charset=utf-8"
        facts = [
            (Kind.WEB, web, ContentFacts(html, web, amp, False, False, None, None, None, 35233)),
            (Kind.AMP, amp, ContentFacts(html, web, None, True, False, None, None, None, 35375)),
            (Kind.CDN, cache, ContentFacts(html, web, None, True, False, None, None, None, 35375)),
        ]
        for j in range(2):
            w, h = SIZES[(i + j) % len(SIZES)]
            ext, ctype = IMAGES[(i * 3 + j) % len(IMAGES)]
            url = f"http://{img}:{port}/img/story-{i:06d}-{j}-{w}x{h}.{ext}"
            fmt = "jpeg" if ext == "jpg" else ext
            facts.append(
                (Kind.IMAGE, url, ContentFacts(ctype, None, None, None, False, fmt, w, h, 16384))
            )
        for kind, url, f in facts:
            at = start + timedelta(microseconds=len(out) * 731)
            final = "".join(url)  # equal, not the same object, as the engine's
            status = 206 if kind is Kind.IMAGE else 200
            latency = round(60 + len(out) % 400 / 10, 1)
            out.append(
                (
                    url,
                    CheckResult(url, kind, Outcome.OK, at, status, final, [], latency, 1, None, f),
                )
            )
        i += 1
    return out[:n]


ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout


def _pipe_path(rev: str) -> str:
    """Where the pipe module lived at `rev`: it was monitor/wire.py before the tree moved."""
    listed = _git("ls-tree", "--name-only", rev, "monitor/check/pipe.py")
    return "monitor/check/pipe.py" if listed.strip() else "monitor/wire.py"


def load_baseline(rev: str) -> types.ModuleType:
    return module_at(rev, _pipe_path(rev), f"wire_{rev}")


def module_at(rev: str, path: str, name: str) -> types.ModuleType:
    """The module at `path` as of git revision `rev`, run against today's tree
    (its imports of the tree before issue 9 mapped onto today's)."""
    source = _git("show", f"{rev}:{path}")
    source = source.replace("monitor.model", "monitor.vocabulary")  # the tree before issue 9
    return _module(name, source, f"{rev}:{path}")


def _module(name: str, source: str, filename: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__["__name__"] = module.__name__
    sys.modules[module.__name__] = module  # dataclasses and `from __future__` need it
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


def with_codec(
    name: str, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any]
) -> types.ModuleType:
    """A copy of today's pipe module whose payloads are `dumps`/`loads`, not marshal's."""
    path = Path(pipe.__file__)
    module = _module(f"pipe_{name}", path.read_text(), str(path))
    module.__dict__["marshal"] = types.SimpleNamespace(dumps=dumps, loads=loads)
    return module


def candidates() -> list[tuple[str, types.ModuleType]]:
    """The payload codecs measured against marshal (those installed)."""
    out = [
        (
            "pickle5",
            with_codec("pickle5", lambda v: pickle.dumps(v, protocol=5), pickle.loads),
        )
    ]
    try:
        import msgspec
    except ImportError:  # pragma: no cover - an optional candidate
        return out
    encoder, decoder = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder()
    out.insert(0, ("msgspec", with_codec("msgspec", encoder.encode, decoder.decode)))
    out.insert(1, ("msgspec typed", typed_msgspec(msgspec)))
    return out


def typed_msgspec(msgspec: Any) -> types.ModuleType:
    """msgspec's own mapping of the model: the results themselves are encoded
    (dataclasses as maps, enums by value, datetimes as timestamps) and decoded
    straight into CheckResult by a typed Decoder, with no rows of ours."""
    encode = msgspec.msgpack.Encoder().encode
    results = msgspec.msgpack.Decoder(list[tuple[str, CheckResult]]).decode
    targets = msgspec.msgpack.Decoder(list[tuple[Kind, str]]).decode
    module = types.ModuleType("pipe_msgspec_typed")
    module.__dict__.update(
        Frames=pipe.Frames,
        result_row=lambda key, r: (key, r),
        results_frame=lambda rows: pipe.frame(encode(rows)),
        results_from_frame=results,
        targets_frame=lambda batch: pipe.frame(encode(batch)),
        targets_from_frame=targets,
    )
    return module


def chunks(stream: bytes) -> list[bytes]:
    return [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]


class Codec:
    """One format's four steps, as the worker and the parent run them."""

    rekey = False

    def __init__(self, name: str, module: types.ModuleType, framed: bool) -> None:
        self.name, self.m, self.framed = name, module, framed

    def encode_results(self, batches: list[Pairs]) -> bytes:
        row, m = self.m.result_row, self.m
        pack = m.results_frame if self.framed else m.results_line
        return b"".join([pack([row(k, r) for k, r in batch]) for batch in batches])

    def decode_results(self, pieces: list[bytes]) -> Pairs:
        m = self.m
        return self._decode(pieces, m.results_from_frame if self.framed else m.results_from_line)

    def encode_targets(self, batches: list[list[tuple[Kind, str]]]) -> bytes:
        pack = self.m.targets_frame if self.framed else self.m.targets_line
        return b"".join([pack(batch) for batch in batches])

    def decode_targets(self, pieces: list[bytes]) -> list[tuple[Kind, str]]:
        m = self.m
        return self._decode(pieces, m.targets_from_frame if self.framed else m.targets_from_line)

    def _decode(self, pieces: list[bytes], unpack: Callable[[bytes], list[Any]]) -> list[Any]:
        """Split the stream as the parent does (frames, or lines as the old
        Channel split its input) and unpack each piece."""
        out: list[Any] = []
        if self.framed:
            reader = self.m.Frames()
            for data in pieces:
                for payload in reader.feed(data):
                    out += unpack(payload)
            return out
        tail = b""
        for data in pieces:
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            for line in lines:
                out += unpack(line)
        return out


class DaemonCodec(Codec):
    """Today's format as the daemon's checker processes use it: each target goes
    as a request with an id (requests_frame), its result comes back keyed by the
    id (with its URL) and is read by answers_from_frame. Its own copies of the
    batches, keyed by ids, are made before any timing; it answers with the
    URL-keyed pairs so that the exactness check is the same as the others'."""

    def __init__(self, batches: list[Pairs], targets: list[list[tuple[Kind, str]]]) -> None:
        super().__init__("current, ids", pipe, framed=True)
        self.urls: dict[int, str] = {}
        self.batches: list[list[tuple[int, CheckResult]]] = []
        for batch in batches:
            self.batches.append([])
            for key, r in batch:
                self.urls[len(self.urls)] = key
                self.batches[-1].append((len(self.urls) - 1, r))
        n = 0
        self.targets: list[list[tuple[Kind, str, int]]] = []
        for part in targets:
            self.targets.append([(kind, url, n + i) for i, (kind, url) in enumerate(part)])
            n += len(part)

    def encode_results(self, batches: list[Pairs]) -> bytes:
        row, frame_of = pipe.result_row, pipe.results_frame
        return b"".join([frame_of([row(k, r) for k, r in batch]) for batch in self.batches])

    def decode_results(self, pieces: list[bytes]) -> Pairs:
        got = self._decode(pieces, lambda p: pipe.answers_from_frame(p)[0])
        return [(self.urls[k], r) for k, r in got] if self.rekey else got

    def encode_targets(self, batches: list[list[tuple[Kind, str]]]) -> bytes:
        return b"".join([pipe.requests_frame(part) for part in self.targets])

    def decode_targets(self, pieces: list[bytes]) -> list[tuple[Kind, str]]:
        got = self._decode(pieces, lambda p: pipe.requests_from_frame(p)[0])
        return [(k, u) for k, u, _ in got] if self.rekey else got

    rekey = True  # answer keyed by URL as the others do (the exactness check), not when timed


def cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.process_time()
    value = fn()
    return time.process_time() - t0, value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--results", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=32, help="results per frame [32: 20 ms]")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the pipe module")
    parser.add_argument("--no-gc", action="store_true", help="codec cost alone, no collections")
    args = parser.parse_args(argv)

    pairs = results(args.results)
    batches = [pairs[i : i + args.batch] for i in range(0, len(pairs), args.batch)]
    targets = [(r.kind, key) for key, r in pairs]
    target_batches = [targets[i : i + 256] for i in range(0, len(targets), 256)]
    codecs = [
        Codec(f"baseline {args.baseline}", load_baseline(args.baseline), framed=False),
        Codec("current", pipe, framed=True),
        DaemonCodec(batches, target_batches),
        *(Codec(name, module, framed=True) for name, module in candidates()),
    ]
    for codec in codecs:  # both must be exact before either is timed
        stream = codec.encode_results(batches)
        got = codec.decode_results(chunks(stream))
        assert got == pairs and repr(got) == repr(pairs), codec.name
        assert codec.decode_targets(chunks(codec.encode_targets(target_batches))) == targets
        codec.rekey = False
    if args.no_gc:
        gc.disable()
    steps = ("results enc", "results dec", "targets enc", "targets dec")
    times: dict[str, dict[str, list[float]]] = {c.name: {s: [] for s in steps} for c in codecs}
    size: dict[str, int] = {}
    for rep in range(args.repeat):
        for codec in codecs if rep % 2 == 0 else codecs[::-1]:  # interleaved, order alternating
            t = times[codec.name]
            dt, stream = cpu(lambda c=codec: c.encode_results(batches))
            t["results enc"].append(dt)
            pieces = chunks(stream)
            size[codec.name] = len(stream)
            dt, decoded = cpu(lambda c=codec, p=pieces: c.decode_results(p))
            t["results dec"].append(dt)
            del decoded
            dt, stream = cpu(lambda c=codec: c.encode_targets(target_batches))
            t["targets enc"].append(dt)
            pieces = chunks(stream)
            dt, _ = cpu(lambda c=codec, p=pieces: c.decode_targets(p))
            t["targets dec"].append(dt)
            gc.collect()
    n = len(pairs)
    print(
        f"{n} results in batches of {args.batch}, targets in 256s; CPU µs per result, "
        f"median of {args.repeat}; gc {'off' if args.no_gc else 'on'}"
    )
    print(
        f"{'format':<20}"
        + "".join(f"{s:>13}" for s in steps)
        + f"{'total':>9}{'vs current':>11}{'B/result':>10}"
    )
    totals = {
        c.name: [statistics.median(times[c.name][s]) / n * 1e6 for s in steps] for c in codecs
    }
    current = sum(totals["current"])
    for codec in codecs:
        med = totals[codec.name]
        cells = "".join(f"{v:13.2f}" for v in med)
        ratio = current / sum(med)
        print(f"{codec.name:<20}{cells}{sum(med):9.2f}{ratio:10.2f}x{size[codec.name] / n:10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
