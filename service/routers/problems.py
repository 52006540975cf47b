"""Prominent problems (突出问题, SPEC §4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles
from service.domain.access import Role
from service.domain.problems import ProblemStatus
from service.domain.queries import ProblemFilter
from service.errors import responses
from service.routers.common import (
    BY_ID,
    IdCursor,
    IfMatch,
    Limit,
    cursor_values,
    json_response,
    next_cursor,
    parse_if_match,
    respond,
)
from service.schemas.common import Page
from service.schemas.rhythm import (
    ProblemCreate,
    ProblemRead,
    ProblemTransitionInput,
    problem_read,
)
from service.usecases import problems as uc

router = APIRouter(tags=["tracking rhythm"])
WRITERS = [require_roles(Role.ADMIN, Role.DEPARTMENT, action="write problems")]
LIFECYCLE = (
    "Lifecycle: created `open`; `open → in_progress | resolved`; `in_progress → resolved`; `resolved → closed | "
    "reopened`; `reopened → in_progress | resolved`; `closed` is terminal (the raiser's confirmation, 销号). "
    "`resolved_on` is set to today on `→ resolved` and cleared on `→ reopened`. Overdue = not resolved or closed "
    "and `due_on` before today."
)


@router.post("/problems", status_code=201, response_model=ProblemRead, operation_id="create_problem",
             dependencies=WRITERS, responses=responses(400, 401, 403, 409, 422),
             description="Raises a problem of a chain, optionally about one of its projects (a project of another "
             "chain, or voided → 422; an unknown chain → 422). Department tokens raise only for their chains "
             "(403). Audited `problem.created`. " + LIFECYCLE)
def create_problem(request: Request, body: ProblemCreate, session: SessionDep, ctx: CtxDep) -> Response:
    p = uc.create_problem(session, ctx=ctx, data=body)
    return respond(request, session, problem_read(p, overdue=uc.overdue(p, ctx.today)), status_code=201,
                   version=p.version)


@router.get("/problems", response_model=Page[ProblemRead], operation_id="list_problems",
            responses=responses(401, 422),
            description="Ordered by id (creation order). `overdue=true` keeps the overdue ones, `overdue=false` the "
            "others. " + LIFECYCLE)
def list_problems(
    session: SessionDep,
    ctx: CtxDep,
    chain: Annotated[str | None, Query(max_length=32)] = None,
    status: ProblemStatus | None = None,
    overdue: bool | None = None,
    project_id: Annotated[str | None, Query(max_length=26)] = None,
    cursor: IdCursor = None,
    limit: Limit = 50,
) -> Response:
    after = cursor_values(cursor, BY_ID)
    f = ProblemFilter(chain=chain, status=status.value if status else None, overdue=overdue, project_id=project_id)
    rows = uc.list_problems(session, f=f, today=ctx.today, after=after[0] if after else None, limit=limit + 1)
    items = [problem_read(p, overdue=uc.overdue(p, ctx.today)) for p in rows[:limit]]
    return json_response(Page[ProblemRead](items=items, next_cursor=next_cursor(rows, limit, lambda p: [p.id])))


@router.get("/problems/{problem_id}", response_model=ProblemRead, operation_id="get_problem",
            responses=responses(401, 404))
def get_problem(request: Request, problem_id: str, session: SessionDep, ctx: CtxDep) -> Response:
    p = uc.get_problem(session, problem_id=problem_id)
    return respond(request, None, problem_read(p, overdue=uc.overdue(p, ctx.today)), version=p.version)


@router.post("/problems/{problem_id}/transitions", response_model=ProblemRead, operation_id="transition_problem",
             dependencies=WRITERS, responses=responses(400, 401, 403, 404, 409, 412, 422),
             description="Moves the problem along its lifecycle with a `note`; an invalid move → 409 "
             "`/problems/invalid-transition` naming the `allowed` targets. Honours `If-Match` when sent. Audited "
             "`problem.transitioned`. " + LIFECYCLE)
def transition_problem(
    request: Request, problem_id: str, body: ProblemTransitionInput, session: SessionDep, ctx: CtxDep,
    if_match: IfMatch = None,
) -> Response:
    p = uc.transition_problem(session, ctx=ctx, problem_id=problem_id, data=body, if_match=parse_if_match(if_match))
    return respond(request, session, problem_read(p, overdue=uc.overdue(p, ctx.today)), version=p.version)
