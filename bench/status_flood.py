"""Liveness probes under a flood of status clients (loopback only).

Starts the real endpoints server (MetricsServer with the repository, default
connection limits: 128) on a small SQLite database in a child process, as the
daemon runs it; then CLIENTS keep-alive clients in this process ask
`/api/v1/status` again and again (reconnecting whenever the server closes
them), and ROUNDS times PROBES fresh connections from threads ask `/healthz`
at once, as kubelet would. Prints how many probes were answered 200.

    .venv/bin/python bench/status_flood.py --clients 300 --probes 8 --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def serve(db: Path) -> None:
    """Child process: the endpoints on 127.0.0.1 until stdin closes."""
    import logging

    from monitor.observe.endpoints import MetricsServer
    from monitor.observe.metrics import DaemonMetrics
    from monitor.storage.repository import Repository

    sys.path.insert(0, str(ROOT / "tests"))
    from support.status_db import build

    async def ready() -> tuple[bool, dict[str, Any]]:
        return True, {}

    logging.getLogger("monitor").setLevel(logging.ERROR)  # one warning per eviction

    async def main() -> None:
        known = build(db)
        repo = Repository(known.engine)
        server = MetricsServer(DaemonMetrics(repo.snapshot), ready, listen="127.0.0.1:0", repo=repo)
        await server.start()
        print(server.port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        g = server.guard
        print(f"server: evicted {g.evicted}, refused {g.refused}, timed out {g.timed_out}")
        await server.stop()

    asyncio.run(main())


async def answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(head.split()[1])


async def client(port: int, stop: asyncio.Event, counts: dict[int, int]) -> None:
    request = b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        try:
            while not stop.is_set():
                writer.write(request)
                status = await answer(reader)
                counts[status] = counts.get(status, 0) + 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def probe(port: int) -> int:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError as exc:
        print("probe:", type(exc).__name__, exc, file=sys.stderr)
        return 0
    return int(data.split()[1]) if data.startswith(b"HTTP/1.") else 0


async def flood(port: int, clients: int, probes: int, rounds: int) -> None:
    stop = asyncio.Event()
    counts: dict[int, int] = {}
    tasks = [asyncio.create_task(client(port, stop, counts)) for _ in range(clients)]
    await asyncio.sleep(2)  # the flood fills the connections
    loop = asyncio.get_running_loop()
    got: list[int] = []
    with ThreadPoolExecutor(probes) as threads:
        for _ in range(rounds):
            batch = [loop.run_in_executor(threads, probe, port) for _ in range(probes)]
            got += await asyncio.gather(*batch)
            await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*tasks)
    print(f"flood: {clients} clients, answers by status {dict(sorted(counts.items()))}")
    print(f"probes: {got.count(200)} of {len(got)} answered 200")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--probes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(Path(tmp) / "am.db")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        port = int(child.stdout.readline())
        try:
            asyncio.run(flood(port, args.clients, args.probes, args.rounds))
        finally:
            child.stdin.close()
            print(child.stdout.read().strip())
            child.wait(60)


if __name__ == "__main__":
    main()
