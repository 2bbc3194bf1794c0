"""monitor.rules.ampcache against the reference implementation, @ampproject/toolbox-cache-url.

A deterministic corpus of URLs (internationalised hosts in both spellings,
hosts long enough to force the hashed fallback, hyphens at positions 3-4,
digits, ports, queries, fragments, http and https) goes through ONE node
process (tests/oracle/cache-url.js, JSON lines in and out).

Every URL must come out exactly as the oracle says, except where a documented
divergence (docs/amp-cache.md, DIVERGENCES below) explains the difference: for
those the test rebuilds the oracle's answer from ours by that divergence's
own rule and still compares exactly. Nothing is compared loosely.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from monitor.rules.ampcache import amp_cache_url, ascii_host, cache_subdomain, same_url

pytestmark = pytest.mark.oracle

ORACLE_DIR = Path(__file__).resolve().parents[1] / "oracle"
NODE = shutil.which("node")
SEED = 20200416
GENERATED = 300

# name → what the reference implementation does differently (docs/amp-cache.md)
DIVERGENCES = {
    "port_dropped": "oracle drops a non-default port; we refuse the URL (no cache URL exists)",
    "credentials_kept": "oracle keeps user:password@ on the cache host; we refuse the URL",
    "ipv6_hashed": "oracle hashes the bracketed IPv6 literal; we refuse the URL",
    "fragment_kept": "oracle keeps the #fragment; the format's URL has none",
    "trailing_slash_dropped": "oracle drops a path's trailing / when the URL does not end in /",
    "serving_type_by_extension": "oracle serves .jpg/.woff2… paths under /i/ or /r/, not /c/",
    "host_written_as_given": "oracle writes a Unicode host into the path as given, not in ASCII",
    "hyphen34_host_hashed": "oracle hashes a host with -- at positions 3-4; the format wraps it",
    "wrap_after_length_check": "oracle checks the 63-char limit before adding 0-…-0",
    "wrap_decided_on_punycode": "oracle looks for -- at 3-4 after punycode encoding",
    "host_length_checked_first": "oracle hashes hosts over 63 characters before encoding",
    "hash_of_unicode_spelling": "oracle hashes the host as written (Unicode), not its ASCII form",
    "trailing_dot_kept": "oracle turns a root dot into a trailing hyphen (invalid label)",
}


def _b32_sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def _js_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _to_unicode(host: str) -> str:
    return ".".join(
        label[4:].encode().decode("punycode") if label.startswith("xn--") else label
        for label in host.split(".")
    )


def _to_ascii(text: str) -> str:
    return ".".join(
        label if label.isascii() else "xn--" + label.encode("punycode").decode()
        for label in text.split(".")
    )


# the reference implementation's character classes for its mixed-direction test
# (UTF-16 code units, so astral characters count by their surrogates)
_ORACLE_LTR = re.compile(
    "[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02b8\u0300-\u0590\u0800-\u1fff"
    "\u200e\u2c00-\ufb1c\ufe00-\ufe6f\ufefd-\uffff]"
)
_ORACLE_RTL = re.compile("[\u0591-\u06ef\u06fa-\u07ff\u200f\ufb1d-\ufdff\ufe70-\ufefc]")


def _utf16_units(text: str) -> str:
    data = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


def _oracle_mixed(text: str) -> bool:
    units = _utf16_units(text)
    return bool(_ORACLE_LTR.search(units)) and bool(_ORACLE_RTL.search(units))


def oracle_label(host: str) -> tuple[str, str]:
    """The reference implementation's steps for the domain prefix, and which one decided."""
    if host[2:4] == "--" and not host.startswith("xn"):
        return _b32_sha256(host), "hyphen34_host"
    unicode = _to_unicode(host)
    if _js_length(host) > 63:
        return _b32_sha256(host), "host_over_63"
    if _oracle_mixed(unicode):
        return _b32_sha256(host), "mixed_direction"
    if "." not in host:
        return _b32_sha256(host), "dotless"
    encoded = _to_ascii(unicode.replace("-", "--").replace(".", "-")).lower()
    if len(encoded) > 63:
        return _b32_sha256(host), "encoding_over_63"
    if encoded[2:4] == "--" and not encoded.startswith("xn"):
        return f"0-{encoded}-0", "wrapped"
    return encoded, "readable"


def _is_hash(label: str) -> bool:
    return len(label) == 52 and "-" not in label


def _format_basic(host: str) -> str:
    """The format's steps 1-4 on a host (checked by hand-picked cases in the unit tests)."""
    basic = _to_unicode(ascii_host(host)).replace("-", "--").replace(".", "-")
    return f"0-{basic}-0" if basic[2:4] == "--" else basic


def _label_divergence(host: str, ours: str, theirs: str, step: str) -> str:
    """Name the documented divergence behind two different domain prefixes.

    Each rule also checks that OUR prefix is what the format gives in that
    case, so a regression on our side cannot hide behind a divergence.
    """
    name = ascii_host(host)
    fallback = _b32_sha256(name.rstrip("."))
    if host.endswith(".") and theirs == ours + "-":
        return "trailing_dot_kept"
    if not host.isascii() and _is_hash(theirs) and ours == fallback:
        return "hash_of_unicode_spelling"
    if step == "hyphen34_host" and ours == _format_basic(host):
        return "hyphen34_host_hashed"
    if step == "host_over_63" and "xn--" in host and ours == _to_ascii(_format_basic(host)):
        return "host_length_checked_first"
    if step == "wrapped" and len(theirs) > 63 and ours == fallback:
        return "wrap_after_length_check"
    if step == "readable" and not _format_basic(host).isascii():
        if ours == _to_ascii(_format_basic(host)) and ours.startswith("xn--0-"):
            return "wrap_decided_on_punycode"
    return f"UNDOCUMENTED prefix divergence (oracle step {step})"


_IMAGE_EXT = (".jpg", ".png", ".gif", ".svg", ".webp")
_FONT_EXT = (".woff", ".woff2", ".ttf", ".otf")


def expected_oracle_answer(url: str) -> tuple[str, list[str]]:
    """The oracle's answer rebuilt from ours, and the documented divergences used."""
    used: list[str] = []
    parts = urlsplit(url)
    refused = parts.port not in (None, 80, 443) or "@" in parts.netloc or "[" in parts.netloc
    if refused and _ours(url) is not None:
        used.append("UNDOCUMENTED: we accepted a URL the format has no cache URL for")
    host = parts.hostname or ""
    if ":" in host:
        used.append("ipv6_hashed")
        netloc = f"{_b32_sha256(f'[{host}]')}.cdn.ampproject.org"
        return f"https://{netloc}/c/s/[{host}]{parts.path}", used
    base = url
    if parts.port not in (None, 80, 443):
        used.append("port_dropped")
        base = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]))
    credentials = ""
    if "@" in parts.netloc:
        used.append("credentials_kept")
        credentials = parts.netloc.rsplit("@", 1)[0] + "@"
        base = urlunsplit(urlsplit(base)._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    answer = amp_cache_url(base)
    ours_label = cache_subdomain(host)
    theirs_label, step = oracle_label(host)
    if theirs_label != ours_label:
        used.append(_label_divergence(host, ours_label, theirs_label, step))
        answer = answer.replace(f"https://{ours_label}.", f"https://{theirs_label}.", 1)
    if credentials:
        answer = answer.replace("https://", f"https://{credentials}", 1)
    if ascii_host(host) != host:
        used.append("host_written_as_given")
        answer = answer.replace(f"/{ascii_host(host)}/", f"/{host}/", 1)
    path = parts.path or "/"
    if path.endswith("/") and not url.endswith("/"):
        used.append("trailing_slash_dropped")
        marker = f"{host}{path}"
        answer = answer.replace(marker, marker[:-1], 1)
    if path.lower().endswith(_IMAGE_EXT + _FONT_EXT):
        used.append("serving_type_by_extension")
        kind = "/i/" if path.lower().endswith(_IMAGE_EXT) else "/r/"
        answer = answer.replace("/c/", kind, 1)
    if parts.fragment:
        used.append("fragment_kept")
        answer += f"#{parts.fragment}"
    return answer, used


# --- the corpus -------------------------------------------------------------

FIXED = [
    "https://www.example.com",
    "https://www.example.com/",
    "https://amp.dev/documentation/examples/api/query?value=Hello%20World",
    "https://techcrunch.com/2020/04/16/clearview-source-code-lapse/amp/",
    "https://en-us.example.com/amp/",
    "https://xn--57hw060o.com/",
    "https://⚡😊.com/",
    "https://bücher.example/amp",
    "https://ab--cd.example/amp",
    "https://ab-ü.example/amp",
    "https://en-" + "a" * 54 + ".com/amp",  # 62 characters, 66 once wrapped
    "https://en-" + "a" * 51 + ".com/amp",  # 63 once wrapped
    "https://" + "a" * 59 + ".com/amp",  # 63 characters
    "https://" + "a" * 60 + ".com/amp",  # 64 characters
    "https://" + "xn--tda." * 10 + "example/",  # ü.ü.…: 87 characters, a short prefix
    "https://" + "é" * 70 + ".example/",
    "https://localhost/amp",
    "https://192.0.2.1/amp",
    "https://[2001:db8::1]/amp",
    "https://example.com./amp",
    "https://example.com:8443/amp/",
    "https://example.com:443/amp/",
    "http://example.com:80/amp",
    "https://user:secret@example.com/amp",
    "https://example.com/amp/?x=1",
    "https://example.com/amp#top",
    "https://example.com/photo.jpg",
    "https://example.com/font.woff2",
    "https://مثال.com/amp",
    "https://مثال.מבחן/amp",
]

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_SCRIPTS = {
    "latin": "àáâäçèéêëíîïñóôöúûüøå",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщэюя",
    "greek": "αβγδεζηθικλμνξοπρστυφχψω",
    "cjk": "中文网站新闻日本語한국어",
    "emoji": "⚡😊🚀🌍",
}
_RTL = {"arabic": "مثالعربيةخبر", "hebrew": "דוגמהעבריתחדש"}


def _ascii_label(rng: random.Random, lo: int = 1, hi: int = 12) -> str:
    n = rng.randint(lo, hi)
    chars = [rng.choice(_LETTERS + "0123456789") for _ in range(n)]
    for i in range(1, n - 1):
        if rng.random() < 0.12:
            chars[i] = "-"
    return "".join(chars).strip("-") or "a"


def _host(rng: random.Random) -> str:
    kind = rng.choice(
        ["ascii", "ascii", "ascii", "hyphen34", "idn", "idn", "rtl", "long", "edge", "digits"]
    )
    tld = rng.choice(["com", "org", "net", "co.uk", "de", "news", "example"])
    if kind == "ascii":
        return ".".join([_ascii_label(rng) for _ in range(rng.randint(1, 3))] + [tld])
    if kind == "hyphen34":
        head = _ascii_label(rng, 2, 2) + "-" + _ascii_label(rng, 1, 6)
        return ".".join([head, _ascii_label(rng), tld])
    if kind == "idn":
        script = _SCRIPTS[rng.choice(list(_SCRIPTS))]
        label = "".join(rng.choice(script + "ab-") for _ in range(rng.randint(2, 10)))
        label = label.strip("-") or script[0]
        host = ".".join([label, _ascii_label(rng), tld])
        return ascii_host(host) if rng.random() < 0.5 else host
    if kind == "rtl":
        script = _RTL[rng.choice(list(_RTL))]
        label = "".join(rng.choice(script) for _ in range(rng.randint(2, 8)))
        other = "".join(rng.choice(script) for _ in range(3))
        host = f"{label}.{rng.choice([tld, other])}"
        return ascii_host(host) if rng.random() < 0.5 else host
    if kind == "long":
        size = rng.randint(60, 130)
        labels = []
        while sum(len(x) + 1 for x in labels) < size:
            labels.append(_ascii_label(rng, 5, 20))
        return ".".join([*labels, tld])
    if kind == "edge":  # encodings around the 63-character limit
        target = rng.choice([58, 60, 61, 62, 63, 63, 64, 64, 65, 66])
        first = _ascii_label(rng, 2, 2) + "-" if rng.random() < 0.5 else ""
        body = "a" * max(1, target - len(first) - len(tld) - 1)
        return f"{first}{body}.{tld}"
    return f"{rng.randint(0, 999)}.{rng.randint(0, 99)}news.{tld}"


def _url(rng: random.Random) -> str:
    scheme = "https" if rng.random() < 0.7 else "http"
    host = _host(rng)
    port = ""
    roll = rng.random()
    if roll < 0.08:
        port = ":443" if scheme == "https" else ":80"
    elif roll < 0.12:
        port = f":{rng.choice([8080, 8443, 3000])}"
    segments = [_ascii_label(rng, 1, 10) for _ in range(rng.randint(0, 4))]
    path = "/" + "/".join(segments) if segments else rng.choice(["", "/"])
    if segments and rng.random() < 0.4:
        path += rng.choice(["/", "/amp/", ".html", "/amp"])
    query = ""
    if rng.random() < 0.35:
        query = "?" + "&".join(
            f"{_ascii_label(rng, 1, 5)}={rng.choice(['1', 'x%20y', 'amp', ''])}"
            for _ in range(rng.randint(1, 3))
        )
    fragment = "#" + _ascii_label(rng, 1, 6) if rng.random() < 0.08 else ""
    return f"{scheme}://{host}{port}{path}{query}{fragment}"


def corpus() -> list[str]:
    rng = random.Random(SEED)
    urls = list(FIXED)
    while len(urls) < len(FIXED) + GENERATED:
        url = _url(rng)
        if url not in urls:
            urls.append(url)
    return urls


def run_oracle(urls: list[str]) -> list[dict[str, str]]:
    """One node process for the whole batch: JSON lines in, JSON lines out, same order."""
    assert NODE is not None
    stdin = "".join(
        json.dumps({"url": u, "cacheDomain": "cdn.ampproject.org"}) + "\n" for u in urls
    )
    proc = subprocess.run(
        [NODE, str(ORACLE_DIR / "cache-url.js")],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ORACLE_DIR,
    )
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert [a["url"] for a in answers] == urls
    return answers


requires_oracle = pytest.mark.skipif(
    NODE is None
    or not (ORACLE_DIR / "node_modules" / "@ampproject" / "toolbox-cache-url").is_dir(),
    reason="needs node and tests/oracle/node_modules (run scripts/test-deps.sh or "
    "`cd tests/oracle && npm install`)",
)


def _ours(url: str) -> str | None:
    try:
        return amp_cache_url(url)
    except ValueError:
        return None


@requires_oracle
def test_agrees_with_the_reference_implementation(
    record_property: Callable[[str, object], None],
) -> None:
    urls = corpus()
    assert len(urls) >= 200
    answers = run_oracle(urls)
    agree = 0
    used: Counter[str] = Counter()
    failures: list[str] = []
    for url, answer in zip(urls, answers, strict=True):
        theirs = answer.get("cacheUrl")
        assert theirs is not None, f"oracle failed on {url!r}: {answer.get('error')}"
        if _ours(url) == theirs:
            agree += 1
            continue
        expected, reasons = expected_oracle_answer(url)
        used.update(reasons)
        if not reasons or expected != theirs or not set(reasons) <= set(DIVERGENCES):
            failures.append(
                f"{url}\n  ours:     {_ours(url)}\n  oracle:   {theirs}\n"
                f"  expected: {expected} (divergences {reasons})"
            )
    equivalent = sum(
        (ours := _ours(u)) is not None and same_url(ours, a["cacheUrl"])
        for u, a in zip(urls, answers, strict=True)
    )
    figure = (
        f"{agree} of {len(urls)} agree exactly, {equivalent} of {len(urls)} under same_url; "
        f"divergences: {dict(sorted(used.items()))}"
    )
    record_property("ampcache_oracle_agreement", figure)
    print(f"\nAMP cache oracle: {figure}")
    assert not failures, "undocumented disagreements:\n" + "\n".join(failures)
    assert set(used) <= set(DIVERGENCES)
    assert set(DIVERGENCES) <= set(used), (
        f"documented divergences never seen (stale?): {set(DIVERGENCES) - set(used)}"
    )


def test_corpus_is_deterministic_and_varied() -> None:
    urls = corpus()
    assert urls == corpus()
    assert len(urls) == len(FIXED) + GENERATED
    hosts = [urlsplit(u).hostname or "" for u in urls]
    assert sum(not h.isascii() for h in hosts) >= 20
    assert sum(h.startswith("xn--") or ".xn--" in h for h in hosts) >= 20
    assert (
        sum(
            len(cache_subdomain(h)) == 52 and "-" not in cache_subdomain(h)
            for h in hosts
            if ":" not in h
        )
        >= 20
    )
    assert sum(u.startswith("http://") for u in urls) >= 50
    assert sum("?" in u for u in urls) >= 50
    assert sum(urlsplit(u).port not in (None, 80, 443) for u in urls) >= 5
