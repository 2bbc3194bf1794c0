"""An `exclude_fields` list index of more than 4,300 ASCII digits (`int()`'s
limit on converting text, CPython 3.11): `str.isdigit` let it through to
`int()`, whose ValueError made every signed record `malformed: internal error
(ValueError)` in verify, check and the daemon, and `cannot sign: Exceeds the
limit (4300 digits) …` in sign: a configuration's word read as the records'
verdict (the class of 0ae1978's `images.²`). Such an index is past every
list's end, which names no element (docs/signatures.md)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.secured.canonical import ABSENT, canonical_bytes, lookup

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "examples" / "articles" / "001_theverge_m1_macbook_air_review.txt"
CLEAN_ENV: dict[str, str | None] = {
    name: None for name in os.environ if name.startswith("ARTICLE_MONITOR_")
}
HUGE = "9" * 5000  # past int()'s 4,300 digits
ZEROS = "0" * 5000 + "1"  # one, written with 5,001 digits


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=CLEAN_ENV)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("envelope", ["v2", "ed25519"])
def test_an_index_past_int_limit_names_no_element_for_sign_and_verify(
    tmp_path: Path, envelope: str
) -> None:
    key = tmp_path / "publisher.key"
    assert (
        run("keygen", "--type", "ed25519" if envelope == "ed25519" else "aes256", "--out", key)[0]
        == 0
    )
    article = tmp_path / "a.txt"
    shutil.copy(ARTICLE, article)
    exclude = ("--exclude-field", f"images.{HUGE}.url", "--exclude-field", f"images.{ZEROS}")
    code, said = run(
        "sign", article, "--key-file", key, "--envelope", envelope, "--in-place", *exclude
    )
    assert code == 0, said[-2000:]
    verifier = Path(f"{key}.pub") if envelope == "ed25519" else key
    code, said = run("verify", article, "--key-file", verifier, *exclude)
    assert code == 0, said[-2000:]
    report = json.loads(said)
    assert [a["signature"]["status"] for a in report["articles"]] == ["valid"], said[-2000:]


def test_the_canonical_form_and_a_claim_path_with_digits_past_int_limit() -> None:
    doc = {"images": [{"u": 0}, {"u": 1}, {"u": 2}]}
    whole = canonical_bytes(doc)
    assert canonical_bytes(doc, exclude=[f"images.{HUGE}"]) == whole
    assert lookup(doc, f"images.{HUGE}.u") is ABSENT
    assert lookup(doc, f"images.{ZEROS}.u") is ABSENT  # leading zeros: no claim index
    # an exclude path's index may be written with leading zeros (images.01 is images.1)
    assert b'"u":1' not in canonical_bytes(doc, exclude=[f"images.{ZEROS}"])
