"""Migration 0009: placement buckets stored the old way (a Unicode host hashed as
spelled, an IPv6 literal uncompressed) are recomputed from `urls.host_key`, so a
host's old and new targets fall in one bucket, one member's (CONTRACT section 8)."""

from __future__ import annotations

from sqlalchemy import Engine, text

from monitor.daemon.placement import BUCKETS, _h64, url_bucket
from monitor.storage.migrate import upgrade

T0 = 1_700_000_000_000


def old_bucket(host: str) -> int:
    """The bucket as migration 0006 and the corpus write stored it before 0009."""
    return _h64("host:" + host.strip("[]").rstrip(".").lower()) % BUCKETS


ROWS = {  # url -> its host as urlsplit read it
    "http://bücher.example/a": "bücher.example",
    "http://[0:0::1]:8080/b": "0:0::1",
    "https://news.example./c": "news.example.",
    "https://NEWS.example/d": "news.example",
}


def test_old_buckets_are_recomputed_and_plain_ones_kept(engine: Engine) -> None:
    upgrade(engine, "0008")
    with engine.begin() as conn:
        for n, (url, host) in enumerate(ROWS.items(), start=1):
            conn.execute(
                text(
                    "INSERT INTO targets (id, url, kind, state, fails, succs, next_due, bucket,"
                    " last_problems) VALUES (:i, :u, 'web', 'unknown', 0, 0, 0, :b, '')"
                ),
                {"i": n, "u": url, "b": old_bucket(host)},
            )
            conn.execute(
                text("INSERT INTO due_queue (due, target_id, bucket) VALUES (0, :i, :b)"),
                {"i": n, "b": old_bucket(host)},
            )
    stale = {u for u, h in ROWS.items() if old_bucket(h) != url_bucket(u)}
    assert stale == {"http://bücher.example/a", "http://[0:0::1]:8080/b"}
    upgrade(engine)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT url, bucket FROM targets")).all())
        due = dict(
            conn.execute(
                text("SELECT t.url, d.bucket FROM due_queue d JOIN targets t ON t.id = d.target_id")
            ).all()
        )
    assert stored == due == {u: url_bucket(u) for u in ROWS}
    # the other spellings, written now, land with the ones stored before
    assert stored["http://bücher.example/a"] == url_bucket("http://xn--bcher-kva.example/x")
    assert stored["http://[0:0::1]:8080/b"] == url_bucket("http://[::1]/y")
