"""The project list (``/projects``): filters, text search and pages, exactly as ``GET /projects`` reads them.

The same use case (``list_projects``), the same filter (``ProjectFilter``) and the same keyset cursor (the last
id of a page, ``service/routers/common.py``): a page is one indexed query whatever the database's size.
The exports are the ledger's (the whole year, with the same chain/district/key/major filters).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from service.deps import db_of
from service.domain import errors as d
from service.domain.access import Role
from service.domain.queries import ProjectFilter
from service.domain.stages import LISTS, Stage
from service.routers.common import BY_ID, IdCursor, cursor_values, next_cursor
from service.usecases import projects as projects_uc
from service.web.frame import (
    SignedIn,
    TextQuery,
    all_reference,
    can_write,
    form_bool,
    optional_text,
    render,
    router,
)
from service.web.session import web_ctx

PAGE_SIZE = 50
STAGES = [s.value for s in (*LISTS, Stage.CANCELLED)]
SearchQuery = Annotated[str | None, Query(max_length=200)]


def _read(session: Session, *, f: ProjectFilter, after: str | None) -> tuple[list[Any], list[Any], list[Any]]:
    """The page's rows (one more than a page: is there a next?) and the filters' chains and districts, in one
    snapshot."""
    rows = projects_uc.list_projects(session, f=f, after=after, limit=PAGE_SIZE + 1)
    return rows, all_reference(session, "chain"), all_reference(session, "district")


@router.get("/projects")
async def project_list(
    request: Request, actor: SignedIn, chain: TextQuery = None, district: TextQuery = None, stage: TextQuery = None,
    key: TextQuery = None, major: TextQuery = None, q: SearchQuery = None, cursor: IdCursor = None,
) -> Response:
    """``async``, as ``GET /projects``: its reads are placed by ``Database.read_session`` (on the event loop on a
    SQLite file, in a worker thread in their turn elsewhere) and the page is rendered where they end. The busiest
    page, it paid two hops to worker threads and their contention for the interpreter, most of its time under load
    (docs/performance.md)."""
    stage = optional_text(stage)
    if stage is not None and stage not in STAGES:
        raise d.InvalidInput.at(["query", "stage"], f"Unknown stage '{stage}'.")
    f = ProjectFilter(chain=optional_text(chain), district=optional_text(district), stage=stage, key=form_bool(key),
                      major=form_bool(major), q=optional_text(q))
    after = cursor_values(cursor, BY_ID)
    rows, chains, districts = await db_of(request).read_session(_read, f=f, after=after[0] if after else None)
    query = {"chain": f.chain or "", "district": f.district or "", "stage": stage or "",
             "key": key if f.key is not None else "", "major": major if f.major is not None else "", "q": f.q or ""}
    shown = {k: v for k, v in query.items() if v}
    following = next_cursor(rows, PAGE_SIZE, lambda p: [p.id])
    exported = {k: v for k, v in shown.items() if k in ("chain", "district", "key", "major")}
    year = str(web_ctx(request, actor).today.year)
    return render(
        request, "projects.html", actor=actor, nav="projects", rows=rows[:PAGE_SIZE], query=query,
        chains=chains, districts=districts, stages=STAGES,
        chain_names={c.code: c.name for c in chains}, district_names={x.code: x.name for x in districts},
        next_url=f"/projects?{urlencode({**shown, 'cursor': following})}" if following else None,
        first_url=f"/projects?{urlencode(shown)}" if cursor else None,
        export_query=urlencode({"period": year, **exported}), year=year,
        may_register=actor.role in (Role.ADMIN, Role.INTEGRATION) or (actor.role is Role.DEPARTMENT and any(
            can_write(actor, c.code) for c in chains)),
    )
