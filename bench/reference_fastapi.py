"""The benchmark's FASTAPI REFERENCE: the shared reference work (bench/reference_core.py) behind plain FastAPI.

The same SQL, driver usage and JSON bytes as the ASGI reference (bench/reference.py); only the framework layer
differs. It is FastAPI's fastest simple form: ``async def`` routes with path and query parameters only (FastAPI
parses and validates them), no middleware and no dependencies, the handler's pre-serialised bytes returned in a
``Response`` (so FastAPI encodes nothing), the transition's body read from the ``Request`` and parsed with orjson
as the ASGI reference does (a pydantic body model would add validation the reference does not do). No OpenAPI or
docs routes, and FastAPI's OpenTelemetry hooks are switched off (with no provider configured they would only
check for one on every request). Its ``service / FastAPI reference`` ratio measures what the service's layers
cost above FastAPI's own floor (ARCHITECTURE.md: "Know the floor before chasing a ratio").

Run: ``BENCH_REF_DATABASE_URL=sqlite:////tmp/x.db uvicorn bench.reference_fastapi:app --workers 1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import orjson
from fastapi import FastAPI, Request, Response

from bench.reference_core import (
    CONTENT_TYPE,
    HEALTHZ,
    Problem,
    decode_cursor,
    failure,
    h_get,
    h_ledger,
    h_list,
    h_summary,
    h_transition,
    shutdown,
    startup,
)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await startup()
    yield
    await shutdown()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None,
              telemetry={"tracing": False, "metrics": False, "logs": False})


async def _failure(_request: Request, exc: Exception) -> Response:
    status, body = failure(exc)
    return Response(body, status, media_type=CONTENT_TYPE)


for _exc in (Problem, KeyError, ValueError):
    app.add_exception_handler(_exc, _failure)


@app.get("/api/v1/projects")
async def list_projects(chain: str | None = None, limit: int = 50, cursor: str | None = None) -> Response:
    after = decode_cursor(cursor) if cursor is not None else None
    return Response(await h_list(chain, limit, after), media_type=CONTENT_TYPE)


@app.get("/api/v1/projects/{project_id}")
async def get_project(project_id: str) -> Response:
    return Response(await h_get(project_id), media_type=CONTENT_TYPE)


@app.post("/api/v1/projects/{project_id}/transitions")
async def transition_project(project_id: str, request: Request) -> Response:
    body = orjson.loads(await request.body())
    return Response(await h_transition(project_id, body["to"], date.fromisoformat(body["on"])),
                    media_type=CONTENT_TYPE)


@app.get("/api/v1/ledger/summary")
async def ledger_summary(period: str) -> Response:
    return Response(await h_summary(period), media_type=CONTENT_TYPE)


@app.get("/api/v1/ledger")
async def ledger(period: str, limit: int = 500) -> Response:
    return Response(await h_ledger(period, limit), media_type=CONTENT_TYPE)


@app.get("/healthz")
async def healthz() -> Response:
    return Response(HEALTHZ, media_type=CONTENT_TYPE)
