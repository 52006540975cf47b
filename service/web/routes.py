"""The web frontend (SPEC §8) as an application of its own, mounted under the API: the pages of
``service/web/pages/`` on the router of ``service/web/frame.py`` (which says how every page works), the static
files, and the browser session's middleware — which therefore wraps the pages only: an API request is matched by
the API's routes first and never passes through it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from service.web.frame import STATIC, router
from service.web.pages import (  # noqa: F401  (importing a page module registers its routes)
    account,
    appraisals,
    audit,
    calendar,
    chains,
    cycle_times,
    dispatch,
    imports,
    inspections,
    ledger,
    overview,
    plans,
    problems,
    project_forms,
    project_list,
    projects,
    schedule,
    tokens,
)
from service.web.session import WebSessionMiddleware


class WebMount(Mount):
    """The web application's mount at ``/``: it takes what the API's routes leave, and no more. Paths under
    ``/api/`` are never the web's (an unknown API path stays a 404 problem, a trailing slash is redirected, a
    wrong method is 405), and the mount only ever matches partially, so that a route of the application that
    matched the path but not the method still answers 405."""

    def matches(self, scope: Scope) -> tuple[Match, dict[str, Any]]:
        if scope["path"].startswith("/api/"):
            return Match.NONE, {}
        match, child = super().matches(scope)
        return (Match.PARTIAL if match is Match.FULL else match), child


def mount(app: FastAPI, *, secret_key: str, max_age: int, install_errors: Callable[[FastAPI], None]) -> FastAPI:
    """Mount the web frontend on ``app``, after its API routes (the mount takes every path they leave). The two
    share one ``state`` (the database, the settings, the clock tests move), and ``install_errors`` gives the web
    the API's answers to what no page handles (an unknown path: 404 problem). Returns the web application."""
    web = FastAPI(openapi_url=None, docs_url=None, redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    web.state = app.state
    install_errors(web)
    web.include_router(router)
    web.include_router(imports.upload_router)  # the upload checks its multipart form's CSRF token itself
    web.mount("/static", StaticFiles(directory=STATIC), name="static")
    web.add_middleware(WebSessionMiddleware, secret_key=secret_key, max_age=max_age)
    app.router.routes.append(WebMount("/", app=web, name="web"))
    return web
