"""A storm of SIGHUPs: each queued a reload with a whole forced rescan behind the
scan lock (20 sent 50 ms apart re-read a 1,500-file corpus for a minute). Now one
reload runs and at most one waits; the SIGHUPs meanwhile are that waiting one,
which reads the configuration when it begins."""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.config import load_settings
from monitor.daemon.service import Daemon
from monitor.secured.keys import KeyRing


async def test_sighups_while_a_reload_waits_are_that_reload(tmp_path: Path) -> None:
    settings = load_settings(
        None, {"paths": [tmp_path / "corpus"], "data_dir": tmp_path / "data"}, environ={}
    )
    (tmp_path / "data").mkdir()
    daemon = Daemon(settings, KeyRing.load([]))
    began = asyncio.Event()
    release = asyncio.Event()
    reloads = 0

    async def reload() -> None:
        nonlocal reloads
        reloads += 1
        began.set()
        await release.wait()

    daemon.reload = reload  # type: ignore[method-assign]
    try:
        for _ in range(10):  # a storm before the first reload begins: one reload
            daemon._on_hup()
        await asyncio.wait_for(began.wait(), 10)
        for _ in range(10):  # during it: one more, after it (the file may have changed)
            daemon._on_hup()
        release.set()
        await asyncio.wait_for(asyncio.gather(*daemon._bg), 10)
        assert reloads == 2
        daemon._on_hup()  # none waiting or running: a SIGHUP is a reload again
        await asyncio.wait_for(asyncio.gather(*daemon._bg), 10)
        assert reloads == 3
    finally:
        await daemon.db_threads.ended(30)
        daemon.engine.dispose()
