"""The OpenAPI 3.1 description of /api/v1/ (served at /api/v1/openapi.json).

Built from the same vocabularies and limits the handlers use, so the enums
and bounds it states are the ones enforced. The tests validate it with
openapi-spec-validator and every answer against its schemas.
"""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.availability import WINDOWS
from monitor.daemon.state import State
from monitor.error_text import STORED_ERROR
from monitor.observe.status.filters import (
    AVAILABILITY,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_PROVIDER,
    MAX_Q,
    REQUEST_LINE,
)
from monitor.storage.listing import (
    ARTICLE_TITLE_CHARS,
    ARTICLES_PER_ITEM,
    LINK_TITLE_CHARS,
    TARGETS_PER_ARTICLE,
)
from monitor.vocabulary import Kind, Outcome, ProblemCode, SignatureStatus


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [v.value for v in values]}


def _title(longest: int) -> dict[str, Any]:
    """A corpus title, which has no size limit: its first `longest` characters and `…`."""
    return {
        "type": "string",
        "maxLength": longest + 1,
        "description": f"the record's title; one longer than {longest} characters is cut "
        "there and ends in …",
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


TIME = {"type": "string", "format": "date-time"}
CODES = {"type": "array", "items": {"type": "string"}}


def _error(whose: str) -> dict[str, Any]:
    """A check's error as stored (monitor/error_text.py): null when it had none."""
    return _nullable(
        {
            "type": "string",
            "maxLength": STORED_ERROR + 1,
            "description": f"why {whose} failed (`connection refused`, `certificate "
            "rejected: ...`), as the report's `error` says it: on one line, credentials "
            f"of URLs in it hidden, one longer than {STORED_ERROR} characters cut there "
            "and ending in …; null when it had no error",
        }
    )


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
    }


def _share() -> dict[str, Any]:
    """A target's share of up checks over one window (monitor/availability.py)."""
    return _obj(
        {
            "checks": {"type": "integer", "minimum": 0},
            "up": {"type": "integer", "minimum": 0},
            "ratio": {
                **_nullable({"type": "number", "minimum": 0, "maximum": 1}),
                "description": "up / checks; null when the window holds no check",
            },
        }
    )


def _availability() -> dict[str, Any]:
    """A target's share of up checks per window (monitor/availability.py)."""
    return {
        **_obj({name: _share() for name, _ in WINDOWS}),
        "description": "the checks up (outcome ok or moved) over the last 24 h, 7 d and "
        "30 d: from the raw results, and from the daily rollups for whole UTC days "
        "whose results retention purged (docs/operations.md)",
    }


def _schemas() -> dict[str, Any]:
    item = {
        "id": {"type": "integer", "minimum": 1},
        "url": {"type": "string"},
        "kind": _enum(Kind),
        "provider": _nullable({"type": "string"}),
        "state": _enum(State),
        "since": _nullable(TIME),
        "active": {"type": "boolean"},
        "last_outcome": _nullable(_enum(Outcome)),
        "last_status": _nullable({"type": "integer"}),
        "last_checked": _nullable(TIME),
        "problems": CODES,
        "last_error": _error("the target's last check"),
        "articles": {"type": "array", "items": {"type": "string"}},
    }
    transition = _obj(
        {
            "at": TIME,
            "from": _enum(State),
            "to": _enum(State),
            "outcome": {"type": "string"},
            "problems": CODES,
            "error": _error("the check that made the transition"),
        }
    )
    result = _obj(
        {
            "at": TIME,
            "outcome": _enum(Outcome),
            "http_status": _nullable({"type": "integer"}),
            "latency_ms": _nullable({"type": "integer"}),
            "problems": CODES,
        }
    )
    # what happened to the page that is neither a state change nor a problem
    event = _obj(
        {
            "at": TIME,
            "kind": {"type": "string", "enum": ["text_changed"]},
            "detail": {"type": "string"},
        }
    )
    link = _obj(
        {
            "article": {"type": "string"},
            "field": {"type": "string"},
            "origin": {"type": "string"},
            "webUrl": {"type": "string"},
            "title": _nullable(_title(LINK_TITLE_CHARS)),
        }
    )
    counts = _obj({s.value: {"type": "integer", "minimum": 0} for s in State})
    availability = _availability()
    return {
        "Error": _obj(
            {"error": {"type": "string"}, "parameter": {"type": "string"}}, required=["error"]
        ),
        "TargetItem": _obj(
            {
                **item,
                "availability_24h": {
                    **_share(),
                    "description": "with `availability=24h` only: the checks up over the "
                    "last 24 h, as the target's `availability` gives them under `24h`",
                },
            },
            required=list(item),
        ),
        "TargetPage": _obj(
            {
                "items": {"type": "array", "items": _ref("TargetItem")},
                "next_cursor": _nullable({"type": "string"}),
            }
        ),
        "Target": _obj(
            {
                **item,
                "links": {
                    "type": "array",
                    "items": link,
                    "maxItems": ARTICLES_PER_ITEM,
                    "description": f"the first {ARTICLES_PER_ITEM} links to it: an article "
                    "that links it through several fields is one link per field",
                },
                "links_more": {
                    "type": "boolean",
                    "description": "true when it has more links than `links` holds",
                },
                "transitions": {"type": "array", "items": transition},
                "results": {"type": "array", "items": result},
                "events": {"type": "array", "items": event},
                "availability": availability,
            }
        ),
        "Article": _obj(
            {
                "id": {"type": "string"},
                "webUrl": {"type": "string"},
                "title": _nullable(_title(ARTICLE_TITLE_CHARS)),
                "source": {"type": "string"},
                "line": {"type": "integer"},
                "provider": _nullable({"type": "string"}),
                "signature": _obj(
                    {
                        "status": _enum(SignatureStatus),
                        "fields": CODES,
                        "verified_at": _nullable(TIME),
                        "kid": _nullable({"type": "string"}),
                        "envelope": _nullable({"type": "string"}),
                    }
                ),
                "problems": CODES,
                "targets": {
                    "type": "array",
                    "items": _obj(
                        {
                            "id": {"type": "integer"},
                            "url": {"type": "string"},
                            "kind": _enum(Kind),
                            "field": {"type": "string"},
                            "origin": {"type": "string"},
                            "state": _enum(State),
                            "last_outcome": _nullable(_enum(Outcome)),
                            "last_checked": _nullable(TIME),
                            "problems": CODES,
                        }
                    ),
                    "maxItems": TARGETS_PER_ARTICLE,
                    "description": f"the article's first {TARGETS_PER_ARTICLE} targets, "
                    "in field order, the article's own webUrl, ampWebUrl and cdnAmpWebUrl first",
                },
                "targets_total": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "how many targets the article has: more than "
                    "`targets` holds when they are past the number listed",
                },
            }
        ),
        "Status": _obj(
            {
                "articles": {"type": "integer"},
                "invalid_documents": {"type": "integer"},
                "excluded_targets": {"type": "integer"},
                "targets": _obj({k.value: counts for k in Kind}),
                "last_check": _nullable(TIME),
                "oldest_due": _nullable(TIME),
                "worst_providers": {
                    "type": "array",
                    "items": _obj(
                        {
                            "provider": {"type": "string"},
                            "targets": {"type": "integer"},
                            "down": {"type": "integer"},
                        }
                    ),
                },
                "recent_transitions": {
                    "type": "array",
                    "items": _obj(
                        {
                            "at": TIME,
                            "target": {"type": "integer"},
                            "url": {"type": "string"},
                            "kind": _enum(Kind),
                            "from": _enum(State),
                            "to": _enum(State),
                            "outcome": {"type": "string"},
                            "problems": CODES,
                            "error": _error("the check that made the transition"),
                        }
                    ),
                },
                "signatures": {"type": "object", "additionalProperties": {"type": "integer"}},
                "signature_problems": {
                    "type": "array",
                    "items": _obj(
                        {
                            "article": {"type": "string"},
                            "webUrl": {"type": "string"},
                            "source": {"type": "string"},
                            "status": _enum(SignatureStatus),
                            "fields": CODES,
                        }
                    ),
                },
                "problems": {"type": "object", "additionalProperties": {"type": "integer"}},
            }
        ),
    }


# the rule of every query parameter, pages and API alike (filters.parse_filters): an
# HTML form sends `kind=` for "any", and the API does not tell its clients apart
EMPTY_IS_ABSENT = (
    "An empty value (`kind=`, as the HTML form sends for any) counts as the parameter "
    "absent, for every parameter: `limit=` is the default, `cursor=` the first page, "
    "`availability=` adds nothing. Any other value outside a parameter's set, a "
    "parameter given twice or an unknown one is 400, naming it."
)


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": f"{description}; empty: as if absent",
        "allowEmptyValue": True,
    }


def _answers(ok: str, *codes: int) -> dict[str, Any]:
    def json_of(name: str) -> dict[str, Any]:
        return {"application/json": {"schema": _ref(name)}}

    out: dict[str, Any] = {"200": {"description": "OK", "content": json_of(ok)}}
    text = {400: f"a bad query parameter (named in `parameter`), or {TOO_LONG}", 404: "unknown id"}
    for code in codes:
        out[str(code)] = {"description": text[code], "content": json_of("Error")}
    out["401"] = {"description": "credentials required", "content": json_of("Error")}
    out["503"] = {
        "description": "the database cannot be read now; or, with Retry-After, too many "
        "status requests are waiting, or the daemon is starting or stopping",
        "content": json_of("Error"),
    }
    return out


# every path's 400: the listener refuses a longer line before any route is chosen
# (monitor/observe/server_parts.py), a query within the parameters' bounds always fits
TOO_LONG = f"a request line longer than {REQUEST_LINE:,} bytes"


def openapi_document() -> dict[str, Any]:
    filters = [
        _param("state", _enum(State), "the target's state"),
        _param("kind", _enum(Kind), "the target's kind"),
        _param(
            "provider",
            {"type": "string", "maxLength": MAX_PROVIDER},
            "the provider's domain (lower case; without one, the webUrl's host), exactly",
        ),
        _param("outcome", _enum(Outcome), "the last check's outcome"),
        _param("problem", _enum(ProblemCode), "a problem code of the last check"),
        _param("q", {"type": "string", "maxLength": MAX_Q}, "a substring of the URL"),
        _param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "items per page",
        ),
        _param(
            "cursor",
            {"type": "string"},
            "`next_cursor` of the previous page, with the same filters. With `problem` or "
            "`q` a page may hold fewer than `limit` items (even none) and still have a next "
            "page: follow `next_cursor` until it is null",
        ),
    ]
    path_id = {"name": "id", "in": "path", "required": True}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "article-monitor status API",
            "version": __version__,
            "description": "What the daemon knows about the corpus's links (read only).",
        },
        "paths": {
            "/api/v1/status": {
                "get": {
                    "summary": "the document `article-monitor status --format json` prints",
                    "description": EMPTY_IS_ABSENT,
                    "parameters": [
                        _param(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
                            "rows per list",
                        )
                    ],
                    "responses": _answers("Status", 400),
                }
            },
            "/api/v1/targets": {
                "get": {
                    "summary": "active targets, filtered, in id order (keyset pages)",
                    "description": EMPTY_IS_ABSENT,
                    "parameters": [
                        *filters,
                        _param(
                            "availability",
                            {"type": "string", "enum": list(AVAILABILITY)},
                            "`24h` adds each item's `availability_24h` (the checks up over "
                            "the last 24 h), a read of the page's results that about doubles "
                            "a 1,000-item page's cost; give it again with each page's cursor",
                        ),
                    ],
                    "responses": _answers("TargetPage", 400),
                }
            },
            "/api/v1/targets/{id}": {
                "get": {
                    "summary": "one target with its articles, transitions and results",
                    "parameters": [{**path_id, "schema": {"type": "integer", "minimum": 1}}],
                    "responses": _answers("Target", 400, 404),
                }
            },
            "/api/v1/articles/{id}": {
                "get": {
                    "summary": "one article with its signature, problems and targets",
                    "parameters": [
                        {**path_id, "schema": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}
                    ],
                    "responses": _answers("Article", 400, 404),
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "summary": "this document",
                    # its 401 and 503 (the daemon starting or stopping, too many requests)
                    # as on every path; its 400 only the listener's
                    "responses": {
                        **_answers("Error"),
                        "200": {"description": "OK"},
                        "400": {
                            "description": TOO_LONG,
                            "content": {"application/json": {"schema": _ref("Error")}},
                        },
                    },
                }
            },
        },
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
        "security": [{}, {"bearer": []}, {"basic": []}],
    }
