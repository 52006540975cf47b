"""The web frontend for chain lead departments (SPEC §8): server-rendered pages at ``/``, zh-CN by default.

Every page reads through the use cases the API uses, and every action calls the same use case as the API with
a ``Ctx`` built from the signed-in session's actor exactly as ``service/deps.py`` builds it, in one write
transaction (``app.state.db.transaction(write=True)``, service/db/database.py): the same rules, the same rows,
the same audit events. Domain errors and validation details are shown inline, in the user's language.
A page offers only the actions the signed-in role may take; the use cases enforce the rules either way.

Forms work without JavaScript (POST → 303 redirect → GET). htmx (pinned, served from ``/static``) only
enhances the board: a stage move swaps the board in place instead of reloading the page.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from service.web.frame import STATIC, router
from service.web.pages import account, chains, dispatch, ledger, overview, projects  # noqa: F401  (registers the routes)


def mount(app: FastAPI) -> None:
    """The pages and their static files (CSS, the pinned htmx), outside the OpenAPI schema."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
