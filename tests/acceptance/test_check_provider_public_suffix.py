"""`check` reports a provider domain that is a public suffix (`co.uk` for an
article on `www.bbc.co.uk`): it passed as a parent domain of the host."""

from __future__ import annotations

from pathlib import Path

import pytest
from daemon_harness import offline_report

ARTICLE = """---
webUrl: "https://www.bbc.co.uk/news/articles/1"
title: "A title"
publishedDateTime: 2024-04-16T19:08:00Z
provider:
  name: BBC
  domain: {domain}
---
"""


@pytest.mark.parametrize(("domain", "flagged"), [("co.uk", True), ("bbc.co.uk", False)])
def test_check_flags_a_public_suffix_provider(tmp_path: Path, domain: str, flagged: bool) -> None:
    page = tmp_path / "bbc.txt"
    page.write_text(ARTICLE.format(domain=domain))
    report = offline_report(page, exit_code=1 if flagged else 0)
    (article,) = report["articles"]
    codes = {(p["code"], p.get("field")) for p in article["problems"]}
    assert (("provider_domain_mismatch", "provider.domain") in codes) is flagged, codes
