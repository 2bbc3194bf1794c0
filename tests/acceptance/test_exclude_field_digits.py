"""An `exclude_fields` path whose list index is a digit Python's `str.isdigit`
accepts but `int` does not (`images.²`, a superscript two) was a ValueError in the
canonical form: `sign` said "cannot sign: invalid literal for int()", and `verify`
and `check` reported a well-signed record `malformed` ("internal error
(ValueError)"), a configuration's word read as the record's verdict. A list index
is ASCII digits; any other segment names no element of a list (as `images.a`)."""

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


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=CLEAN_ENV)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("envelope", ["v2", "ed25519", "legacy"])
def test_a_non_ascii_digit_index_is_no_index_for_sign_and_verify(
    tmp_path: Path, envelope: str
) -> None:
    key = tmp_path / ("signer.key" if envelope == "ed25519" else "publisher.key")
    assert (
        run("keygen", "--type", "ed25519" if envelope == "ed25519" else "aes256", "--out", key)[0]
        == 0
    )
    article = tmp_path / "a.txt"
    shutil.copy(ARTICLE, article)
    exclude = ("--exclude-field", "images.²")
    code, said = run(
        "sign", article, "--key-file", key, "--envelope", envelope, "--in-place", *exclude
    )
    assert code == 0, said
    verifier = Path(f"{key}.pub") if envelope == "ed25519" else key
    code, said = run("verify", article, "--key-file", verifier, *exclude)
    assert code == 0, said
    report = json.loads(said)
    assert [a["signature"]["status"] for a in report["articles"]] == ["valid"], said


def test_the_canonical_form_and_a_claim_path_take_only_ascii_digits() -> None:
    doc = {"images": [{"u": 0}, {"u": 1}, {"u": 2}, {"u": 3}]}
    whole = canonical_bytes(doc)
    for segment in ("²", "١", "𝟙", "-1", "999", "a"):
        assert canonical_bytes(doc, exclude=[f"images.{segment}"]) == whole, segment
        assert lookup(doc, f"images.{segment}.u") is ABSENT, segment
    assert lookup(doc, "images.1.u") == 1
    assert b'"u":1' not in canonical_bytes(doc, exclude=["images.1"])
