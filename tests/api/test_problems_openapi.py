"""One error model (RFC 9457 problem details) for every error the API gives — its own, FastAPI's
validation, Starlette's 404/405, the protection middleware's 413 and 429, an unreachable
InfluxDB — and the OpenAPI schema that declares them, with stable operation ids."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.routing import APIRoute

from airq.services import free_port
from api.app import ROUTERS, create_app
from api.settings import ApiSettings
from tests.api.api_server import ADMIN_TOKEN, running, settings_for

pytestmark = pytest.mark.services

PROBLEM = "application/problem+json"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def assert_problem(r, status: int, path: str, *words: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers
    body = r.json()
    assert body["type"] == "about:blank" and body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == path
    for w in words:
        assert w in body["detail"], (w, body)
    return body  # type: ignore[no-any-return]


def test_errors_are_problem_details(make_client, series_db, series_registry_url) -> None:
    with make_client(db=series_db, database_url=series_registry_url, max_request_bytes=2048) as api:
        assert_problem(api.get("/v1/stations/nope-01"), 404, "/v1/stations/nope-01", "nope-01")
        assert_problem(api.get("/v1/stations", params={"bbox": "1,2"}), 400, "/v1/stations", "bbox")
        r = api.get("/v1/series", params={"station": "lens-01", "quantity": "pm2_5", "every": "7s"})
        assert_problem(r, 400, "/v1/series", "every")
        assert_problem(api.get("/nowhere"), 404, "/nowhere")
        assert_problem(api.post("/v1/stations"), 405, "/v1/stations")

        # FastAPI's validation: a sentence naming the field, and the fields as a list
        r = api.get("/v1/stations", params={"include_retired": "perhaps"})
        body = assert_problem(r, 422, "/v1/stations", "include_retired")
        assert [e["loc"] for e in body["errors"]] == [["query", "include_retired"]]
        r = api.post(
            "/v1/admin/stations", json={"id": "lens-09", "lat": 91, "lon": 3}, headers=AUTH
        )
        body = assert_problem(r, 422, "/v1/admin/stations", "lat")
        assert body["errors"][0]["loc"] == ["body", "lat"]

        # the body-size middleware answers before any route
        big = b"x" * 4096
        r = api.post("/v1/admin/stations", content=big, headers=AUTH)
        assert_problem(r, 413, "/v1/admin/stations", "2048 bytes")

        # a dict detail (the ingest's wire-format refusals): its message, its reason beside it
        r = api.post(
            "/v1/ingest/readings",
            content=b"{",
            headers={"Authorization": "Basic bGVucy0wMTp4"},  # lens-01:x -> 401 first
        )
        assert_problem(r, 401, "/v1/ingest/readings")
        assert "WWW-Authenticate" in r.headers  # the exception's headers are kept


def test_rate_limit_and_unreachable_store_are_problems(tmp_path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = settings_for(
        dead,
        "nodb",
        f"sqlite:///{tmp_path / 'reg.sqlite'}",
        rate_limit_per_minute=1,
        rate_limit_burst=2,
    )
    with running(settings) as api:
        assert_problem(api.get("/v1/stations"), 503, "/v1/stations", "unavailable")
        api.get("/v1/stations")
        r = api.get("/v1/stations")
        assert_problem(r, 429, "/v1/stations", "1 per minute")
        assert int(r.headers["Retry-After"]) > 0


def test_created_at_is_served_in_utc_with_its_zone(make_client, registry_url: str) -> None:
    with make_client(database_url=registry_url) as api:
        body = {"id": "lens-01", "lat": 50.449, "lon": 2.839}
        created = api.post("/v1/admin/stations", json=body, headers=AUTH).json()
        api.post("/v1/admin/stations/lens-01/retire", headers=AUTH)
        (listed,) = api.get("/v1/admin/stations", headers=AUTH).json()
        for value in (created["created_at"], listed["created_at"], listed["retired_at"]):
            t = datetime.fromisoformat(value)
            assert t.utcoffset() == timedelta(0), value
            assert abs(datetime.now(t.tzinfo) - t) < timedelta(minutes=5), value


def test_openapi_operation_ids_and_error_responses() -> None:
    app = create_app(ApiSettings())
    schema = app.openapi()
    endpoints = {
        (m.lower(), r.path): r.endpoint.__name__
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and r.include_in_schema
        for m in r.methods
    }
    ids = {}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            ids[(method, path)] = op["operationId"]
            for code, answer in op["responses"].items():
                if code[0] in "45":
                    assert answer["content"] == {
                        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }, (method, path, code)
            assert "200" in op["responses"] or "201" in op["responses"], (method, path)
    assert ids == endpoints  # the route functions' names, whatever the path
    assert len(set(ids.values())) == len(ids)
    assert ids[("get", "/v1/stations/{station_id}/series")] == "station_series"
    declared = {
        code for ops in schema["paths"].values() for op in ops.values() for code in op["responses"]
    }
    assert {"400", "404", "413", "422", "429", "503"} <= declared
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["properties"])
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    admin = schema["components"]["schemas"]["StationAdmin"]["properties"]
    assert admin["created_at"]["format"] == "date-time"
    # routes returning dicts have a typed 200 answer, not a bare object
    for path in ("/v1/stations", "/v1/stations/{station_id}", "/readyz", "/v1/ingest/readings"):
        ok = schema["paths"][path][next(iter(schema["paths"][path]))]["responses"]["200"]
        assert "$ref" in str(ok["content"]["application/json"]["schema"]), path
