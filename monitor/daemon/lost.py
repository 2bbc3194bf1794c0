"""Claims lost with their checker process, kept to be given back at a stop.

While the daemon runs they are left to their leases (the target is checked
again once its lease runs out); at a stop they are given back, else the next
`run --once` found them leased and checked nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

from monitor.storage.repository import Claimed


class LostClaims:
    """Lost claims by target, in the order their leases run out."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock  # the cluster's clock (ms), as the leases are
        self._lost: OrderedDict[int, Claimed] = OrderedDict()

    def __iter__(self) -> Iterator[int]:
        return iter(self._lost)

    def __len__(self) -> int:
        return len(self._lost)

    def keep(self, claim: Claimed) -> None:
        """Keep a lost claim to give back at a stop; drop those whose lease has run
        out (nothing to give back: anyone may claim them again). A target retired
        after its claim was lost is never answered: kept for good, the dict grew for
        as long as checker processes died, over a long run with a churning corpus."""
        # kept in the order their leases run out (a lease is taken at the claim, for
        # lease_seconds), so the run-out ones are at the front: a walk of the whole
        # dict at each loss cost ~5 s of CPU in the event loop when a checker process
        # died twice with 16,384 claims (concurrency 2048, 7x ahead) queued in it
        now = self._clock()
        while self._lost:
            first = next(iter(self._lost.values()))  # OrderedDict: O(1), dict: not
            if first.lease > now:
                break
            self._lost.popitem(last=False)
        self._lost.pop(claim.id, None)  # to the end: a new lease
        self._lost[claim.id] = claim

    def answered(self, target: int) -> None:
        """Its target's check came back: an earlier lost claim is settled."""
        self._lost.pop(target, None)

    def take(self) -> list[Claimed]:
        """Every claim kept, to give back; none kept after."""
        lost, self._lost = list(self._lost.values()), OrderedDict()
        return lost
