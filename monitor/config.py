"""Typed settings: TOML file < ARTICLE_MONITOR_* environment < command-line flags.

Validated once at load, with messages that name the bad key, so nothing
downstream has to second-guess a value. Key *material* never lives here: only
paths to key files (CONTRACT section 4).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.vocabulary import Kind

ENV_PREFIX = "ARTICLE_MONITOR_"
DEFAULT_LISTEN = "127.0.0.1:9464"


class ConfigError(Exception):
    """A usage or configuration error: exit code 2, nothing was checked."""


class ConnectTo(BaseModel):
    """One `--connect-to HOST1:PORT1:HOST2:PORT2` rule (curl's semantics)."""

    model_config = ConfigDict(frozen=True)

    host1: str = ""
    port1: int | None = None
    host2: str = ""
    port2: int | None = None

    @classmethod
    def parse(cls, spec: str) -> ConnectTo:
        parts = _split_connect_to(spec)
        if len(parts) != 4:
            raise ValueError(
                f"--connect-to {spec!r}: expected HOST1:PORT1:HOST2:PORT2 "
                "(IPv6 addresses in brackets)"
            )
        h1, p1, h2, p2 = parts
        try:
            return cls(
                host1=h1.strip("[]").lower(),
                port1=int(p1) if p1 else None,
                host2=h2.strip("[]"),
                port2=int(p2) if p2 else None,
            )
        except ValueError as exc:
            raise ValueError(f"--connect-to {spec!r}: ports must be numbers") from exc

    def matches(self, host: str, port: int) -> bool:
        return (not self.host1 or self.host1 == host.lower()) and (
            self.port1 is None or self.port1 == port
        )


def _split_connect_to(spec: str) -> list[str]:
    parts: list[str] = []
    cur = ""
    depth = 0
    for ch in spec:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


class Intervals(BaseModel):
    """Re-check interval per kind, in seconds (daemon)."""

    model_config = ConfigDict(extra="forbid")

    web: float = Field(3600.0, gt=0)
    amp: float = Field(3600.0, gt=0)
    cdn: float = Field(3600.0, gt=0)
    image: float = Field(21600.0, gt=0)

    def for_kind(self, kind: Kind) -> float:
        return float(getattr(self, kind.value))


class Settings(BaseModel):
    """Every knob of `check` and `run`. Field names are the TOML keys."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    paths: list[Path] = Field(default_factory=list)
    format: Literal["table", "json", "junit", "markdown"] | None = None
    db: str | None = None
    data_dir: Path = Path("data")
    concurrency: int = Field(64, ge=1, le=10000)
    workers: int = Field(
        0, ge=0, le=64, description="check: processes; 0 = one per core for big runs"
    )
    per_host: int = Field(4, ge=1, le=1000)
    host_min_interval: float = Field(0.0, ge=0, description="seconds between requests to a host")
    timeout: float = Field(10.0, gt=0)
    connect_timeout: float = Field(5.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    backoff_base: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)
    retry_after_max: float = Field(60.0, ge=0)
    max_redirects: int = Field(10, ge=0, le=50)
    page_cap_bytes: int = Field(512 * 1024, ge=1024)
    image_cap_bytes: int = Field(64 * 1024, ge=1024)
    connect_to: list[ConnectTo] = Field(default_factory=list)
    ca_bundle: Path | None = None
    allow_network: list[str] = Field(default_factory=list)
    key_file: list[Path] = Field(default_factory=list)
    allow_insecure_key_permissions: bool = False
    kinds: list[Kind] = Field(default_factory=lambda: list(Kind))
    related: bool = True
    offline: bool = False
    listen: str = DEFAULT_LISTEN
    interval: float | None = Field(None, gt=0)
    intervals: Intervals = Field(default_factory=Intervals)
    interval_jitter: float = Field(0.1, ge=0, le=1)
    once: bool = False
    user_agent_contact: str | None = None
    cert_warning_days: float = Field(14.0, ge=0)
    latency_budget_ms: float = Field(5000.0, gt=0)
    down_after: int = Field(3, ge=1)
    up_after: int = Field(1, ge=1)
    retention_days: int = Field(30, ge=1)
    rollup_retention_days: int = Field(365, ge=1)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_token_file: Path | None = None
    # `user:password` in a file (never in the config file itself); see monitor/observe/endpoints.py
    metrics_basic_auth_file: Path | None = None
    # serve /metrics beyond loopback without a token or basic auth (off: refused)
    metrics_allow_unauthenticated: bool = False
    # daemon (`run`): schedule, leases, shutdown, endpoint TLS
    retry_interval: float = Field(
        60.0, gt=0, description="first re-check of a failing target; doubles up to the interval"
    )
    rescan_interval: float = Field(60.0, gt=0, description="seconds between corpus rescans")
    lease_seconds: float = Field(
        300.0, gt=0, description="a claimed target is re-claimed after this if its check died"
    )
    shutdown_grace: float = Field(10.0, ge=0, description="in-flight checks finish within this")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    exclude_fields: list[str] = Field(default_factory=list)

    @field_validator("allow_network")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"not a network: {cidr!r} (expected CIDR like 10.0.0.0/8)"
                ) from exc
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise ValueError(f"expected HOST:PORT, got {value!r}")
        return value

    @field_validator("connect_to", mode="before")
    @classmethod
    def _connect_to(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [ConnectTo.parse(v) if isinstance(v, str) else v for v in value]
        return value

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def interval_for(self, kind: Kind) -> float:
        return self.interval if self.interval is not None else self.intervals.for_kind(kind)

    @property
    def networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(c, strict=False) for c in self.allow_network]

    def database_url(self) -> str:
        if self.db:
            return self.db
        return f"sqlite:///{(self.data_dir / 'article-monitor.db').resolve()}"

    def redacted(self) -> dict[str, Any]:
        """Effective settings for `config show`: paths only, never key material."""
        data = self.model_dump(mode="json")
        if self.db and "@" in self.db:
            scheme, _, rest = self.db.partition("://")
            data["db"] = f"{scheme}://***@{rest.rpartition('@')[2]}"
        return data


_LIST_FIELDS = {"paths", "connect_to", "allow_network", "key_file", "exclude_fields"}


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in Settings.model_fields:
            continue  # e.g. ARTICLE_MONITOR_KEY (key material) is read by the key loader
        if key in _LIST_FIELDS:
            sep = os.pathsep if key in {"paths", "key_file"} else ","
            out[key] = [v for v in value.split(sep) if v]
        elif key in {"related", "offline", "once", "allow_insecure_key_permissions"}:
            out[key] = value.strip().lower() in {"1", "true", "yes", "on"}
        else:
            out[key] = value
    return out


def load_settings(
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the three layers and validate. Raises ConfigError naming the bad key."""
    merged: dict[str, Any] = {}
    env = dict(os.environ if environ is None else environ)
    if config_file is None and env.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(env[ENV_PREFIX + "CONFIG"])
    if config_file is not None:
        try:
            with config_file.open("rb") as fh:
                merged.update(tomllib.load(fh))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {config_file}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_file}: invalid TOML: {exc}") from exc
        base = config_file.parent
        for key in ("paths", "key_file"):
            if key in merged and isinstance(merged[key], list):
                merged[key] = [str(base / p) for p in merged[key]]
        for key in (
            "data_dir",
            "ca_bundle",
            "metrics_token_file",
            "metrics_basic_auth_file",
            "tls_cert_file",
            "tls_key_file",
        ):
            if isinstance(merged.get(key), str):
                merged[key] = str(base / merged[key])
    merged.update(_env_overrides(env))
    for key, value in (flags or {}).items():
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        merged[key] = list(value) if isinstance(value, tuple) else value
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{loc}: {msg}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
