"""Cycle times (早落地、早开工、早投产, SPEC §3 "Speed"): how fast each chain's or district's projects move."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.deps import SessionDep
from service.domain import errors as d
from service.domain.periods import Period, parse_period
from service.errors import responses
from service.routers.common import PERIOD_PATTERN, respond
from service.schemas.monitoring import (
    ChainCycleRow,
    CycleSteps,
    CycleTimesRead,
    DistrictCycleRow,
    GroupBy,
    StepStatsRead,
)
from service.usecases import cycle_times as uc

router = APIRouter(tags=["ledger"])
PERCENTILE = (
    "Linear interpolation between closest ranks (Hyndman–Fan type 7, PostgreSQL percentile_cont, Excel "
    "PERCENTILE.INC): with the n durations sorted x[0] ≤ … ≤ x[n−1] and h = p·(n−1), P(p) = x[⌊h⌋] + "
    "(h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]); days rounded to 0.1."
)


def _period(text: str) -> Period:
    try:
        return parse_period(text)
    except d.InvalidInput as exc:
        raise d.InvalidInput.at(["query", "period"], exc.detail) from exc


def _steps(stats: dict[str, uc.StepStats]) -> dict[str, StepStatsRead]:
    return {name: StepStatsRead(count=s.count, median_days=s.median_days, p90_days=s.p90_days)
            for name, s in stats.items()}


@router.get("/ledger/cycle-times", response_model=CycleTimesRead, operation_id="get_cycle_times",
            responses=responses(401, 422),
            description="For each step (`signed_to_started`, `started_to_in_production`, "
            "`in_production_to_at_capacity`): the count, median and 90th percentile of the days it took, over the "
            "projects that completed the step in the period (the step's later milestone falls in it), computed in "
            "SQL, per chain or district (every one of the reference data, ordered by code) and in `totals`. "
            "Voided projects are left out; cancelled projects count for the steps they completed. Percentile: "
            + PERCENTILE)
def get_cycle_times(
    request: Request,
    session: SessionDep,
    period: Annotated[str, Query(pattern=PERIOD_PATTERN, description="`2026`, `2026-Q2` or `2026-05`.")],
    by: Annotated[GroupBy, Query(description="Group by `chain` or `district`.")] = GroupBy.CHAIN,
) -> Response:
    p = _period(period)
    rows, totals = uc.read_cycle_times(session, period=p, by=by.value)
    model = ChainCycleRow if by is GroupBy.CHAIN else DistrictCycleRow
    body = CycleTimesRead(
        period=str(p), from_=p.start, to=p.end, by=by, percentile=PERCENTILE,
        rows=[model(**{by.value: r.code}, name=r.name, **_steps(r.steps)) for r in rows],
        totals=CycleSteps(**_steps(totals)),
    )
    return respond(request, None, body)
