"""The daemon's soft-404 probe answers, kept in the database (issue 15).

At start the checker's probe takes the answers that have not expired, so a
restart does not probe each host and directory again, and a host that
answered with a real 404 is left alone until its answer expires; each new
answer is written as it comes (on the database thread, never blocking a
check). A database that cannot be read or written is logged, and the probe
works from memory as before: a lost answer costs one probe, nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from monitor.http.probe import PROBE_TTL_S, Answer, ProbeKey, SoftProbe
from monitor.storage.opening import first_line
from monitor.storage.repository import Repository
from monitor.urls import host_key
from monitor.vocabulary import ContentFacts

log = logging.getLogger("monitor.daemon")

RunDb = Callable[..., Awaitable[Any]]


def site_of(key: ProbeKey) -> str:
    scheme, host, port, _ = key
    return f"{scheme} {host} {'' if port is None else port}"


def key_of(site: str, directory: str) -> ProbeKey | None:
    parts = site.split(" ")
    if len(parts) != 3 or not parts[1] or not (parts[2] == "" or parts[2].isdigit()):
        return None
    host = host_key(parts[1])  # kept before hosts had one spelling: read as they are now
    return (parts[0], host, int(parts[2]) if parts[2] else None, directory)


def row_of(key: ProbeKey, answer: Answer, expires_ms: int) -> dict[str, Any]:
    facts = answer.facts
    return {
        "site": site_of(key),
        "directory": key[3],
        "url": answer.url,
        "status": answer.status,
        "final_url": answer.final_url,
        "title": facts.title,
        "h1": facts.h1,
        "description": facts.description,
        "expires": expires_ms,
    }


def answer_of(row: dict[str, Any], at: float) -> Answer:
    facts = ContentFacts(title=row["title"], h1=row["h1"], description=row["description"])
    return Answer(row["url"], row["status"], row["final_url"], facts, at)


async def keep_probe_answers(
    probe: SoftProbe,
    repo: Repository,
    run_db: RunDb,
    *,
    ttl_s: float = PROBE_TTL_S,
    wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
) -> int:
    """Give `probe` the kept answers and keep its new ones; returns how many were restored."""
    restored = 0
    try:
        rows = await run_db(repo.probe_answers, wall_ms())
    except SQLAlchemyError as exc:
        log.warning(
            "cannot read the kept soft-404 probe answers (%s); probing afresh", first_line(exc)
        )
        rows = []
    now_wall, now = wall_ms(), probe.now()
    for row in rows:
        key = key_of(row["site"], row["directory"])
        left = (row["expires"] - now_wall) / 1000
        if key is None or left <= 0:
            continue
        # on the probe's clock, as old as the answer must be to expire when the row does
        probe.restore(key, answer_of(row, now - max(0.0, ttl_s - left)))
        restored += 1
    pending: set[asyncio.Task[None]] = set()

    async def save(row: dict[str, Any]) -> None:
        try:
            await run_db(repo.keep_probe_answer, row)
        except SQLAlchemyError as exc:
            log.warning("cannot keep a soft-404 probe answer (%s)", first_line(exc))

    def remember(key: ProbeKey, answer: Answer) -> None:
        task = asyncio.get_running_loop().create_task(
            save(row_of(key, answer, wall_ms() + int(ttl_s * 1000)))
        )
        pending.add(task)
        task.add_done_callback(pending.discard)

    probe.remember = remember
    return restored
