"""Pure: what SQLite opens for a SQLite URL, read as SQLite itself reads it.

pysqlite hands SQLite the URL's database as it stands; with `uri=true` it appends
the other query parameters (`?mode=ro`), and SQLite reads them only when the name
begins with `file:` (https://www.sqlite.org/uri.html). So
`sqlite:////x/h.db?mode=ro&uri=true` opened, and created, an empty file named
`h.db?mode=ro`: `status` said "no schema yet", `db upgrade` migrated that file and
`run` recorded into it. `vfs=memdb` and a `file:` with no path opened a database
in memory or a temporary one, gone at exit. Without `uri=true` the parameters are
ignored (SQLAlchemy only warns), so `?mode=ro` opened the file for writing.

The rules live here once; the opening checks ask them through engine.sqlite_opens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import quote, unquote_to_bytes

from sqlalchemy.engine import URL, make_url

# pysqlite's own parameters (SQLAlchemy's pysqlite dialect): never SQLite's
DRIVER_PARAMS = frozenset(
    {"uri", "timeout", "isolation_level", "detect_types", "check_same_thread", "cached_statements"}
)
_TRUE = frozenset({"on", "true", "yes"})  # sqlite3GetBoolean's words for true
# unix's VFSes that lock nothing (none) or not with POSIX locks (a dot-file, flock(),
# AFP): the other connections, on the default VFS, do not see their locks
UNLOCKED_VFS = frozenset({"unix-none", "unix-dotfile", "unix-flock", "unix-afp"})


class NotWhatItNames(ValueError):
    """The URL would have SQLite open another database than the one it names."""


@dataclass(frozen=True)
class SqliteTarget:
    """The database SQLite opens: `name` is a file's path, `""` (a temporary
    database) or `":memory:"`; `params` the URI parameters it reads."""

    name: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def memory(self) -> bool:
        """In memory or temporary: private to one connection, gone at its close."""
        return (
            self.name in ("", ":memory:")
            or self.params.get("mode") == "memory"
            or self.params.get("vfs") == "memdb"
        )

    @property
    def path(self) -> str | None:
        return None if self.memory else self.name

    @property
    def immutable(self) -> bool:
        """SQLite reads the file as never changing: no locks, and its -wal ignored."""
        return uri_boolean(self.params.get("immutable", ""))

    @property
    def unlocked(self) -> str | None:
        """The parameter that turns SQLite's file locks off (`nolock=1`, a VFS that
        takes none, or takes them where the default's POSIX locks do not see them),
        as given; None if it locks as every other connection does."""
        if uri_boolean(self.params.get("nolock", "")):
            return f"nolock={self.params['nolock']}"
        vfs = self.params.get("vfs")
        return f"vfs={vfs}" if vfs in UNLOCKED_VFS else None

    @property
    def read_only(self) -> str | None:
        """The parameter that opens it read-only (`mode=ro`, `immutable=1`), or None."""
        if self.params.get("mode") == "ro":
            return "mode=ro"
        return "immutable=1" if self.immutable else None


def uri_boolean(value: str) -> bool:
    """A URI parameter as sqlite3_uri_boolean reads it (default false): a number by
    its leading digits as sqlite3Atoi gives them (0 past 32 bits), cut to a byte
    (so 256 is false); else on, true or yes in any case."""
    digits = len(value) - len(value.lstrip("0123456789"))
    if not digits:
        return value.lower() in _TRUE
    significant = value[:digits].lstrip("0")
    number = int(significant) if 0 < len(significant) <= 10 else 0
    return number <= 0x7FFFFFFF and number % 256 != 0


# SQLAlchemy 2.1 decodes a URL's database (%HH) before the driver gets it; 2.0 passes
# it as written (pyproject allows both)
URL_DATABASE_DECODED = make_url("sqlite:///%41").database == "A"


def file_url(path: str, params: dict[str, str]) -> str:
    """The SQLite URL whose `file:` name opens `path` with SQLite's `params`. Quoted
    for SQLite, which decodes the name, and again where SQLAlchemy decodes the
    URL's database first (a `?` or `%` in the path, quoted once too few, cut the
    name or changed it)."""
    name = quote(path, safe="/")
    if URL_DATABASE_DECODED:
        name = quote(name, safe="/")
    query = "".join(f"{k}={v}&" for k, v in params.items())
    return f"sqlite:///file:{name}?{query}uri=true"


def _parse_file_uri(name: str) -> SqliteTarget:
    """A `file:` name as sqlite3ParseUri reads it: an authority (empty or
    localhost), a path up to `?` or `#`, `&`-separated parameters; %HH decoded."""
    rest = name[len("file:") :]
    if rest.startswith("//"):
        end = rest.find("/", 2)
        authority = rest[2:] if end < 0 else rest[2:end]
        authority = authority.split("?")[0].split("#")[0]
        if authority not in ("", "localhost"):
            raise NotWhatItNames(
                f"its file: name has the host {authority!r}: SQLite opens local files only "
                "(file:/PATH or file:///PATH)"
            )
        rest = rest[2 + len(authority) :]
    rest = rest.split("#", 1)[0]
    path, _, query = rest.partition("?")
    params: dict[str, str] = {}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        key, value = _decoded(key), _decoded(value)
        if key in params:
            raise NotWhatItNames(f"its SQLite parameter {key}= is given twice: give it once")
        params[key] = value
    return SqliteTarget(_decoded(path), params)


_NUL = (
    "it holds a NUL byte (%00): SQLite's name or value ends there, and Python's file "
    "calls refuse it; leave it out"
)


def _decoded(text: str) -> str:
    """%HH decoded, as SQLite does it; a NUL is refused (SQLite cuts the text there)."""
    decoded = unquote_to_bytes(text)
    if b"\x00" in decoded:
        raise NotWhatItNames(_NUL)
    return os.fsdecode(decoded)


def sqlite_target(url: URL, filename: str, uri: bool) -> SqliteTarget:
    """What SQLite opens given pysqlite's `filename` and `uri` flag for `url` (the
    dialect's create_connect_args). ValueError says what to write when the URL
    does not open what it names (see the module's docstring)."""
    database = url.database or ""
    if "\x00" in filename:
        raise NotWhatItNames(_NUL)
    extra = {k: v if isinstance(v, str) else v[0] for k, v in url.query.items()}
    extra = {k: v for k, v in extra.items() if k not in DRIVER_PARAMS}
    given = ", ".join(f"?{k}=" for k in extra)
    plain = database not in ("", ":memory:") and not database.startswith("file:")
    instead = file_url(database if plain else "PATH", extra)
    if uri:
        if filename.startswith("file:"):
            cut = next((c for c in "?#" if c in database), None)
            if extra and cut is not None:  # pysqlite appends them after the cut
                raise NotWhatItNames(
                    f"its file: name holds a {cut!r}, where SQLite ends the name: {given} "
                    "would not be read as parameters (but as part of the name, or dropped "
                    "with what follows it), and SQLite would open (and create) another "
                    f"file; write a {cut!r} in the path as %25{ord(cut):02X}"
                )
            return _parse_file_uri(filename)
        if extra:  # appended to a plain name: part of the file's name
            raise NotWhatItNames(
                f"with uri=true SQLite reads {given} only after a file: name, and "
                f"would open (and create) a file named {os.path.basename(filename)!r} instead: "
                f"write {instead}"
            )
        return SqliteTarget(filename)
    if database.startswith("file:"):  # pysqlite made it a path under the working directory
        raise NotWhatItNames(
            f"a file: name is SQLite's URI only with uri=true (else a file under the working "
            f"directory named {filename!r}): add &uri=true"
        )
    if extra and plain:
        raise NotWhatItNames(
            f"SQLite ignores {given} without uri=true, and opens the file read-write: "
            f"write {instead}"
        )
    return SqliteTarget(filename)
