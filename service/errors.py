"""The one table DomainError → HTTP status, rendered as RFC 9457 ``application/problem+json``.

``type`` is a relative URI ``/problems/<slug>``; ``errors`` lists field problems as
``{"loc": [...], "msg": ..., "type": ...}`` where ``loc`` starts with ``body``, ``query``, ``path`` or ``header``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from service.domain import errors as d
from service.logging import get_logger
from service.routers.common import PATTERN_MESSAGES

PROBLEM_JSON = "application/problem+json"
log = get_logger(__name__)

STATUS: dict[type[d.DomainError], int] = {
    d.InvalidInput: 422,
    d.NotFound: 404,
    d.Conflict: 409,
    d.Unauthenticated: 401,
    d.Forbidden: 403,
    d.PreconditionRequired: 428,
    d.StaleVersion: 412,
    d.IdempotencyConflict: 409,
    d.IdempotencyMismatch: 422,
}


class ProblemDetail(BaseModel):
    """RFC 9457 problem details (plus ``errors`` for validation and rule-specific members)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None
    allowed: list[str] | None = None


def status_for(exc: d.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _clean_validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        msg = str(e.get("msg", ""))
        if e.get("type") == "string_pattern_mismatch":  # say what the value should be, not the regular expression
            msg = PATTERN_MESSAGES.get(str((e.get("ctx") or {}).get("pattern", "")), msg)
        out.append({"loc": list(e.get("loc", ())), "msg": msg, "type": str(e.get("type", ""))})
    return out


async def _domain_error(request: Request, exc: d.DomainError) -> Response:
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(
        status, exc.slug, exc.title, exc.detail, instance=request.url.path, errors=exc.errors or None,
        headers=headers, **exc.extra,
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = _clean_validation_errors(list(exc.errors()))
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            400, "malformed-body", "Malformed request body",
            "The request body is not valid JSON: " + "; ".join(e["msg"] for e in errors if e["type"] == "json_invalid"),
            instance=request.url.path, errors=errors,
        )
    if errors and all(e["type"] == "missing" and e["loc"] == ["header", "If-Match"] for e in errors):
        # SPEC §1: a PATCH without If-Match is 428, whatever the schema's "required" makes the framework say.
        return problem(428, "precondition-required", "If-Match required",
                       'Send If-Match: "<version>" (the ETag you read).', instance=request.url.path)
    where = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem(
        422, "validation-error", "Invalid input", f"{len(errors)} invalid field(s): {where}.",
        instance=request.url.path, errors=errors,
    )


def _allowed_methods(request: Request) -> str | None:
    """Every method the app serves at this path. Starlette's 405 names only the first route that matched the
    path, so ``DELETE /chains/X`` would answer ``Allow: GET`` although ``PATCH`` is served there too."""
    methods: set[str] = set()
    paths = request.app.openapi().get("paths") or {}
    if request.url.path in paths:  # a literal route (/projects/import) shadows the templates it also matches
        methods = {m.upper() for m in paths[request.url.path] if m.upper() in _HTTP_METHODS}
        return ", ".join(sorted(methods)) or None
    for template, operations in paths.items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            methods |= {m.upper() for m in operations if m.upper() in _HTTP_METHODS}
    return ", ".join(sorted(methods)) or None


_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


#: Framework-raised statuses as problem types (400: a body the JSON parser gave up on, e.g. nested too deep).
_HTTP_PROBLEMS = {
    400: ("malformed-body", "Malformed request body"),
    404: ("not-found", "Resource not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        allow = _allowed_methods(request)
        if allow:
            headers["Allow"] = allow
    slug, title = _HTTP_PROBLEMS.get(exc.status_code, ("http-error", "HTTP error"))
    return problem(exc.status_code, slug, title, str(exc.detail), instance=request.url.path, headers=headers or None)


async def _integrity_error(request: Request, exc: IntegrityError) -> Response:
    """A constraint refused a write that passed the use case's own checks: a concurrent request got there first
    (a duplicate code, a unique ref). A conflict with the current state, not a server failure."""
    log.warning("integrity_conflict", path=request.url.path, error=type(exc.orig).__name__)
    return problem(
        409, "conflict", "Conflict with the current state",
        "A concurrent change conflicts with this request; read the current state and retry.",
        instance=request.url.path,
    )


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.error("unhandled_error", path=request.url.path, error=type(exc).__name__, exc_info=exc)
    return problem(500, "internal-error", "Internal server error", "The server failed; the error is logged.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(d.DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _integrity_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unhandled)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: every status it can answer besides its success, as problem+json.

    A route that reads a body (400 for a malformed one) can also meet the body size limit: 413 comes with 400.
    """
    if 400 in statuses and 413 not in statuses:
        statuses = (*statuses, 413)
    text = {
        400: "Malformed body", 401: "Missing or unknown token", 403: "Token lacks the right",
        404: "Unknown resource", 409: "Conflict with the current state", 412: "Stale If-Match",
        413: "Body too large", 422: "Invalid input", 428: "If-Match required",
    }
    return {
        s: {"description": text.get(s, "Problem"), "model": ProblemDetail, "content": {PROBLEM_JSON: {}}}
        for s in statuses
    }
