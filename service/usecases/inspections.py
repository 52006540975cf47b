"""Quarterly inspection (季观摩, SPEC §4): one record per chain and quarter, created or replaced with PUT."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from service.db.rhythm import InspectionRepo
from service.db.tables import Inspection
from service.domain import errors as d
from service.domain.context import Ctx
from service.domain.periods import Period, PeriodKind
from service.domain.schedule import ItemKind, due_date, is_late
from service.schemas.rhythm import InspectionInput
from service.usecases.calendar import working_calendar_of
from service.usecases.common import audit
from service.usecases.reference import get_chain
from service.usecases.rhythm import (
    chain_for_write,
    check_chain_projects,
    check_version_or_absent,
    not_before_start,
    period_of,
)

FIELDS = ("held_on", "visited_projects", "score", "findings")


@dataclass(frozen=True, slots=True)
class InspectionView:
    row: Inspection
    due_on: date
    late: bool


def quarter_of(text: str) -> Period:
    return period_of(text, PeriodKind.QUARTER)


def _view(session: Session, row: Inspection) -> InspectionView:
    due = due_date(ItemKind.QUARTERLY_INSPECTION, quarter_of(row.period), working_calendar_of(session)).due_on
    return InspectionView(row=row, due_on=due, late=is_late(row.held_on, due))


def _snapshot(row: Inspection) -> dict[str, Any]:
    return {"held_on": row.held_on, "visited_projects": json.loads(row.visited_projects), "score": row.score,
            "findings": row.findings}


def get_inspection(session: Session, *, chain: str, period: str) -> InspectionView:
    p = quarter_of(period)
    get_chain(session, code=chain)
    row = InspectionRepo(session).get(chain, str(p))
    if row is None:
        raise d.NotFound(f"Chain '{chain}' has no inspection for {p}.")
    return _view(session, row)


def put_inspection(
    session: Session, *, ctx: Ctx, chain: str, period: str, data: InspectionInput, if_match: int | None
) -> tuple[InspectionView, bool]:
    """Create (``True``) or replace (If-Match required) a chain's inspection of a quarter."""
    p = quarter_of(period)
    chain_row = chain_for_write(session, ctx, chain, action="record inspections")
    not_before_start(p, ctx.today, what="An inspection")
    if data.held_on > ctx.today:
        raise d.InvalidInput.at(["body", "held_on"], f"{data.held_on.isoformat()} is in the future (today is "
                                f"{ctx.today.isoformat()}).")
    if data.held_on < p.start:
        raise d.InvalidInput.at(["body", "held_on"], f"{data.held_on.isoformat()} is before {p}, which begins on "
                                f"{p.start.isoformat()}.")
    repo = InspectionRepo(session)
    row = repo.get(chain_row.code, str(p), for_update=True)
    check_version_or_absent(row.version if row else None, if_match, required=True)
    check_chain_projects(session, chain_row.code, data.visited_projects,
                         loc=lambda i: ["body", "visited_projects", i], label="visited_projects")
    values = {"held_on": data.held_on, "visited_projects": json.dumps(data.visited_projects), "score": data.score,
              "findings": data.findings}
    if row is None:
        row = Inspection(chain=chain_row.code, period=str(p), **values, created_at=ctx.now, updated_at=ctx.now)
        repo.add(row)
        audit(session, ctx, action="inspection.created", entity="inspection", entity_id=f"{row.chain}/{p}",
              before=None, after=_snapshot(row))
        return _view(session, row), True
    before = _snapshot(row)
    for key, value in values.items():
        setattr(row, key, value)
    if _snapshot(row) != before:
        row.version += 1
        row.updated_at = ctx.now
        session.flush()
        audit(session, ctx, action="inspection.updated", entity="inspection", entity_id=f"{row.chain}/{p}",
              before=before, after=_snapshot(row))
    return _view(session, row), False
