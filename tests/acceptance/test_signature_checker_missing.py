"""A broken install (rfc8785 missing) met by the signature checker, which issue
16 imports at the first signed record checked against a key, not at the start.

With the package gone, `check` and `verify` with a key reported every signed
record `malformed: internal error (ModuleNotFoundError)` (exit 1, a corpus
blamed for the install), `sign` ended in a traceback (exit 70), a daemon
SIGHUP'd with a key stored that verdict for every record, and one SIGHUP'd with
`exclude_fields` lost its reload task to an unhandled ModuleNotFoundError. Now
each is a configuration error: `Error: …` and exit 2 at a start, a reload
refused (the running configuration kept). A check without keys or exclusions
imports none of it and runs as before. Without cryptography (which the checker
imports at a record's decryption) the same; `keygen` and the reading of an
Ed25519 key ended in a traceback (exit 70) and now say the install is broken.

The missing rfc8785 is a module of that name on PYTHONPATH that raises
ModuleNotFoundError when imported, as an absent one does; the missing
cryptography a sitecustomize that makes its import fail (sys.modules entry None).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from daemon_harness import CLI, DaemonProcess, LinkServer, query, refused, wait_for, write_config
from test_daemon_key_change import keygen, signed_corpus

STATUS = "select signature_status from articles"
RAISES = "raise ModuleNotFoundError(\"No module named 'rfc8785'\", name='rfc8785')\n"
BROKEN = "cannot load the signature checker (No module named 'rfc8785')"


@pytest.fixture
def no_rfc8785(tmp_path: Path) -> dict[str, str]:
    """An environment whose interpreter cannot import rfc8785."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "rfc8785.py").write_text(RAISES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    return {**env, "PYTHONPATH": str(shim)}


def _cli(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)], capture_output=True, text=True, timeout=60, env=env
    )


def test_check_verify_and_sign_without_rfc8785_say_the_install_is_broken(
    tmp_path: Path, no_rfc8785: dict[str, str]
) -> None:
    """Each command a broken install meets, as a user runs it: eleven CLI processes
    (~0.3 s each, ~3 s in all), one per way in (check with a key, verify, check
    with exclusions, sign, then cryptography absent, keygen, a check without keys)."""
    key = tmp_path / "pub.key"
    keygen(key)
    doc = signed_corpus(tmp_path, key)
    for args in (
        ("check", doc, "--offline", "--format", "json", "--key-file", key),
        ("verify", doc, "--format", "json", "--key-file", key),
    ):
        refused(_cli(no_rfc8785, *args), BROKEN)
    env = {**no_rfc8785, "ARTICLE_MONITOR_EXCLUDE_FIELDS": "title"}
    refused(_cli(env, "check", doc, "--offline", "--format", "json"), BROKEN)
    refused(_cli(no_rfc8785, "sign", doc, "--key-file", key), "cannot load the signer")
    # cryptography absent (rfc8785 there): was `malformed` at the record's decryption
    shim = Path(no_rfc8785["PYTHONPATH"])
    (shim / "rfc8785.py").unlink()
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['cryptography'] = None\n")
    args = ("verify", doc, "--format", "json", "--key-file", key)
    refused(_cli(no_rfc8785, *args), "no module named 'cryptography'")
    # ... which exclusions without a key do not need: that check runs
    env = {**no_rfc8785, "ARTICLE_MONITOR_EXCLUDE_FIELDS": "title"}
    done = _cli(env, "check", doc, "--offline", "--format", "json")
    assert done.returncode == 1 and not done.stderr, done.stderr  # the article has no date
    assert json.loads(done.stdout)["articles"][0]["signature"]["status"] == "unverified"
    pem = tmp_path / "signer.key"  # an Ed25519 key: reading it needs cryptography
    made = subprocess.run([CLI, "keygen", "--type", "ed25519", "--out", pem], timeout=60)
    assert made.returncode == 0
    args = ("verify", doc, "--format", "json", "--key-file", f"{pem}.pub")
    refused(_cli(no_rfc8785, *args), "cannot read the keys")
    refused(_cli(no_rfc8785, "keygen", "--out", tmp_path / "new.key"), "cannot load the key maker")
    # without keys or exclusions nothing of the checker is needed: the check runs as ever
    (shim / "rfc8785.py").write_text(RAISES)
    done = _cli(no_rfc8785, "check", doc, "--offline", "--format", "json")  # both absent
    assert done.returncode == 1 and not done.stderr, done.stderr  # the article has no date
    (record,) = json.loads(done.stdout)["articles"]
    assert record["signature"]["status"] == "unverified"
    assert json.loads(done.stdout)["summary"]["by_problem"] == {"missing_field": 1}


def test_a_sighup_adding_a_key_or_exclusions_without_rfc8785_is_refused(
    tmp_path: Path, no_rfc8785: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon started without keys (so without the checker), SIGHUP'd once with
    a key and once with exclude_fields: each reload is refused, saying why, the
    stored verdict stays `unverified`, and the daemon stops cleanly. Before, the
    key made the verdict `malformed` and the exclusions an unhandled exception."""
    key = tmp_path / "pub.key"
    keygen(key)
    signed_corpus(tmp_path, key)
    db = tmp_path / "data" / "article-monitor.db"
    for name, value in no_rfc8785.items():
        monkeypatch.setenv(name, value)
    with LinkServer() as site:
        settings = {"interval": 3600.0, "rescan_interval": 3600.0}
        write_config(tmp_path, site.port, **settings)
        daemon = DaemonProcess(tmp_path / "monitor.toml")
        try:
            daemon.wait_listening()
            wait_for(lambda: query(db, STATUS) == [("unverified",)], what=daemon.text)
            for n, extra in enumerate(
                ({"key_file": [str(key)]}, {"exclude_fields": ["title"]}), start=1
            ):
                write_config(tmp_path, site.port, **settings, **extra)
                daemon.signal(signal.SIGHUP)
                wait_for(lambda n=n: daemon.text().count("reload refused") == n, what=daemon.text)
            assert daemon.stopped(30) == 0
        finally:
            daemon.kill()
    text = daemon.text()
    assert text.count(BROKEN) == 2, text
    assert "Traceback" not in text and "exception" not in text.lower(), text
    assert query(db, STATUS) == [("unverified",)]


def test_a_dependency_missing_where_it_is_first_used_is_a_broken_install(tmp_path: Path) -> None:
    """publicsuffixlist, imported at the first provider domain judged: its absence
    was 'internal error ... This is a bug' and a traceback (exit 70); any package
    other than monitor's own that fails to import is said as a broken install."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "publicsuffixlist.py").write_text(RAISES.replace("rfc8785", "publicsuffixlist"))
    corpus = tmp_path / "a.json"
    corpus.write_text(
        json.dumps(
            {
                "webUrl": "https://www.bbc.co.uk/news/a",
                "title": "A story",
                "publishedDateTime": "2020-04-16T12:00:00Z",
                "provider": {"name": "BBC", "domain": "bbc.co.uk"},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLE_MONITOR_")}
    done = _cli({**env, "PYTHONPATH": str(shim)}, "check", corpus, "--offline", "-o", os.devnull)
    refused(done, "Error: cannot import publicsuffixlist", "the install is broken")
