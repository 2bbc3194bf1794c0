"""The daemon's checker processes spawned before its heavy imports (daemon/prestart.py):
spawned only when the daemon would choose them, with the arguments it would give
them, adopted by its checker, and reaped whenever they are not taken."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner
from support.servers import app_server
from support.settings import settings

from monitor.check.prestart import BYTES_PER_TARGET
from monitor.cli import cli
from monitor.daemon.checkers import ProcessChecker
from monitor.daemon.prestart import AUTO_MIN_TARGETS, Prestarted, prestart, worker_args
from monitor.vocabulary import Kind, Outcome

routes = web.RouteTableDef()


@routes.get("/{n}")
async def page(request: web.Request) -> web.Response:
    return web.Response(text="<html><head><title>t</title></head></html>", content_type="text/html")


def _children() -> set[int]:
    """This process's children, alive or not yet reaped.

    A thread may end between the listing and the read: its file is gone, and
    so are its children (they pass to the process), so it is skipped.
    """
    out: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                out.update(int(pid) for pid in f.read().split())
        except FileNotFoundError:
            continue
    return out


def _corpus(path: Path, targets: int) -> Path:
    """A corpus file the size of `targets` targets (sparse: only its size is read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.truncate(targets * BYTES_PER_TARGET)
    return path


def test_spawned_only_where_the_daemon_would_use_them(tmp_path: Path) -> None:
    small = _corpus(tmp_path / "small" / "a.jsonl", 10)
    big = _corpus(tmp_path / "big" / "a.jsonl", AUTO_MIN_TARGETS)
    data = {"data_dir": tmp_path / "data"}
    cases = {
        "auto, a small corpus": settings(paths=[small], **data),
        "workers 1": settings(paths=[big], workers=1, **data),
        "PostgreSQL": settings(paths=[big], workers=2, db="postgresql+psycopg://u@db/am"),
    }
    for what, s in cases.items():
        early = prestart(s)
        assert early.procs == [], what
    s = settings(paths=[small], workers=2, **data)
    early = prestart(s)
    try:
        assert len(early.procs) == 2
        assert early.args == worker_args(s, s.database_url())
    finally:
        early.discard()
    assert all(p.returncode is not None for p in early.procs)
    auto = prestart(settings(paths=[big], **data))
    try:
        assert len(auto.procs) == (1 if (os.cpu_count() or 1) >= 2 else 0)
    finally:
        auto.discard()


async def test_the_checker_adopts_them_and_checks_with_them(tmp_path: Path) -> None:
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port}, workers=2, data_dir=tmp_path)
        early = prestart(s)
        pids = [p.pid for p in early.procs]
        assert len(pids) == 2
        async with ProcessChecker(s, 2, probe_db=s.database_url(), prestarted=early) as remote:
            assert remote._pool is not None
            got = [c.transport.get_pid() for c in remote._pool.channels if c.transport]
            assert got == pids
            results = await asyncio.gather(
                *(remote.check(f"http://a.example/{n}", Kind.WEB) for n in range(20))
            )
        assert {r.outcome for r in results} == {Outcome.OK}
        assert early.procs == []  # taken: the pool owns them


async def test_ones_spawned_with_other_arguments_are_let_go(tmp_path: Path) -> None:
    async with app_server(routes) as srv:
        s = settings({"a.example": srv.port}, workers=1, data_dir=tmp_path)
        stale = Prestarted(("-m", "monitor.check.worker", "--an-old-flag"))
        stale.procs = prestart(settings(workers=2, data_dir=tmp_path)).procs
        spawned = list(stale.procs)
        async with ProcessChecker(s, 1, prestarted=stale) as remote:
            assert remote._pool is not None
            pid = remote._pool.channels[0].transport.get_pid()  # type: ignore[union-attr]
            assert pid not in {p.pid for p in spawned}
            result = await remote.check("http://a.example/1", Kind.WEB)
        assert result.outcome is Outcome.OK
        assert all(p.returncode is not None for p in spawned)  # reaped, not left running


@pytest.mark.parametrize("damage", ["a directory", "not a database"])
def test_a_daemon_that_cannot_start_leaves_no_checker_process(tmp_path: Path, damage: str) -> None:
    corpus = tmp_path / "corpus" / "a.jsonl"
    corpus.parent.mkdir()
    corpus.write_text('{"webUrl": "http://127.0.0.1:9/a"}\n')
    db = tmp_path / "data" / "article-monitor.db"
    db.parent.mkdir()
    if damage == "a directory":
        db.mkdir()
    else:
        db.write_bytes(b"this is not SQLite\n" * 100)
    before = _children()
    out = CliRunner().invoke(
        cli,
        ["run", str(corpus), "--once", "--data-dir", str(db.parent), "--listen", "127.0.0.1:0"],
        env={"ARTICLE_MONITOR_WORKERS": "2"},
    )
    assert out.exit_code == 2, out.output
    assert out.output.startswith("Error: ") and "Traceback" not in out.output
    assert _children() - before == set()


def test_the_decision_imports_nothing_heavy() -> None:
    """It runs before the daemon's imports so that the processes import beside them."""
    code = (
        "import sys\n"
        "from monitor.daemon.prestart import prestart\n"
        "heavy = {'sqlalchemy', 'aiohttp', 'alembic', 'monitor.daemon.service', 'monitor.http'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
