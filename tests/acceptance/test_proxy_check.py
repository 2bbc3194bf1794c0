"""`proxy` and `no_proxy` through `check` as a user runs it, with a real proxy
(tinyproxy, tests/support/tinyproxy.py) in front of loopback http and https servers.

Three articles: `https://news.test/a/` (through a CONNECT tunnel, TLS end to
end with the server's certificate for news.test), `http://plain.test/b/` (in
absolute form) and `http://direct.test/c/` (in `no_proxy`: direct). The
connect-to rules map each name onto a loopback server, and apply to the
address given to the proxy. tinyproxy's outgoing connections come from
127.0.0.2, so the servers tell proxied requests from direct ones; its log
shows what it was asked. Wrong credentials are a connection_error naming the
proxy's 407, a proxy that is down one naming the proxy; no password reaches
stdout or stderr, and `config show` prints `***` for it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import CLI, query, user_env, write_config
from support.certs import CertAuthority
from support.tinyproxy import PROXY_OUT, Servers, Tinyproxy, free_port, need_tinyproxy

USER = "monitor"
PASSWORD = "pw-9f2c7e41"
WRONG = "wrong-5e1d08aa"

CORPUS = """---
webUrl: "{url}"
title: "Story"
provider: {{name: News, domain: {host}}}
---
"""


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Servers, CertAuthority]]:
    need_tinyproxy()
    ca = CertAuthority(tmp_path_factory.mktemp("pki"))
    with Servers(ca, ["news.test"]) as site:
        yield site, ca


@pytest.fixture(scope="module")
def open_proxy(
    servers: tuple[Servers, CertAuthority], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path_factory.mktemp("open-proxy"), [servers[0].https_port]).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="module")
def auth_proxy(
    servers: tuple[Servers, CertAuthority], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(
        tmp_path_factory.mktemp("auth-proxy"), [servers[0].https_port], auth=(USER, PASSWORD)
    ).start()
    yield proxy
    proxy.stop()


def corpus(tmp: Path, tag: str) -> Path:
    """The three articles, their paths tagged so each test's requests are its own."""
    folder = tmp / "corpus"
    folder.mkdir()
    for name, url in (
        ("a", f"https://news.test/a-{tag}/"),
        ("b", f"http://plain.test/b-{tag}/"),
        ("c", f"http://direct.test/c-{tag}/"),
    ):
        host = url.split("/")[2]
        (folder / f"{name}.txt").write_text(CORPUS.format(url=url, host=host))
    return folder


def check(
    tmp: Path,
    tag: str,
    servers: tuple[Servers, CertAuthority],
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    """`check` of the three articles: (the process, each target's entry by URL path)."""
    site, ca = servers
    folder = corpus(tmp, tag)
    done = subprocess.run(
        [
            CLI,
            "check",
            str(folder),
            "--format",
            "json",
            "--ca-bundle",
            str(ca.cert_file),
            "--allow-network",
            "127.0.0.0/8",
            "--connect-to",
            f"news.test:443:127.0.0.1:{site.https_port}",
            "--connect-to",
            f"plain.test:80:127.0.0.1:{site.http_port}",
            "--connect-to",
            f"direct.test:80:127.0.0.1:{site.http_port}",
            "--no-proxy",
            "direct.test",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=user_env(
            ARTICLE_MONITOR_KINDS="web",
            ARTICLE_MONITOR_RETRIES="0",
            ARTICLE_MONITOR_SOFT_404_PROBE="false",
            ARTICLE_MONITOR_CHECK_CONTENT_DRIFT="false",
            **(env or {}),
        ),
    )
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    targets = {
        t["url"].split("/", 3)[3].split("-")[0]: t for a in report["articles"] for t in a["targets"]
    }
    return done, targets


def test_http_and_https_go_through_the_proxy_and_no_proxy_hosts_direct(
    tmp_path: Path, servers: tuple[Servers, CertAuthority], open_proxy: Tinyproxy
) -> None:
    site, _ = servers
    _, targets = check(tmp_path, "open", servers, "--proxy", open_proxy.url())
    for path in ("a", "b", "c"):
        assert targets[path]["outcome"] == "ok", targets[path]
    asked = open_proxy.requests()
    assert f"CONNECT 127.0.0.1:{site.https_port} HTTP/1.1" in asked, asked
    assert f"GET http://127.0.0.1:{site.http_port}/b-open/ HTTP/1.1" in asked, asked
    assert not [line for line in asked if "/c-open/" in line], asked
    # the servers saw the proxy's connections, and the no_proxy host's own
    assert site.peers("https", "/a-open/") == {PROXY_OUT}
    assert site.peers("http", "/b-open/") == {PROXY_OUT}
    assert site.peers("http", "/c-open/") == {"127.0.0.1"}


def test_no_credentials_are_the_proxys_407(
    tmp_path: Path, servers: tuple[Servers, CertAuthority], auth_proxy: Tinyproxy
) -> None:
    """To CONNECT and to an absolute-form GET alike: a 407 is the proxy's own
    answer, never the target's, so it is a connection_error naming the proxy."""
    site, _ = servers
    _, targets = check(tmp_path, "none", servers, "--proxy", auth_proxy.url())
    said = f"proxy 127.0.0.1:{auth_proxy.port} answered 407 Proxy Authentication Required to"
    assert targets["a"]["outcome"] == "connection_error", targets["a"]
    assert targets["a"]["error"] == f"{said} CONNECT 127.0.0.1:{site.https_port}"
    assert targets["b"]["outcome"] == "connection_error", targets["b"]
    assert targets["b"]["error"] == f"{said} GET for 127.0.0.1:{site.http_port}"
    assert targets["c"]["outcome"] == "ok"  # direct: no proxy, no credentials


def test_wrong_credentials_are_refused_and_never_shown(
    tmp_path: Path, servers: tuple[Servers, CertAuthority], auth_proxy: Tinyproxy
) -> None:
    """tinyproxy answers wrong credentials with 401, not 407 (Squid says 407): to
    CONNECT that is a connection_error naming it; to an absolute-form GET it cannot
    be told from the target's own 401, so it is the target's http_error, as a
    browser shows it. The password is in neither the report nor stderr."""
    site, _ = servers
    done, targets = check(tmp_path, "wrong", servers, "--proxy", auth_proxy.url(USER, WRONG))
    assert targets["a"]["outcome"] == "connection_error", targets["a"]
    assert targets["a"]["error"] == (
        f"proxy 127.0.0.1:{auth_proxy.port} answered 401 Unauthorized "
        f"to CONNECT 127.0.0.1:{site.https_port}"
    )
    assert targets["b"]["outcome"] == "http_error", targets["b"]
    assert targets["b"]["http_status"] == 401
    assert targets["c"]["outcome"] == "ok"
    assert site.peers("https", "/a-wrong/") == set()  # nothing reached the server
    assert site.peers("http", "/b-wrong/") == set()
    assert WRONG not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_credentials_from_the_environment_reach_checker_processes(
    tmp_path: Path, servers: tuple[Servers, CertAuthority], auth_proxy: Tinyproxy
) -> None:
    """ARTICLE_MONITOR_PROXY with the right password, checked by two processes:
    the password travels a checker process's settings frame, and is shown nowhere."""
    site, _ = servers
    done, targets = check(
        tmp_path,
        "env",
        servers,
        "--workers",
        "2",
        env={"ARTICLE_MONITOR_PROXY": auth_proxy.url(USER, PASSWORD)},
    )
    for path in ("a", "b", "c"):
        assert targets[path]["outcome"] == "ok", targets[path]
    assert site.peers("https", "/a-env/") == {PROXY_OUT}
    assert site.peers("http", "/b-env/") == {PROXY_OUT}
    assert PASSWORD not in done.stdout + done.stderr


def test_a_proxy_that_is_down_is_named(
    tmp_path: Path, servers: tuple[Servers, CertAuthority]
) -> None:
    site, _ = servers
    port = free_port()
    done, targets = check(
        tmp_path, "down", servers, "--proxy", f"http://{USER}:{PASSWORD}@127.0.0.1:{port}"
    )
    for path in ("a", "b"):
        target = targets[path]
        assert target["outcome"] == "connection_error", target
        assert f"cannot connect to proxy 127.0.0.1:{port}" in target["error"], target
    assert targets["c"]["outcome"] == "ok"
    assert site.peers("http", "/c-down/") == {"127.0.0.1"}
    assert PASSWORD not in done.stdout + done.stderr
    # said once, as the cause of every proxied target's failure (not once a target)
    said = f"proxy 127.0.0.1:{port} cannot be reached (connection refused)"
    assert done.stderr.count(said) == 1, done.stderr


def test_config_show_masks_the_password_and_errors_never_show_it() -> None:
    env = user_env(ARTICLE_MONITOR_NO_PROXY="*.internal.example,10.0.0.7")
    shown = subprocess.run(
        [CLI, "config", "show", "--proxy", f"http://{USER}:{PASSWORD}@proxy.example:3128"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert settings["proxy"] == f"http://{USER}:***@proxy.example:3128"
    assert settings["no_proxy"] == ["*.internal.example", "10.0.0.7"]
    assert PASSWORD not in shown.stdout + shown.stderr
    for bad in (
        f"https://{USER}:{PASSWORD}@proxy.example:3128",
        f"socks5://{USER}:{PASSWORD}@proxy.example:1080",
        f"http://{USER}:{PASSWORD}@proxy.example",
        f"http://{USER}:{PASSWORD}@proxy.example:3128/path",
    ):
        offline = [["check", "--offline", "."]] if bad.startswith("https") else []
        for command in [["config", "show"], *offline]:
            refused = subprocess.run(
                [CLI, *command],
                capture_output=True,
                text=True,
                timeout=60,
                env={**env, "ARTICLE_MONITOR_PROXY": bad},
            )
            assert refused.returncode == 2, (bad, refused.stderr)
            assert "Error: invalid configuration" in refused.stderr, refused.stderr
            assert "proxy (from environment ARTICLE_MONITOR_PROXY)" in refused.stderr
            assert PASSWORD not in refused.stdout + refused.stderr, refused.stderr


def test_the_daemon_checks_through_the_proxy_from_checker_processes(
    tmp_path: Path, servers: tuple[Servers, CertAuthority], auth_proxy: Tinyproxy
) -> None:
    """`run --once` with workers = 2 (two checker processes; the password travels their
    settings frame): the proxied targets are ok and came through the proxy, and the
    password is in neither the log (at debug) nor the database. ~2 s: a daemon and
    its checker processes start, check once and stop."""
    site, ca = servers
    folder = corpus(tmp_path, "daemon")
    cfg = write_config(
        tmp_path,
        site.http_port,
        connect_to=[
            f"news.test:443:127.0.0.1:{site.https_port}",
            f"plain.test:80:127.0.0.1:{site.http_port}",
            f"direct.test:80:127.0.0.1:{site.http_port}",
        ],
        ca_bundle=str(ca.cert_file),
        proxy=auth_proxy.url(USER, PASSWORD),
        no_proxy=["direct.test"],
        workers=2,
        log_level="debug",
        check_content_drift=False,
    )
    assert folder == tmp_path / "corpus"
    done = subprocess.run(
        [CLI, "run", "--config", str(cfg), "--once"],
        capture_output=True,
        timeout=60,
        env=user_env(),
    )
    assert done.returncode == 0, done.stderr
    assert b"checking in 2 checker processes" in done.stderr, done.stderr
    db = tmp_path / "data" / "article-monitor.db"
    outcomes = dict(query(db, "select url, last_outcome from targets"))
    assert outcomes == {
        "https://news.test/a-daemon/": "ok",
        "http://plain.test/b-daemon/": "ok",
        "http://direct.test/c-daemon/": "ok",
    }, done.stderr
    assert site.peers("https", "/a-daemon/") == {PROXY_OUT}
    assert site.peers("http", "/b-daemon/") == {PROXY_OUT}
    assert site.peers("http", "/c-daemon/") == {"127.0.0.1"}
    kept = {"stdout": done.stdout, "stderr": done.stderr}
    kept.update({p.name: p.read_bytes() for p in db.parent.iterdir()})
    for where, data in kept.items():
        assert PASSWORD.encode() not in data, f"the password in the {where}"
