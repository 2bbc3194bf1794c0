"""`check DIR -o FILE` / `> FILE` where FILE is a document of DIR under another name
(a hard link, a symbolic link, a bind mount): refused. The guard walks DIR; it
stats each document only when FILE may have another name than through a
symbolic link (monitor.cli.output_path._other_names), else only the links."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.cli import output_path
from monitor.cli.output_path import _other_names, output_clash

ROOT = Path(__file__).resolve().parents[2]
PER_FOLDER = 10  # documents in each of the three folders


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    for sub in ("", "a", "a/b"):
        (folder / sub).mkdir(exist_ok=True)
        for i in range(PER_FOLDER):
            (folder / sub / f"{i}.txt").write_text(f'---\nwebUrl: "https://n.test/{sub}{i}"\n---\n')
    return folder


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "out" / "report.json"
    path.parent.mkdir()
    path.write_text("")
    return path


def device_of(path: Path) -> str:
    st = os.stat(path)
    return f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"


def mount_table(folder: Path, *devices: str) -> str:
    """A /proc/self/mountinfo of one mount per device given (a device twice: a bind mount)."""
    path = folder / "mountinfo"
    path.write_text(
        "".join(f"{n} 1 {d} / /m{n} rw - ext4 /dev/x rw\n" for n, d in enumerate(devices))
    )
    return str(path)


@pytest.fixture
def mounts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, report: Path) -> Callable[[int], None]:
    """The guard reads a mount table where the report's file system is mounted
    `times` times, whatever this machine's is (a CI runner may bind-mount /tmp)."""

    def mounted(times: int) -> None:
        table = mount_table(tmp_path, "0:1", *[device_of(report)] * times)
        monkeypatch.setattr(
            output_path, "_other_names", lambda st, mountinfo=table: _other_names(st, mountinfo)
        )

    return mounted


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, corpus: Path) -> Iterator[dict[str, int]]:
    """os.stat of a corpus document, and os.scandir of a corpus folder, counted."""
    counted = {"stat": 0, "scandir": 0}
    stat, scandir = os.stat, os.scandir

    def counting_stat(path: object, *args: object, **kw: object) -> os.stat_result:
        if str(path).startswith(str(corpus)) and str(path).endswith(".txt"):
            counted["stat"] += 1
        return stat(path, *args, **kw)  # type: ignore[arg-type]

    def counting_scandir(path: object = ".") -> object:
        if str(path).startswith(str(corpus)):
            counted["scandir"] += 1
        return scandir(path)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "stat", counting_stat)
    monkeypatch.setattr(os, "scandir", counting_scandir)
    yield counted


def test_a_report_with_no_other_name_costs_one_listing_per_folder_and_no_stat(
    corpus: Path, report: Path, mounts: Callable[[int], None], calls: dict[str, int]
) -> None:
    mounts(1)  # one link, its file system mounted once
    assert not output_path._other_names(os.stat(report))
    assert output_clash(report, [corpus]) is None
    assert calls == {"stat": 0, "scandir": 3}  # was one stat per document (30)


def test_a_report_on_a_file_system_mounted_twice_costs_a_stat_per_document(
    corpus: Path, report: Path, mounts: Callable[[int], None], calls: dict[str, int]
) -> None:
    """Mounted twice, the report may be a document through the other mount: each is stat'ed."""
    mounts(2)
    assert output_path._other_names(os.stat(report))
    assert output_clash(report, [corpus]) is None
    assert calls == {"stat": 3 * PER_FOLDER, "scandir": 3}


def test_a_symbolic_link_to_the_report_is_found_by_its_stat_alone(
    corpus: Path, report: Path, mounts: Callable[[int], None], calls: dict[str, int]
) -> None:
    mounts(1)
    (corpus / "a" / "b" / "z.json").symlink_to(report)
    clash = output_clash(report, [corpus])
    assert clash is not None and "a hard or symbolic link" in clash
    assert str(corpus / "a" / "b" / "z.json") in clash
    assert calls["stat"] == 0  # z.json is not a .txt: no document was stat'ed


def test_a_hard_link_to_the_report_is_found(
    corpus: Path, report: Path, calls: dict[str, int]
) -> None:
    os.link(report, corpus / "a" / "twin.json")
    clash = output_clash(report, [corpus])
    assert clash is not None and str(corpus / "a" / "twin.json") in clash
    assert calls["stat"] == 2 * PER_FOLDER  # the folders walked up to it: each document stat'ed


def test_other_names_reads_the_mount_table(tmp_path: Path, report: Path) -> None:
    st = os.stat(report)
    device = device_of(report)

    def table(*devices: str) -> str:
        return mount_table(tmp_path, *devices)

    assert not _other_names(st, table("0:1", device, "0:2"))
    assert _other_names(st, table(device, "0:2", device))  # a bind mount
    assert _other_names(st, table("0:1"))  # not found: cannot be told
    assert _other_names(st, str(tmp_path / "missing"))  # no /proc
    os.link(report, tmp_path / "second")
    assert _other_names(os.stat(report), table(device))  # a hard link


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_the_report_through_a_bind_mount_into_the_corpus_is_found(
    corpus: Path, report: Path
) -> None:
    """`docker run -v /data:/corpus -v /data/r.json:/out/r.json`: one file, one link,
    two names. Run in a private mount namespace: no mount outlives the test."""
    inside = corpus / "a" / "mounted"
    inside.mkdir()
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from monitor.cli.output_path import output_clash
        print(output_clash(Path({str(report)!r}), [Path({str(corpus)!r})]))
        """
    )
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount --bind "$1" "$2" && exec "$3" -c "$4"',
            "sh",
            str(report.parent),
            str(inside),
            sys.executable,
            code,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0 and ("mount" in done.stderr or "unshare" in done.stderr):
        pytest.skip(f"cannot bind mount here: {done.stderr.strip()}")
    assert str(inside / "report.json") in done.stdout, done.stderr
    assert "bind mount" in done.stdout  # not only "a hard or symbolic link": neither is there
