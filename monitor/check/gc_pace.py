"""The garbage collector's pace during a check run.

A run allocates a few dozen objects per check (futures, responses, results)
and frees nearly all of them by reference counting; the cyclic collector's
default pace (a young-generation pass every 700 net allocations) then spends
~8-10% of a 50,000-URL run's CPU finding almost nothing. Collecting the young
generation every 20,000 allocations instead cost no measurable memory
(bench/tree_rss.py: peak tree RSS 141 MB either way) and the cycles a run
does make (exceptions with tracebacks, cancelled tasks) are still collected.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

RUN_GEN0_THRESHOLD = 20_000


@contextmanager
def run_pace() -> Iterator[None]:
    """Collect the young generation less often while the block runs."""
    before = gc.get_threshold()
    gc.set_threshold(RUN_GEN0_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def end_of_process() -> None:
    """The process is about to end: spare the interpreter's last garbage
    collections a walk over every object still alive (~470 modules' worth,
    pydantic's schemas, the corpus): ~40 ms of CPU at the end of every `check`
    and of every worker (issue 16). The garbage that exists now is still
    collected, its finalizers run; the exit still flushes stdout and stderr
    and runs the atexit handlers. Only where the process ends (the console
    script's `main`, the worker's): never from code that goes on (tests,
    CliRunner), whose objects would then never be collected."""
    gc.collect()
    gc.freeze()
