"""Tokens Python's JSON reader takes but a corpus record may not hold (session 6):
an integer past int()'s 4,300-digit limit, NaN, Infinity. Each costs its own
record, named with its line; the records after it in the same file are still
checked and signed (a bare ValueError ended the file as an "internal error"
with no line, and `sign --in-place` stopped with a traceback, exit 70).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from daemon_harness import CLI, offline_report

HUGE = "1" * 5000


def _record(n: str, extra: str = "") -> str:
    return '{"webUrl": "https://news.test/' + n + '", "title": "t"' + extra + "}"


def corpus(root: Path) -> Path:
    root.mkdir()
    (root / "feed.jsonl").write_text(
        "\n".join(
            [_record("a"), _record("b", f', "n": {HUGE}'), _record("c", ', "s": NaN'), _record("d")]
        )
        + "\n"
    )
    (root / "list.json").write_text(
        "[" + _record("e") + ",\n" + _record("f", f', "n": -{HUGE}') + ",\n" + _record("g") + "]"
    )
    (root / "wrap.json").write_text(
        '{"news": [' + _record("h", ', "x": [1, Infinity]') + ",\n" + _record("i") + "]}"
    )
    (root / "big.md").write_text(f"---\nwebUrl: https://news.test/j\nn: {HUGE}\n---\n")
    return root


WANT = {"a", "c", "d", "e", "g", "i"}  # c is refused (NaN); listed to show it
BAD = {
    ("feed.jsonl", 2): "an integer of 5,000 digits at column 54",
    ("feed.jsonl", 3): "NaN at column 54 is not JSON",
    ("list.json", 2): "an integer of 5,000 digits on line 2",
    ("wrap.json", 1): "Infinity on line 1 is not JSON",
    ("big.md", 3): "an integer of 5,000 characters on line 3",
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60)


def test_check_reports_each_refused_token_and_keeps_the_rest(tmp_path: Path) -> None:
    root = corpus(tmp_path / "corpus")
    report = offline_report(root)
    got = {(Path(d["source"]).name, d["line"]): d["error"] for d in report["invalid_documents"]}
    assert set(got) == set(BAD), got
    for where, fragment in BAD.items():
        assert fragment in got[where], got[where]
        assert "internal error" not in got[where]
        assert "set_int_max_str_digits" not in got[where]
    assert {a["webUrl"].rsplit("/", 1)[1] for a in report["articles"]} == WANT - {"c"}


def test_sign_in_place_signs_the_others_and_never_a_traceback(tmp_path: Path) -> None:
    root = corpus(tmp_path / "corpus")
    key = tmp_path / "k.key"
    assert _run("keygen", "--type", "aes256", "--out", str(key)).returncode == 0
    done = _run("sign", str(root), "--in-place", "--key-file", str(key))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert (root / "feed.jsonl").read_text().count('"secured"') == 2  # a and d
    assert (root / "list.json").read_text().count('"secured"') == 2  # e and g
    verified = _run("verify", str(root), "--key-file", str(key), "--format", "json")
    assert "Traceback" not in verified.stderr
