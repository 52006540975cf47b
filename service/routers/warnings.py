"""Early warnings (预警, SPEC §3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from service.deps import CtxDep, SessionDep, settings_of
from service.errors import responses
from service.routers.common import BY_RANK_AND_ID, Limit, RankCursor, cursor_values, json_response, next_cursor
from service.schemas.common import Page
from service.schemas.monitoring import WarningRead, WarningRule
from service.usecases import warnings as uc

router = APIRouter(tags=["ledger"])


def _days(name: str, default_setting: str) -> object:
    return Query(ge=1, le=36500, description=f"Override the {name} threshold in days (default: "
                 f"`LEDGER_{default_setting.upper()}`).")


@router.get("/warnings", response_model=Page[WarningRead], operation_id="list_warnings",
            responses=responses(401, 422),
            description="Projects that need attention, computed in SQL: idle in a stage for more than a threshold "
            "— `idle_signed` (signed, not started; default 180 days), `idle_started` (started, not in production; "
            "730), `idle_in_production` (in production, not at capacity; 365) — and `no_dispatch`: a project still "
            "being built or ramped up, signed by the start of the window, with no figure in any submitted monthly "
            "dispatch of the last N completed months (default 2; on 2026-11-24 the window is 2026-09 and 2026-10) "
            "or later. Defaults come from the `LEDGER_WARN_*` settings; the query parameters override them. "
            "Voided projects never warn; cancelled and at-capacity ones are not idle. Ordered by rule "
            "(the order above), then project id; one project may appear under two rules.")
def list_warnings(
    request: Request,
    session: SessionDep,
    ctx: CtxDep,
    chain: Annotated[str | None, Query(max_length=32)] = None,
    district: Annotated[str | None, Query(max_length=32)] = None,
    rule: Annotated[list[WarningRule] | None, Query(description="Only these rules (repeat).")] = None,
    signed_days: Annotated[int | None, _days("signed → not started", "warn_signed_days")] = None,
    started_days: Annotated[int | None, _days("started → not in production", "warn_started_days")] = None,
    in_production_days: Annotated[int | None, _days("in production → not at capacity",
                                                    "warn_in_production_days")] = None,
    dispatch_months: Annotated[int | None, Query(ge=1, le=24, description="Override the number of completed "
                                                 "months without a dispatch figure (default: "
                                                 "`LEDGER_WARN_DISPATCH_MONTHS`).")] = None,
    cursor: RankCursor = None,
    limit: Limit = 50,
) -> Response:
    s = settings_of(request)
    thresholds = uc.Thresholds(
        signed_days=signed_days or s.warn_signed_days,
        started_days=started_days or s.warn_started_days,
        in_production_days=in_production_days or s.warn_in_production_days,
        dispatch_months=dispatch_months or s.warn_dispatch_months,
    )
    after = cursor_values(cursor, BY_RANK_AND_ID)
    items = uc.list_warnings(
        session, today=ctx.today, thresholds=thresholds, chain=chain, district=district,
        rules=frozenset(r.value for r in rule) if rule else None,
        after=(after[0], after[1]) if after else None, limit=limit + 1,
    )
    return json_response(Page[WarningRead](
        items=[WarningRead(rule=i.rule, project_id=i.project_id, name=i.name, chain=i.chain, district=i.district,
                           stage=i.stage, is_key=i.is_key, since=i.since, days_idle=i.days_idle,
                           threshold=i.threshold, last_dispatch_period=i.last_dispatch_period,
                           missed_months=i.missed_months)
               for i in items[:limit]],
        next_cursor=next_cursor(items, limit, lambda i: [i.rank, i.project_id]),
    ))
