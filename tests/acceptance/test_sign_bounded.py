"""`sign` of a large corpus in bounded memory: to stdout, one value a line as each
article is read; in place, a JSON Lines file a line at a time, and a `.json` list
a window at a time.

To stdout it kept every document (record and model) until the whole corpus was
read, only to know whether the values need their SOURCE:LINE: 50,000 articles
peaked at ~300 MB, and nothing was printed before the end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, user_env
from support.child_peak import peak_run

# soak and scale: `make test-slow` (CI runs it after `make test`), not the README's `make test`
pytestmark = pytest.mark.slow

ARTICLES = 50_000
PEAK_KIB = 120_000  # ~50 MB now; ~190 MB when every document was kept


def _cli(*args: str | Path) -> str:
    """`article-monitor ARGS`, exit 0: its stdout."""
    done = subprocess.run(
        [CLI, *map(str, args)],
        capture_output=True,
        text=True,
        env=user_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _key(tmp: Path) -> Path:
    key = tmp / "pub.key"
    _cli("keygen", "--type", "aes256", "--out", key)
    return key


def test_a_large_corpus_is_signed_in_bounded_memory(tmp_path: Path) -> None:
    source = tmp_path / "many.jsonl"
    with source.open("w") as fh:
        for n in range(ARTICLES):
            record = {
                "webUrl": f"https://news.example/{n}",
                "title": f"Story {n}",
                "excerpt": "e" * 200,
                "images": [{"url": f"https://news.example/{n}.jpg", "width": 640, "height": 480}],
            }
            fh.write(json.dumps(record) + "\n")
        fh.write("[1, 2]\n")  # an invalid document: said, and exit 1
    key = _key(tmp_path)
    with (tmp_path / "values.txt").open("w") as out:
        run = peak_run(
            [CLI, "sign", source, "--key-file", key], stdout=out, env=user_env(), timeout=120
        )
    assert "Traceback" not in run.err, run.err
    assert run.code == 1 and "invalid document" in run.err, run.err
    lines = (tmp_path / "values.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        f"{source}:{n}" for n in range(1, ARTICLES + 1)
    ]
    assert all(line.split("\t")[1].startswith("v2.") for line in lines[:10]), lines[:2]
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


def test_one_article_is_a_bare_value_and_two_are_prefixed(tmp_path: Path) -> None:
    key = _key(tmp_path)
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps({"webUrl": "https://news.example/a", "title": "t"}) + "\n")
    two = tmp_path / "two.jsonl"
    two.write_text(one.read_text() * 2)
    for path, prefixed in ((one, False), (two, True)):
        lines = _cli("sign", path, "--key-file", key).splitlines()
        assert len(lines) == (2 if prefixed else 1), lines
        assert all(("\t" in line) == prefixed for line in lines), lines


IN_PLACE = 20_000
# ~48 MiB now; ~74 MiB with the file's text and the new one held, ~161 with every record
IN_PLACE_PEAK_KIB = 60_000


def test_a_large_file_is_signed_in_place_in_less_memory(tmp_path: Path) -> None:
    """`sign --in-place` held every record with its model, then the rewritten file's
    records as a second list to compare them: 800 MB for 50,000 articles. JSON Lines
    now go a line at a time (read, signed, rewritten, read back)."""
    source = tmp_path / "many.jsonl"
    with source.open("w") as fh:
        for n in range(IN_PLACE):
            host = f"h{n % 500}.example"
            record = {
                "webUrl": f"https://{host}/news/{n}.html",
                "ampWebUrl": f"https://{host}/amp/news/{n}.html",
                "title": f"Story {n}",
                "excerpt": "e" * 50,
                "images": [{"url": f"https://{host}/{n}.jpg", "width": 640, "height": 480}],
                "provider": {"domain": host, "name": "P"},
            }
            fh.write(json.dumps(record) + "\n")
    key = _key(tmp_path)
    run = peak_run(
        [CLI, "sign", source, "--key-file", key, "--in-place"], env=user_env(), timeout=120
    )
    assert run.code == 0 and "Traceback" not in run.err, run.err
    records = [json.loads(line) for line in source.read_text().splitlines()]
    assert len(records) == IN_PLACE
    assert all(r["secured"].startswith("v2.") for r in records)
    assert [r["webUrl"] for r in records] == [
        f"https://h{n % 500}.example/news/{n}.html" for n in range(IN_PLACE)
    ]
    assert run.peak_kib < IN_PLACE_PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


JSON_ARTICLES = 20_000
JSON_PEAK_KIB = 120_000  # ~50 MiB now; 228 MB when the file was read, signed and checked whole


@pytest.mark.parametrize("shape", ["list", "wrapper"])
def test_a_large_json_list_is_signed_in_place_in_bounded_memory(tmp_path: Path, shape: str) -> None:
    """`sign --in-place` of a `.json` list read the whole text, held every record and
    the rewritten text, then read that back whole: ~11x the file (a 19.6 MB list of
    20,000 articles peaked at 228 MB; the reader takes files of 512 MiB). It is now
    read as `check` reads it, a window at a time, and written as it is read."""
    records = []
    for n in range(JSON_ARTICLES):
        host = f"h{n % 500}.example"
        record: dict[str, object] = {
            "webUrl": f"https://{host}/news/{n}.html",
            "title": f"Story {n}",
            "excerpt": "e" * 700,
            "images": [{"url": f"https://{host}/{n}.jpg", "width": 640, "height": 480}],
        }
        if n % 3 == 0:
            record["secured"] = "v2.old"
        records.append(json.dumps(record, indent=1))
    records[7] = '{"title": "no webUrl"}'  # an invalid element: named, and exit 1
    listed = "[\n" + ",\n".join(records) + "\n]\n"
    text = listed if shape == "list" else f'{{"source": "export",\n "news": {listed}}}\n'
    source = tmp_path / "many.json"
    source.write_text(text)
    key = _key(tmp_path)
    run = peak_run(
        [CLI, "sign", source, "--key-file", key, "--in-place"], env=user_env(), timeout=120
    )
    assert "Traceback" not in run.err, run.err
    assert run.code == 1 and f"{source}:" in run.err and "invalid document" in run.err, run.err
    assert f"signed {JSON_ARTICLES - 1} article(s)" in run.err, run.err
    after = json.loads(source.read_text())
    signed = after if shape == "list" else after["news"]
    assert len(signed) == JSON_ARTICLES and "secured" not in signed[7]
    before = json.loads(text) if shape == "list" else json.loads(text)["news"]
    for n, (old, new) in enumerate(zip(before, signed, strict=True)):
        if n != 7:
            assert new.pop("secured").startswith("v2.") and new.pop("secured", None) is None
            old.pop("secured", None)
        assert new == old
    assert run.peak_kib < JSON_PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


def test_a_large_jsonl_file_with_a_bad_byte_at_its_end_is_refused_in_bounded_memory(
    tmp_path: Path,
) -> None:
    """Not all UTF-8, a JSON Lines file is not signed, its bad lines named: it was read
    whole for that (a 21 MB file with one bad byte at its end peaked at 106 MiB, an
    85 MB one at 290 MiB; the reader takes 512 MiB). Now a line at a time, as `check`."""
    source = tmp_path / "bad-end.jsonl"
    with source.open("wb") as fh:
        for n in range(150_000):
            record = {"webUrl": f"https://h.example/{n}", "title": f"Story {n} " + "x" * 80}
            fh.write(json.dumps(record).encode() + b"\n")
        fh.write(b'{"webUrl": "https://h.example/bad", "title": "\xff"}\n')
    before = source.read_bytes()
    run = peak_run(
        [CLI, "sign", source, "--key-file", _key(tmp_path), "--in-place"],
        env=user_env(),
        timeout=120,
    )
    assert run.code == 1 and "Traceback" not in run.err, run.err
    assert f"{source}:150001: invalid document: " in run.err, run.err
    assert f"{source}: its valid records are not signed either" in run.err, run.err
    assert source.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [
        "bad-end.jsonl",
        "pub.key",
    ]
    assert run.peak_kib < IN_PLACE_PEAK_KIB, f"peak RSS {run.peak_mib} MiB"
