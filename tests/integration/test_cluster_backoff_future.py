"""A host's shared Retry-After backoff stored while the cluster's clock ran ahead (a
day, say, then set right) ended that day late: every member read it back as a day
still to wait, imposed it on the host, and checked nothing of it until then; and the
later end winning, no new backoff of the host's could replace it. When the heartbeat
sees the clock step back, a backoff ending beyond any this member learns
(`retry_after_max`, `backoff_max`) is from the clock ahead and is dropped."""

from __future__ import annotations

from sqlalchemy import text

from monitor.config import Settings
from monitor.daemon.cluster import Membership
from monitor.storage.repository import Repository

DAY = 86_400_000


class Hosts:
    """The host pool's side of the heartbeat: what it learned, what it was told."""

    def __init__(self) -> None:
        self.imposed: dict[str, float] = {}
        self.learned: dict[str, float] = {}

    def backoffs(self) -> dict[str, float]:
        return self.learned

    def backoff_remaining(self, host: str) -> float:
        return 0.0

    def impose(self, host: str, seconds: float) -> None:
        self.imposed[host] = seconds


def test_a_backoff_from_the_future_is_dropped(repo: Repository) -> None:
    now = repo.db_now()
    repo.share_backoff({"slow.test": now + 30_000, "far.test": now + 30_000})
    with repo.engine.begin() as conn:  # stored on a clock a day ahead
        conn.execute(
            text("UPDATE host_backoff SET until = until + :d WHERE host = 'far.test'"), {"d": DAY}
        )
    horizon = 60_000
    shared = repo.share_backoff({"new.test": now + 10_000}, horizon)
    assert set(shared) == {"slow.test", "new.test"}
    # the host's own backoff can be shared again: the day-long one no longer wins
    assert repo.share_backoff({"far.test": now + 20_000}, horizon)["far.test"] == now + 20_000


async def test_a_member_does_not_hold_a_host_back_for_the_step(repo: Repository) -> None:
    """Learned and shared while the clock ran a day ahead, then the clock is set
    right: the member drops it at the step instead of holding the host for a day."""
    settings = Settings()
    hosts = Hosts()
    m = Membership(
        repo,
        lambda: settings,
        in_flight=list,
        hosts=lambda: hosts,  # type: ignore[arg-type,return-value]
        member_id="a",
    )
    real = repo.db_now()
    clock = [real + DAY]
    m.now = lambda: clock[0]  # type: ignore[method-assign]
    hosts.learned = {"far.test": 30.0}
    await m.beat_once(str)  # type: ignore[arg-type]
    hosts.learned, hosts.imposed = {}, {}
    clock[0] = real
    await m.beat_once(str)  # type: ignore[arg-type]
    assert hosts.imposed == {}
    assert repo.share_backoff({}) == {}
