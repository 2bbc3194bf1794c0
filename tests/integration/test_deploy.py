"""deploy/: each artefact judged by the real tool for it, and the facts the docs promise.

Nothing can be built or run as a container or a systemd service here, so:
the Dockerfile is linted by hadolint, the compose file validated against the
Compose specification and its Prometheus/Alertmanager configs by promtool
and amtool, the units by `systemd-analyze verify` and `security`, and the
Kubernetes manifests rendered by kustomize (`kubectl kustomize`) and checked
against the Kubernetes schemas (kubernetes-validate).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.daemon.notify import EXTEND_BY_USEC, EXTEND_EVERY
from monitor.observe.starting import STALL_AFTER

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (scripts/test-deps.sh)")
    return found


# ---------------------------------------------------------------- container image


def test_the_dockerfile_is_hadolint_clean() -> None:
    out = run(tool("hadolint"), str(DEPLOY / "Dockerfile"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_image_is_multi_stage_slim_non_root_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(stages) == 2 and len(set(stages)) == 1, stages  # same slim Python, same minor
    assert "slim" in stages[0] and "${PYTHON_VERSION}" in stages[0]
    final = text[text.rindex("\nFROM ") :]
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert re.search(r"^EXPOSE 9464$", final, re.M)
    assert re.search(r'^VOLUME \["/data"\]$', final, re.M)
    assert "HEALTHCHECK" in final and "/healthz" in final
    for label in ("title", "description", "version", "licenses"):
        assert f"org.opencontainers.image.{label}=" in final
    # no build tools or caches in the final stage: only the venv is copied over
    assert "apt-get" not in final and "pip install" not in final
    assert "COPY --from=builder /opt/article-monitor /opt/article-monitor" in final
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*") :][:1] == ["*"]  # the context is an allow list


# ---------------------------------------------------------------- compose


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return data


def test_the_compose_file_follows_the_compose_specification() -> None:
    out = run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.compose-spec",
        str(DEPLOY / "compose.yaml"),
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_file_the_stack_mounts_is_in_the_repository() -> None:
    data = compose()
    secrets = {s["file"] for s in data["secrets"].values()}
    mounted = []
    for service in data["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                mounted.append(source)
        build = service.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    assert len(mounted) >= 8
    for source in mounted:
        assert (DEPLOY / source).exists(), f"compose mounts {source}, which is not in the repo"
    # the secrets are the user's to make; they must never be committed
    ignored = (DEPLOY / "secrets" / ".gitignore").read_text().split()
    assert ignored[0] == "*"
    assert all(s.startswith("./secrets/") for s in secrets)


def test_the_stack_has_named_volumes_healthchecks_and_no_secret_in_the_environment() -> None:
    data = compose()
    assert set(data["volumes"]) >= {"monitor-data", "prometheus-data", "grafana-data"}
    for name, service in data["services"].items():
        assert "healthcheck" in service, name
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"TOKEN|PASSWORD|SECRET|KEY", key):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), key
    assert "metrics_token" in data["services"]["monitor"]["secrets"]
    assert "metrics_token" in data["services"]["prometheus"]["secrets"]


def test_the_stacks_prometheus_and_alertmanager_configs_pass_their_tools(tmp_path: Path) -> None:
    token = tmp_path / "metrics_token"
    token.write_text("t0ken\n")
    prom = (DEPLOY / "compose" / "prometheus.yml").read_text()
    prom = prom.replace(
        "/etc/prometheus/rules/article-monitor.rules.yml",
        str(ROOT / "grafana" / "prometheus" / "article-monitor.rules.yml"),
    ).replace("/run/secrets/metrics_token", str(token))
    (tmp_path / "prometheus.yml").write_text(prom)
    out = run(tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 1 rule files found" in out.stdout + out.stderr
    out = run(tool("amtool"), "check-config", str(DEPLOY / "compose" / "alertmanager.yml"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_stacks_daemon_configuration_loads(tmp_path: Path) -> None:
    """The compose and Kubernetes monitor.toml are valid settings (paths aside)."""
    for config in (DEPLOY / "compose" / "monitor.toml", DEPLOY / "kubernetes/base/monitor.toml"):
        out = run(str(BIN / "article-monitor"), "config", "show", "--config", str(config))
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert shown["listen"] == "0.0.0.0:9464" and shown["data_dir"] == "/data"


# ---------------------------------------------------------------- systemd

UNITS = ["article-monitor.service", "article-monitor-once.service"]


def unit_for_verify(tmp_path: Path, name: str) -> Path:
    """The unit with ExecStart pointing at this checkout's install: `verify` insists
    the program exists, and /opt/article-monitor is where docs/deploy.md installs it."""
    text = (DEPLOY / "systemd" / name).read_text()
    assert "/opt/article-monitor/bin/article-monitor" in text
    path = tmp_path / name
    path.write_text(
        text.replace("/opt/article-monitor/bin/article-monitor", str(BIN / "article-monitor"))
    )
    return path


@pytest.mark.parametrize("name", UNITS)
def test_the_units_pass_systemd_analyze_verify(tmp_path: Path, name: str) -> None:
    out = run(tool("systemd-analyze"), "verify", str(unit_for_verify(tmp_path, name)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert not out.stderr.strip(), out.stderr


@pytest.mark.parametrize("name", UNITS)
def test_the_units_expose_2_0_or_less(tmp_path: Path, name: str) -> None:
    out = run(
        tool("systemd-analyze"),
        "security",
        "--offline=yes",
        str(unit_for_verify(tmp_path, name)),
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout + out.stderr)
    assert match, out.stdout + out.stderr
    assert float(match.group(1)) <= 2.0
    # docs/deploy.md states the score
    assert f"{match.group(1)} OK" in (ROOT / "docs" / "deploy.md").read_text()


def test_the_service_reloads_on_sighup_and_takes_secrets_as_credentials() -> None:
    text = (DEPLOY / "systemd" / "article-monitor.service").read_text()
    for line in (
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "StateDirectory=article-monitor",
        "ConfigurationDirectory=article-monitor",
        "Environment=ARTICLE_MONITOR_METRICS_TOKEN_FILE=%d/metrics-token",
        "Environment=ARTICLE_MONITOR_KEY_FILE=%d/signing-key",
    ):
        assert line in text.splitlines(), line
    assert text.count("LoadCredential=") == 2
    once = (DEPLOY / "systemd" / "article-monitor-once.service").read_text()
    assert "Type=oneshot" in once and " run --once " in once


def test_the_service_keeps_a_start_timeout_the_daemon_extends() -> None:
    """A finite start timeout (a start that hangs is ended); the daemon's
    EXTEND_TIMEOUT_USEC beats need Type=notify and a timeout above one beat."""
    lines = (DEPLOY / "systemd" / "article-monitor.service").read_text().splitlines()
    assert "Type=notify" in lines and "NotifyAccess=main" in lines
    (timeout,) = [line.split("=", 1)[1] for line in lines if line.startswith("TimeoutStartSec=")]
    assert timeout.endswith("s") and timeout[:-1].isdigit(), timeout
    assert int(timeout[:-1]) > 3 * EXTEND_EVERY and EXTEND_BY_USEC > 2 * EXTEND_EVERY * 1e6


# ---------------------------------------------------------------- Kubernetes

K8S_VERSION = "1.30.0"


def kustomize(path: Path) -> list[dict[str, Any]]:
    out = run(tool("kubectl"), "kustomize", str(path))
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in docs}


@pytest.mark.parametrize("layer", ["base", "overlays/postgres"])
def test_the_rendered_manifests_validate_against_the_kubernetes_schemas(layer: str) -> None:
    import kubernetes_validate

    docs = kustomize(DEPLOY / "kubernetes" / layer)
    custom = {"ServiceMonitor", "PrometheusRule"}  # CRDs: no schema in Kubernetes itself
    for doc in docs:
        if doc["kind"] in custom:
            assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["spec"]
            continue
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "ConfigMap"} | custom


def test_the_pod_meets_pod_security_restricted() -> None:
    deployment = by_kind(kustomize(DEPLOY / "kubernetes" / "base"))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"]["drop"] == ["ALL"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"] and container["resources"]["limits"]
    secrets = [v for v in pod["volumes"] if "secret" in v]
    assert secrets and all(v["secret"]["defaultMode"] == 0o400 for v in secrets)
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert all(mounts[v["name"]].get("readOnly") for v in secrets)


def test_the_postgres_overlay_runs_replicas_without_the_sqlite_volume() -> None:
    base = by_kind(kustomize(DEPLOY / "kubernetes" / "base"))
    docs = kustomize(DEPLOY / "kubernetes" / "overlays" / "postgres")
    kinds = by_kind(docs)
    assert "PersistentVolumeClaim" in base and "PersistentVolumeClaim" not in kinds
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["ARTICLE_MONITOR_DB"]["valueFrom"]["secretKeyRef"]["name"] == "article-monitor-db"
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert "emptyDir" in data and "persistentVolumeClaim" not in data


def test_the_prometheusrule_is_the_generated_one() -> None:
    rendered = by_kind(kustomize(DEPLOY / "kubernetes" / "base"))["PrometheusRule"]
    generated = yaml.safe_load(
        (ROOT / "grafana" / "kubernetes" / "prometheusrule.yaml").read_text()
    )
    assert rendered["spec"] == generated["spec"]
    assert rendered["metadata"]["namespace"] == "article-monitor"


# ---------------------------------------------------------------- a long start

# /healthz answers from the start of `run`, before the database check and
# migration: 200 while the start reads on (or migrates), 503 once it has read
# nothing for STALL_AFTER (observe/starting.py). The start probes then cover only
# the time until the daemon listens, and must be short: when /healthz answered
# only once the database was ready, they allowed an hour, and a start hung on a
# stuck disk was left alone that long. Long enough still for the imports and the
# checker processes' spawn on a loaded node (seconds), with room to spare.
LISTEN_BUDGET_S = (60, 300)


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([smh])", text))


def test_the_pods_startup_probe_covers_only_the_time_until_it_listens() -> None:
    deployment = by_kind(kustomize(DEPLOY / "kubernetes" / "base"))["Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    probe = container["startupProbe"]
    assert probe["httpGet"]["path"] == "/healthz"
    low, high = LISTEN_BUDGET_S
    assert low <= probe["periodSeconds"] * probe["failureThreshold"] <= high
    # a stalled start is ended by the liveness probe: STALL_AFTER, then its
    # failures, within a few minutes (not the hour a stuck start was left)
    live = container["livenessProbe"]
    assert live["httpGet"]["path"] == "/healthz"
    assert STALL_AFTER + live["periodSeconds"] * live["failureThreshold"] <= 300
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"  # 503 while starting


def test_the_image_and_the_stack_allow_only_the_time_until_it_listens() -> None:
    final = (DEPLOY / "Dockerfile").read_text()
    final = final[final.rindex("\nFROM ") :]
    period = re.search(r"--start-period=(\S+)", final)
    low, high = LISTEN_BUDGET_S
    assert period is not None and low <= _seconds(period.group(1)) <= high
    check = compose()["services"]["monitor"]["healthcheck"]
    assert low <= _seconds(str(check["start_period"])) <= high
