"""`sign --in-place` on hostile files and folders, through the installed command line.

The suite runs as root in CI, and root may write anywhere: the cases about
what a user may not do run the command as `nobody` (uid 65534) with
`setpriv` when the tests are root, and as the current user otherwise.
Every case also checks that the key's bytes appear in no output.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.unprivileged import enterable_by_others

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "examples" / "articles" / "003_bbc_suez_canal.txt"
NOBODY = 65534
IS_ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}

needs_root = pytest.mark.skipif(not IS_ROOT, reason="giving a file to another user needs root")


def _as_user() -> list[str]:
    """The prefix that drops root to `nobody` (nothing when not root)."""
    if not IS_ROOT:
        return []
    if SETPRIV is None:
        pytest.skip("running as root without setpriv: cannot act as an unprivileged user")
    return [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _give(path: Path) -> None:
    """Make `path` belong to the user the unprivileged cases run as."""
    if IS_ROOT:
        os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


@functools.cache
def _made_key() -> Path:
    """One `keygen` for the file's tests (a child each cost a second), copied into
    each test's own keys folder; removed when the worker exits."""
    folder = Path(tempfile.mkdtemp(prefix="sign-in-place-key-"))
    atexit.register(shutil.rmtree, folder, True)
    key = folder / "publisher.key"
    made = subprocess.run(
        [sys.executable, "-m", "monitor", "keygen", "--out", str(key)],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=folder,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return key


class Signer:
    def __init__(self, base: Path) -> None:
        self.base = base
        keys = base / "keys"
        keys.mkdir()
        self.key = keys / "publisher.key"
        shutil.copy2(_made_key(), self.key)  # as keygen left it: its bytes and its mode
        self.secret = self.key.read_text().strip()
        _give(keys)
        _give(self.key)

    def run(
        self, *args: str | Path, unprivileged: bool = False
    ) -> subprocess.CompletedProcess[str]:
        prefix = _as_user() if unprivileged else []
        done = subprocess.run(
            [*prefix, sys.executable, "-m", "monitor", *map(str, args)],
            capture_output=True,
            text=True,
            env=ENV,
            cwd=self.base,
            timeout=60,
            check=False,
        )
        output = done.stdout + done.stderr
        assert "Traceback" not in output, output
        assert self.__dict__.get("secret", "\0") not in output  # the key never shows
        return done

    def sign(
        self, *paths: Path, force: bool = False, unprivileged: bool = False
    ) -> subprocess.CompletedProcess[str]:
        extra = ["--force"] if force else []
        return self.run(
            "sign", *paths, "--key-file", self.key, "--in-place", *extra, unprivileged=unprivileged
        )

    def story(self, folder: Path, name: str = "story.txt") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        shutil.copyfile(STORY, path)
        return path


@pytest.fixture
def signer() -> Iterator[Signer]:
    # Not tmp_path: its parents are 0700, and the unprivileged cases must reach it.
    base = Path(tempfile.mkdtemp(prefix="sign-in-place-", dir="/tmp"))
    base.chmod(0o755)
    try:
        with enterable_by_others():  # `nobody` must reach the interpreter and the checkout
            yield Signer(base)
    finally:
        for folder, _, _ in os.walk(base):
            Path(folder).chmod(0o755)
        shutil.rmtree(base)


def signed(path: Path) -> bool:
    return 'secured: "v2.publisher.' in path.read_text(encoding="utf-8")


@needs_root
def test_owner_group_and_mode_are_kept(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    os.chown(story, NOBODY, NOBODY)
    story.chmod(0o640)
    done = signer.sign(story)
    assert done.returncode == 0, done.stderr
    assert signed(story)
    after = story.stat()
    assert (after.st_uid, after.st_gid) == (NOBODY, NOBODY)
    assert stat.S_IMODE(after.st_mode) == 0o640
    assert not [p for p in story.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_a_folder_it_cannot_write_in_is_reported_and_the_others_are_signed(
    signer: Signer,
) -> None:
    locked = signer.story(signer.base / "a-locked")
    free = signer.story(signer.base / "b-free")
    for path in (locked, free, locked.parent, free.parent):
        _give(path)
    locked.parent.chmod(0o555)
    before = locked.read_bytes()
    done = signer.sign(locked.parent, free.parent, unprivileged=True)
    assert done.returncode == 1, done.stderr
    assert f"{locked}: cannot write in its folder {locked.parent}" in done.stderr
    assert "ermission denied" in done.stderr
    assert locked.read_bytes() == before
    assert signed(free)


def test_a_read_only_file_is_refused_unless_forced(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    other = signer.story(signer.base / "corpus", "other.txt")
    story.chmod(0o444)
    before = story.read_bytes()
    refused = signer.sign(story.parent)
    assert refused.returncode == 1
    assert f"{story}: is read-only (mode 0444); pass --force" in refused.stderr
    assert story.read_bytes() == before and signed(other)

    forced = signer.sign(story, force=True)
    assert forced.returncode == 0, forced.stderr
    assert signed(story) and stat.S_IMODE(story.stat().st_mode) == 0o444
    assert f"{story}: was read-only (mode 0444)" in forced.stderr


def test_a_file_the_user_may_not_write_is_read_only_to_them(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    _give(story.parent)
    story.chmod(0o644)
    if not IS_ROOT:
        story.chmod(0o444)  # a file of one's own: the write bit is what makes it read-only
    done = signer.sign(story, unprivileged=True)
    assert done.returncode == 1
    assert "is read-only" in done.stderr


def test_a_hard_linked_file_is_refused_unless_forced(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    twin = signer.base / "elsewhere.txt"
    os.link(story, twin)
    before = story.read_bytes()
    refused = signer.sign(story)
    assert refused.returncode == 1
    assert f"{story}: has 2 hard links" in refused.stderr and "--force" in refused.stderr
    assert story.read_bytes() == before and story.stat().st_nlink == 2

    forced = signer.sign(story, force=True)
    assert forced.returncode == 0, forced.stderr
    assert "had 2 hard links" in forced.stderr
    assert signed(story) and twin.read_bytes() == before


@needs_root
def test_an_owner_it_cannot_give_back_is_refused_unless_forced(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    _give(story.parent)  # nobody may create files here, but the story stays root's
    story.chmod(0o666)
    before = story.read_bytes()
    refused = signer.sign(story, unprivileged=True)
    assert refused.returncode == 1
    assert f"{story}: cannot keep its owner and group 0:0" in refused.stderr
    assert story.read_bytes() == before and story.stat().st_uid == 0
    assert not [p for p in story.parent.iterdir() if p.name.startswith(".")]

    forced = signer.sign(story, force=True, unprivileged=True)
    assert forced.returncode == 0, forced.stderr
    assert "could not be kept" in forced.stderr
    assert signed(story) and story.stat().st_uid == NOBODY


def test_a_symlink_is_not_written_through(signer: Signer) -> None:
    outside = signer.story(signer.base / "outside", "real.txt")
    corpus = signer.base / "corpus"
    corpus.mkdir()
    (corpus / "link.txt").symlink_to(outside)
    plain = signer.story(corpus, "plain.txt")
    before = outside.read_bytes()
    done = signer.sign(corpus)
    assert done.returncode == 1
    assert f"{corpus / 'link.txt'}: is a symbolic link (to {outside})" in done.stderr
    assert outside.read_bytes() == before and (corpus / "link.txt").is_symlink()
    assert signed(plain)


def test_a_fifo_in_the_corpus_does_not_hang_the_signer(signer: Signer) -> None:
    corpus = signer.base / "corpus"
    corpus.mkdir()
    os.mkfifo(corpus / "pipe.txt")
    plain = signer.story(corpus, "plain.txt")
    done = signer.sign(corpus)  # subprocess timeout: a hang fails the test
    assert done.returncode == 1
    assert f"{corpus / 'pipe.txt'}: not a regular file" in done.stderr
    assert signed(plain)


def test_extended_attributes_are_kept(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    try:
        os.setxattr(story, "user.reviewed-by", b"desk")
    except OSError as exc:
        pytest.skip(f"no user extended attributes on this file system: {exc.strerror}")
    done = signer.sign(story)
    assert done.returncode == 0, done.stderr
    assert signed(story)
    assert os.getxattr(story, "user.reviewed-by") == b"desk"


@pytest.mark.parametrize("stem", ["s" * 251, "é" * 125 + "s"], ids=["ascii", "two-byte"])
def test_a_file_with_the_longest_name_allowed_is_signed(signer: Signer, stem: str) -> None:
    story = signer.story(signer.base / "corpus", stem + ".txt")  # 255 bytes
    done = signer.sign(story)
    assert done.returncode == 0, done.stderr
    assert signed(story)


def test_a_file_name_cannot_forge_a_line_of_output(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus", "x\nforged: signed 9 article(s) (v2)\n.txt")
    story.chmod(0o444)
    done = signer.sign(story.parent)
    assert done.returncode == 1
    assert not [line for line in done.stderr.splitlines() if line.startswith("forged")]
    assert "x\\nforged" in done.stderr


def test_a_jsonl_file_with_a_line_not_utf8_says_its_good_lines_are_not_signed(
    signer: Signer,
) -> None:
    corpus = signer.base / "corpus"
    corpus.mkdir()
    good = (ROOT / "examples" / "articles" / "012_stream.jsonl").read_bytes().splitlines()[0]
    stream = corpus / "s.jsonl"
    stream.write_bytes(b"\xff\n" + good + b"\n")
    before = stream.read_bytes()
    done = signer.sign(corpus)
    assert done.returncode == 1
    assert f"{stream}:1: invalid document: not valid UTF-8" in done.stderr
    assert f"{stream}: its valid records are not signed either" in done.stderr
    assert stream.read_bytes() == before


def test_a_key_file_the_user_cannot_read_is_a_configuration_error(signer: Signer) -> None:
    story = signer.story(signer.base / "corpus")
    _give(story.parent)
    _give(story)
    locked = signer.base / "keys" / "root.key"
    shutil.copyfile(signer.key, locked)
    locked.chmod(0o000 if not IS_ROOT else 0o600)  # root's own: nobody cannot read it
    done = signer.run("verify", story, "--key-file", locked, unprivileged=True)
    assert done.returncode == 2
    assert str(locked) in done.stderr and "not readable" in done.stderr  # click says it first


def test_jsonl_lines_joined_with_cat_are_all_signed(signer: Signer) -> None:
    """Exports joined with `cat` carry a byte-order mark at the start of each part,
    which the corpus reader drops: the article after it was left unsigned, with no
    word, and the file was said signed."""
    corpus = signer.base / "corpus"
    corpus.mkdir()
    first, second = (
        (ROOT / "examples" / "articles" / "012_stream.jsonl").read_bytes().splitlines()[:2]
    )
    stream = corpus / "joined.jsonl"
    bom = "\ufeff".encode()
    # the first line may start with marks the file's reader drops too; a later one
    # with one mark (two is an invalid document to the reader, left as it is)
    stream.write_bytes(
        bom + bom + first + b"\r\n" + bom + second + b"\r\n\n[1]\n" + bom + bom + first
    )
    done = signer.sign(corpus)
    assert done.returncode == 1, done.stderr  # lines 4 and 5: invalid documents
    assert f"{stream}:4: invalid document" in done.stderr
    assert f"{stream}:5: invalid document" in done.stderr
    assert f"{stream}: signed 2 article(s)" in done.stderr
    lines = stream.read_bytes().split(b"\n")
    assert [line.count(bom) for line in lines] == [2, 1, 0, 0, 2]  # every mark kept
    assert all(b'"secured": "v2.publisher.' in lines[n] for n in (0, 1)), lines
    assert lines[4] == bom + bom + first
    assert lines[0].endswith(b"\r") and lines[1].endswith(b"\r")  # line ends kept
    verified = signer.run("verify", stream, "--key-file", signer.key, "--format", "json")
    assert verified.stdout.count('"status": "valid"') == 2, verified.stdout


def test_a_read_only_jsonl_file_names_every_invalid_line_with_its_refusal(signer: Signer) -> None:
    corpus = signer.base / "corpus"
    corpus.mkdir()
    good = (ROOT / "examples" / "articles" / "012_stream.jsonl").read_bytes().splitlines()[0]
    stream = corpus / "s.jsonl"
    stream.write_bytes(b"{\n" + good + b"\n[2]\nnot json\n")
    stream.chmod(0o444)
    before = stream.read_bytes()
    done = signer.sign(corpus)
    assert done.returncode == 1
    assert f"{stream}: is read-only (mode 0444); pass --force" in done.stderr
    for line in (1, 3, 4):  # before the article and after it
        assert f"{stream}:{line}: invalid document" in done.stderr, done.stderr
    assert stream.read_bytes() == before


def test_jsonl_marks_are_dropped_as_check_drops_them(signer: Signer) -> None:
    """The reader drops two byte-order marks before a file's first line: a file of one
    line after two was left unsigned with no word (exit 0), and an article after
    three, invalid to `check` and `verify`, was signed (exit 0, no invalid document)."""
    corpus = signer.base / "corpus"
    corpus.mkdir()
    first, second = (
        (ROOT / "examples" / "articles" / "012_stream.jsonl").read_bytes().splitlines()[:2]
    )
    bom = "\ufeff".encode()
    one = corpus / "one.jsonl"
    one.write_bytes(bom + bom + first)
    three = corpus / "three.jsonl"
    three.write_bytes(bom * 3 + first + b"\n" + second + b"\n")
    done = signer.sign(corpus)
    assert done.returncode == 1, done.stderr
    assert f"{one}: signed 1 article(s)" in done.stderr
    assert f"{three}:1: invalid document" in done.stderr
    assert f"{three}: signed 1 article(s)" in done.stderr
    assert one.read_bytes().startswith(bom + bom + first[:-1] + b', "secured": "v2.publisher.')
    assert three.read_bytes().startswith(bom * 3 + first + b"\n")
    verified = signer.run("verify", corpus, "--key-file", signer.key, "--format", "json")
    assert verified.stdout.count('"status": "valid"') == 2, verified.stdout
    assert '"status": "missing"' not in verified.stdout
