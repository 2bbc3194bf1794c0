"""`verify`, `sign`, `keygen` through the command line, on copies of the example corpus."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "articles" / "000_6c3b12078d9965ad.txt"
CLEAN_ENV: dict[str, str | None] = {
    name: None for name in os.environ if name.startswith("ARTICLE_MONITOR_")
}


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})})


def report(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "examples" / "articles", target)
    return target


@pytest.fixture
def aes_key(tmp_path: Path) -> Path:
    path = tmp_path / "publisher.key"
    assert run("keygen", "--type", "aes256", "--out", path).exit_code == 0
    return path


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


# ---------------------------------------------------------------- keygen


def test_keygen_aes256_file_mode_and_refusal_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    result = run("keygen", "--out", path)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    before = path.read_bytes()
    again = run("keygen", "--out", path)
    assert again.exit_code == 2 and f"{path} already exists: pass --force" in again.output
    assert path.read_bytes() == before
    path.chmod(0o644)
    assert run("keygen", "--out", path, "--force").exit_code == 0
    assert path.read_bytes() != before and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keygen_names_both_ed25519_files_that_exist(tmp_path: Path) -> None:
    out = tmp_path / "signer.key"
    assert run("keygen", "--type", "ed25519", "--out", out).exit_code == 0
    again = run("keygen", "--type", "ed25519", "--out", out)
    assert again.exit_code == 2
    assert f"{out} and {out}.pub already exist: pass --force" in again.output


def test_keygen_aes256_without_out_prints_hex() -> None:
    result = run("keygen")
    assert result.exit_code == 0
    assert len(bytes.fromhex(result.stdout.strip())) == 32


def test_keygen_ed25519_pair(tmp_path: Path) -> None:
    path = tmp_path / "signer.key"
    assert run("keygen", "--type", "ed25519").exit_code == 2
    result = run("keygen", "--type", "ed25519", "--out", path)
    assert result.exit_code == 0, result.output
    pub = tmp_path / "signer.key.pub"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pub.stat().st_mode) == 0o644
    assert b"PRIVATE KEY" in path.read_bytes() and b"PUBLIC KEY" in pub.read_bytes()
    assert "signer" in result.stderr


def test_keygen_makes_the_folder_of_out(tmp_path: Path) -> None:
    """README's `keygen --type aes256 --out keys/prod.key` in a fresh checkout:
    there was no keys/ folder, and keygen failed ("cannot write keys/prod.key: No
    such file or directory"). The folder is made, 0700 as it holds secrets."""
    out = tmp_path / "keys" / "prod.key"
    result = run("keygen", "--type", "aes256", "--out", out)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert f"made the folder {out.parent} (mode 0700)" in result.stderr
    signed = run("sign", SEED, "--key-file", out)
    assert signed.exit_code == 0, signed.output
    pair = tmp_path / "a" / "b" / "signer.key"
    result = run("keygen", "--type", "ed25519", "--out", pair)
    assert result.exit_code == 0, result.output
    assert pair.is_file() and (pair.parent / "signer.key.pub").is_file()
    assert stat.S_IMODE(pair.parent.stat().st_mode) == 0o700


def test_keygen_under_a_file_says_so_and_makes_nothing(tmp_path: Path) -> None:
    (tmp_path / "keys").write_text("a file, not a folder\n")
    result = run("keygen", "--out", tmp_path / "keys" / "sub" / "prod.key")
    assert result.exit_code == 2
    assert "Error: cannot make the folder" in result.output
    assert "Not a directory" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_keygen_force_replaces_a_link_instead_of_writing_through_it(
    tmp_path: Path, link: str
) -> None:
    other = tmp_path / "other.txt"
    other.write_text("someone else's file\n")
    other.chmod(0o644)
    out = tmp_path / "k.key"
    if link == "hard":
        os.link(other, out)
    else:
        out.symlink_to(other)
    result = run("keygen", "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert other.read_text() == "someone else's file\n"
    assert stat.S_IMODE(other.stat().st_mode) == 0o644
    assert not out.is_symlink() and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(bytes.fromhex(out.read_text().strip())) == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key", "other.txt"]


def test_keygen_pair_is_all_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "signer.key"
    (tmp_path / "signer.key.pub").mkdir()  # the public half cannot be written
    result = run("keygen", "--type", "ed25519", "--out", out, "--force")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signer.key.pub"]


# ---------------------------------------------------------------- verify


def test_seed_is_undecryptable_with_a_key_that_is_not_the_publishers(
    tmp_path: Path, aes_key: Path
) -> None:
    result = run("verify", SEED, "--key-file", aes_key, "--format", "json")
    assert result.exit_code == 1
    data = report(result)
    (entry,) = data["articles"]
    assert entry["signature"]["status"] == "undecryptable"
    assert entry["webUrl"].startswith("https://techcrunch.com/")
    assert data["summary"]["by_status"] == {"undecryptable": 1}


def test_without_keys_everything_is_unverified_or_missing_and_that_is_no_problem(
    corpus: Path,
) -> None:
    result = run("verify", corpus, "--format", "json")
    assert result.exit_code == 0, result.output
    statuses = {a["signature"]["status"] for a in report(result)["articles"]}
    assert statuses == {"unverified", "missing"}


def test_sign_in_place_then_verify_then_tamper(corpus: Path, aes_key: Path) -> None:
    before = {p.name: p.read_text(encoding="utf-8") for p in corpus.iterdir()}
    signed = run("sign", corpus, "--key-file", aes_key, "--in-place")
    assert signed.exit_code == 0, signed.output
    for path in corpus.iterdir():
        after = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":  # each line keeps its bytes and gains the member
            for old_line, new_line in zip(
                before[path.name].splitlines(), after.splitlines(), strict=True
            ):
                assert new_line.startswith(old_line.rstrip()[:-1] + ', "secured": "v2.')
            continue
        lines = changed_lines(before[path.name], after)
        assert lines, path.name
        assert all(
            "secured" in line or line[1:].strip() in ("}", "},", "]", "],") for line in lines
        ), (path.name, lines)
        if path.suffix != ".json":
            assert len([ln for ln in lines if ln.startswith("+")]) == 1

    ok = run("verify", corpus, "--key-file", aes_key, "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert {a["signature"]["status"] for a in report(ok)["articles"]} == {"valid"}

    story = corpus / "003_bbc_suez_canal.txt"
    text = story.read_text(encoding="utf-8")
    story.write_text(text.replace("refloated", "sunk", 1), encoding="utf-8")
    bad = run("verify", corpus, "--key-file", aes_key, "--format", "json")
    assert bad.exit_code == 1
    (hit,) = [a for a in report(bad)["articles"] if a["signature"]["status"] != "valid"]
    assert hit["signature"] == {
        "status": "tampered",
        "fields": ["title"],
        "detail": hit["signature"]["detail"],
    }
    table = run("verify", story, "--key-file", aes_key, "--format", "table")
    assert table.exit_code == 1 and "tampered" in table.stdout and "title" in table.stdout


def test_sign_prints_values_and_rotation_by_kid(tmp_path: Path, corpus: Path) -> None:
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    for path in (old, new):
        assert run("keygen", "--out", path).exit_code == 0
    one = run("sign", SEED, "--key-file", old, "--key-file", new, "--kid", "new")
    assert one.exit_code == 0, one.output
    value = one.stdout.strip()
    assert value.startswith("v2.new.") and "\t" not in value
    several = run("sign", corpus / "012_stream.jsonl", "--key-file", old, "--envelope", "legacy")
    lines = several.stdout.strip().splitlines()
    assert len(lines) == 4 and all(
        line.split("\t")[0].endswith(f".jsonl:{i}") for i, line in enumerate(lines, 1)
    )
    assert ";" in lines[0].split("\t")[1]


def test_ed25519_verifies_with_only_the_public_key(tmp_path: Path, corpus: Path) -> None:
    key = tmp_path / "signer.key"
    assert run("keygen", "--type", "ed25519", "--out", key).exit_code == 0
    result = run("sign", corpus, "--key-file", key, "--envelope", "ed25519", "--in-place")
    assert result.exit_code == 0, result.output
    pub = Path(f"{key}.pub")
    ok = run("verify", corpus, "--key-file", pub, "--format", "json")
    assert ok.exit_code == 0, ok.output
    assert {a["signature"]["status"] for a in report(ok)["articles"]} == {"valid"}


def test_key_from_the_environment(tmp_path: Path, corpus: Path) -> None:
    hex_key = run("keygen").stdout.strip()
    env = {"ARTICLE_MONITOR_KEY": hex_key}
    assert run("sign", corpus, "--in-place", env=env).exit_code == 0
    result = run("verify", corpus, "--format", "json", env=env)
    assert result.exit_code == 0
    assert "env" in result.stdout or report(result)["summary"]["by_status"] == {"valid": 18}


def test_readable_secret_key_is_a_usage_error(aes_key: Path, corpus: Path) -> None:
    aes_key.chmod(0o644)
    result = run("verify", corpus, "--key-file", aes_key)
    assert result.exit_code == 2
    assert f"chmod 600 {aes_key}" in result.output
    secret = aes_key.read_text().strip()
    assert secret not in result.output
    allowed = run("verify", SEED, "--key-file", aes_key, "--allow-insecure-key-permissions")
    assert allowed.exit_code == 1 and "undecryptable" in allowed.stdout  # checked, not refused


def test_invalid_documents_count_as_problems(tmp_path: Path, aes_key: Path) -> None:
    (tmp_path / "bad.txt").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    shutil.copy(SEED, tmp_path / "seed.txt")
    result = run("verify", tmp_path, "--key-file", aes_key, "--format", "json")
    assert result.exit_code == 1
    data = report(result)
    assert data["summary"]["invalid_documents"] == 1
    assert data["invalid_documents"][0]["source"].endswith("bad.txt")
    signing = run("sign", tmp_path, "--key-file", aes_key, "--in-place")
    assert signing.exit_code == 1 and "invalid document" in signing.stderr


def test_usage_errors() -> None:
    assert run("verify").exit_code == 2
    assert run("sign", SEED).exit_code == 2  # no key at all
    assert run("verify", SEED, "--key-file", "/nonexistent/k.key").exit_code == 2


@pytest.mark.parametrize("command", ["verify", "sign", "keygen"])
def test_help_teaches(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "kid" in result.output


def test_installed_console_script(tmp_path: Path) -> None:
    out = tmp_path / "k.key"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "keygen", "--out", str(out)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    verify = subprocess.run(
        [sys.executable, "-m", "monitor", "verify", str(SEED), "--key-file", str(out)],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 1
    assert json.loads(verify.stdout)["articles"][0]["signature"]["status"] == "undecryptable"


# ---------------------------------------------------------------- bad key settings


@pytest.mark.parametrize(
    "command",
    [
        ["verify", str(SEED)],
        ["sign", str(SEED)],
        ["check", str(SEED), "--offline"],
        ["run", str(SEED), "--once", "--data-dir", "{tmp}"],
    ],
    ids=["verify", "sign", "check", "run"],
)
@pytest.mark.parametrize("variable", ["ARTICLE_MONITOR_KEY", "ARTICLE_MONITOR_KEY_FILE"])
@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_key_variable_is_a_configuration_error_for_every_command(
    tmp_path: Path, command: list[str], variable: str, value: str
) -> None:
    args = [a.replace("{tmp}", str(tmp_path / "data")) for a in command]
    result = run(*args, env={variable: value})
    assert result.exit_code == 2, result.output
    assert f"Error: {variable} is set but empty" in result.output
    assert not (tmp_path / "data").exists()  # refused before anything started


def test_a_bad_kid_is_blamed_not_the_file(aes_key: Path) -> None:
    result = run("verify", SEED, "--key-file", f"a.b={aes_key}")
    assert result.exit_code == 2
    assert "invalid kid 'a.b'" in result.output and "letters, digits" in result.output
    assert "not found" not in result.output
    signing = run("sign", SEED, "--key-file", aes_key, "--kid", "a.b")
    assert signing.exit_code == 2
    assert "--kid 'a.b' is not a valid kid" in signing.output


@pytest.mark.parametrize("command", ["verify", "sign"])
def test_key_bytes_never_appear_in_an_error(tmp_path: Path, aes_key: Path, command: str) -> None:
    secret = aes_key.read_text().strip()
    cases: list[tuple[list[str | Path], dict[str, str]]] = [
        ([SEED, "--key-file", secret], {}),  # the key where its file name belongs
        ([SEED, "--key-file", f"new={secret}"], {}),
        ([SEED], {"ARTICLE_MONITOR_KEY": secret[:-2]}),  # not quite a key
        ([SEED], {"ARTICLE_MONITOR_KEY_FILE": secret}),
    ]
    aes_key.chmod(0o644)
    cases.append(([SEED, "--key-file", aes_key], {}))  # too open
    for args, env in cases:
        result = run(command, *args, env=env)
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("Usage:") or "Error:" in result.output
        assert secret not in result.output and secret[:-2] not in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("path", ["", " ", "images..title", "heat.", " heat", "*"])
@pytest.mark.parametrize("command", ["verify", "sign"])
def test_a_malformed_exclude_field_is_refused_not_ignored(
    aes_key: Path, command: str, path: str
) -> None:
    result = run(command, SEED, "--key-file", aes_key, "--exclude-field", path)
    assert result.exit_code == 2, result.output
    assert f"exclude field {path!r}" in result.output


@pytest.mark.parametrize("path", ["images..title", "*"])
def test_check_refuses_a_malformed_exclude_field_too(aes_key: Path, path: str) -> None:
    env = {"ARTICLE_MONITOR_EXCLUDE_FIELDS": path}
    result = run("check", SEED, "--key-file", aes_key, "--offline", env=env)
    assert result.exit_code == 2, result.output
    assert f"exclude field {path!r}" in result.output


def test_private_pem_bytes_never_appear_in_an_error(tmp_path: Path) -> None:
    key = tmp_path / "signer.key"
    assert run("keygen", "--type", "ed25519", "--out", key).exit_code == 0
    pem = key.read_text()
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    key.chmod(0o644)
    cases = [
        ["sign", SEED, "--envelope", "ed25519", "--key-file", key],  # too open
        ["sign", SEED, "--envelope", "ed25519", "--key-file", pem],  # the PEM as a name
        ["verify", SEED, "--key-file", f"a.b={pem}"],
    ]
    for args in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert not any(line in result.output for line in body), result.output


def test_verify_table_spells_out_control_characters_in_names(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "a\nforged row.txt")
    # wide enough that the table never folds the name, however long tmp_path is
    result = run("verify", tmp_path, "--format", "table", env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    assert "a\\nforged" in result.stdout
    assert not [line for line in result.stdout.splitlines() if line.startswith("forged")]


@pytest.mark.parametrize("name", ["two words.key", ".hidden.key", "line\nbreak.key", "b" * 70])
def test_keygen_refuses_a_name_that_gives_no_kid(tmp_path: Path, name: str) -> None:
    """`sign` and `verify` refuse a key file whose name gives no kid; keygen made
    one anyway and announced the unusable kid (second hostile review)."""
    path = tmp_path / name
    result = run("keygen", "--out", path)
    assert result.exit_code == 2, result.output
    # a line break is refused before the kid is looked for, as in every path (path_text)
    said = "holds a line break" if "\n" in name else "gives no kid"
    assert said in result.output
    assert "\n" not in result.output.split("Error: ", 1)[1].rstrip("\n")  # one line
    assert not path.exists()
