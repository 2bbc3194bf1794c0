"""Every answer the status API gives is in its OpenAPI document, errors
included: a client generated from the document must know a 503 (database not
readable) and a 401 on the document itself, not meet them undeclared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import text
from support.status_db import Known
from support.status_http import get, known_db, running

from monitor.observe.endpoints import EndpointAuth
from monitor.observe.guard import ConnectionLimits

TOKEN = "s3cret-token-never-shown"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def known(tmp_path: Path) -> Iterator[Known]:
    yield from known_db("sqlite", tmp_path)


def answer_schema(spec: dict[str, Any], template: str, status: int) -> dict[str, Any]:
    responses = spec["paths"][template]["get"]["responses"]
    assert str(status) in responses, f"{template} answers {status}, undocumented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


async def test_401_and_503_are_documented_where_they_are_answered(known: Known) -> None:
    async with running(known, EndpointAuth.of(TOKEN)) as srv:
        status, body, _ = await get(srv, "/api/v1/openapi.json", AUTH)
        assert status == 200
        spec = json.loads(body)
        for template, path in [
            ("/api/v1/openapi.json", "/api/v1/openapi.json"),
            ("/api/v1/status", "/api/v1/status"),
            ("/api/v1/targets/{id}", "/api/v1/targets/3"),
        ]:
            status, body, _ = await get(srv, path, {})
            assert status == 401
            jsonschema.validate(json.loads(body), answer_schema(spec, template, 401))
        with known.engine.begin() as conn:
            conn.execute(text("DROP TABLE transitions"))
        for template, path in [
            ("/api/v1/status", "/api/v1/status"),
            ("/api/v1/targets", "/api/v1/targets?state=down"),
            ("/api/v1/targets/{id}", "/api/v1/targets/3"),
        ]:
            status, body, _ = await get(srv, path, AUTH)
            assert status == 503
            jsonschema.validate(json.loads(body), answer_schema(spec, template, 503))


async def test_an_empty_value_is_the_parameter_absent_as_documented(known: Known) -> None:
    """Every query parameter of the API, given empty (`availability=`), is answered
    as if absent, the pages' rule (an HTML form's "any"); the document said nothing
    of it, so a client held to it (an enum with no empty member) could not tell
    `availability=` from an error. A value outside a parameter's set is still 400."""
    async with running(known) as srv:
        status, body, _ = await get(srv, "/api/v1/openapi.json", {})
        spec = json.loads(body)
        for template in ("/api/v1/status", "/api/v1/targets"):
            operation = spec["paths"][template]["get"]
            assert "counts as the parameter absent" in operation["description"]
            names = [p["name"] for p in operation["parameters"]]
            assert names and all(p["allowEmptyValue"] for p in operation["parameters"])
            _, absent, _ = await get(srv, template, {})
            for name in names:
                status, given, _ = await get(srv, f"{template}?{name}=", {})
                assert (status, json.loads(given)) == (200, json.loads(absent)), name
        status, body, _ = await get(srv, "/api/v1/targets?availability=7d", {})
        assert status == 400 and json.loads(body)["parameter"] == "availability"


async def test_a_request_line_too_long_and_a_stop_are_documented_everywhere(
    known: Known,
) -> None:
    """A request line past the listener's limit is a JSON 400 on every /api/v1 path
    (the document too), and a daemon starting or stopping a 503 on each but the
    liveness probes: /api/v1/openapi.json declared only 200 and 401."""
    longest = ConnectionLimits().max_line_size
    async with running(known) as srv:
        status, body, _ = await get(srv, "/api/v1/openapi.json", {})
        spec = json.loads(body)
        assert (
            "request line"
            in spec["paths"]["/api/v1/status"]["get"]["responses"]["400"]["description"]
        )
        paths = [
            ("/api/v1/openapi.json", "/api/v1/openapi.json"),
            ("/api/v1/status", "/api/v1/status"),
            ("/api/v1/targets", "/api/v1/targets"),
            ("/api/v1/targets/{id}", "/api/v1/targets/3"),
            ("/api/v1/articles/{id}", f"/api/v1/articles/{'0' * 16}"),
        ]
        for template, path in paths:
            status, body, _ = await get(srv, f"{path}?q={'a' * longest}", {})
            assert status == 400, (template, body)
            jsonschema.validate(json.loads(body), answer_schema(spec, template, 400))
        srv.stopping = True  # as the daemon's stop sets it
        for template, path in paths:
            status, body, _ = await get(srv, path, {})
            assert status == 503, (template, body)
            jsonschema.validate(json.loads(body), answer_schema(spec, template, 503))
