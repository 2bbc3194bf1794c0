"""Typed settings: TOML file < ARTICLE_MONITOR_* environment < command-line flags.

The three layers are read into one mapping over one model, so the model's
fields are the only list of settings: what a key is called, how it is typed and
parsed from the environment all follow from the field (no hand-kept lists to
drift). Validated once at load, with messages that name the bad key and the
layer it came from, so nothing downstream has to second-guess a value. Key
*material* never lives here: only paths to key files (CONTRACT section 4).

The layers themselves are read in monitor/config_sources.py (by pydantic-settings'
rules, without importing it: ~55 ms of every `check`'s start-up).
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo

from monitor import path_text, urls
from monitor.config_sources import (
    ENV_JSON,
    ENV_NESTED,
    ENV_WHOLE,
    Load,
    annotation_args,
    env_name,
    is_model,
    is_number,
    is_whole,
    layered,
)
from monitor.config_sources import ENV_PREFIX as ENV_PREFIX
from monitor.config_sources import ConfigError as ConfigError
from monitor.connect_rule import ConnectTo as ConnectTo
from monitor.content.drift import PageRules
from monitor.content.simhash import DEFAULT_TOLERANCE as TEXT_TOLERANCE
from monitor.durations import MAX_DAYS as MAX_DAYS
from monitor.durations import MAX_SECONDS as MAX_SECONDS
from monitor.durations import (
    Days,
    Milliseconds,
    Seconds,
    SecondsOrZero,
    Unit,
    WholeDays,
    bound,
    quoted,
    unit_of,
)
from monitor.proxy import ProxyUrl, no_proxy_patterns
from monitor.request_headers import HeaderRule, resolve_all
from monitor.text_clip import clip
from monitor.url_exclude import pattern_problem
from monitor.vocabulary import Kind
from monitor.whole_numbers import TooManyDigits, parse_whole

ENV_CONFIG = ENV_PREFIX + "CONFIG"
DEFAULT_LISTEN = "127.0.0.1:9464"
MAX_CAP_BYTES = 64 * 1024 * 1024  # a body read: 64 requests in flight hold at most 4 GiB
# user_agent_contact: printable ASCII, as a header value is sent (request_headers' rule)
_CONTACT_CHARS = re.compile(r"[\x20-\x7e]*")


def _not_a_boolean(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """`per_host = true` is a mistake, not 1: a number is never given as a boolean;
    and a NUL in a path would only fail later, far from the setting. A whole
    number's text is spelled as on the command line (monitor/whole_numbers.py)."""
    spec = cls.model_fields.get(info.field_name or "")
    if isinstance(value, bool) and spec is not None and is_number(spec):
        raise ValueError("expected a number, found a boolean")
    whole = spec is not None and is_whole(spec) and unit_of(spec) is None
    if whole and isinstance(value, float):  # TOML's 12.0 and 1e3: the flag refuses them
        raise ValueError(f"expected a whole number (like 64), found the decimal {value!r}")
    if whole and isinstance(value, str):
        assert spec is not None
        try:
            return parse_whole(value)
        except TooManyDigits as exc:  # said as a value in range is: its bound, then it
            raise ValueError(_past_every_bound(spec, value) or str(exc)) from None
    texts = value if isinstance(value, list) else [value]
    if any(isinstance(text, str) and "\x00" in text for text in texts):
        raise ValueError("contains a NUL character")  # no path or name holds one
    if spec is not None and (_holds_paths(spec) or info.field_name == "db"):
        for text in texts:  # a line break in a path (or a database URL) is a paste error
            problem = path_text.problem(str(text)) if isinstance(text, (str, Path)) else None
            # a corpus path naming what is there is taken (monitor/cli/paths.py, CorpusPath)
            if problem is not None and info.field_name == "paths" and os.path.lexists(text):
                problem = None
            if problem is not None:
                raise ValueError(problem)
    return value


def _holds_paths(spec: FieldInfo) -> bool:
    """A path field: `Path`, `Path | None` or `list[Path]`."""
    args = annotation_args(spec.annotation)
    return any(a is Path or (get_origin(a) is list and get_args(a) == (Path,)) for a in args)


def _past_every_bound(spec: FieldInfo, text: str) -> str | None:
    """`at most 10000; got '9999…' (50 characters)`, as `_out_of_bounds` says a
    value of 30 digits or a TOML integer of any length; None for a field unbounded."""
    low, high = bound(spec, "ge"), bound(spec, "le")
    if text.strip(" \t").startswith("-"):
        return None if low is None else f"at least {_plain(low)}; got {quoted(text)}"
    return None if high is None else f"at most {_plain(high)}; got {quoted(text)}"


class Intervals(BaseModel):
    """Re-check interval per kind, in seconds (daemon)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    _no_booleans = field_validator("*", mode="before")(_not_a_boolean)

    web: Seconds = 3600.0
    amp: Seconds = 3600.0
    cdn: Seconds = 3600.0
    image: Seconds = 21600.0

    def for_kind(self, kind: Kind) -> float:
        return float(getattr(self, kind.value))


class Settings(BaseModel):
    """Every knob of `check` and `run`. Field names are the TOML keys, the
    environment names (upper case, prefixed) and the flags (`--per-host`).

    `Settings(**values)` takes exactly `values`: the file and the environment
    are read only by `load_settings`.
    """

    # inf and nan (TOML has both) are never a setting: `timeout = inf` meant no timeout,
    # and `config show` printed `Infinity`, which is not JSON
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, validate_default=True, allow_inf_nan=False
    )

    paths: list[Path] = Field(default_factory=list)
    format: Literal["table", "json", "junit", "markdown"] | None = None
    db: str | None = None
    data_dir: Path = Path("data")
    concurrency: int = Field(64, ge=1, le=10000)
    workers: int = Field(
        0, ge=0, le=64, description="check: processes; 0 = one per core for big runs"
    )
    per_host: int = Field(4, ge=1, le=1000)
    host_min_interval: SecondsOrZero = Field(0.0, description="seconds between requests to a host")
    timeout: Seconds = 10.0
    connect_timeout: Seconds = 5.0
    retries: int = Field(2, ge=0, le=10)
    backoff_base: SecondsOrZero = 0.5
    backoff_max: SecondsOrZero = 30.0
    retry_after_max: SecondsOrZero = 60.0
    max_redirects: int = Field(10, ge=0, le=50)
    # a body is held in memory up to its cap, one per request in flight
    page_cap_bytes: int = Field(512 * 1024, ge=1024, le=MAX_CAP_BYTES)
    image_cap_bytes: int = Field(64 * 1024, ge=1024, le=MAX_CAP_BYTES)
    connect_to: list[ConnectTo] = Field(default_factory=list)
    ca_bundle: Path | None = None
    allow_network: list[str] = Field(default_factory=list)
    key_file: list[Path] = Field(default_factory=list)
    allow_insecure_key_permissions: bool = False
    kinds: list[Kind] = Field(default_factory=lambda: list(Kind))
    related: bool = True
    # Python `re` patterns searched in each target's URL as the corpus writes it:
    # a match is never requested (monitor/url_exclude.py). A pattern may hold a
    # comma: its variable is a JSON list or one pattern, never split (ENV_WHOLE)
    exclude_urls: Annotated[list[str], ENV_WHOLE] = Field(default_factory=list)
    offline: bool = False
    listen: str = DEFAULT_LISTEN
    # the status pages' external address (behind a proxy), for links such as the alerts'
    public_url: str | None = None
    interval: Seconds | None = None
    intervals: Intervals = Field(default_factory=Intervals)
    interval_jitter: float = Field(0.1, ge=0, le=1)
    once: bool = False
    user_agent_contact: str | None = None
    # headers sent with every request to matching hosts (monitor/request_headers.py):
    # their values are read from files or variables at load, and never shown; the
    # variable is a JSON list of rules, nothing else (a value may hold commas)
    request_headers: Annotated[list[HeaderRule], ENV_JSON] = Field(default_factory=list)
    # an HTTP proxy every request goes through but for `no_proxy` hosts (monitor/proxy.py);
    # its password is shown as `***`; HTTP(S)_PROXY are never read implicitly
    proxy: ProxyUrl | None = None
    no_proxy: list[str] = Field(default_factory=list)
    cert_warning_days: Days = 14.0
    latency_budget_ms: Milliseconds = 5000.0
    # web/amp pages (CONTRACT section 3): content_drift, redirect_to_root, the soft-404 probe
    check_content_drift: bool = True
    check_redirect_to_root: bool = True
    soft_404_probe: bool = True
    drift_threshold: float = Field(
        0.3, ge=0, le=1, description="title word overlap below which a page has drifted"
    )
    # the daemon's own-drift check: a page's text against its earlier self (history events)
    text_drift: bool = True
    text_drift_bits: int = Field(
        TEXT_TOLERANCE, ge=0, le=64, description="simhash bits that may differ: same text"
    )
    # a bound, as every count has: `down_after = 10**18` was taken, and the target never went down
    down_after: int = Field(3, ge=1, le=1000, description="failed checks in a row: down")
    up_after: int = Field(1, ge=1, le=1000, description="successful checks in a row: up")
    retention_days: WholeDays = 30
    rollup_retention_days: WholeDays = 365
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_token_file: Path | None = None
    # `user:password` in a file (never in the config file itself); see monitor/observe/endpoints.py
    metrics_basic_auth_file: Path | None = None
    # serve /metrics beyond loopback without a token or basic auth (off: refused)
    metrics_allow_unauthenticated: bool = False
    # daemon (`run`): schedule, leases, shutdown, endpoint TLS
    retry_interval: Seconds = Field(
        60.0, description="first re-check of a failing target; doubles up to the interval"
    )
    rescan_interval: Seconds = Field(60.0, description="seconds between corpus rescans")
    lease_seconds: Seconds = Field(
        300.0, description="a claimed target is re-claimed after this if its check died"
    )
    shutdown_grace: SecondsOrZero = Field(10.0, description="in-flight checks finish within this")
    # several daemons on one PostgreSQL (CONTRACT section 8; docs/scaling.md)
    cluster_heartbeat: Seconds = Field(
        2.0, description="seconds between a cluster member's heartbeats"
    )
    cluster_timeout: Seconds = Field(
        10.0, description="a member silent this long is dead; the leader lease lasts this"
    )
    maintenance_interval: Seconds = Field(
        3600.0, description="seconds between maintenance runs (rollups, retention)"
    )
    # the corpus paths are one shared storage (NFS, a volume every member mounts at the
    # same path): only the cluster's leader rescans them; the others only check
    corpus_shared: bool = Field(
        False, description="only the cluster's leader rescans the corpus (shared storage)"
    )
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
        if not sep or not (port.isascii() and port.isdigit()) or not host:
            raise ValueError(f"expected HOST:PORT, got {value!r}")
        if int(port) > 65535:
            raise ValueError(f"port {port} out of range 0-65535 in {value!r}")
        if (host.startswith("[") or host.endswith("]")) and not (
            host.startswith("[") and host.endswith("]") and ":" in host[1:-1]
        ):  # `[::1:0` was taken as ::1, its bracket dropped
            raise ValueError(
                f"expected HOST:PORT, an IPv6 address in brackets ([::1]:9464), got {value!r}"
            )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = urls.problem(value)  # the one URL rule; shown without credentials
        if problem is not None:
            shown = urls.redact(value)
            raise ValueError(
                f"expected an http(s) URL like https://status.example: {shown!r} {problem}"
            )
        parts = urlsplit(value)
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise ValueError("public_url takes no credentials, query or fragment")
        return value.rstrip("/")

    @field_validator("user_agent_contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        """Sent in every request's User-Agent: a CR or LF there wrote headers of its
        own into each request, and a character Latin-1 lacks failed every request
        (`connection_error`, every target down) rather than the configuration."""
        if value is not None and not _CONTACT_CHARS.fullmatch(value):
            raise ValueError(
                f"{quoted(value)} holds a line break, a control character or a"
                " character that is not ASCII, which a User-Agent header cannot carry;"
                " give a URL or an e-mail address (e.g. mailto:ops@news.example),"
                " percent-encoded"
            )
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

    @field_validator("kinds")
    @classmethod
    def _some_kind(cls, value: list[Kind]) -> list[Kind]:
        if not value:  # checking nothing would pass as "everything healthy"
            raise ValueError("names no kind: give one or more of web,amp,cdn,image")
        return value

    @field_validator("exclude_urls")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            problem = pattern_problem(pattern)
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("proxy", mode="before")
    @classmethod
    def _proxy(cls, value: Any) -> Any:
        """An empty value is no proxy: `ARTICLE_MONITOR_PROXY="$HTTPS_PROXY"` with the
        variable unset, or `--proxy ''` over a config file's proxy."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("no_proxy")
    @classmethod
    def _no_proxy(cls, value: list[str]) -> list[str]:
        no_proxy_patterns(value)
        return value

    @field_validator("request_headers")
    @classmethod
    def _header_values(cls, value: list[HeaderRule], info: ValidationInfo) -> list[HeaderRule]:
        """Each rule's value read from its file or variable (again at each reload):
        an unset variable or an unreadable file is an error now, not a request
        sent without its header."""
        context = info.context if isinstance(info.context, dict) else {}
        environ = context.get("environ")
        resolve_all(
            value,
            os.environ if environ is None else environ,
            allow_insecure=bool(info.data.get("allow_insecure_key_permissions")),
        )
        return value

    _no_booleans = field_validator("*", mode="before")(_not_a_boolean)

    def page_rules(self) -> PageRules:
        """The page checks' switches and threshold, for classify.findings."""
        return PageRules(
            drift=self.check_content_drift,
            root=self.check_redirect_to_root,
            threshold=self.drift_threshold,
        )

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
        """Effective settings for `config show`: paths only, never key material;
        a request header's value as `***` (its value_file or value_env by name)."""
        from monitor.secret_shape import shown_name

        data = self.model_dump(mode="json")
        if self.db:
            data["db"] = urls.redact(self.db)
        # a secret given for the name of what holds it (a key in key_file,
        # `user:password` as the basic-auth file) is never printed
        data["key_file"] = [shown_name(spec) for spec in data["key_file"]]
        for name in ("metrics_token_file", "metrics_basic_auth_file", "tls_key_file"):
            if data[name] is not None:
                data[name] = shown_name(data[name], pair=name == "metrics_basic_auth_file")
        for rule in data["request_headers"]:
            for name in ("value_file", "value_env"):
                if rule.get(name) is not None:
                    rule[name] = shown_name(rule[name])
        return data


# -- loading ------------------------------------------------------------------


@cache
def _secret_name() -> re.Pattern[str]:
    """Key material, were it ever written in the file (CONTRACT section 4).
    Compiled at the first key a config file sets, not at import (issue 16)."""
    return re.compile(r"(^|_)(key|keys|secret|password|passphrase|token|private)($|_)")


# the flags named for one item of a list setting (`--key-file` is already singular)
_ONE_ITEM_FLAGS = {
    "exclude_fields": "--exclude-field",
    "exclude_urls": "--exclude-url",
    "request_headers": "--header/--header-file/--header-env",
}


def flag_name(key: str) -> str:
    return _ONE_ITEM_FLAGS.get(key) or "--" + key.replace("_", "-")


def _origin(loc: list[str], load: Load) -> str:
    """Which layer gave the setting at `loc` (the highest that has it), for an error
    message: `intervals.web` is the file's when only ARTICLE_MONITOR_INTERVALS__AMP
    is set, and a variable that counts as unset (empty, or a JSON null) gave nothing."""
    key = loc[0] if loc else ""
    if key in load.flag_keys:  # `paths` are the command's PATH arguments
        return "argument PATH" if key == "paths" else f"flag {flag_name(key)}"
    variable = _env_origin(loc, load)
    if variable is not None:
        return f"environment {variable}"
    if key in load.file_keys:
        return f"file {load.config_file}"
    return "default"


def _env_origin(loc: list[str], load: Load) -> str | None:
    """The ARTICLE_MONITOR_* variable that set the setting at `loc`, by the rules
    config_sources.env_values reads them by; None when no variable did."""
    set_: dict[str, str] = {}  # upper-cased name -> the name as spelled; blank is unset
    for name in sorted(load.environ):
        if load.environ[name].strip():
            set_.setdefault(name.upper(), name)
    key = loc[0] if loc else ""
    whole = env_name(key)
    info = Settings.model_fields.get(key)
    if info is None or not is_model(info):
        return set_.get(whole)
    decoded: Any = {}
    if whole in set_:
        try:
            decoded = json.loads(load.environ[set_[whole]])
        except (ValueError, RecursionError):  # said as the variable's own error
            return set_[whole]
        if decoded is None:  # a JSON null: unset, its `__` keys too
            return None
    if len(loc) >= 2:
        nested = set_.get(whole + ENV_NESTED + str(loc[1]).upper())
        if nested is not None:
            return nested
        return set_[whole] if isinstance(decoded, dict) and loc[1] in decoded else None
    nested_names = sorted(n for n in set_ if n.startswith(whole + ENV_NESTED))
    return set_.get(whole) or (set_[nested_names[0]] if nested_names else None)


def _describe(err: Mapping[str, Any], load: Load) -> str:
    loc = [str(p) for p in err["loc"]]
    key = loc[0] if loc else ""
    where = clip(".".join(loc), 200) or "(top level)"  # an unknown key may be of any length
    if err["type"] == "extra_forbidden":
        origin = _origin(loc, load)
        if key in load.file_keys and _secret_name().search(key.lower()):
            return (
                f"{where} (from {origin}): key material is never read from the config file; "
                "put the key in a file and name it with key_file (or set ARTICLE_MONITOR_KEY)"
            )
        return f"{where} (from {origin}): unknown setting{_meant(loc)}"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in _OUT_OF_BOUNDS:  # every number's bounds, a duration's in its unit
        msg = _out_of_bounds(err, _unit(loc))
    if err["type"] == "finite_number" and (huge := _as_float(err["input"])) in _INFINITIES:
        msg = _past_float(huge > 0, loc) or msg
    if err["type"] == "list_type" and len(loc) == 1 and key in load.file_keys:
        msg += f' (a list: {key} = ["…"])'
    # a message may quote the value given (`listen`'s `got '…'`): 16 MiB from a file
    return f"{where} (from {_origin(loc, load)}): {clip(msg, MAX_ERROR_CHARS)}"


MAX_ERROR_CHARS = 2000  # of one error's message; the longest this project writes is ~400


_OUT_OF_BOUNDS = {"less_than_equal", "greater_than", "greater_than_equal"}


_INFINITIES = (math.inf, -math.inf)


def _as_float(given: Any) -> float | None:
    """A number as pydantic read it (a text of digits too), else None."""
    if isinstance(given, bool):
        return None
    try:
        return float(given) if isinstance(given, int | float | str) else None
    except (ValueError, OverflowError):
        return None


def _past_float(high: bool, loc: list[str]) -> str | None:
    """A finite number written too large for a float (`timeout = 1e400`, 400 nines
    in a variable) became infinity, and was said "Input should be a finite number"
    of what the user wrote finite: said as past the setting's bound instead (TOML's
    `inf` reads the same: the message names both)."""
    info = _model_at(loc).model_fields.get(loc[-1]) if 1 <= len(loc) <= 2 else None
    if info is None:
        return None
    unit = unit_of(info)
    side = "le" if high else ("ge" if bound(info, "ge") is not None else "gt")
    limit = bound(info, side)
    if limit is None:
        return None
    if high and unit is not None:
        said = unit.at_most()
    else:
        word = {"le": "at most", "ge": "at least", "gt": "more than"}[side]
        said = f"{word} {_plain(limit)}{'' if unit is None else ' ' + unit.name}"
    sign = "" if high else "-"
    got = f"{sign}infinity (`{sign}inf`, or a number past 1.8e308)"
    return f"{said}; got {got}: give a finite number"


def _model_at(loc: list[str]) -> type[BaseModel]:
    """The model holding the setting at `loc`: `intervals.web` is Intervals'."""
    return Intervals if len(loc) == 2 and loc[0] == "intervals" else Settings


def _unit(loc: list[str]) -> Unit | None:
    """The duration unit of the setting at `loc` (`timeout`, `intervals.web`), if any."""
    info = _model_at(loc).model_fields.get(loc[-1]) if 1 <= len(loc) <= 2 else None
    return None if info is None else unit_of(info)


def _out_of_bounds(err: Mapping[str, Any], unit: Unit | None) -> str:
    """`at most 316224000 seconds (ten years); got 316224001 seconds`, or for a
    count `at most 1000; got 1000000000000000000`: the bound in the setting's
    unit, and the value as given."""
    name = "" if unit is None else f" {unit.name}"
    given = err["input"]
    if isinstance(given, str):
        shown = repr(given)
    else:  # 316224001, not 3.16224e+08: the value as given, not rounded to the bound
        # an int as it is: float() of one past 1e308 (a 400-digit TOML integer) overflowed
        whole = isinstance(given, int) or (given.is_integer() and abs(given) < 1e16)
        shown = f"{int(given) if whole else given!r}{name}"
    ctx = err.get("ctx", {})
    if err["type"] == "less_than_equal":
        top = f"at most {_plain(ctx['le'])}" if unit is None else unit.at_most()
        return f"{top}; got {shown}"
    if err["type"] == "greater_than":
        return f"more than {_plain(ctx['gt'])}{name}; got {shown}"
    return f"at least {_plain(ctx['ge'])}{name}; got {shown}"


def _plain(bound: float) -> str:
    """67108864, not 6.71089e+07; 0.5 as 0.5."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


def _meant(loc: list[str]) -> str:
    """`; did you mean concurrency?` for a key one typo away from a setting."""
    from difflib import get_close_matches

    close = get_close_matches(loc[-1], list(_model_at(loc).model_fields), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def config_path(config_file: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file a run reads: the `--config` flag, else ARTICLE_MONITOR_CONFIG
    (empty: none); there is no default location. One rule for `load_settings` and
    for the guard that keeps a report off the files the run reads (output_path)."""
    if config_file is not None:
        return config_file
    named = (os.environ if environ is None else environ).get(ENV_CONFIG)
    problem = path_text.problem(named) if named else None
    if problem is not None:  # as --config's own refusal: a paste error, not a file
        raise ConfigError(f"{ENV_CONFIG}: {problem}")
    return Path(named) if named else None


# errors said of one load: a file of 50,000 unknown keys (another file named by
# mistake) said each, with a "did you mean" looked for each: 3.5 MB and 6 s
MAX_ERRORS_SAID = 30


def load_settings(
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the three layers and validate. Raises ConfigError naming the bad key and layer."""
    env = dict(os.environ if environ is None else environ)
    config_file = config_path(config_file, env)
    if config_file is not None and not config_file.is_file():
        why = "is not a file" if config_file.exists() else "not found"
        raise ConfigError(f"config file {why}: {config_file}")
    given: dict[str, Any] = {}
    for key, value in (flags or {}).items():
        if value is None or (isinstance(value, list | tuple) and not value):
            continue
        given[key] = list(value) if isinstance(value, tuple) else value
    load = Load(config_file, env, flag_keys=set(given))
    try:
        values = layered(Settings.model_fields, load, given)
        return Settings.model_validate(values, context={"environ": env})
    except ValidationError as exc:
        errors = exc.errors()
        lines = [_describe(err, load) for err in errors[:MAX_ERRORS_SAID]]
        if len(errors) > MAX_ERRORS_SAID:
            lines.append(f"… and {len(errors) - MAX_ERRORS_SAID} more: fix these first")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    except OSError as exc:
        raise ConfigError(f"config file {config_file}: cannot be read ({exc})") from None
