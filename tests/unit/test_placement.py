"""Pure placement of hosts on members when some are placed out (stuck, issue 14)."""

from __future__ import annotations

from monitor.daemon.placement import BUCKETS, buckets_of, claimable, owners_of, share, view_of

THREE = ["a", "b", "c"]


def test_a_member_placed_out_owns_nothing_and_its_buckets_go_to_the_others() -> None:
    owners = owners_of(THREE, {"b"})
    assert owners == {"a", "c"}
    assert share("b", owners) == frozenset()
    assert share("a", owners) | share("c", owners) == frozenset(range(BUCKETS))
    assert share("a", owners) == buckets_of("a", ["a", "c"])


def test_everyone_placed_out_is_everyone_owning() -> None:
    assert owners_of(THREE, THREE) == set(THREE)


def test_the_others_take_a_stuck_members_buckets_only_once_it_has_drained() -> None:
    owners = owners_of(THREE, {"b"})
    old = frozenset(THREE)
    # b has not yet published the view without it: a keeps what it had and still has
    views = {"b": view_of(THREE), "c": view_of(owners)}
    mine, settled = claimable("a", THREE, views, old, out={"b"})
    assert not settled
    assert mine == buckets_of("a", THREE) & buckets_of("a", ["a", "c"])
    # b drained (its checks dropped): a and c split every bucket between them
    views["b"] = view_of(owners)
    mine, settled = claimable("a", THREE, views, old, out={"b"})
    assert settled and mine == buckets_of("a", ["a", "c"])
    # b itself claims nothing while out, settled or not
    views_b = {"a": view_of(owners), "c": view_of(owners)}
    assert claimable("b", THREE, views_b, old, out={"b"}) == (frozenset(), True)


def test_a_member_back_from_out_waits_for_the_handover_like_a_newcomer() -> None:
    before = owners_of(THREE, {"b"})  # the last settled view, without b
    views = {"a": view_of(before), "c": view_of(before)}
    mine, settled = claimable("b", THREE, views, frozenset(before))
    assert mine == frozenset() and not settled


def test_the_view_with_nobody_out_is_the_view_of_everyone() -> None:
    """Members of the previous version publish view_of(live): unchanged when none is out."""
    assert view_of(owners_of(THREE, ())) == view_of(THREE)
