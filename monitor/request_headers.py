"""Per-host request headers (`request_headers`): the rule type, its validation, the
reading of its value, the host-pattern match and the engine's lookup table.

A rule names hosts (`staging.example.com`, or `*.img.example.com` for any
subdomain, not the apex), a header name and one source of its value: `value`
(plain, for what is no secret), `value_file` (read as a key file is: a file
that group or others can read or write is refused unless
`allow_insecure_key_permissions`) or `value_env` (a variable's name). The
value is read when the settings are loaded (the start, and each SIGHUP
reload); it is kept out of every `repr`, of `config show` (`***`) and of
every message, and reaches a checker process only through its stdin pipe
(`revealed_json`, monitor/check/processes.py), never its
argv or its environment.

Which names a rule may set: not those the client owns (framing and the
connection: Host, Content-Length, Transfer-Encoding, Connection, Upgrade, TE,
Trailer, Keep-Alive, Expect, Proxy-*), nor those the engine's reads depend on
(Range and If-Range, for the ranged image reads; Accept-Encoding, for the
decoding under a cap; the conditionals If-Match, If-None-Match,
If-Modified-Since, If-Unmodified-Since, whose 304 or 412 would stand in for
the page). User-Agent and Accept may be set: the rule's value replaces the
engine's for that host.

Pure but for `read_value` (a file, the environment); the engine asks
`HeaderTable.merged` once per request, a dict lookup per host spelling.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from monitor import path_text, urls
from monitor.small_files import NotRegularFile, read_regular

# set by `revealed_json` alone: the rules dumped with their values, for a checker
# process's settings frame only (its stdin pipe); every other dump shows `***`.
# A context variable, not pydantic's serialization `context`: that argument of
# `model_dump_json` came in pydantic 2.7, and the range allows 2.6
_REVEALING: ContextVar[bool] = ContextVar("reveal_header_values", default=False)
HIDDEN: Final = "***"
VALUE_FILE_CAP: Final = 64 * 1024

# RFC 9110 section 5.6.2: token = 1*tchar
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# a field value the client sends: visible ASCII, space and tab (RFC 9110 5.5, obs-text
# left out: the request goes out as bytes, and a non-ASCII value has no agreed encoding)
_VALUE_CHARS: Final = re.compile(r"[\t\x20-\x7e]*")
_ENV_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# lower-case name -> why a rule may not set it
_OWNED: Final = {
    **dict.fromkeys(
        ("host", "content-length", "transfer-encoding", "connection", "upgrade", "te"),
        "the client sets it (framing and the connection)",
    ),
    **dict.fromkeys(
        ("trailer", "keep-alive", "expect"), "the client sets it (framing and the connection)"
    ),
    "range": "the engine sets it (ranged image reads)",
    "if-range": "the engine's ranged image reads depend on it",
    "accept-encoding": "the engine sets it (bodies are decoded under a cap)",
    **dict.fromkeys(
        ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since"),
        "a conditional request's 304 or 412 would stand in for the page",
    ),
}
# names the engine sends itself, in its spelling, so a rule's replaces them
_ENGINE_SPELLING: Final = {"user-agent": "User-Agent", "accept": "Accept"}


class HeaderRuleError(ValueError):
    """A rule that cannot be used; its message never holds the value."""


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a request header a rule sets, or None."""
    if not _TOKEN.fullmatch(name):
        return (
            f"header name {name!r} is not an HTTP token "
            "(RFC 9110: letters, digits and !#$%&'*+-.^_`|~)"
        )
    lower = name.lower()
    why = _OWNED.get(lower)
    if why is None and lower.startswith("proxy-"):
        why = "it is meant for a proxy (the `proxy` setting sends Proxy-Authorization)"
    return None if why is None else f"header {name} cannot be set by a rule: {why}"


def value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a header's value, or None. Never shows it."""
    if not value:
        return "the value is empty"
    if any(c in value for c in "\r\n\x00"):
        return "the value (not shown) holds a CR, LF or NUL: a header injection"
    if not _VALUE_CHARS.fullmatch(value):
        return (
            "the value (not shown) holds a control character or a character that is not "
            "ASCII (percent-encode or base64 it)"
        )
    return None


def parse_pattern(text: str) -> tuple[bool, str]:
    """(`*.` given, the host key) of a host pattern: a host (any case, IDN in
    Unicode or punycode, an IP address, an IPv6 one with or without brackets), or
    `*.` and a name for its subdomains. HeaderRuleError says why it is none."""
    given = text.strip()
    wild = given.startswith("*.")
    name = given[2:] if wild else given
    if not name:
        raise HeaderRuleError(f"host {text!r} is empty")
    if "*" in name:
        raise HeaderRuleError(
            f"host {text!r}: `*` only as a whole first label (*.example.com: its subdomains)"
        )
    bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    if ":" in bare:
        try:
            address = ipaddress.IPv6Address(bare)
        except ValueError:
            raise HeaderRuleError(
                f"host {text!r} is not a host (a rule names hosts, without a port or scheme)"
            ) from None
        if wild:
            raise HeaderRuleError(f"host {text!r}: `*.` is for names, not addresses")
        return False, urls.host_key(address.compressed)
    if any(c in bare for c in "/@?#[] \t"):
        raise HeaderRuleError(
            f"host {text!r} is not a host (a rule names hosts, without a port or scheme)"
        )
    problem = urls.problem(f"http://{bare}/")
    if problem is not None:
        raise HeaderRuleError(f"host {text!r} is not a host: the name {problem}")
    key = urls.host_key(bare)
    if wild:
        try:
            ipaddress.IPv4Address(key)
        except ValueError:
            pass
        else:
            raise HeaderRuleError(f"host {text!r}: `*.` is for names, not addresses")
    return wild, key


def matches(pattern: tuple[bool, str], host: str) -> bool:
    """Whether a request to `host` (any spelling) gets a rule of `pattern`
    (`parse_pattern`'s): the very host, or for `*.` a subdomain at any depth."""
    wild, key = pattern
    found = urls.host_key(host)
    return found.endswith("." + key) if wild else found == key


class HeaderRule(BaseModel):
    """One `[[request_headers]]` rule. Its value is read once validated
    (`resolve`) and kept apart: `value` itself is only a plain value given as such."""

    model_config = ConfigDict(extra="forbid")

    hosts: list[str]
    name: str
    value: SecretStr | None = None
    value_file: Path | None = None
    value_env: str | None = None
    _secret: SecretStr | None = PrivateAttr(None)
    _patterns: tuple[tuple[bool, str], ...] = PrivateAttr(())

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('names no host: give one or more (hosts = ["staging.example.com"])')
        return value

    @field_validator("value_file", mode="before")
    @classmethod
    def _one_line(cls, value: Any) -> Any:
        problem = path_text.problem(value) if isinstance(value, str) else None
        if problem is not None:  # the path is not echoed: it may be the value pasted
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _checked(self) -> HeaderRule:
        # each message names the rule (its name and hosts), never the value
        problem = name_problem(self.name)
        if problem is not None:
            raise ValueError(problem)
        try:
            self._patterns = tuple(parse_pattern(h) for h in self.hosts)
        except HeaderRuleError as exc:
            raise ValueError(f"{self.label()}: {exc}") from None
        given = [self.value is not None, self.value_file is not None, self.value_env is not None]
        if sum(given) != 1:
            raise ValueError(
                f"{self.label()}: give exactly one of value, value_file and value_env "
                f"({sum(given)} given)"
            )
        if self.value_env is not None and not _ENV_NAME.fullmatch(self.value_env):
            from monitor.secret_shape import NOT_SHOWN, shown_name

            # the value itself given for its variable's name (a token) is never echoed
            shown = NOT_SHOWN if shown_name(self.value_env) == NOT_SHOWN else repr(self.value_env)
            raise ValueError(f"{self.label()}: value_env {shown} is not a variable name")
        if self.name.lower() in _ENGINE_SPELLING:
            self.name = _ENGINE_SPELLING[self.name.lower()]
        if self.value is not None:
            try:
                self._use(self.value.get_secret_value(), "value")
            except ValueError as exc:
                raise ValueError(f"{self.label()}: {exc}") from None
        return self

    def label(self) -> str:
        """`header Authorization for staging.example.com`: the rule in a message."""
        return f"header {self.name} for {', '.join(self.hosts)}"

    def _use(self, value: str, where: str) -> None:
        problem = value_problem(value)
        if problem is not None:
            raise ValueError(f"{where}: {problem}")
        self._secret = SecretStr(value)

    def resolve(self, environ: Mapping[str, str], *, allow_insecure: bool) -> None:
        """Read the value from its file or variable (a plain value is read already)."""
        if self.value_file is not None:
            text = read_value_file(self.value_file, allow_insecure=allow_insecure)
            self._use(text, f"value_file {self.value_file}")
        elif self.value_env is not None:
            found = environ.get(self.value_env)
            if found is None:  # the value given for its variable's name: never echoed
                from monitor.secret_shape import shown_name

                raise ValueError(f"value_env {shown_name(self.value_env)} is not set")
            self._use(found.strip(), f"value_env {self.value_env}")

    @property
    def patterns(self) -> tuple[tuple[bool, str], ...]:
        return self._patterns

    def secret(self) -> str:
        """The value to send; for the engine's table only, never for showing."""
        if self._secret is None:
            raise RuntimeError(f"{self.label()}: its value was never read")
        return self._secret.get_secret_value()

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        if _REVEALING.get():
            # a checker process's frame: the value as a plain one, nothing read again there
            return {"hosts": list(self.hosts), "name": self.name, "value": self.secret()}
        data = handler(self)
        if self.value is not None:
            data["value"] = HIDDEN
        return data


def revealing() -> bool:
    """Whether the dump under way is `revealed_json`'s (the proxy's password reads it too)."""
    return _REVEALING.get()


def revealed_json(model: BaseModel) -> str:
    """`model` (the settings) as JSON with the header rules' values and the proxy's
    password (monitor/proxy.py) in the clear: a checker process's settings frame
    only, never for showing or logging."""
    token = _REVEALING.set(True)
    try:
        return model.model_dump_json()
    finally:
        _REVEALING.reset(token)


def read_value_file(path: Path, *, allow_insecure: bool) -> str:
    """A value file's text, surrounding whitespace (its final newline) stripped;
    refused as a secret key file is (monitor.secured.keys): missing, unreadable,
    not a regular file, empty, or readable or writable by group or others."""
    try:
        st, data = read_regular(path, VALUE_FILE_CAP)
    except NotRegularFile:
        raise ValueError(f"value_file {path} is not a regular file") from None
    except FileNotFoundError:  # `Bearer eyJ…` given for its path: never echoed
        from monitor.secret_shape import shown_name

        raise ValueError(f"value_file {shown_name(path)} not found") from None
    except PermissionError:
        raise ValueError(
            f"value_file {path}: permission denied (run the monitor as the file's owner, "
            "or give it read access)"
        ) from None
    except OSError as exc:
        from monitor.secret_shape import shown_name

        reason = exc.strerror or exc
        raise ValueError(f"value_file {shown_name(path)} cannot be read: {reason}") from None
    if len(data) > VALUE_FILE_CAP:
        raise ValueError(f"value_file {path} is larger than {VALUE_FILE_CAP} bytes")
    mode = stat.S_IMODE(st.st_mode)
    if os.name == "posix" and not allow_insecure:
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            raise ValueError(
                f"permissions {mode:04o} for value_file {path} are too open: a secret must "
                f"not be readable by group or others. Fix: chmod 600 {path} "
                "(or pass --allow-insecure-key-permissions)"
            )
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ValueError(
                f"permissions {mode:04o} for value_file {path} are too open: group or "
                f"others could replace it. Fix: chmod go-w {path} "
                "(or pass --allow-insecure-key-permissions)"
            )
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise ValueError(f"value_file {path} is not UTF-8 text") from None
    text = text.strip()
    if not text:
        raise ValueError(f"value_file {path} is empty")
    return text


def resolve_all(
    rules: Iterable[HeaderRule], environ: Mapping[str, str], *, allow_insecure: bool
) -> None:
    """Read every rule's value, then refuse two rules setting one header for one
    pattern (which of them is meant?)."""
    seen: dict[tuple[tuple[bool, str], str], int] = {}
    for at, rule in enumerate(rules):
        try:
            rule.resolve(environ, allow_insecure=allow_insecure)
        except ValueError as exc:
            said = str(exc).removeprefix(rule.label() + ": ")
            raise ValueError(f"rule request_headers.{at} ({rule.label()}): {said}") from None
        for pattern in rule.patterns:
            same = (pattern, rule.name.lower())
            if same in seen:
                raise ValueError(
                    f"rules request_headers.{seen[same]} and request_headers.{at} both set "
                    f"{rule.name} for {'*.' if pattern[0] else ''}{pattern[1]}: keep one"
                )
            seen[same] = at


# -- command-line specs ---------------------------------------------------------


def parse_spec(spec: str, source: str) -> dict[str, Any]:
    """`HOSTS=NAME: VALUE` (`--header`), `HOSTS=NAME:PATH` (`--header-file`) or
    `HOSTS=NAME:VARIABLE` (`--header-env`) as a rule's fields: HOSTS is one host
    pattern or several joined by commas; the name ends at the first colon (a
    name holds none), so a value or path may hold colons. HeaderRuleError says
    what is wrong without the value."""
    flag = {"value": "--header", "value_file": "--header-file", "value_env": "--header-env"}[source]
    hosts, eq, rest = spec.partition("=")
    name, colon, value = rest.partition(":")
    if not eq or not colon:
        shape = {"value": "NAME: VALUE", "value_file": "NAME:PATH"}.get(source, "NAME:VARIABLE")
        raise HeaderRuleError(
            f"{flag} expects HOSTS={shape}, e.g. staging.example.com={_example(source)}"
        )
    value = value.strip(" \t") if source == "value" else value.strip()
    return {
        "hosts": [h.strip() for h in hosts.split(",")],
        "name": name.strip(),
        source: value,
    }


def _example(source: str) -> str:
    if source == "value_file":
        return "Authorization:/run/secrets/staging-auth"
    if source == "value_env":
        return "Authorization:STAGING_AUTH"
    return "X-Team: news"


# -- the engine's lookup ---------------------------------------------------------

_CACHE_MAX: Final = 4096


class HeaderTable:
    """The rules as the engine asks them: the headers of a request to one host.

    A host gets every rule matching it; for one header set by several, the most
    specific pattern's value: the very host over `*.` patterns, a longer `*.`
    suffix over a shorter one. Answers are kept per host spelling (bounded), so
    a request costs one dict lookup."""

    __slots__ = ("_cache", "_exact", "_wild")

    def __init__(self, rules: Iterable[HeaderRule]) -> None:
        self._exact: dict[str, dict[str, tuple[str, str]]] = {}
        self._wild: dict[str, dict[str, tuple[str, str]]] = {}
        for rule in rules:
            value = rule.secret()
            for wild, key in rule.patterns:
                table = self._wild if wild else self._exact
                table.setdefault(key, {})[rule.name.lower()] = (rule.name, value)
        self._cache: dict[str, dict[str, str] | None] = {}

    @classmethod
    def of(cls, rules: list[HeaderRule]) -> HeaderTable | None:
        """The table of `rules`; None when there are none (the engine skips the lookup)."""
        return cls(rules) if rules else None

    def for_host(self, host: str) -> dict[str, str] | None:
        """The headers for a request to `host` (any spelling); None for none."""
        try:
            return self._cache[host]
        except KeyError:
            pass
        key = urls.host_key(host)
        merged: dict[str, tuple[str, str]] = {}
        labels = key.split(".")
        for at in range(len(labels) - 1, 0, -1):  # the shortest suffix first: the longest wins
            merged.update(self._wild.get(".".join(labels[at:]), {}))
        merged.update(self._exact.get(key, {}))
        found = dict(merged.values()) or None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[host] = found
        return found

    def merged(self, host: str, headers: dict[str, str]) -> dict[str, str]:
        """`headers` (not modified) with the rules' for `host` over them."""
        extra = self.for_host(host)
        return headers if extra is None else {**headers, **extra}

    def __repr__(self) -> str:
        return f"HeaderTable({len(self._exact)} hosts, {len(self._wild)} patterns)"
