"""`python -m monitor.worker`: one checker process of `check --workers N`.

Reads the settings (one JSON line) and then its targets (`[index, kind, url]`
JSON lines) from stdin, checks them with the ordinary engine, and writes
`index<TAB>result` lines to stdout (monitor.wire). The parent owns the run:
the worker ignores SIGINT (the terminal sends it to the whole process group)
and is stopped by the parent, which writes the partial report.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from monitor.config import Settings
from monitor.model import Kind
from monitor.targets import Target
from monitor.wire import result_to_line


async def _run(settings: Settings, targets: list[Target], index: dict[int, int]) -> None:
    from monitor.http import Checker
    from monitor.runner import check_targets

    out = sys.stdout
    async with Checker(settings) as checker:
        results = check_targets(targets, checker, concurrency=settings.concurrency)
        try:
            async for target, result in results:
                out.write(f"{index[id(target)]}\t{result_to_line(result)}\n")
                out.flush()
        finally:
            await results.aclose()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lines = iter(sys.stdin)
    settings = Settings.model_validate_json(next(lines))
    targets: list[Target] = []
    index: dict[int, int] = {}
    for line in lines:
        i, kind, url = json.loads(line)
        target = Target(url, Kind(kind))
        index[id(target)] = i
        targets.append(target)
    try:
        asyncio.run(_run(settings, targets, index))
    except BrokenPipeError:  # the parent is gone: nobody to report to
        sys.exit(0)


if __name__ == "__main__":
    main()
