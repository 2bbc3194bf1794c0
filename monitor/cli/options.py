"""Option bundles shared by commands, as decorators (the sqlite-utils way)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from monitor.cli.paths import CorpusPath as CorpusPath
from monitor.cli.paths import GivenPath
from monitor.config import ConfigError, Settings, load_settings
from monitor.durations import bound, parse_duration, quoted, unit_of
from monitor.install import BROKEN_INSTALL as BROKEN_INSTALL
from monitor.whole_numbers import TooManyDigits, parse_whole

if TYPE_CHECKING:
    from monitor.secured.keys import KeyRing

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "junit", "markdown")


def _apply(func: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def bounds_help(name: str) -> str:
    """`(1-10000) [default: 64]` for a setting, read from its field: the help
    cannot drift from what the settings accept (the flag is unset by default,
    so click's show_default would say nothing). A duration's upper bound comes
    from its type (monitor/durations.py): `(over 0, at most 316224000 = ten years)`."""
    field = Settings.model_fields[name]
    ge, gt, le = bound(field, "ge"), bound(field, "gt"), bound(field, "le")
    unit = unit_of(field)
    span = ""
    if le is not None:
        top = _number(le) + (f" = {unit.words}" if unit is not None else "")
        if ge is not None:
            span = f"({_number(ge)}-{top}) "
        elif gt is not None:
            span = f"(over {_number(gt)}, at most {top}) "
        else:
            span = f"(at most {top}) "
    default = "" if field.default is None else f"[default: {_number(field.default)}]"
    return (span + default).strip()


def _number(value: float) -> str:
    """316224000, not 3.16224e+08; 0.5 as 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Duration(click.ParamType[float]):
    """Seconds, optionally with a unit (0.2, 0.2s, 500ms, 5m, 1h, 2d): the
    config file and the environment read the same spellings, by the same parser."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class _Ascii(click.ParamType[int]):
    """A whole number in ASCII digits, as the config file and the environment
    read it (monitor/whole_numbers.py): click's `int` took `1_000` and `١٠`."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            try:
                value = parse_whole(value)
            except TooManyDigits as exc:
                low, high = getattr(self, "min", None), getattr(self, "max", None)
                if low is None and high is None:
                    if param is not None and param.name in Settings.model_fields:
                        return value  # the settings say it, with the setting's range
                    self.fail(str(exc), param, ctx)
                span = f"{'' if low is None else f'{low}<='}x{'' if high is None else f'<={high}'}"
                self.fail(f"{quoted(value)} is not in the range {span}.", param, ctx)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        return super().convert(value, param, ctx)


class Whole(_Ascii, click.types.IntParamType):
    """An integer flag."""


class WholeRange(_Ascii, click.IntRange):
    """An integer flag with IntRange's bounds and their help."""


class WholeSeconds(WholeRange):
    """Whole seconds, spelled as a duration too (`1800`, `30m`, `1h`), in bounds:
    a flag named SECONDS took only digits, unlike every other."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip(" \t").lstrip("+-").isdigit():
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
            if not seconds.is_integer():
                self.fail(f"{quoted(value)} is not a whole number of seconds", param, ctx)
            value = int(seconds)
        return super().convert(value, param, ctx)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_file",
        type=GivenPath(dir_okay=False),
        help="TOML configuration file (lowest precedence: env vars and flags override it).",
    )(func)


def db_options(func: F) -> F:
    return _apply(
        func,
        [
            click.option(
                "--db",
                metavar="URL",
                help="SQLAlchemy URL; default: a SQLite file under --data-dir.",
            ),
            click.option(
                "--data-dir",
                type=GivenPath(file_okay=False),
                metavar="DIR",
                help="Directory for the default SQLite database and state [default: data].",
            ),
        ],
    )


def key_options(func: F) -> F:
    return _apply(
        func,
        [
            click.option(
                "--key-file",
                multiple=True,
                type=GivenPath(dir_okay=False),
                help="Key for `secured` (raw/hex/base64 AES key or Ed25519 PEM). "
                "Repeat for rotation. Also ARTICLE_MONITOR_KEY_FILE.",
            ),
            click.option(
                "--allow-insecure-key-permissions",
                is_flag=True,
                default=None,
                help="Accept secret key files that group or others can read, and key files "
                "that they can write.",
            ),
        ],
    )


def exclude_option(func: F) -> F:
    """`--exclude-field`: shared by `verify` and `sign`, which must agree with each other."""
    return click.option(
        "--exclude-field",
        "exclude_fields",
        multiple=True,
        metavar="PATH",
        help="Dotted path left out of the canonical form (v2 digest, ed25519), e.g. "
        "`heat` or `images.*.title`; must match what the signer used. Repeatable; "
        "also `exclude_fields` in the config file.",
    )(func)


def check_options(func: F) -> F:
    """Options shared by `check` and `run` (and the config file and env vars)."""
    return _apply(
        func,
        [
            config_option,
            db_options,
            click.option(
                "--concurrency",
                type=Whole(),
                metavar="N",
                help=f"Global limit of requests in flight {bounds_help('concurrency')}",
            ),
            click.option(
                "--per-host",
                type=Whole(),
                metavar="N",
                help=f"Limit of requests in flight to one host {bounds_help('per_host')}",
            ),
            click.option(
                "--timeout",
                type=Duration(),
                metavar="SECONDS",
                help=f"Total seconds for one request, redirects included {bounds_help('timeout')}",
            ),
            click.option(
                "--retries",
                type=Whole(),
                metavar="N",
                help="Retries of transient failures (timeouts, 429, 502, 503, 504, resets); "
                "`check` gives up a host that refuses every request once N+1 rounds of "
                "refusals have lasted one target's tries, and reports its other targets "
                f"as not requested {bounds_help('retries')}",
            ),
            click.option(
                "--connect-to",
                multiple=True,
                metavar="HOST1:PORT1:HOST2:PORT2",
                help="Connect there instead, keeping Host and SNI (curl's semantics; "
                "empty HOST1 or PORT1 matches any). Repeatable.",
            ),
            click.option(
                "--ca-bundle",
                type=GivenPath(dir_okay=False),
                help="Extra trusted CA certificates (PEM).",
            ),
            click.option(
                "--allow-network",
                multiple=True,
                metavar="CIDR",
                help="Exempt a network from the private-address block. Repeatable.",
            ),
            proxy_options,
            key_options,
            click.option(
                "--kinds",
                metavar="web,amp,cdn,image",
                help="Which target kinds to check [default: all].",
            ),
            click.option(
                "--no-related",
                "related",
                flag_value=False,
                default=None,
                help="Skip the targets of related[].",
            ),
            click.option(
                "--exclude-url",
                "exclude_urls",
                multiple=True,
                metavar="PATTERN",
                help="Never request a target whose URL matches PATTERN, a Python regular "
                "expression searched (re.search) in the URL as the corpus writes it, e.g. "
                "--exclude-url '^https?://ads\\.'. The target is left out as a kind not "
                "checked is; the article's own checks stay. Redirects are still followed "
                "wherever they lead. Repeatable; also `exclude_urls` in the config file "
                "and ARTICLE_MONITOR_EXCLUDE_URLS (one pattern as written, commas and "
                "all, or a JSON list of patterns).",
            ),
            header_options,
        ],
    )


def proxy_options(func: F) -> F:
    """`--proxy`, `--no-proxy`: the outbound HTTP proxy (monitor/proxy.py)."""
    return _apply(
        func,
        [
            click.option(
                "--proxy",
                metavar="URL",
                help="Send every request through the HTTP proxy URL, "
                "http://[USER:PASSWORD@]HOST:PORT (https targets through a CONNECT tunnel, "
                "TLS end to end). A password on the command line can be read by other "
                "users (`ps`): give it in ARTICLE_MONITOR_PROXY instead "
                '(ARTICLE_MONITOR_PROXY="$HTTPS_PROXY" reuses that one; HTTP(S)_PROXY '
                "are never read otherwise). --proxy '' goes direct.",
            ),
            click.option(
                "--no-proxy",
                "no_proxy",
                multiple=True,
                metavar="PATTERN",
                help="Fetch hosts matching PATTERN directly, not through --proxy: a host, an "
                "IP address, or *.example.com for its subdomains (not the apex). Repeatable; "
                "also ARTICLE_MONITOR_NO_PROXY (comma-separated).",
            ),
        ],
    )


def header_options(func: F) -> F:
    """`--header`, `--header-file`, `--header-env`: rules of `request_headers`."""
    return _apply(
        func,
        [
            click.option(
                "--header",
                "header",
                multiple=True,
                metavar="HOSTS=NAME: VALUE",
                help="Send the header NAME: VALUE with every request to HOSTS (a host, or "
                "*.example.com for its subdomains, not the apex; several joined by commas), "
                "redirects included, and not to other hosts, e.g. --header "
                "'staging.example.com=X-Team: news'. A value on the command line can be "
                "read by other users (`ps`): give a secret with --header-file or "
                "--header-env. Repeatable; the header flags replace the config file's "
                "`request_headers` (also ARTICLE_MONITOR_REQUEST_HEADERS, a JSON list).",
            ),
            click.option(
                "--header-file",
                "header_file",
                multiple=True,
                metavar="HOSTS=NAME:PATH",
                help="As --header, the value read from the file PATH (surrounding whitespace "
                "stripped; refused if group or others can read it, as a key file is), e.g. "
                "--header-file 'staging.example.com=Authorization:/run/secrets/staging-auth'.",
            ),
            click.option(
                "--header-env",
                "header_env",
                multiple=True,
                metavar="HOSTS=NAME:VARIABLE",
                help="As --header, the value read from the environment variable VARIABLE, "
                "e.g. --header-env '*.img.example.com=Authorization:CDN_AUTH'.",
            ),
        ],
    )


_HEADER_FLAGS = {"header": "value", "header_file": "value_file", "header_env": "value_env"}


def setting_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """A command's flags as settings: the header flags as `request_headers` rules
    (given any, they replace the lower layers' list, as every list flag does)."""
    if not any(key in flags for key in _HEADER_FLAGS):
        return flags
    from monitor.request_headers import HeaderRuleError, parse_spec

    out = {k: v for k, v in flags.items() if k not in _HEADER_FLAGS}
    rules = []
    for key, source in _HEADER_FLAGS.items():
        for spec in flags.get(key) or ():
            try:
                rules.append(parse_spec(spec, source))
            except HeaderRuleError as exc:
                raise click.UsageError(str(exc)) from None
    out["request_headers"] = rules
    return out


def settings_from(
    config_file: Path | None, flags: dict[str, Any], paths: tuple[Path, ...] = ()
) -> Settings:
    """Build Settings from a command's kwargs, turning ConfigError into exit code 2."""
    flags = setting_flags(flags)
    if paths:
        flags = {**flags, "paths": list(paths)}
    warn_env_near_misses()
    try:
        return load_settings(config_file, flags)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def warn_env_near_misses() -> None:
    """A typo in a variable's name is ignored by the settings: say so on stderr."""
    import os

    from monitor.config_sources import env_near_misses

    for variable, meant in env_near_misses(Settings.model_fields, os.environ):
        click.echo(
            f"Warning: {variable} is not a setting (ignored); did you mean {meant}?", err=True
        )


def verification_keys(settings: Settings) -> KeyRing:
    """The configured keys, with the exclusions from the canonical form checked:
    both are what a signature is checked with, and a malformed exclusion would
    otherwise be silently ignored. Raises ConfigError; `run`'s SIGHUP reload
    goes through here too, so a reload cannot skip a check the start made."""
    from monitor.secured.keys import KeyRing

    if settings.exclude_fields:  # the canonical module (rfc8785's import) only then: issue 16
        _signature_code(keys=False)
        from monitor.secured.canonical import exclude_path_problem
    for path in settings.exclude_fields:
        problem = exclude_path_problem(path)
        if problem is not None:
            raise ConfigError(f"exclude field {path!r}: {problem}")
    allow_insecure = settings.allow_insecure_key_permissions
    try:
        keyring = KeyRing.load(settings.key_file, allow_insecure=allow_insecure)
    except ImportError as exc:  # a PEM key read without `cryptography`
        raise VerifierUnavailable(f"cannot read the keys ({exc}): {BROKEN_INSTALL}") from None
    if keyring:
        _signature_code()
    return keyring


def corpus_readers_present() -> None:
    """`run`'s start and each SIGHUP's reload: the packages the corpus readers
    import at the first document, and html.parser's head reader, which a check
    imports at the first odd head (monitor/install.py), are importable, or a
    BrokenInstall naming the one that is not (exit 2, a reload refused)."""
    from monitor.install import cannot_import, corpus_readers, page_reader

    try:
        corpus_readers()
        page_reader()  # html.parser's head reader, which the checks import late
    except Exception as exc:  # a package's own code failing at its import, too
        said = cannot_import(exc)
        if said is None:  # one of monitor's own modules: a bug
            raise
        raise BrokenInstall(said) from None


def _signature_code(*, keys: bool = True) -> None:
    """Import the signature checker (secured/signed.py: the envelopes, the canonical
    form, rfc8785), and find `cryptography`, now rather than at the first signed
    record. Issue 16 put the import there; with a package missing, every signed
    record then came out `malformed: internal error (ModuleNotFoundError)` (check,
    verify, the daemon's database) and a SIGHUP adding exclude_fields died in the
    reload task. A broken install is a configuration error: exit 2 at a start, a
    reload refused. Only with keys or exclusions: an unsigned check imports none."""
    from importlib.util import find_spec

    try:
        import monitor.secured.signed  # noqa: F401

        missing = keys and find_spec("cryptography") is None  # needed by a key only
    except (ImportError, ValueError) as exc:  # ValueError: find_spec of a module set to None
        raise VerifierUnavailable(
            f"cannot load the signature checker ({exc}): {BROKEN_INSTALL}"
        ) from None
    if missing:
        raise VerifierUnavailable(
            f"cannot load the signature checker (no module named 'cryptography'): {BROKEN_INSTALL}"
        )


class BrokenInstall(ConfigError):
    """A package article-monitor imports is missing or broken: not a usage error."""


class VerifierUnavailable(BrokenInstall):
    """A package the signature checker imports is missing or broken."""


def keyring_from(settings: Settings) -> KeyRing:
    """`verification_keys`, a problem with them a usage error (exit 2)."""
    try:
        return verification_keys(settings)
    except VerifierUnavailable as exc:
        from monitor.cli import CliError

        raise CliError(str(exc)) from None
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
