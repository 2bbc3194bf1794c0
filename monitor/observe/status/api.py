"""/api/v1/: the JSON API (CONTRACT section 6), behind the endpoints' authentication.

Every answer is JSON, errors included: 400 {"error", "parameter"} for a bad
query parameter, 404 {"error"} for an unknown id or path, 405 {"error"} (with
Allow) for a method other than GET or HEAD, 401 with the challenge when
credentials are required and missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from monitor.observe.status.filters import (
    BadParameter,
    list_query,
    parse_filters,
    parse_limit,
)
from monitor.observe.status.filters import (
    article_id as parse_article_id,
)
from monitor.observe.status.filters import (
    target_id as parse_target_id,
)
from monitor.observe.status.openapi import openapi_document
from monitor.observe.status.source import Busy, StatusSource, Unavailable

PREFIX = "/api/v1"


class Gate(Protocol):
    """Who may read (the endpoints' EndpointAuth)."""

    def allows(self, header: str) -> bool: ...

    def challenge(self) -> str: ...


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def is_api(path: str) -> bool:
    """Whether `path` is under /api/v1, whose every answer is JSON."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def busy_answer(path: str) -> web.Response:
    """503 with Retry-After: too many requests waiting now (JSON under the API)."""
    retry = {"Retry-After": "1"}
    if is_api(path):
        return json_response({"error": "too many status requests now"}, 503, retry)
    return web.Response(status=503, text="too many requests now\n", headers=retry)


def unauthorized(gate: Gate) -> web.Response:
    return json_response(
        {"error": "unauthorized"}, 401, headers={"WWW-Authenticate": gate.challenge()}
    )


class StatusApi:
    def __init__(self, source: StatusSource, gate: Gate) -> None:
        self.source = source
        self.gate = gate
        self._openapi = orjson.dumps(openapi_document())

    @staticmethod
    @web.middleware
    async def unavailable(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except Busy:
            return busy_answer(request.path)
        except Unavailable:
            if is_api(request.path):
                return json_response({"error": "the database cannot be read now"}, 503)
            return web.Response(status=503, text="the database cannot be read now\n")
        except web.HTTPException as exc:
            # aiohttp's own 404 and 405 (a path no route has, a method other than GET)
            if exc.status < 400 or not is_api(request.path):
                raise
            allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return json_response({"error": exc.reason.lower()}, exc.status, allow)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/status", self._status)
        app.router.add_get(f"{PREFIX}/targets", self._targets)
        app.router.add_get(f"{PREFIX}/targets/{{id}}", self._target)
        app.router.add_get(f"{PREFIX}/articles/{{id}}", self._article)
        app.router.add_get(f"{PREFIX}/openapi.json", self._openapi_json)
        app.router.add_get(f"{PREFIX}/{{tail:.*}}", self._unknown)

    def _allowed(self, request: web.Request) -> bool:
        return self.gate.allows(request.headers.get("Authorization", ""))

    async def _status(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return unauthorized(self.gate)
        try:
            values = parse_filters(request.query.items(), allowed=("limit",))
            limit = parse_limit(values.get("limit")) if "limit" in values else 20
        except BadParameter as exc:
            return json_response(exc.body(), 400)
        return json_response(await self.source.status(limit))

    async def _targets(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return unauthorized(self.gate)
        try:
            query, availability = list_query(request.query.items())
        except BadParameter as exc:
            return json_response(exc.body(), 400)
        return json_response(await self.source.targets(query, availability))

    async def _target(self, request: web.Request) -> web.Response:
        tid = parse_target_id(request.match_info["id"])
        return await self._one(request, "target", tid, self.source.target)

    async def _article(self, request: web.Request) -> web.Response:
        aid = parse_article_id(request.match_info["id"])
        return await self._one(request, "article", aid, self.source.article)

    async def _one(
        self,
        request: web.Request,
        what: str,
        key: Any,
        read: Callable[[Any], Awaitable[Any]],
    ) -> web.Response:
        """One target or article: auth, no parameters allowed, 404 for an unknown id."""
        if not self._allowed(request):
            return unauthorized(self.gate)
        try:
            parse_filters(request.query.items(), allowed=())
        except BadParameter as exc:
            return json_response(exc.body(), 400)
        found = None if key is None else await read(key)
        if found is None:
            return json_response({"error": f"no such {what}"}, 404)
        return json_response(found)

    async def _openapi_json(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return unauthorized(self.gate)
        return web.Response(body=self._openapi, content_type="application/json")

    async def _unknown(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            return unauthorized(self.gate)
        return json_response({"error": "no such API path"}, 404)
