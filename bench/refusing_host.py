"""`check` (or `run --once`) against one loopback host that refuses every request.

The host answers every request with STATUS (429 by default) and
`Retry-After: SECONDS` (`--retry-after none`: no header; `--status 0`: it
answers nothing within the timeout, a 200 after `--retry-after` seconds); the
corpus is one article with M images on it. Prints, per M, the wall time of
the command, the requests the host got and the outcomes. Loopback only.

    .venv/bin/python bench/refusing_host.py --targets 4,16,32 --retry-after 2
    .venv/bin/python bench/refusing_host.py --targets 16 --mode once

Before `check` gave such a host up (monitor/http/giving_up.py) its time grew
with M: M x (retries + 1) / per_host waits; since, it is about one target's
tries. The daemon (`--mode once`) still takes every wait (docs/operations.md,
"`check` and a host that refuses everything").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CLI = str(Path(sys.executable).with_name("article-monitor"))


class Host(ThreadingHTTPServer):
    daemon_threads = True
    status = 429
    retry_after: str | None = "2"
    hits = 0
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Host

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits += 1
        status, ra = self.server.status, self.server.retry_after
        if status == 0:  # silent: answers after the client's timeout
            time.sleep(float(ra or 0))
        try:
            self.send_response(status or 200)
            if ra is not None:
                self.send_header("Retry-After", ra)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:
            pass  # the client has gone


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", default="4,16,32", help="comma-separated M values")
    ap.add_argument("--status", type=int, default=429, help="429, 503, or 0 (no answer)")
    ap.add_argument("--retry-after", default="2", help="seconds, or 'none'")
    ap.add_argument("--mode", choices=("check", "once"), default="check")
    ap.add_argument("--retries", default="1")
    ap.add_argument("--per-host", default="4")
    ap.add_argument("--timeout", default="2")
    ap.add_argument("extra", nargs="*", help="more options for the command (after --)")
    args = ap.parse_args()
    host = Host(("127.0.0.1", 0), Handler)
    host.status = args.status
    host.retry_after = None if args.retry_after == "none" else args.retry_after
    threading.Thread(target=host.serve_forever, daemon=True).start()
    port = host.server_address[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    env.update(ARTICLE_MONITOR_RETRY_AFTER_MAX="5", ARTICLE_MONITOR_BACKOFF_MAX="5")
    for m in (int(x) for x in args.targets.split(",")):
        host.hits = 0
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            images = [
                {"url": f"http://127.0.0.1:{port}/img/{i}.png", "width": 1, "height": 1}
                for i in range(m)
            ]
            article = {"webUrl": "https://news.example/a", "title": "t", "images": images}
            (folder / "a.json").write_text(json.dumps(article))
            common = ["--kinds", "image", "--allow-network", "127.0.0.0/8"]
            common += ["--retries", args.retries, "--per-host", args.per_host]
            common += ["--timeout", args.timeout, *args.extra]
            if args.mode == "check":
                cmd = [CLI, "check", str(folder), "--format", "json", *common]
            else:
                data = ["--data-dir", str(folder / "data"), "--listen", "127.0.0.1:0"]
                cmd = [CLI, "run", str(folder), "--once", *data, *common]
            started = time.monotonic()
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
            wall = time.monotonic() - started
        outcomes: Counter[str] = Counter()
        if args.mode == "check" and done.stdout:
            report = json.loads(done.stdout)
            outcomes.update(t["outcome"] for a in report["articles"] for t in a["targets"])
        print(
            f"{args.mode} status={args.status} retry_after={args.retry_after} M={m}: "
            f"{wall:.1f} s, {host.hits} requests, exit {done.returncode}, {dict(outcomes)}",
            flush=True,
        )
    host.shutdown()


if __name__ == "__main__":
    main()
