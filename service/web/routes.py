"""Mounts the web frontend (SPEC §8): the pages of ``service/web/pages/`` on the router of ``service/web/frame.py``
(which says how every page works), and the static files."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from service.web.frame import STATIC, router
from service.web.pages import (  # noqa: F401  (importing a page module registers its routes)
    account,
    appraisals,
    audit,
    calendar,
    chains,
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


def mount(app: FastAPI) -> None:
    """The pages and their static files (CSS, the pinned htmx), outside the OpenAPI schema."""
    app.include_router(router)
    app.include_router(imports.upload_router)  # the upload checks its multipart form's CSRF token itself
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
