"""Annual plans (一链一表, SPEC §5): the plan of a chain-year, its revisions, tasks, actuals and progress."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles
from service.domain.access import Role
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.errors import responses
from service.routers.common import (
    BY_NUMBER,
    IfMatch,
    IfMatchRequired,
    Limit,
    NumberCursor,
    cursor_values,
    json_response,
    next_cursor,
    parse_if_match,
    respond,
)
from service.schemas.common import Page
from service.schemas.plans import (
    ActualCreate,
    ActualRead,
    CityProgressRead,
    PlanProgressRead,
    PlanPut,
    PlanRead,
    PlanRevisionRead,
    TaskUpdate,
    actual_read,
    city_progress_read,
    plan_read,
    progress_read,
    revision_read,
)
from service.usecases import plan_progress as progress_uc
from service.usecases import plans as uc

router = APIRouter(tags=["plans"])
WRITERS = [require_roles(Role.ADMIN, Role.DEPARTMENT, action="write plans")]
APPROVERS = [require_roles(Role.ADMIN, action="approve plans")]
READ_ERRORS = responses(401, 404, 422)

ChainCode = Annotated[str, Path(max_length=32, description="The chain's code.")]
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="The plan year.")]
Key = Annotated[str, Path(max_length=64, description="The task's or indicator's key within the plan.")]
BASE = "/chains/{code}/plans/{year}"


def _created_or_replaced(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {201: {"model": model, "description": "Created"}}


@router.put(
    BASE, response_model=PlanRead, operation_id="put_plan", dependencies=WRITERS,
    responses={**_created_or_replaced(PlanRead), **responses(400, 401, 403, 404, 412, 422, 428)},
    description=(
        "Creates the chain-year's plan (201, revision 1, `draft`) or replaces it (200; `If-Match` with the plan's "
        "ETag required: 428 without, 412 when stale). While a draft, revision 1 is edited in place. Once approved, a "
        "PUT needs `revision_reason` (422 without) and creates revision n+1, approved at once; older revisions stay "
        "readable and frozen. Task `status`/`done_on` carry over by task key (new keys start `open`). A PUT whose "
        "content equals the current plan changes nothing. The plan's `version` covers its tasks and indicators "
        "and grows across revisions.\n\n"
        "`source` is `manual` (monthly actuals typed in) or computed by the service: `ledger.<list>.count` / "
        "`ledger.<list>.investment` (list ∈ signed, started, in_production, at_capacity: the chain's projects "
        "whose milestone falls in the plan year, voided excluded — the ledger's own figures) or `dispatch.invested` "
        "(sum of the chain's submitted monthly dispatch entries for the months of the year). Task and indicator "
        "keys are unique within the plan; tasks are due within the plan year; `benchmark_city` defaults to the "
        "chain's, an indicator benchmark's `city` to the plan's."
    ),
)
def put_plan(
    request: Request, code: ChainCode, year: Year, body: PlanPut, session: SessionDep, ctx: CtxDep,
    if_match: IfMatch = None,
) -> Response:
    view, created = uc.put_plan(session, ctx=ctx, chain=code, year=year, data=body, if_match=parse_if_match(if_match))
    return respond(request, session, plan_read(view), status_code=201 if created else 200, version=view.plan.version)


@router.get(
    BASE, response_model=PlanRead, operation_id="get_plan", responses=READ_ERRORS,
    description="The current (latest) revision, or `?revision=n` for any earlier one (404 when unknown).",
)
def get_plan(
    request: Request, code: ChainCode, year: Year, session: SessionDep,
    revision: Annotated[int | None, Query(ge=1, le=10_000, description="A revision number.")] = None,
) -> Response:
    view = uc.get_plan(session, chain=code, year=year, revision=revision)
    return respond(request, None, plan_read(view), version=view.plan.version)


@router.get(
    f"{BASE}/revisions", response_model=Page[PlanRevisionRead], operation_id="list_plan_revisions",
    responses=READ_ERRORS, description="Every revision of the chain-year's plan, oldest first.",
)
def list_plan_revisions(
    code: ChainCode, year: Year, session: SessionDep, cursor: NumberCursor = None, limit: Limit = 50
) -> Response:
    after = cursor_values(cursor, BY_NUMBER)
    rows = uc.list_revisions(session, chain=code, year=year, after=after[0] if after else None, limit=limit + 1)
    return json_response(Page[PlanRevisionRead](items=[revision_read(p) for p in rows[:limit]],
                                                next_cursor=next_cursor(rows, limit, lambda p: [p.revision])))


@router.post(
    f"{BASE}/approve", response_model=PlanRead, operation_id="approve_plan", dependencies=APPROVERS,
    responses=responses(400, 401, 403, 404, 409, 412, 422),
    description="Admin only. Approves the draft (409 when already approved). Honours `If-Match` when sent.",
)
def approve_plan(
    request: Request, code: ChainCode, year: Year, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    view = uc.approve_plan(session, ctx=ctx, chain=code, year=year, if_match=parse_if_match(if_match))
    return respond(request, session, plan_read(view), version=view.plan.version)


@router.patch(
    f"{BASE}/tasks/{{key}}", response_model=PlanRead, operation_id="update_plan_task", dependencies=WRITERS,
    responses=responses(400, 401, 403, 404, 412, 422, 428),
    description=(
        "Marks a task of the current revision `done` (`done_on` defaults to today, never in the future) or `open` "
        "again (clears `done_on`). Requires the plan's ETag in `If-Match`; answers the plan with its new version."
    ),
)
def update_plan_task(
    request: Request, code: ChainCode, year: Year, key: Key, body: TaskUpdate, session: SessionDep, ctx: CtxDep,
    if_match: IfMatchRequired,
) -> Response:
    view = uc.update_task(session, ctx=ctx, chain=code, year=year, key=key, data=body,
                          if_match=parse_if_match(if_match))
    return respond(request, session, plan_read(view), version=view.plan.version)


@router.post(
    f"{BASE}/indicators/{{key}}/actuals", response_model=ActualRead, operation_id="record_plan_actual",
    dependencies=WRITERS, responses={**_created_or_replaced(ActualRead), **responses(400, 401, 403, 404, 409, 422)},
    description=(
        "Records a `manual` indicator's amount for a month of the plan year (201), or replaces that month's amount "
        "(200, audited as an update). A computed indicator (ledger or dispatch source) takes no actual: 409. "
        "A month outside the plan year or not yet begun, or a negative value: 422. Actuals belong to the indicator "
        "key, so they survive revisions; they do not change the plan's version."
    ),
)
def record_plan_actual(
    request: Request, code: ChainCode, year: Year, key: Key, body: ActualCreate, session: SessionDep, ctx: CtxDep
) -> Response:
    row, created = uc.record_actual(session, ctx=ctx, chain=code, year=year, key=key, data=body)
    return respond(request, session, actual_read(row), status_code=201 if created else 200, version=row.version)


@router.get(
    f"{BASE}/indicators/{{key}}/actuals", response_model=Page[ActualRead], operation_id="list_plan_actuals",
    responses=READ_ERRORS, description="The indicator's monthly actuals, by month (at most 12: one page).",
)
def list_plan_actuals(code: ChainCode, year: Year, key: Key, session: SessionDep) -> Response:
    rows = uc.list_actuals(session, chain=code, year=year, key=key)
    return json_response(Page[ActualRead](items=[actual_read(a) for a in rows], next_cursor=None))


@router.get(
    f"{BASE}/progress", response_model=PlanProgressRead, operation_id="get_plan_progress", responses=READ_ERRORS,
    description=(
        "Per indicator: `actual` (computed, or the sum of the manual months), `completion` = actual / target "
        "(uncapped; a zero target counts as 1), `expected` = elapsed share of the year today (configured time "
        "zone), `status` ahead (completion ≥ expected + 0.10) | behind (< expected − 0.10) | on_track, and "
        "`benchmark_gap` = actual − benchmark where a benchmark is set. Per task: `overdue` (not done, due before "
        "today) and `done_on_time`. Reads the approved (current) revision; a plan that is still a draft answers "
        "the draft's progress with `approved: false`. 404 when the chain has no plan for the year."
    ),
)
def get_plan_progress(code: ChainCode, year: Year, session: SessionDep, ctx: CtxDep) -> Response:
    return json_response(progress_read(uc.plan_progress(session, chain=code, year=year, today=ctx.today),
                                       today=ctx.today))


@router.get(
    "/plans/{year}/progress", response_model=CityProgressRead, operation_id="get_city_plan_progress",
    responses=responses(401, 422),
    description=(
        "City-wide view for the development and reform commission: every chain (by code) with its plan's "
        "indicators side by side (the same figures as a chain's progress) and a tally of its tasks; chains "
        "without a plan for the year have `has_plan: false`; draft-only plans `approved: false`."
    ),
)
def get_city_plan_progress(year: Year, session: SessionDep, ctx: CtxDep) -> Response:
    rows, expected = progress_uc.city_progress(session, year=year, today=ctx.today)
    return json_response(city_progress_read(rows, year=year, today=ctx.today, expected=expected))

