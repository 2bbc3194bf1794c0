"""`run --once`: every target due at one cutoff checked once, and the pass ends
only when all are recorded (the dispatcher claims and runs the checks).

A pass must end on a claim that found the queue drained, never on "nothing
claimed, nothing in flight" alone: a dispatch held back by its capacity (the
checks holding it all ended meanwhile), the result writer's backlog, the
cluster or a failed claim took nothing and says nothing about the queue, and
such passes ended with exit 0 and thousands of due targets unchecked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.daemon.dispatch import Dispatcher

SCAN_POLL = 0.05  # while the corpus is still written: claim again this often
# a claim that failed is tried again after these delays (s), then the pass ends
# and exits 1 saying so (a lock held a moment too long must not fail a pass)
ONCE_CLAIM_RETRIES = (0.1, 0.5, 2.0, 5.0)


async def run_pass(
    d: Dispatcher, scanning: asyncio.Task[None] | None = None, floor: int | None = None
) -> None:
    """Check every target due now, once, and return when all are recorded.

    `scanning`: the first corpus pass, still storing what it stamped before
    this call; its targets are due too, so claiming goes on until it ends.
    `floor`: the highest stamp the pass's scans stored targets with. A clock
    set back after it put the cutoff below it, and the new corpus was left
    unchecked with exit 0; a cutoff raised to it checks, at most, what fell
    due within the step as well.
    """
    cutoff = d.now() if floor is None else max(d.now(), floor)
    retries = iter(ONCE_CLAIM_RETRIES)
    held_since: float | None = None  # not a live cluster member since (monotonic)
    while not d.stopping:
        writing = scanning is not None and not scanning.done()
        d.check_ended.clear()  # before the claim: a check ending meanwhile is seen
        claimed = await d.dispatch(cutoff=cutoff)
        if not claimed and not d.inflight and not writing:
            # Nothing taken and nothing to wait on: the pass is done only if the
            # last claim found the queue drained. A dispatch held back by its
            # capacity (checks that all ended while it ran), the writer, the
            # cluster or a failed claim ended this pass with exit 0 and
            # thousands of due targets unchecked.
            why = d.ended_by
            if why == "drained" or d.stopping:
                break
            if why == "claim":  # tried again a few times, then exit 1 says so
                delay = next(retries, None)
                if delay is None:
                    break
                await _pause(d, delay)  # a stop (SIGTERM) ends it at once
            elif why == "writer":
                if not d.writer.healthy:
                    break  # it cannot write: its failure is the exit's reason
                await asyncio.sleep(SCAN_POLL)
            elif why == "scope":
                now = time.monotonic()
                held_since = now if held_since is None else held_since
                if now - held_since > d.current().cluster_timeout:
                    d.claim_error = "this member is not a live member of the cluster"
                    break
                await asyncio.sleep(SCAN_POLL)
            continue  # "capacity": the checks holding it ended meanwhile
        held_since = None
        if claimed:  # a claim works again: the tries are for one failing spell
            retries = iter(ONCE_CLAIM_RETRIES)
        if not d.inflight and not writing:
            continue  # every check it started ended while it claimed again
        # a check's end frees a slot; while the corpus is written, look for its
        # new targets now and then. A stop (SIGTERM) sets check_ended too: it is
        # seen at once, not after a check's whole timeout or a poll's period
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SCAN_POLL if writing else None):
                await d.check_ended.wait()


async def _pause(d: Dispatcher, delay: float) -> None:
    """Wait `delay` seconds, or less when a stop comes: `run --once` saw a
    SIGTERM only after a failed claim's whole wait (up to 5 s)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await d.stopped.wait()
