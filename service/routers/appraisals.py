"""Annual appraisal (年度考核比拼, SPEC §4): weights, runs, publication. Writes are admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, require_roles, settings_of
from service.domain.access import Role
from service.domain.periods import MAX_YEAR, MIN_YEAR
from service.errors import responses
from service.routers.common import IfMatch, parse_if_match, respond
from service.schemas.rhythm import AppraisalRead, Weights, appraisal_read
from service.usecases import appraisals as uc

router = APIRouter(tags=["tracking rhythm"])
ADMIN_ONLY = [require_roles(Role.ADMIN, action="run, weigh or publish appraisals")]
Year = Annotated[int, Path(ge=MIN_YEAR, le=MAX_YEAR, description="The appraisal year.")]
SCORING = (
    "Score 0–100 = 100 × Σ weight × component; each component 0–1: `indicators` mean completion of the approved "
    "plan's indicators (each capped at 1, a zero target counts as met), `tasks` share of its tasks done by their "
    "due date (1 when it has none; both 0 without an approved plan), `dispatch` monthly dispatches submitted by "
    "their due date out of 12, `problems` share of the problems due in the year resolved by their due date (1 when "
    "none), `inspection` mean of the four quarterly scores / 100 (a missing quarter counts 0). Ranks are "
    "competition ranks (1, 1, 3) on the score rounded to 2 decimals; ties are listed by chain code. Each ranking "
    "shows the `inputs` its components come from."
)


def _read(row) -> AppraisalRead:  # noqa: ANN001
    return appraisal_read(row, uc.weights_of(row), uc.rankings_of(row))


@router.get("/appraisals/{year}", response_model=AppraisalRead, operation_id="get_appraisal",
            responses=responses(401, 404, 422), description="The year's appraisal, best first. " + SCORING)
def get_appraisal(request: Request, year: Year, session: SessionDep) -> Response:
    row = uc.get_appraisal(session, year=year)
    return respond(request, None, _read(row), version=row.version)


@router.put("/appraisals/{year}/weights", response_model=AppraisalRead, operation_id="put_appraisal_weights",
            dependencies=ADMIN_ONLY,
            responses={201: {"model": AppraisalRead, "description": "Created (the year's draft appraisal)"},
                       **responses(400, 401, 403, 409, 412, 422, 428)},
            description="Sets the five weights (each 0–1, summing to 1; else 422). Before the year's first run "
            "this creates its draft appraisal (201); afterwards it needs the appraisal's ETag in `If-Match` and "
            "re-scores the last run's inputs at once. 409 once published. Audited `appraisal.weights_set`.")
def put_weights(
    request: Request, year: Year, body: Weights, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    row, created = uc.set_weights(session, ctx=ctx, year=year, weights=body.model_dump(),
                                  if_match=parse_if_match(if_match))
    return respond(request, session, _read(row), status_code=201 if created else 200, version=row.version)


@router.post("/appraisals/{year}/run", response_model=AppraisalRead, operation_id="run_appraisal",
             dependencies=ADMIN_ONLY, responses=responses(401, 403, 409, 412, 422),
             description="Computes every chain's components, score and rank from the database (a year not begun "
             "→ 422; the current year gives a provisional ranking). Creates the year's draft with the default "
             "weights (0.40 / 0.15 / 0.15 / 0.15 / 0.15) when it has none. 409 once published. Honours `If-Match` "
             "when sent. Audited `appraisal.run`. " + SCORING)
def run_appraisal(request: Request, year: Year, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None) -> Response:
    row = uc.run_appraisal(session, ctx=ctx, year=year, if_match=parse_if_match(if_match), tz=settings_of(request).tz)
    return respond(request, session, _read(row), version=row.version)


@router.post("/appraisals/{year}/publish", response_model=AppraisalRead, operation_id="publish_appraisal",
             dependencies=ADMIN_ONLY, responses=responses(401, 403, 404, 409, 412, 422),
             description="Freezes the last run: afterwards every run or weights change → 409. Needs a run (409) and "
             "a year that is over (422). Honours `If-Match` when sent. Audited `appraisal.published`.")
def publish_appraisal(
    request: Request, year: Year, session: SessionDep, ctx: CtxDep, if_match: IfMatch = None
) -> Response:
    row = uc.publish_appraisal(session, ctx=ctx, year=year, if_match=parse_if_match(if_match))
    return respond(request, session, _read(row), version=row.version)
