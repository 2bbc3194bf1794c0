"""The HTML pages: overview, targets (filtered), one target, one article.

Rendered on the server from the API's own documents (source.py) with
Jinja2, autoescaping everything; no script. A monitored URL is shown as
text, and is a link only when it is http(s), with rel="noopener noreferrer".
Links between pages are relative to `public_url`'s path, so the pages work
behind a proxy that serves them under a prefix. Every page opens with the
daemon's own health when it is not well (health.py), and says it, 503, when
the database cannot be read.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from aiohttp import web

from monitor import __version__, text_clip
from monitor.availability import describe as describe_availability
from monitor.availability import percent
from monitor.daemon.state import State
from monitor.observe.logs import escape as spell
from monitor.observe.status.api import Gate
from monitor.observe.status.chart import latency_chart
from monitor.observe.status.filters import (
    DEFAULT_LIMIT,
    FILTERS,
    BadParameter,
    parse_filters,
    target_query,
)
from monitor.observe.status.filters import (
    article_id as parse_article_id,
)
from monitor.observe.status.filters import (
    target_id as parse_target_id,
)
from monitor.observe.status.health import Trouble, rfc3339
from monitor.observe.status.source import StatusSource, Unavailable
from monitor.storage import listing
from monitor.storage.listing import TargetQuery
from monitor.vocabulary import Kind, Outcome, ProblemCode

STATIC = {"status.css": "text/css", "favicon.svg": "image/svg+xml"}
TARGET_PROBLEMS = [
    p.value
    for p in ProblemCode
    if p.value
    not in {
        "invalid_document",
        "missing_field",
        "cdn_url_mismatch",
        "provider_domain_mismatch",
        "published_in_future",
        "duplicate_url",
        "signature_invalid",
    }
]


# an article's title as its page's heading shows it: a corpus title has no size limit
TITLE_CHARS = 1000


def clip(text: str, longest: int = TITLE_CHARS) -> str:
    """The heading's title: cut by the one rule (monitor.text_clip) to TITLE_CHARS."""
    return text_clip.clip(text, longest)


class Verbatim(str):
    """Text a form field or a link's href holds: escaped as HTML, never spelled out,
    so that submitting the form sends the filter back as it was and a link goes to
    its URL (the browser percent-encodes an override there). Neither is drawn
    among the page's text: no override there reaches the page."""

    __slots__ = ()


def _shown(value: Any) -> Any:
    """Jinja's finalize: controls and bidi overrides from the corpus are spelled out,
    never obeyed; a headline's typography (no-break spaces, joiners) is shown as it is."""
    # a macro's output (Markup: its own values were finalized), a field's or a link's
    # value (Verbatim) are left as they are
    if not isinstance(value, str) or isinstance(value, Verbatim) or hasattr(value, "__html__"):
        return value
    return spell(value, typography=True)


def safe_href(url: str | None) -> str | None:
    """The URL when a browser may follow it (http or https), else None (shown as text)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _parse_ms(text: str | None) -> float | None:
    if text is None:
        return None
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _span(seconds: float) -> str:
    """A length of time in the largest unit that reads well: 45 s, 3 min, 5 h, 2 days."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def age(text: str | None, now: float | None = None) -> str:
    """`… ago` for an RFC 3339 time (None: never); `… from now` for one stamped 90 s
    or more ahead of this clock (a clock stepped back since, a member's clock running
    ahead), which read "0 s ago" and hid the clock's trouble. Less ahead is "0 s ago":
    two members' clocks a few seconds apart."""
    when = _parse_ms(text)
    if when is None:
        return "never"
    seconds = (now if now is not None else time.time()) - when
    if seconds <= -90:
        return f"{_span(-seconds)} from now"
    return f"{_span(max(0.0, seconds))} ago"


def behind(text: str | None, now: float | None = None) -> str:
    """How long the oldest due check has waited: `0 s` when it is not due yet."""
    when = _parse_ms(text)
    if when is None:
        return "0 s"
    return _span(max(0.0, (now if now is not None else time.time()) - when))


def base_path(public_url: str | None) -> str:
    return "" if not public_url else urlsplit(public_url).path.rstrip("/")


Health = Callable[[], Awaitable[list[Trouble]]]
UNREADABLE = "The database cannot be read now: the banner above is what the daemon knows."
NOT_RUNNING = {
    "starting": "The daemon is starting: its targets are shown once its database is ready.",
    "stopping": "The daemon is stopping: its database is no longer read.",
}


async def _healthy() -> list[Trouble]:
    return []


class StatusPages:
    def __init__(
        self,
        source: StatusSource,
        gate: Gate,
        public_url: str | None = None,
        health: Health | None = None,
    ) -> None:
        self.source = source
        self.gate = gate
        # the daemon's own health (health.py), shown as a banner atop every page
        self.health = health if health is not None else _healthy
        self.base = base_path(public_url)
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("monitor.observe.status", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_shown,
        )
        self.env.filters["verbatim"] = Verbatim
        self.env.filters["clip"] = clip
        self.env.globals.update(
            base=self.base,
            version=__version__,
            href=self.href,
            safe_href=safe_href,
            age=age,
            behind=behind,
            availability=describe_availability,
            percent=percent,
            states=[s.value for s in State],
            kinds=[k.value for k in Kind],
            outcomes=[o.value for o in Outcome],
            problems=TARGET_PROBLEMS,
        )
        # compiled now, not at a first view: a page during the start (the banner)
        # read its template from disk, and those bytes count as the start's progress
        for name in self.env.list_templates():
            self.env.get_template(name)
        folder = resources.files("monitor.observe.status") / "static"
        self.static = {name: (folder / name).read_bytes() for name in STATIC}

    def href(self, path: str, **params: Any) -> str:
        """A link to one of the pages, with its query (None values left out)."""
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}{path}" + (f"?{query}" if query else "")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._overview)
        app.router.add_get("/targets", self._targets)
        app.router.add_get("/targets/{id}", self._target)
        app.router.add_get("/articles/{id}", self._article)
        app.router.add_get("/static/{name}", self._static)

    def _render(
        self,
        template: str,
        status: int = 200,
        troubles: list[Trouble] | None = None,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> web.Response:
        html = self.env.get_template(template).render(troubles=troubles or [], **context)
        return web.Response(
            text=html, status=status, content_type="text/html", charset="utf-8", headers=headers
        )

    def unavailable(
        self,
        troubles: list[Trouble],
        headers: dict[str, str] | None = None,
        message: str = UNREADABLE,
    ) -> web.Response:
        """503: the banner, and that the database cannot be read (or the daemon is
        starting or stopping): a bare text answer told an operator nothing of why."""
        return self._render("unavailable.html", 503, troubles, headers, nav="", message=message)

    async def _page(
        self, troubles: list[Trouble], build: Callable[[], Awaitable[web.Response]]
    ) -> web.Response:
        """`build`'s page, or the banner alone (503) when the database cannot be read."""
        try:
            return await build()
        except Unavailable:
            if not troubles:  # /readyz found nothing wrong, yet this read failed
                troubles = [Trouble("database", "the status cannot be read", rfc3339(time.time()))]
            return self.unavailable(troubles)

    def _denied(self, request: web.Request) -> web.Response | None:
        if self.gate.allows(request.headers.get("Authorization", "")):
            return None
        return web.Response(
            status=401,
            text="unauthorized\n",
            headers={"WWW-Authenticate": self.gate.challenge()},
        )

    def _error(self, status: int, message: str, parameter: str | None = None) -> web.Response:
        return self._render(
            "error.html", status, None, nav="", code=status, message=message, parameter=parameter
        )

    def _no_query(self, request: web.Request) -> web.Response | None:
        try:
            parse_filters(request.query.items(), allowed=())
        except BadParameter as exc:
            return self._error(400, exc.message, exc.parameter)
        return None

    async def _overview(self, request: web.Request) -> web.Response:
        if (refused := self._denied(request) or self._no_query(request)) is not None:
            return refused
        troubles = await self.health()

        async def build() -> web.Response:
            data = await self.source.status(20)
            return self._render("overview.html", 200, troubles, nav="overview", s=data)

        return await self._page(troubles, build)

    async def _targets(self, request: web.Request) -> web.Response:
        if (refused := self._denied(request)) is not None:
            return refused
        try:
            query = target_query(request.query.items())
        except BadParameter as exc:
            return self._error(400, exc.message, exc.parameter)
        troubles = await self.health()

        async def build() -> web.Response:
            page = await self.source.targets(query, availability=True)
            total = await self.source.count(query)
            return self._targets_page(query, page, total, troubles)

        return await self._page(troubles, build)

    def _targets_page(
        self, query: TargetQuery, page: dict[str, Any], total: int | None, troubles: list[Trouble]
    ) -> web.Response:
        chosen = {name: getattr(query, name) for name in FILTERS}
        limit = None if query.limit == DEFAULT_LIMIT else query.limit
        first = query.after == 0
        following = page["next_cursor"]
        nav = ""
        if first and limit is None:
            if chosen == {**dict.fromkeys(FILTERS), "state": "down"}:
                nav = "down"
            elif chosen == dict.fromkeys(FILTERS):
                nav = "all"
        return self._render(
            "targets.html",
            200,
            troubles,
            nav=nav,
            page=page,
            total=total,
            count_cap=listing.COUNT_CAP,
            chosen=chosen,
            first=first,
            next_href=None
            if following is None
            else self.href("/targets", **chosen, limit=limit, cursor=following),
            first_href=self.href("/targets", **chosen, limit=limit),
        )

    async def _target(self, request: web.Request) -> web.Response:
        if (refused := self._denied(request) or self._no_query(request)) is not None:
            return refused
        tid = parse_target_id(request.match_info["id"])
        troubles = await self.health()

        async def build() -> web.Response:
            target = None if tid is None else await self.source.target(tid)
            if target is None:
                return self._error(404, "There is no target with this id.")
            chart = latency_chart(target["results"])
            return self._render("target.html", 200, troubles, nav="", t=target, chart=chart)

        return await self._page(troubles, build)

    async def _article(self, request: web.Request) -> web.Response:
        if (refused := self._denied(request) or self._no_query(request)) is not None:
            return refused
        aid = parse_article_id(request.match_info["id"])
        troubles = await self.health()

        async def build() -> web.Response:
            article = None if aid is None else await self.source.article(aid)
            if article is None:
                return self._error(404, "There is no article with this id.")
            return self._render("article.html", 200, troubles, nav="", a=article)

        return await self._page(troubles, build)

    async def _static(self, request: web.Request) -> web.Response:
        if (refused := self._denied(request)) is not None:
            return refused
        name = request.match_info["name"]
        if name not in self.static:
            return self._error(404, "No such file.")
        return web.Response(
            body=self.static[name],
            content_type=STATIC[name],
            headers={"Cache-Control": "max-age=3600"},
        )
