"""Redaction: a URL as it may be shown in a log, a report or an error.

User-info becomes `***@` wherever any parser would find it, the values of
secret-looking query and fragment parameters `***`; `shown` also cuts it to
a length a message can hold.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from monitor.text_clip import clip

# parameter names (lower case, decoded) whose values are credentials
SECRET_PARAMS = frozenset(
    {
        "access_token", "api-key", "api_key", "apikey", "auth", "auth_token",
        "authorization", "client_secret", "id_token", "jwt", "key", "pass",
        "passwd", "password", "pwd", "refresh_token", "secret", "session",
        "sessionid", "sig", "signature", "sslpassword", "token",
        "x-amz-credential", "x-amz-security-token", "x-amz-signature",
        "x-goog-credential", "x-goog-signature",
    }
)  # fmt: skip
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_AUTHORITY_END = re.compile(r"[/?#]")
# SQLAlchemy reads a database URL's password up to the first `@`, `/` included
_DB_USERINFO = re.compile(r"[^:/?#@]*:[^@]*@")
_PARAM_SEP = re.compile(r"([&;])")
_LOOSE_USERINFO = re.compile(r"[^\s/?#@]*:[^\s@]*@")


def _redact_params(text: str) -> str:
    pieces = _PARAM_SEP.split(text)
    for i, piece in enumerate(pieces):
        name, sep, _value = piece.partition("=")
        if sep and unquote_plus(name).strip().lower() in SECRET_PARAMS:
            pieces[i] = f"{name}=***"
    return "".join(pieces)


def redact(url: str) -> str:
    """`url` without its secrets, for logs, reports and error messages.

    The user-info is read as generously as any parser reads it: everything
    before the last `@` of the authority (an `http:` URL needs no `//`; `\\`
    does not end it), and for other schemes (database URLs) also a password
    up to the first `@` as SQLAlchemy reads it. It becomes `***@`. Values of
    parameters named like a credential (`password`, `token`, `sig`, ...) in
    the query or fragment become `***`. A URL with neither comes back as is;
    in a string that is no URL (or `admin:pw@host`, which reads as the scheme
    `admin:`), a leading `user:password@` is hidden too.
    """
    # Every secret above is a user-info (it ends at an `@`) or a parameter's value
    # (after an `=`): without either, nothing is hidden. That is most URLs, and a
    # check redacts its final URL: this saves the parse (held to _redact_general
    # by tests/unit/test_urls.py).
    if "@" not in url and "=" not in url:
        return url
    return _redact_general(url)


def _redact_general(url: str) -> str:
    match = _SCHEME.match(url)
    if match is None:  # not a URL: still no `user:password@` in what is shown
        return _LOOSE_USERINFO.sub("***@", url)
    head, rest = url[: match.end()], url[match.end() :]
    special = head.lower() in ("http:", "https:")
    if special or rest.startswith("//"):
        slashes = len(rest) - len(rest.lstrip("/\\"))
        head, rest = head + rest[:slashes], rest[slashes:]
        hidden = False
        if not special and (db := _DB_USERINFO.match(rest)) is not None:
            rest, hidden = rest[db.end() :], True
        end = _AUTHORITY_END.search(rest)
        authority, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
        if "@" in authority:
            authority, hidden = authority.rpartition("@")[2], True
        rest = ("***@" if hidden else "") + authority + tail
    elif "@" in rest:  # `admin:pw@host` typed without a scheme reads as scheme `admin:`
        end = _AUTHORITY_END.search(url)
        loose = _LOOSE_USERINFO.match(url[: end.start()] if end else url)
        if loose is not None:
            head, rest = "***@", url[loose.end() :]
    before, hashmark, fragment = rest.partition("#")
    path, qmark, query = before.partition("?")
    if "=" in query:
        query = _redact_params(query)
    if "=" in fragment:
        fragment = _redact_params(fragment)
    return f"{head}{path}{qmark}{query}{hashmark}{fragment}"


SHOWN_URL = 200


def shown(url: str, longest: int = SHOWN_URL) -> str:
    """`url` as a finding quotes it: redacted, and cut (a 5 MB image URL made a 5 MB
    `invalid_url` message, in the report and in the daemon's database)."""
    return clip(redact(url), longest)
