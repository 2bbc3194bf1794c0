"""A `provider.domain` that is a public suffix (`com`, `co.uk`, `github.io`) matches
no host: it is a parent of every name under it and names no publisher. It
"matched" `bbc.co.uk` before. The list is the bundled Public Suffix List, offline."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import publicsuffixlist
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.corpus.article import Article, Document
from monitor.rules.static import document_problems, domain_matches
from monitor.rules.suffixes import is_public_suffix, registrable_domain

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("domain", "url"),
    [
        ("co.uk", "https://bbc.co.uk/news"),
        ("co.uk", "https://www.bbc.co.uk/news"),
        ("CO.UK", "https://WWW.BBC.CO.UK/news"),
        ("co.uk.", "https://www.bbc.co.uk./news"),
        (" co.uk ", "https://www.bbc.co.uk/news"),
        ("com", "https://theverge.com/a"),
        ("github.io", "https://alice.github.io/post"),
        ("s3.amazonaws.com", "https://bucket.s3.amazonaws.com/a"),
        ("公司.香港", "https://例子.公司.香港/a"),
        ("xn--55qx5d.xn--j6w193g", "https://例子.公司.香港/a"),
        ("公司.香港", "https://xn--fsqu00a.xn--55qx5d.xn--j6w193g/a"),
        ("香港", "https://例子.香港/a"),
    ],
)
def test_a_public_suffix_matches_no_host(domain: str, url: str) -> None:
    assert domain_matches(domain, url) is False


@pytest.mark.parametrize(
    ("domain", "url"),
    [
        ("bbc.co.uk", "https://www.bbc.co.uk/news"),
        ("bbc.co.uk", "https://bbc.co.uk/news"),
        ("BBC.co.uk.", "https://www.bbc.co.uk./news"),
        ("alice.github.io", "https://alice.github.io/post"),
        ("theverge.com", "https://www.theverge.com/a"),
        ("例子.公司.香港", "https://www.例子.公司.香港/a"),
        ("xn--fsqu00a.xn--55qx5d.xn--j6w193g", "https://www.例子.公司.香港/a"),
        ("例子.香港", "https://xn--fsqu00a.xn--j6w193g/a"),
        ("news.test", "https://www.news.test/a"),  # an unknown top-level name
    ],
)
def test_a_registrable_domain_still_matches_its_hosts(domain: str, url: str) -> None:
    assert domain_matches(domain, url) is True


_label = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)


@lru_cache(maxsize=1)
def _listed() -> frozenset[str]:
    """The rules of the bundled list, read from its file: the oracle of which names
    are suffixes themselves. Some short labels are (`eu.com`, `a2hosted.com`): the
    property below failed now and then when hypothesis drew one."""
    text = Path(publicsuffixlist.PSLFILE).read_text(encoding="utf-8")
    rules = (line.split()[0] for line in text.splitlines() if line and not line.startswith("//"))
    return frozenset(map(_ascii, rules))


def _ascii(rule: str) -> str:
    """A rule as the test's names are spelt (punycode); one the codec cannot take as is."""
    if rule.isascii():
        return rule
    try:
        return rule.encode("idna").decode()
    except UnicodeError:
        return rule


@given(
    name=_label,
    sub=st.lists(_label, max_size=2),
    suffix=st.sampled_from(["com", "co.uk", "github.io", "org.au", "xn--j6w193g"]),
)
def test_under_any_suffix_the_owner_matches_and_the_suffix_never(
    name: str, sub: list[str], suffix: str
) -> None:
    assume(f"{name}.{suffix}" not in _listed() and f"*.{suffix}" not in _listed())
    host = ".".join([*sub, name, suffix])
    assert is_public_suffix(suffix)
    assert not is_public_suffix(f"{name}.{suffix}")
    assert registrable_domain(host) == f"{name}.{suffix}"
    assert domain_matches(f"{name}.{suffix}", f"https://{host}/") is True
    assert domain_matches(suffix, f"https://{host}/") is False


def _with_provider(domain: str, web: str) -> Document:
    raw: dict[str, Any] = {
        "webUrl": web,
        "title": "t",
        "publishedDateTime": "2020-04-16T19:08:00Z",
        "provider": {"name": "P", "domain": domain},
    }
    return Document("a.txt", 1, raw, Article.model_validate(raw))


@pytest.mark.parametrize("domain", ["co.uk", "co.uk.", "github.io"])
def test_the_problem_says_why_and_what_to_give(domain: str) -> None:
    web = "https://www.bbc.co.uk/news" if "uk" in domain else "https://alice.github.io/p"
    (problem,) = document_problems(_with_provider(domain, web), now=NOW)
    assert problem.code == "provider_domain_mismatch"
    assert problem.field == "provider.domain"
    assert "is a public suffix" in problem.message
    assert ("such as bbc.co.uk" if "uk" in domain else "such as alice.github.io") in (
        problem.message
    )


def test_the_list_is_read_without_the_network() -> None:
    """The bundled list, never a download: every socket refused while it is loaded."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        "socket.create_connection = refuse\n"
        "from monitor.rules.suffixes import is_public_suffix\n"
        "assert is_public_suffix('co.uk') and not is_public_suffix('bbc.co.uk')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
