"""The end of an `article-monitor` process (issue 16: the interpreter's last
garbage collections walked every live object, ~40 ms of CPU per `check` and
per worker). `end_of_process` freezes what is alive once the command is
done; what was already garbage is still collected, and the output is whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# the console script's `main`, with a look at the collector once it is done
RUN_AND_LOOK = """
import atexit, gc, runpy, sys
atexit.register(lambda: sys.stderr.write(f"FROZEN {gc.get_freeze_count()}\\n"))
sys.argv = ["article-monitor", *sys.argv[1:]]
runpy.run_module("monitor", run_name="__main__", alter_sys=True)
"""

CYCLE_THEN_END = """
import sys
from monitor.check.gc_pace import end_of_process

class Cycle:
    def __del__(self):
        sys.stdout.write("finalized\\n")

a = Cycle(); a.me = a
del a  # garbage only the collector can find
end_of_process()
sys.stdout.write("ended\\n")
"""


def test_a_check_ends_with_the_live_objects_frozen_and_its_report_whole(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    record = {"webUrl": "https://www.example.com/news/a.html", "title": "A"}
    corpus.write_text(
        "\n".join(json.dumps({**record, "webUrl": f"{record['webUrl']}?{i}"}) for i in range(50))
        + "\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", RUN_AND_LOOK, "check", str(corpus), "--offline", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # the records lack fields: problems, exit 1
    assert json.loads(proc.stdout)["summary"]["articles"] == 50  # stdout whole, piped
    frozen = next(x for x in proc.stderr.splitlines() if x.startswith("FROZEN "))
    assert int(frozen.removeprefix("FROZEN ")) > 10_000


def test_garbage_of_before_the_end_is_still_finalized() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CYCLE_THEN_END],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert proc.stdout.splitlines() == ["finalized", "ended"]
