"""Upload the dashboards and alert rules to a Grafana over its HTTP API (`grafana push`).

Idempotent: each object is read first and written only when what we would
send differs from what is there (compared as a subset: Grafana adds ids,
versions and defaults of its own), so a second identical push writes nothing
and adds no dashboard version. The token is sent only in the Authorization
header; no error message or log line quotes it; and over plain http only to
loopback unless the user says otherwise (`in_clear`, checked by the CLI).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from monitor import __version__
from monitor.grafana import dashboards, provisioning
from monitor.grafana.export import ExportSettings
from monitor.grafana.rules import alert_rules
from monitor.observe.credentials import is_loopback
from monitor.retry import parse_retry_after

MAX_ANSWER = 16 << 20  # bytes: a dashboard is ~100 kB; more is not Grafana's answer
ANSWER_SECONDS = 120.0  # one answer, read whole
MIN_VERSION = (11, 0)  # dashboards are written in Grafana 11's schema (schemaVersion 41)
MESSAGE = "article-monitor grafana push"
# 429: Grafana (or a proxy before it) asks us to wait; a rate-limited push is
# waited out this many times, each wait at most WAIT_LONGEST seconds; a longer
# one is not slept through but reported with the time to push again.
TRIES_429 = 4
WAIT_LONGEST = 60.0
WAIT_UNSAID = 5.0  # a 429 without a usable Retry-After
sleep: Callable[[float], None] = time.sleep  # replaced by the tests


class PushError(Exception):
    """A push that cannot go on; the message says what to do, never the token."""


@dataclass
class PushReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def in_clear(url: str) -> bool:
    """Would the token cross a network unencrypted: plain http to a host beyond
    loopback (a name counts as beyond, whatever it resolves to now)."""
    parts = urlsplit(url)
    return parts.scheme.lower() == "http" and not is_loopback(parts.hostname or "")


def client(url: str, token: str, timeout: float = 30.0) -> httpx.Client:
    return httpx.Client(
        base_url=url.rstrip("/"),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": f"article-monitor/{__version__}",
        },
        timeout=timeout,
        follow_redirects=False,
    )


def subset(want: Any, have: Any) -> bool:
    """Is every member of `want` in `have` with the same value (recursively)?"""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(
            k in have and subset(v, have[k]) for k, v in want.items()
        )
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(want) == len(have)
            and all(subset(w, h) for w, h in zip(want, have, strict=True))
        )
    return bool(want == have)


def shown(resp: httpx.Response, text: str, longest: int = 200) -> str:
    """Text from Grafana's answer as it may be printed: our token replaced by
    `***` (a proxy or an old Grafana may echo the request back), anything but
    printable ASCII as `?` (no terminal escapes), at most `longest` characters."""
    token = resp.request.headers.get("Authorization", "").partition(" ")[2]
    if token:
        text = text.replace(token, "***")
    return re.sub(r"[^\x20-\x7e]", "?", text.strip())[:longest]


def _parsed(resp: httpx.Response) -> Any:
    """The answer's JSON; ValueError for any answer that is not (nesting deeper than
    the parser's recursion, a few kB of `[`, raised RecursionError past every handler)."""
    try:
        return resp.json()
    except RecursionError:
        raise ValueError("JSON nested too deep") from None


def _detail(resp: httpx.Response) -> str:
    """Grafana's own message, short and printable (never our token)."""
    try:
        body = _parsed(resp)
        text = str(body.get("message", "")) if isinstance(body, dict) else ""
    except ValueError:
        text = ""
    text = shown(resp, text)
    return f": {text}" if text else ""


def _redirect(resp: httpx.Response) -> str:
    """Where a redirect points, as scheme and host only (a Location may carry credentials)."""
    try:
        parts = urlsplit(resp.headers.get("Location", ""))
        where = f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else ""
    except ValueError:
        where = ""
    return shown(resp, where, 100) or "another path"


def _raise_for(resp: httpx.Response, what: str) -> None:
    status = resp.status_code
    if 300 <= status < 400:  # never followed: the token would go with it
        raise PushError(
            f"{what}: HTTP {status}: Grafana redirects to {_redirect(resp)} (give Grafana's "
            "own root URL as --url, https if it redirects there; a login page cannot take a token)"
        )
    if status < 400:
        body = None
        if resp.content[:1] == b"{":
            try:
                body = _parsed(resp)
            except ValueError:
                body = None
        said = body.get("status") if isinstance(body, dict) else None
        if isinstance(said, str) and said.lower() not in ("success", "ok"):
            raise PushError(
                f"{what}: HTTP {status} but Grafana says {shown(resp, said, 40)!r}{_detail(resp)}"
            )
        return
    hint = {
        401: "Grafana refused the token; check --token-file (a service account token)",
        403: (
            "the token lacks permission; it needs the Editor role, or dashboards:write, "
            "folders:write and alert.provisioning:write"
        ),
        404: "not found; is --url the root of the Grafana (e.g. https://grafana.example.com)?",
        409: (
            "conflict: an object with the same title or uid exists elsewhere; "
            "pick another --folder or remove the other copy"
        ),
        412: "Grafana changed the object while we wrote it; push again",
        429: f"Grafana is rate-limiting the requests; push again {_when_again(resp)}",
    }.get(status)
    if hint is None:
        hint = (
            "Grafana failed; try again later" if status >= 500 else "Grafana rejected the request"
        )
    raise PushError(f"{what}: HTTP {status}{_detail(resp)} ({hint})")


def _wait_asked(resp: httpx.Response) -> float | None:
    """Seconds a 429 asks us to wait (Retry-After, seconds or a date); None when unsaid."""
    return parse_retry_after(resp.headers.get("Retry-After"), now=datetime.now(UTC))


def _when_again(resp: httpx.Response) -> str:
    wait = _wait_asked(resp)
    return "later" if wait is None else f"in {wait:.0f} s (its Retry-After)"


def _request(http: httpx.Client, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
    """One request, tried again while Grafana answers 429 and asks for a wait we
    can afford (TRIES_429 tries, WAIT_LONGEST each): a push of a dozen objects
    hit a rate limit and failed half done, though the limit said when to come
    back. A 429 is not processed, so a write is safe to send again."""
    for _ in range(TRIES_429 - 1):
        resp = _request_once(http, method, path, what, **kw)
        if resp.status_code != 429:
            return resp
        wait = _wait_asked(resp)
        wait = WAIT_UNSAID if wait is None else wait
        if wait > WAIT_LONGEST:
            return resp  # reported with the time to come back
        sleep(wait)
    return _request_once(http, method, path, what, **kw)


def _request_once(
    http: httpx.Client, method: str, path: str, what: str, **kw: Any
) -> httpx.Response:
    """One request, its answer read whole but bounded in size and in total time
    (httpx's timeout bounds each read, so a server sending a byte now and then,
    or without end, would otherwise hold the push forever or fill the memory)."""
    deadline = time.monotonic() + ANSWER_SECONDS
    try:
        with http.stream(method, path, **kw) as resp:
            body = bytearray()
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER:
                    raise PushError(
                        f"{what}: Grafana's answer is larger than {MAX_ANSWER >> 20} MiB; "
                        "is --url a Grafana?"
                    )
                if time.monotonic() > deadline:
                    raise PushError(f"{what}: Grafana did not answer in time")
    except httpx.TimeoutException:
        raise PushError(f"{what}: Grafana did not answer in time") from None
    except httpx.ConnectError as exc:  # the system's words (refused, no such name), no URL
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PushError(
            f"{what}: cannot reach Grafana: {reason} (is --url right, and Grafana running?)"
        ) from None
    except httpx.HTTPError as exc:
        raise PushError(f"{what}: cannot reach Grafana ({type(exc).__name__})") from None
    headers = {
        k: v
        for k, v in resp.headers.items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    }
    return httpx.Response(
        resp.status_code, headers=headers, content=bytes(body), request=resp.request
    )


def _json(resp: httpx.Response, what: str) -> Any:
    try:
        return _parsed(resp)
    except ValueError:
        raise PushError(f"{what}: Grafana's answer is not JSON; is --url a Grafana?") from None


def _object(resp: httpx.Response, what: str) -> dict[str, Any]:
    """The answer as a JSON object; anything else (a list, a string) is not Grafana's."""
    body = _json(resp, what)
    if not isinstance(body, dict):
        raise PushError(f"{what}: Grafana's answer is not a JSON object; is --url a Grafana?")
    return body


def check_version(http: httpx.Client) -> str:
    resp = _request(http, "GET", "/api/health", "reading the Grafana version")
    _raise_for(resp, "reading the Grafana version")
    body = _json(resp, "reading the Grafana version")
    version = shown(resp, str(body.get("version", "")) if isinstance(body, dict) else "", 40)
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if len(numbers) < 2:
        raise PushError(f"cannot tell the Grafana version from /api/health ({version!r})")
    if numbers < MIN_VERSION:
        need = ".".join(map(str, MIN_VERSION))
        raise PushError(f"Grafana {version} is too old: the dashboards need {need} or later")
    return version


def ensure_folder(http: httpx.Client, uid: str, report: PushReport) -> None:
    what = f"folder {uid}"
    resp = _request(http, "GET", f"/api/folders/{uid}", what)
    if resp.status_code == 404:
        resp = _request(
            http,
            "POST",
            "/api/folders",
            what,
            json={"uid": uid, "title": provisioning.FOLDER_TITLE},
        )
        _raise_for(resp, f"creating {what}")
        report.created.append(what)
        return
    _raise_for(resp, what)
    report.unchanged.append(what)


def push_dashboard(
    http: httpx.Client, board: dict[str, Any], folder: str, report: PushReport
) -> None:
    uid = str(board["uid"])
    what = f"dashboard {uid}"
    resp = _request(http, "GET", f"/api/dashboards/uid/{uid}", what)
    exists = resp.status_code != 404
    if exists:
        _raise_for(resp, what)
        current = _object(resp, what)
        meta = current.get("meta")
        same_folder = isinstance(meta, dict) and meta.get("folderUid") == folder
        if same_folder and subset(board, current.get("dashboard")):
            report.unchanged.append(what)
            return
    body = {"dashboard": {**board, "id": None}, "folderUid": folder, "overwrite": True}
    resp = _request(http, "POST", "/api/dashboards/db", what, json={**body, "message": MESSAGE})
    _raise_for(resp, f"writing {what}")
    (report.updated if exists else report.created).append(what)


def push_rule(http: httpx.Client, rule: dict[str, Any], report: PushReport) -> None:
    uid = str(rule["uid"])
    what = f"alert rule {uid}"
    path = f"/api/v1/provisioning/alert-rules/{uid}"
    resp = _request(http, "GET", path, what)
    if resp.status_code == 404:
        resp = _request(http, "POST", "/api/v1/provisioning/alert-rules", what, json=rule)
        _raise_for(resp, f"creating {what}")
        report.created.append(what)
        return
    _raise_for(resp, what)
    if subset(rule, _json(resp, what)):
        report.unchanged.append(what)
        return
    resp = _request(http, "PUT", path, what, json=rule)
    _raise_for(resp, f"updating {what}")
    report.updated.append(what)


def push(
    http: httpx.Client,
    folder: str = provisioning.FOLDER_UID,
    settings: ExportSettings | None = None,
) -> PushReport:
    """Dashboards into `folder`, then the alert rules (one group) into the same folder."""
    s = settings or ExportSettings()
    report = PushReport()
    check_version(http)
    ensure_folder(http, folder, report)
    for board in dashboards.all_dashboards().values():
        push_dashboard(http, board, folder, report)
    for rule in alert_rules(s.thresholds):
        push_rule(http, provisioning.api_rule(rule, s.links, folder, s.datasource_uid), report)
    return report
