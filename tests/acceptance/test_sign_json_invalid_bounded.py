"""`sign --in-place` of a `.json` file in bounded memory whatever it holds: its
invalid elements are said as they are read, and a file that is not UTF-8 text is
refused from the reader's first pass over its bytes.

The streamed list still kept every invalid document until the file's end (a
10 MB list of 5,000,000 bad elements peaked at 1 GB; `check` at 45 MB), a
wrapper whose object `check` stops in kept them twice, and a list with one
byte that is not UTF-8 was read whole three times over (a 97 MB one: 332 MB)."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_harness import CLI, aes_key, user_env
from support.child_peak import peak_run

from monitor.corpus import files

# soak and scale: `make test-slow` (CI runs it after `make test`), not the README's `make test`
pytestmark = pytest.mark.slow

# invalid elements: all kept until the file's end, they peaked at ~142 MiB (~46 MiB
# now); 1,000,000 of them took twice the time for the same verdict
BAD = 500_000
PEAK_KIB = 120_000


@pytest.mark.parametrize("shape", ["list", "wrapper-stopped"])
def test_invalid_elements_are_said_as_they_are_read(tmp_path: Path, shape: str) -> None:
    listed = '[{"webUrl": "https://news.example/1"},' + ",".join(["1"] * BAD) + "]"
    # a wrapper whose object ends in a syntax error: nothing signed, every element named
    text = listed if shape == "list" else f'{{"news": {listed}, "end": }}'
    source = tmp_path / "many.json"
    source.write_text(text)
    key = aes_key(tmp_path / "pub.key")
    run = peak_run(
        [CLI, "sign", source, "--key-file", key, "--in-place"], env=user_env(), timeout=120
    )
    assert run.code == 1 and "Traceback" not in run.err, run.err[-2000:]
    said = run.err.splitlines()
    invalid = [line for line in said if ": invalid document: " in line]
    assert len(invalid) == BAD + (shape != "list"), said[-5:]
    assert invalid[0].startswith(f"{source}:1: invalid document: ")
    assert "list element 1 " in invalid[0], invalid[0]
    if shape == "list":
        assert f"{source}: signed 1 article(s) (v2)" in said
        assert '"secured": "v2.' in source.read_text()
    else:
        assert source.read_text() == text
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


def test_a_json_file_that_is_not_utf8_is_refused_without_reading_it_whole(
    tmp_path: Path,
) -> None:
    record = '{"webUrl": "https://news.example/%d", "excerpt": "' + "e" * 900 + '"}'
    source = tmp_path / "many.json"
    with source.open("wb") as fh:
        fh.write(b"[" + b",\n".join((record % n).encode() for n in range(60_000)) + b"]\xff\n")
    before = source.read_bytes()
    key = aes_key(tmp_path / "pub.key")
    run = peak_run(
        [CLI, "sign", source, "--key-file", key, "--in-place"], env=user_env(), timeout=120
    )
    assert run.code == 1 and "Traceback" not in run.err, run.err
    assert run.err.splitlines() == [
        f"{source}:60000: invalid document: not valid UTF-8: byte 0xff at byte offset "
        f"{len(before) - 2} (line 60000); save the file as UTF-8"
    ]
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.json", "pub.key"]
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


@pytest.mark.parametrize("name", ["big.json", "big.yaml", "big.md"])
def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path, name: str) -> None:
    """Refused by its size, as `check` refuses it: its first 512 MiB were read first,
    only to be dropped (570 MB for a 513 MiB file, sparse or not)."""
    source = tmp_path / name
    with source.open("wb") as fh:  # sparse: no disk, no time
        fh.truncate(files.MAX_FILE_BYTES + 1)
    key = aes_key(tmp_path / "pub.key")
    run = peak_run(
        [CLI, "sign", source, "--key-file", key, "--in-place"], env=user_env(), timeout=120
    )
    assert run.code == 1 and "Traceback" not in run.err, run.err
    assert run.err.splitlines() == [
        f"{source}: {files.over_limit(source.suffix).message}; left unchanged"
    ]
    assert run.peak_kib < PEAK_KIB, f"peak RSS {run.peak_mib} MiB"


def test_json_lines_past_the_whole_file_limit_are_read_a_line_at_a_time(tmp_path: Path) -> None:
    """JSON Lines have no whole-file limit, in `check` or here: a file of 512 MiB and
    one byte that is one line is named as the line over the line limit, as `check`
    names it, in the memory `check` takes (both read up to the line limit, 64 MiB,
    to find the line too long), and left unchanged."""
    source = tmp_path / "big.jsonl"
    with source.open("wb") as fh:  # sparse: no disk
        fh.truncate(files.MAX_FILE_BYTES + 1)
    key = aes_key(tmp_path / "pub.key")
    run = peak_run(
        [CLI, "sign", source, "--key-file", key, "--in-place"], env=user_env(), timeout=300
    )
    assert run.code == 1 and "Traceback" not in run.err, run.err
    assert run.err.splitlines() == [f"{source}:1: invalid document: {files.line_over_limit()}"]
    assert source.stat().st_size == files.MAX_FILE_BYTES + 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl", "pub.key"]
    check = peak_run([CLI, "check", source, "--offline"], env=user_env(), timeout=300)
    assert check.code == 1 and f"{files.line_over_limit()}" in check.out + check.err
    assert run.peak_kib < check.peak_kib + 20 * 1024, (run.peak_mib, check.peak_mib)
