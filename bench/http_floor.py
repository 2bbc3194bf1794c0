"""The CPU floor of one HTTP request: aiohttp's ClientSession against a bare protocol.

Where does a check's CPU go, and how much of it is the HTTP client itself?
This starts bench/websim.py on loopback, takes N of the benchmark's URLs
(pages and images, as check_vs_lychee.py generates them), and fetches them
the way the checker does (pages read whole, images by a 16 KiB Range
request, keep-alive, concurrency C), three ways, each in its own process:

- ``session``: one aiohttp ``ClientSession.get`` per URL, the body read;
- ``protocol``: a keep-alive HTTP/1.1 client on a raw ``asyncio.Protocol``
  that parses responses with aiohttp's C parser (``aiohttp.http_parser``),
  no request or response objects: what a leaner path could cost;
- ``engine``: article-monitor's own checker (``Checker.check``), content
  checks included.

It prints the CPU microseconds per request of each (process CPU time, the
median of ``--repeat`` rounds, run alternately). Only 127.0.0.0/8 is
contacted; the simulator stops with the script.

    .venv/bin/python bench/http_floor.py --urls 20000 --repeat 3

``--against NAME=DIR`` adds the engine of another tree of the package (a git
worktree of an older commit), run in the same rounds, for an interleaved A/B;
``--only`` picks clients. The engine's rounds hand every result to the
worker's row encoder (``pipe.result_row``), as a checker process does.
``--profile FILE`` runs the engine once in this process under cProfile with
a CPU clock (``time.thread_time``), writes the stats to FILE and prints the
functions with the most own time:

    .venv/bin/python bench/http_floor.py --shape small --urls 20000 --only engine \
        --against base=/tmp/base-tree --repeat 3
    .venv/bin/python bench/http_floor.py --shape small --urls 20000 --profile /tmp/engine.prof
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from check_vs_lychee import corpus_urls, make_corpus, start_simulator  # noqa: E402

from monitor.http.engine import IMAGE_FIRST_RANGE  # noqa: E402

RANGE = f"bytes=0-{IMAGE_FIRST_RANGE - 1}"  # the checker's first image range


def urls_for(port: int, count: int, hosts: list[str]) -> list[str]:
    """The first `count` URLs of check_vs_lychee.py's corpus: per record a web
    page, an AMP page, an AMP-cache copy and two images, spread over the hosts."""
    return corpus_urls(make_corpus(-(-count // 5), port, hosts))[:count]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def with_session(urls: list[str], concurrency: int) -> None:
    import aiohttp

    it = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def worker() -> None:
            for url in it:
                headers = {"Range": RANGE} if "/img/" in url else {"Accept": "text/html"}
                async with session.get(url, headers=headers, allow_redirects=False) as resp:
                    while await resp.content.read(65536):
                        pass

        await asyncio.gather(*(worker() for _ in range(concurrency)))


class _Conn(asyncio.Protocol):
    """One keep-alive connection; aiohttp's C parser frames the responses."""

    def __init__(self) -> None:
        from monitor.http.aiohttp_parts import HttpResponseParser

        loop = asyncio.get_running_loop()
        self.parser = HttpResponseParser(
            cast(Any, self),  # duck-typed: the parser only calls the flow-control hooks below
            loop,
            2**16,
            max_line_size=8190,
            max_field_size=8190,
            auto_decompress=False,
        )
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[int] | None = None
        self.status = 0
        self.payload: Any = None
        self._reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    # flow control hooks the parser's payload streams call
    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        messages, _, _ = self.parser.feed_data(data)
        for message, payload in messages:
            self.status = message.code
            self.payload = payload
        payload = self.payload
        if payload is not None and payload.is_eof() and self.done and not self.done.done():
            self.done.set_result(self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError("closed"))

    async def get(self, path: str, host: str, extra: str) -> int:
        self.payload = None
        self.done = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: http-floor\r\n{extra}\r\n".encode()
        )
        return await self.done


async def with_protocol(urls: list[str], concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    idle: dict[tuple[str, int], list[_Conn]] = {}
    it = iter(urls)

    async def worker() -> None:
        for url in it:
            parts = urlsplit(url)
            key = (parts.hostname or "", parts.port or 80)
            pool = idle.setdefault(key, [])
            if pool:
                conn = pool.pop()
            else:
                _, conn = await loop.create_connection(_Conn, *key)
            extra = f"Range: {RANGE}\r\n" if "/img/" in url else "Accept: text/html\r\n"
            await conn.get(parts.path or "/", parts.netloc, extra)
            pool.append(conn)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    for pool in idle.values():
        for conn in pool:
            if conn.transport is not None:
                conn.transport.close()


async def with_engine(urls: list[str], concurrency: int) -> None:
    from monitor.check.pool import TargetQueue, check_queue
    from monitor.config import Settings
    from monitor.http import Checker
    from monitor.vocabulary import Kind

    def kind(url: str) -> Kind:
        if "/img/" in url:
            return Kind.IMAGE
        if "/c/" in url:
            return Kind.CDN
        return Kind.AMP if "/amp/" in url else Kind.WEB

    settings = Settings(
        allow_network=["127.0.0.0/8"],
        concurrency=concurrency,
        per_host=concurrency,
        retries=0,
        timeout=20,
        # not the default 5 s: under valgrind (engine_ir.py) on a loaded machine a
        # connect can take longer, and a timed-out check runs other code
        connect_timeout=20,
    )
    queue: TargetQueue = asyncio.Queue()
    for url in urls:
        queue.put_nowait((kind(url), url))
    for _ in range(concurrency):
        queue.put_nowait(None)
    try:
        from monitor.check.pipe import result_row
    except ImportError:  # an older tree

        def result_row(key: str, result: Any) -> Any:
            return result

    rows: list[Any] = []

    def on_result(url: str, result: Any) -> None:
        rows.append(result_row(url, result))
        if len(rows) >= 512:
            rows.clear()

    async with Checker(settings) as checker:
        checker.vetted = True  # as `check`'s own share: its reader vetted every URL (no-op before)
        await check_queue(queue, checker, concurrency=concurrency, on_result=on_result)


CLIENTS = {"session": with_session, "protocol": with_protocol, "engine": with_engine}


def one_round(client: str, urls_file: str, concurrency: int) -> float:
    """Child process: fetch every URL with `client`, print CPU µs per request."""
    urls = Path(urls_file).read_text().split()
    if client == "engine":  # imports are start-up, not per-request CPU
        import monitor.check.pool
        import monitor.config
        import monitor.http  # noqa: F401
    before = resource.getrusage(resource.RUSAGE_SELF)
    asyncio.run(CLIENTS[client](urls, concurrency))
    after = resource.getrusage(resource.RUSAGE_SELF)
    system = (after.ru_stime - before.ru_stime) / len(urls) * 1e6
    print(f"{client}: system {system:.0f} µs per request", file=sys.stderr)
    return (after.ru_utime - before.ru_utime) / len(urls) * 1e6 + system


def profile_engine(urls_file: str, concurrency: int, out: str, top: int) -> None:
    """This process: the engine over every URL under cProfile on a CPU clock."""
    import cProfile
    import pstats
    import time

    urls = Path(urls_file).read_text().split()
    prof = cProfile.Profile(time.thread_time)
    start = cpu_s()
    prof.enable()
    asyncio.run(with_engine(urls, concurrency))
    prof.disable()
    spent = (cpu_s() - start) / len(urls) * 1e6
    prof.dump_stats(out)
    print(f"{len(urls)} URLs, {spent:.0f} µs CPU per request under the profiler; stats in {out}")
    pstats.Stats(out).sort_stats("tottime").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--urls", type=int, default=20_000, help="URLs per round [20000]")
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each client [3]")
    parser.add_argument("--shape", choices=["realistic", "small"], default="realistic")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the simulator's [0]")
    parser.add_argument("--only", default=",".join(CLIENTS), help="clients, comma-separated")
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also the engine of the package tree DIR (a git worktree), as NAME",
    )
    parser.add_argument("--profile", metavar="FILE", help="profile the engine once into FILE")
    parser.add_argument("--top", type=int, default=45, help="functions shown by --profile")
    parser.add_argument("--child", nargs=2, metavar=("CLIENT", "URLS_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_round(args.child[0], args.child[1], args.concurrency)))
        return 0

    import os
    import tempfile

    sim, banner = start_simulator(1, 900, "auto", args.shape, args.latency_ms)
    try:
        port = int(banner["port"])
        with tempfile.TemporaryDirectory() as work:
            urls_file = Path(work) / "urls.txt"
            urls_file.write_text("\n".join(urls_for(port, args.urls, banner["hosts"])))
            if args.profile:
                profile_engine(str(urls_file), args.concurrency, args.profile, args.top)
                return 0
            # (name, client, PYTHONPATH or None)
            runs: list[tuple[str, str, str | None]] = [
                (name, name, None) for name in args.only.split(",") if name
            ]
            for spec in args.against:
                name, _, tree = spec.partition("=")
                runs.append((name, "engine", str(Path(tree).resolve())))
            figures: dict[str, list[float]] = {name: [] for name, _, _ in runs}
            system_part: dict[str, list[float]] = {name: [] for name, _, _ in runs}
            for _ in range(args.repeat):
                for name, client, tree in runs:
                    env = dict(os.environ)
                    if tree is not None:
                        env["PYTHONPATH"] = tree
                    child = ["--child", client, str(urls_file)]
                    out = subprocess.run(
                        [sys.executable, __file__, "--concurrency", str(args.concurrency), *child],
                        capture_output=True,
                        text=True,
                        timeout=600,
                        check=True,
                        env=env,
                    )
                    figures[name].append(json.loads(out.stdout))
                    system_part[name].append(float(out.stderr.split()[-4]))
        print(
            f"{args.urls} URLs per round ({args.shape}), concurrency {args.concurrency}, "
            f"{args.repeat} rounds"
        )
        first = statistics.median(next(iter(figures.values())))
        for name, values in figures.items():
            med = statistics.median(values)
            runs_text = ", ".join(f"{v:.0f}" for v in values)
            ratio = med / first
            system = statistics.median(system_part[name])
            print(
                f"{name:<9} {med:6.0f} µs CPU per request, {system:.0f} of it system  "
                f"({ratio:.2f}x first; {runs_text})"
            )
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
