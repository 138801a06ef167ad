"""One error model for the whole API: RFC 9457 problem details.

Every error answer is ``application/problem+json``::

    {"type": "about:blank", "title": "Not Found", "status": 404,
     "detail": "unknown station 'nope-01'", "instance": "/v1/stations/nope-01"}

``detail`` is always a sentence for a person (the existing clients read it); machine-readable
extras are extension members beside it: ``errors`` (the fields refused by validation),
``reason`` (wire-format refusals of the HTTP ingest), the counts of a refused ingest batch.
``type`` is ``about:blank``: the status says what kind of problem it is, ``title`` is the
status phrase.

* :func:`install_problem_handlers` turns ``HTTPException`` (ours and Starlette's 404/405),
  FastAPI's request validation errors, an unreachable InfluxDB and any unexpected error into
  problems;
* :func:`problem_response` / :func:`problem_bytes` build one (routes, ASGI middleware);
* :func:`problem_responses` declares error answers on a route; :func:`problem_openapi` gives
  every 4xx/5xx answer of the schema the ``Problem`` schema and media type.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.influx import InfluxQueryError

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "install_problem_handlers",
    "problem_bytes",
    "problem_openapi",
    "problem_response",
    "problem_responses",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
MAX_ERRORS = 20  # validation errors listed in one problem

DESCRIPTIONS = {
    400: "invalid parameter (the detail names it)",
    401: "credentials missing or wrong",
    403: "forbidden",
    404: "not found",
    409: "conflict",
    413: "the request body, or the answer, would exceed a limit (the detail gives it)",
    422: "the request does not match the schema (``errors`` lists the fields)",
    429: "rate limit exceeded (see Retry-After)",
    503: "a service the API needs (InfluxDB, the broker, the QPV layer) is unavailable",
}


class Problem(BaseModel):
    """RFC 9457 problem details (extension members may follow)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="URI of the problem type")
    title: str = Field(description="the HTTP status phrase", examples=["Not Found"])
    status: int = Field(ge=400, le=599, examples=[404])
    detail: str = Field(
        description="what went wrong and how to fix it", examples=["unknown station 'nope-01'"]
    )
    instance: str | None = Field(
        default=None, description="the path of the request", examples=["/v1/stations/nope-01"]
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_document(
    status: int, detail: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "about:blank", "title": _title(status), "status": status}
    doc["detail"] = detail
    if instance is not None:
        doc["instance"] = instance
    for key, value in extensions.items():
        if key not in doc:
            doc[key] = value
    return doc


def problem_bytes(status: int, detail: str, instance: str | None = None, **ext: Any) -> bytes:
    return orjson.dumps(jsonable_encoder(problem_document(status, detail, instance, **ext)))


def problem_response(
    status: int,
    detail: str,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem answer; ``instance`` is the request's path (never its query: tokens)."""
    instance = request.url.path if request is not None else None
    return Response(
        problem_bytes(status, detail, instance, **extensions),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _split_detail(detail: Any) -> tuple[str, dict[str, Any]]:
    """An HTTPException's detail -> (sentence, extension members). A dict detail (the ingest's
    ``{"reason", "message"}``) gives its message as the detail and its other keys as members."""
    if isinstance(detail, str):
        return detail, {}
    if isinstance(detail, dict):
        extra = {k: v for k, v in detail.items() if k != "message"}
        return str(detail.get("message", "")), extra
    return str(detail), {}


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = []
    for e in errors[:3]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'body'}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "invalid request: " + "; ".join(parts) + more


def _allowed_methods(request: Request) -> list[str]:
    """Every method the routes of this path answer (RFC 9110 ``Allow``)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail, extra = _split_detail(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:  # Starlette's Allow names the first route of the path only
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
        return problem_response(exc.status_code, detail, request, headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return problem_response(422, _describe(errors), request, errors=errors[:MAX_ERRORS])

    @app.exception_handler(InfluxQueryError)
    async def _influx_down(request: Request, exc: InfluxQueryError) -> Response:
        return problem_response(
            503, f"time-series store unavailable: {exc}", request, {"Retry-After": "30"}
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Starlette raises the exception again once this is sent: the server logs it
        return problem_response(500, "internal error; the server log has the details", request)


def problem_responses(
    *codes: int, what: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring problem answers, e.g. ``problem_responses(400, 404)``."""
    what = what or {}
    return {
        c: {"model": Problem, "description": what.get(c, DESCRIPTIONS.get(c, ""))} for c in codes
    }


def problem_openapi(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap ``app.openapi``: every 4xx/5xx answer is a ``Problem`` in ``application/problem+json``
    (FastAPI's own 422 included; its HTTPValidationError schemas go)."""

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI's, cached by the app: this pass changes nothing twice
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in components:
            components["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        ref = {"$ref": "#/components/schemas/Problem"}
        for path in schema.get("paths", {}).values():
            for op in path.values():
                for code, answer in op.get("responses", {}).items():
                    if str(code)[:1] in ("4", "5"):
                        answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": ref}}
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        return schema

    return openapi
