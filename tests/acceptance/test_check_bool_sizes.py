"""`check` reports a boolean image size as an invalid document with its line:
pydantic's lax int read `width: true` (and YAML's `yes`) as 1, a size that gave
an image-size finding instead of the wrong type the contract refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_harness import offline_report
from pydantic import ValidationError

from monitor.corpus.article import Image


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_size_is_no_pixel_count(value: bool) -> None:
    with pytest.raises(ValidationError, match="valid integer"):
        Image(url="https://news.test/a.png", width=value)
    with pytest.raises(ValidationError, match="valid integer"):
        Image(url="https://news.test/a.png", height=value)
    assert Image(url="https://news.test/a.png", width=800, height="600").height == 600


def test_check_reports_a_boolean_width_as_an_invalid_document(tmp_path: Path) -> None:
    page = tmp_path / "sizes.txt"
    page.write_text(
        "---\n"
        'webUrl: "https://news.test/sizes"\n'
        "images:\n"
        '  - url: "https://news.test/a.png"\n'
        "    width: yes\n"
        "    height: 600\n"
        "---\n"
    )
    report = offline_report(page)
    assert report["articles"] == []
    [invalid] = report["invalid_documents"]
    assert invalid["source"] == str(page) and invalid["line"] == 5, invalid
    assert invalid["error"] == "field images.0.width: expected an integer, got true", invalid
