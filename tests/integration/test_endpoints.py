"""The endpoints' protection: bearer token, basic auth, TLS, and the refusal to
serve beyond loopback without credentials. Real aiohttp server on 127.0.0.1:0."""

from __future__ import annotations

import base64
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import ConfigError, Settings
from monitor.observe.endpoints import EndpointAuth, MetricsServer, is_loopback, read_basic_auth
from monitor.observe.metrics import DaemonMetrics
from monitor.storage.repository import Snapshot

PASSWORD = "pa:ss-w0rd-never-logged"


async def _ready() -> tuple[bool, dict[str, Any]]:
    return False, {"database": "unreachable: /secret/path/db is locked"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    path = tmp_path / "metrics.auth"
    path.write_text(f"\nprometheus:{PASSWORD}\n")
    path.chmod(0o600)
    return path


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(listen="127.0.0.1:0", data_dir=tmp_path, **values)


@pytest.fixture
async def server(tmp_path: Path, auth_file: Path) -> AsyncIterator[MetricsServer]:
    settings = _settings(tmp_path, metrics_basic_auth_file=auth_file)
    srv = MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, settings)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def _get(
    url: str, headers: dict[str, str] | None = None, ssl_ctx: ssl.SSLContext | None = None
) -> tuple[int, str, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers or {}, ssl=ssl_ctx if ssl_ctx else False) as resp,
    ):
        return resp.status, await resp.text(), dict(resp.headers)


async def test_basic_auth_guards_metrics(server: MetricsServer) -> None:
    status, _, headers = await _get(server.url + "/metrics")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic")
    for wrong in (
        _basic("prometheus", "nope"),
        _basic("other", PASSWORD),
        _basic("prometheus", PASSWORD + "x"),
        "Basic !!!not-base64",
        "Bearer " + PASSWORD,
        "Basic " + base64.b64encode(b"\xff\xfe").decode(),
    ):
        assert (await _get(server.url + "/metrics", {"Authorization": wrong}))[0] == 401, wrong
    status, body, _ = await _get(
        server.url + "/metrics", {"Authorization": _basic("prometheus", PASSWORD)}
    )
    assert status == 200 and "article_monitor_targets" in body


async def test_healthz_open_readyz_detail_only_with_credentials(server: MetricsServer) -> None:
    assert (await _get(server.url + "/healthz"))[0] == 200
    status, body, _ = await _get(server.url + "/readyz")
    assert status == 503 and "secret/path" not in body and '"ready": false' in body
    status, body, _ = await _get(
        server.url + "/readyz", {"Authorization": _basic("prometheus", PASSWORD)}
    )
    assert status == 503 and "is locked" in body


async def test_bearer_and_basic_together(tmp_path: Path, auth_file: Path) -> None:
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    settings = _settings(tmp_path, metrics_basic_auth_file=auth_file, metrics_token_file=token)
    srv = MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, settings)
    await srv.start()
    try:
        url = srv.url + "/metrics"
        assert (await _get(url, {"Authorization": "Bearer tok-123"}))[0] == 200
        assert (await _get(url, {"Authorization": _basic("prometheus", PASSWORD)}))[0] == 200
        assert (await _get(url, {"Authorization": "Bearer tok-12"}))[0] == 401
    finally:
        await srv.stop()


async def test_tls_with_basic_auth(tmp_path: Path, auth_file: Path, pki: Any) -> None:
    settings = _settings(
        tmp_path,
        metrics_basic_auth_file=auth_file,
        tls_cert_file=pki.valid.cert_file,
        tls_key_file=pki.valid.key_file,
    )
    srv = MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, settings)
    await srv.start()
    try:
        assert srv.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(pki.ca_file))
        status, body, _ = await _get(
            srv.url + "/metrics", {"Authorization": _basic("prometheus", PASSWORD)}, trust
        )
        assert status == 200 and "article_monitor_build_info" in body
        assert (await _get(srv.url + "/metrics", None, trust))[0] == 401
        # a client that does not trust the CA cannot talk to it
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await _get(srv.url + "/healthz", None, ssl.create_default_context())
        # and plain HTTP on the TLS port gets no metrics
        with pytest.raises(aiohttp.ClientError):
            await _get(srv.url.replace("https", "http") + "/metrics")
    finally:
        await srv.stop()


async def test_the_secret_is_never_logged(
    tmp_path: Path, auth_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = _settings(tmp_path, metrics_basic_auth_file=auth_file)
    srv = MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, settings)
    await srv.start()
    try:
        await _get(srv.url + "/metrics", {"Authorization": _basic("prometheus", "wrong")})
        await _get(srv.url + "/metrics", {"Authorization": _basic("prometheus", PASSWORD)})
    finally:
        await srv.stop()
    assert caplog.records  # it did log (the listening line)
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(srv.auth) and PASSWORD not in repr(settings)


def test_beyond_loopback_without_credentials_is_refused(tmp_path: Path, auth_file: Path) -> None:
    exposed = Settings(listen="0.0.0.0:9464", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="metrics_basic_auth_file"):
        MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, exposed)
    # explicitly allowed, or protected: accepted (not started: tests bind loopback only)
    allowed = exposed.model_copy(update={"metrics_allow_unauthenticated": True})
    assert MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, allowed).port == 9464
    guarded = exposed.model_copy(update={"metrics_basic_auth_file": auth_file})
    assert MetricsServer.for_settings(DaemonMetrics(Snapshot), _ready, guarded).auth.enabled


def test_run_refuses_an_unprotected_public_listen_with_exit_2(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    out = CliRunner().invoke(
        cli,
        ["run", str(corpus), "--data-dir", str(tmp_path / "data"), "--listen", "[::]:0"],
    )
    assert out.exit_code == 2
    assert "beyond loopback" in out.output and "metrics_basic_auth_file" in out.output


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("text", ["", "\n\n", "useronly", ":pw", "user:"])
def test_a_malformed_basic_auth_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "auth"
    path.write_text(text)
    with pytest.raises(ConfigError, match="user:password"):
        read_basic_auth(path)


def test_a_missing_basic_auth_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="metrics_basic_auth_file"):
        read_basic_auth(tmp_path / "absent")


def test_endpoint_auth_open_when_unconfigured() -> None:
    assert EndpointAuth.of().allows("") and not EndpointAuth.of("t").allows("")
