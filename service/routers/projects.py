"""Projects and their stage transitions (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.deps import ActorDep, CtxDep, SessionDep, db_of, require_roles
from service.domain.access import Role
from service.domain.queries import ProjectFilter
from service.domain.stages import Stage
from service.errors import responses
from service.routers.common import (
    BY_ID,
    AsOf,
    IdCursor,
    IfMatch,
    IfMatchRequired,
    Limit,
    cursor_values,
    json_response,
    next_cursor,
    parse_if_match,
    respond,
)
from service.schemas.common import Page
from service.schemas.projects import (
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    ReasonInput,
    TransitionCreate,
    project_json,
    projects_json,
)
from service.usecases import history as history_uc
from service.usecases import projects as uc

router = APIRouter(tags=["projects"])
CREATORS = [require_roles(Role.ADMIN, Role.DEPARTMENT, Role.INTEGRATION, action="create projects")]
EDITORS = [require_roles(Role.ADMIN, Role.DEPARTMENT, action="change projects")]
ACTION_ERRORS = responses(400, 401, 403, 404, 409, 412, 422)


@router.post("/projects", status_code=201, response_model=ProjectRead, operation_id="create_project",
             dependencies=CREATORS, responses=responses(400, 401, 403, 409, 422),
             description="Creates a project at stage `signed` (or later, for historical backfill, with every "
             "earlier milestone). Send `Idempotency-Key` to make retries safe. Duplicate `external_ref` → 409 "
             "naming the existing id in `existing_id`.")
def create_project(request: Request, body: ProjectCreate, session: SessionDep, ctx: CtxDep) -> Response:
    p = uc.create_project(session, ctx=ctx, data=body)
    return respond(request, session, project_json(p), status_code=201, version=p.version)


@router.get("/projects", response_model=Page[ProjectRead], operation_id="list_projects", responses=responses(401, 422),
            description="Ordered by id (creation order). `q` matches name or investor literally (`%`, `_` too).")
async def list_projects(
    request: Request,
    _actor: ActorDep,
    chain: Annotated[str | None, Query(max_length=32)] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
    stage: Stage | None = None,
    key: bool | None = None,
    major: bool | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    include_voided: bool = False,
    cursor: IdCursor = None,
    limit: Limit = 50,
) -> Response:
    after = cursor_values(cursor, BY_ID)
    f = ProjectFilter(chain=chain, district=district, stage=stage.value if stage else None, key=key, major=major,
                      q=q, include_voided=include_voided)
    rows = await db_of(request).read(uc.list_projects, f=f, after=after[0] if after else None, limit=limit + 1)
    # Serialised once here: returning the model would have FastAPI validate the whole page again
    # (docs/performance.md).
    return json_response({"items": projects_json(rows[:limit]),
                          "next_cursor": next_cursor(rows, limit, lambda p: [p.id])})


@router.get("/projects/{project_id}", response_model=ProjectRead, operation_id="get_project",
            responses=responses(401, 404, 422),
            description="Voided projects stay readable here with `voided: true`. `as_of` (RFC 3339 with a "
            "time zone) answers the project as the ledger knew it at that moment (404 if it was not known yet; 422 "
            "before the first event or in the future).")
async def get_project(request: Request, project_id: str, ctx: CtxDep, as_of: AsOf = None) -> Response:
    db = db_of(request)  # (not a dependency: the hottest read of the API spends nothing it need not)
    if as_of is not None:
        p = await db.read_session(history_uc.project_as_of, project_id=project_id, as_of=as_of, now=ctx.now)
    else:
        p = await db.read(uc.read_project, project_id=project_id)
    return json_response(project_json(p), version=p.version)


@router.patch("/projects/{project_id}", response_model=ProjectRead, operation_id="update_project",
              dependencies=EDITORS, responses=responses(400, 401, 403, 404, 409, 412, 422, 428),
              description="Attributes only (never stage, milestones or chain). Requires `If-Match`.")
def update_project(
    request: Request, project_id: str, body: ProjectUpdate, session: SessionDep, ctx: CtxDep, if_match: IfMatchRequired
) -> Response:
    p = uc.update_project(session, ctx=ctx, project_id=project_id, data=body, if_match=parse_if_match(if_match))
    return respond(request, session, project_json(p), version=p.version)


@router.post("/projects/{project_id}/transitions", response_model=ProjectRead, operation_id="transition_project",
             dependencies=EDITORS, responses=ACTION_ERRORS,
             description="Moves the project one stage forward (or to `cancelled`, with `reason`). "
             "409 `/problems/invalid-transition` names the `allowed` targets. Honours `If-Match` when sent.")
def transition_project(
    request: Request, project_id: str, body: TransitionCreate, session: SessionDep, ctx: CtxDep,
    if_match: IfMatch = None,
) -> Response:
    p = uc.transition_project(session, ctx=ctx, project_id=project_id, data=body, if_match=parse_if_match(if_match))
    return respond(request, session, project_json(p), version=p.version)


@router.post("/projects/{project_id}/transitions/revert", response_model=ProjectRead, operation_id="revert_transition",
             dependencies=EDITORS, responses=ACTION_ERRORS,
             description="Undoes the latest transition (a data-entry correction); both stay in the history.")
def revert_transition(
    request: Request, project_id: str, body: ReasonInput, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    p = uc.revert_transition(session, ctx=ctx, project_id=project_id, reason=body.reason,
                             if_match=parse_if_match(if_match))
    return respond(request, session, project_json(p), version=p.version)


@router.post("/projects/{project_id}/void", response_model=ProjectRead, operation_id="void_project",
             dependencies=EDITORS, responses=ACTION_ERRORS,
             description="A project entered by mistake leaves every list and count; it stays readable with its "
             "history (`include_voided=true` on lists).")
def void_project(
    request: Request, project_id: str, body: ReasonInput, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    p = uc.void_project(session, ctx=ctx, project_id=project_id, reason=body.reason, if_match=parse_if_match(if_match))
    return respond(request, session, project_json(p), version=p.version)
