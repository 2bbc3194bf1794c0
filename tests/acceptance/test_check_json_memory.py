"""`check` reads a large `.json` list through a window, not whole.

A `.json` file was read whole, its bytes and then its text, before its elements
were walked one at a time: a 64 MB list of 64 articles took 173 MB of resident
memory to check offline (40 MB of it the process itself), a 400 MB one past
1 GB. The bound below, 1.5 times the file's size for the whole process, is
what reading the file whole cannot stay under (its bytes and its text are
twice the file), and several times what the window needs.
"""

from __future__ import annotations

import json
from pathlib import Path

from daemon_harness import CLI
from support.child_peak import peak_run

ARTICLES = 64
# ~1 MB of body each: brackets, quotes and escapes inside strings, a non-ASCII letter
BODY = 'Lorem ipsum [dolor] {sit} "amet", consectetur \\ adipiscing é\n' * 17_000


def test_check_reads_a_large_json_list_in_less_memory_than_the_file(tmp_path: Path) -> None:
    corpus = tmp_path / "list.json"
    with corpus.open("w", encoding="utf-8") as out:
        out.write("[\n")
        for n in range(ARTICLES):
            record = {"webUrl": f"https://news.example.com/{n}", "title": f"t{n}", "body": BODY}
            out.write(("," if n else "") + json.dumps(record, ensure_ascii=False) + "\n")
        out.write("]\n")
    size = corpus.stat().st_size
    assert size > 64_000_000

    run = peak_run([CLI, "check", corpus, "--offline", "--format", "json"])

    assert run.code == 1 and "Traceback" not in run.err, run.err  # fields `check` asks for
    report = json.loads(run.out)
    assert report["invalid_documents"] == []
    assert [a["webUrl"] for a in report["articles"]] == [
        f"https://news.example.com/{n}" for n in range(ARTICLES)
    ]
    peak = run.peak_kib * 1024
    assert peak < 1.5 * size, f"peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"
