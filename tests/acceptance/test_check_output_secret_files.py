"""`check -o FILE` where FILE is a secret the settings name: a request header's
value file (`--header-file`, `value_file`), which `check` reads, and the
endpoints' token, basic-auth and TLS files, which a config file shared with
`run` names. `-o` onto a key file, the config file or the CA bundle was refused;
onto these the report replaced the secret (the token gone, the report at its
path with its mode) and the run said nothing. Refused alike, the file kept."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, one_article_corpus
from daemon_harness import refused as harness_refused

SECRET = "Bearer not-a-report\n"


def refused(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    return harness_refused(out, *needles, first=False)


def secret_file(path: Path) -> Path:
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


def test_output_onto_the_header_file_is_refused(tmp_path: Path) -> None:
    corpus = one_article_corpus(tmp_path)
    value = secret_file(tmp_path / "staging-auth")
    out = subprocess.run(
        [CLI, "check", corpus, "--offline", "-o", value, "--header-file", f"a.example=X:{value}"],
        capture_output=True,
        text=True,
    )
    refused(out, "is the --header-file file", "the report would replace it")
    assert value.read_text() == SECRET


@pytest.mark.parametrize(
    "setting",
    ["request_headers", "metrics_token_file", "metrics_basic_auth_file", "tls_key_file"],
)
def test_output_onto_a_secret_the_config_file_names_is_refused(
    tmp_path: Path, setting: str
) -> None:
    corpus = one_article_corpus(tmp_path)
    value = secret_file(tmp_path / "secret.txt")
    config = tmp_path / "monitor.toml"
    if setting == "request_headers":
        text = '[[request_headers]]\nhosts = ["a.example"]\nname = "X-Auth"\n'
        text += 'value_file = "secret.txt"\n'
    else:
        text = f'{setting} = "secret.txt"\n'
    config.write_text(text)
    out = subprocess.run(
        [CLI, "check", corpus, "--offline", "--config", config, "-o", value],
        capture_output=True,
        text=True,
    )
    option = "--header-file" if setting == "request_headers" else setting
    refused(out, f"is the {option} file", "the report would replace it")
    assert value.read_text() == SECRET
