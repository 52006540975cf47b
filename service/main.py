"""create_app(): routers, error handlers, middleware, database."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from service import __version__, api_docs
from service.config import Settings, get_settings
from service.db.database import Database
from service.deps import now_utc
from service.errors import install as install_errors
from service.logging import configure_logging, get_logger
from service.middleware import RequestMiddleware
from service.routers import (
    appraisals,
    audit,
    audit_export,
    calendar,
    cycle_times,
    dispatches,
    history,
    imports,
    inspections,
    ledger,
    plans,
    problems,
    projects,
    reference,
    schedule,
    system,
    tokens,
    warnings,
    webhooks,
)
from service.routers.common import replay
from service.session_secret import session_secret
from service.signing import signer_for
from service.usecases import auth
from service.usecases import idempotency as keys
from service.web import routes as web
from service.worker import DeliveryWorker

API_PREFIX = "/api/v1"

DESCRIPTION = """
The chain-leader (链长制) ledger: four lists of projects (signed → started → in production → at capacity),
the tracking rhythm, annual plans and a tamper-evident audit history.

Conventions: JSON in and out; amounts in 万元 as strings with two decimals (accepted as string or number);
dates `YYYY-MM-DD`; timestamps RFC 3339 UTC. Errors are RFC 9457 `application/problem+json` with a relative
`type` (`/problems/<slug>`) and, for validation, `errors: [{loc, msg, type}]`. Lists are
`{"items": [...], "next_cursor": ...}` with keyset cursors. Mutable resources carry `version` and `ETag`;
PATCH/PUT need `If-Match`. Every POST accepts `Idempotency-Key` (24 h; replays carry `Idempotent-Replayed: true`).
Request bodies are limited to 1 MiB (imports 20 MiB); unknown body fields are refused (422).

Authentication: `Authorization: Bearer <token>` on every `/api/v1` route; only `GET /api/v1/schedule.ics` (the
calendar feed) also accepts `?token=`. A revoked or expired token answers 401 on its next request (tokens are read
on every request, never cached). Admins manage tokens at `/api/v1/tokens`. Every response carries the service's
own `X-Request-ID`; a client's `X-Request-ID` is kept beside it as `client_request_id` (log line, audit event
`data`), never in its place.
"""


async def _purge_idempotency_keys(app: FastAPI, every_seconds: float = 3600) -> None:
    """Idempotency keys live 24 h: drop the expired ones (and the ended web sessions) at start-up and then hourly."""
    ttl = timedelta(hours=app.state.settings.idempotency_ttl_hours)
    settings = app.state.settings
    idle, absolute = timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_absolute_hours)

    def purge_sessions() -> None:
        with app.state.db.transaction(write=True) as session:
            auth.purge_sessions(session, now=now_utc(), idle=idle, absolute=absolute)

    while True:
        try:
            await run_in_threadpool(lambda: keys.purge(app.state.db, before=now_utc() - ttl))
        except Exception as exc:  # noqa: BLE001 - a failed purge is retried next hour; the service goes on
            get_logger(__name__).warning("idempotency_purge_failed", error=type(exc).__name__)
        try:  # web sessions that have ended by time (they already sign no one in; this only tidies the table)
            await run_in_threadpool(purge_sessions)
        except Exception as exc:  # noqa: BLE001
            get_logger(__name__).warning("session_purge_failed", error=type(exc).__name__)
        await asyncio.sleep(every_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    db = Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        # Sync endpoints run in anyio's thread pool; a small pool beats 40 threads fighting over the GIL.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_limit
        signer_for(settings)  # the key that signs audit tree heads (SPEC §6): read, or generated, at start
        purger = asyncio.create_task(_purge_idempotency_keys(app))
        # Webhook delivery (SPEC §7): a worker thread when LEDGER_WEBHOOK_WORKER is on (`serve` turns it on).
        worker = DeliveryWorker(db.sessions, settings).start() if settings.webhook_worker else None
        app.state.webhook_worker = worker
        yield
        purger.cancel()
        if worker is not None:
            await run_in_threadpool(worker.stop)
        db.dispose()

    app = FastAPI(
        title="chain-ledger",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # /docs and /redoc: service/api_docs.py, from the service's own files (no CDN)
        redoc_url=None,
        # The service logs and counts every request itself (service/middleware.py); FastAPI's own OpenTelemetry
        # hooks, with no provider configured, would only look for one on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # Engines, pools, turns and every SQLite/PostgreSQL difference: service/db/database.py.
    app.state.db = db

    install_errors(app)
    api_docs.mount(app)

    @app.exception_handler(keys.Replay)
    async def _replay(_request: Request, exc: keys.Replay):  # noqa: ANN202
        return replay(exc.response)

    # A request is matched against the routes in this order: the hottest (projects) first.
    app.include_router(imports.router, prefix=API_PREFIX)  # before /projects/{project_id}
    app.include_router(projects.router, prefix=API_PREFIX)
    app.include_router(system.root)
    app.include_router(system.api, prefix=API_PREFIX)
    app.include_router(reference.router, prefix=API_PREFIX)
    app.include_router(ledger.router, prefix=API_PREFIX)
    app.include_router(plans.router, prefix=API_PREFIX)
    for rhythm in (calendar, schedule, dispatches, problems, inspections, appraisals, warnings, cycle_times):
        app.include_router(rhythm.router, prefix=API_PREFIX)
    app.include_router(history.router, prefix=API_PREFIX)
    app.include_router(audit.router, prefix=API_PREFIX)
    app.include_router(audit_export.router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX)
    app.include_router(tokens.router, prefix=API_PREFIX)
    # The web frontend (SPEC §8): pages at /, static files at /static, a signed session cookie for them only.
    web.mount(app, secret_key=session_secret(settings), max_age=settings.session_absolute_hours * 3600,
              install_errors=install_errors)

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["*"], allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID", "Idempotent-Replayed"],
        )
    app.add_middleware(RequestMiddleware, limit=settings.max_body_bytes, import_limit=settings.max_import_bytes)
    return app
