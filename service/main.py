"""create_app(): routers, error handlers, middleware, database."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from service import __version__
from service.config import Settings, get_settings
from service.db.engine import is_sqlite, is_sqlite_file, make_engine, make_sessionmaker
from service.deps import IdempotentReplay, purge_expired_keys
from service.errors import install as install_errors
from service.logging import configure_logging, get_logger
from service.middleware import BodyLimitMiddleware, RequestContextMiddleware
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
    warnings,
    webhooks,
)
from service.routers.common import replay
from service.web import routes as web
from service.web.session import WebSessionMiddleware
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
"""


async def _purge_idempotency_keys(app: FastAPI, every_seconds: float = 3600) -> None:
    """Idempotency keys live 24 h: drop the expired ones at start-up and then hourly."""
    while True:
        try:
            await run_in_threadpool(purge_expired_keys, app.state.sessions, app.state.settings)
        except Exception as exc:  # noqa: BLE001 - a failed purge is retried next hour; the service goes on
            get_logger(__name__).warning("idempotency_purge_failed", error=type(exc).__name__)
        await asyncio.sleep(every_seconds)


def _session_secret(settings: Settings) -> str:
    if settings.session_secret:
        return settings.session_secret
    get_logger(__name__).warning("session_secret_generated", hint="set LEDGER_SESSION_SECRET to keep web sessions "
                                 "across restarts, workers and instances")
    return secrets.token_urlsafe(32)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        # Sync endpoints run in anyio's thread pool; a small pool beats 40 threads fighting over the GIL.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.thread_limit
        purger = asyncio.create_task(_purge_idempotency_keys(app))
        # Webhook delivery (SPEC §7): a worker thread when LEDGER_WEBHOOK_WORKER is on (`serve` turns it on).
        worker = DeliveryWorker(app.state.sessions, settings).start() if settings.webhook_worker else None
        app.state.webhook_worker = worker
        yield
        purger.cancel()
        if worker is not None:
            await run_in_threadpool(worker.stop)
        engine.dispose()
        for extra in (inline, reads):
            if extra is not None:
                extra.dispose()

    app = FastAPI(
        title="chain-ledger",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    # Commits (and rollbacks) of request transactions run on threads of their own: see service/deps.py.
    app.state.commit_limiter = anyio.CapacityLimiter(settings.thread_limit)
    # Single-statement reads in worker threads take turns, read_concurrency at a time (service/deps.py: read_limiter).
    app.state.read_limiter = anyio.CapacityLimiter(settings.read_concurrency)
    # The ledger's reports take turns, report_concurrency at a time (service/deps.py: report_turn).
    app.state.report_turns = anyio.Semaphore(settings.report_concurrency)
    # SQLite: write requests take turns on the event loop (service/deps.py: take_write_turn); the token lookup
    # and bounded reads run on the event loop through connections of their own (get_actor, inline_on_sqlite).
    app.state.write_gate = anyio.Lock() if is_sqlite(engine) else None
    url = settings.database_url
    # Only the event loop uses it, so it never waits; overflow is unbounded so that it never could.
    inline = make_engine(url, pool_size=2, max_overflow=-1) if is_sqlite_file(url) else None
    app.state.inline_engine = inline
    app.state.inline_sessions = make_sessionmaker(inline) if inline is not None else None
    # Single-statement reads (service/db/raw.py: the token, a project, a page): the loop's connections on a SQLite
    # file; on PostgreSQL autocommit connections of their own, used only from worker threads (thread_limit).
    if inline is not None or is_sqlite(engine):
        reads = None
        app.state.reads_engine = inline or engine
    else:
        reads = make_engine(url, pool_size=settings.thread_limit, max_overflow=0, autocommit=True)
        app.state.reads_engine = reads

    install_errors(app)

    @app.exception_handler(IdempotentReplay)
    async def _replay(_request: Request, exc: IdempotentReplay):  # noqa: ANN202
        return replay(exc.record)

    app.include_router(system.root)
    app.include_router(system.api, prefix=API_PREFIX)
    app.include_router(reference.router, prefix=API_PREFIX)
    app.include_router(imports.router, prefix=API_PREFIX)  # before /projects/{project_id}
    app.include_router(projects.router, prefix=API_PREFIX)
    app.include_router(ledger.router, prefix=API_PREFIX)
    app.include_router(plans.router, prefix=API_PREFIX)
    for rhythm in (calendar, schedule, dispatches, problems, inspections, appraisals, warnings, cycle_times):
        app.include_router(rhythm.router, prefix=API_PREFIX)
    app.include_router(history.router, prefix=API_PREFIX)
    app.include_router(audit.router, prefix=API_PREFIX)
    app.include_router(audit_export.router, prefix=API_PREFIX)
    app.include_router(webhooks.router, prefix=API_PREFIX)
    # The web frontend (SPEC §8): pages at /, static files at /static, a signed session cookie for them only.
    web.mount(app)
    app.add_middleware(WebSessionMiddleware, secret_key=_session_secret(settings))

    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origin_list, allow_methods=["*"], allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID", "Idempotent-Replayed"],
        )
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes, import_limit=settings.max_import_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app
