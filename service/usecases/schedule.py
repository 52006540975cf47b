"""The schedule of the tracking rhythm (SPEC §4): every chain's 17 items of a year with due dates and status.

Done is read from what was recorded: a monthly dispatch when it was submitted (``submitted_at``), a quarterly
inspection when it was recorded (its ``held_on``: the tour's business date), the annual appraisal when it was
published (``published_at``, the same for every chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from service.db.rhythm import AppraisalRepo, DispatchRepo, InspectionRepo, chain_codes
from service.domain import errors as d
from service.domain.schedule import DoneAt, ItemKind, ScheduleItem, chain_schedule, periods_of
from service.usecases.calendar import working_calendar_of
from service.usecases.rhythm import local


@dataclass(frozen=True, slots=True)
class Schedule:
    year: int
    items: list[ScheduleItem]  # by chain code, then due date
    chain_names: dict[str, str]


def read_schedule(session: Session, *, year: int, chain: str | None, today: date, tz: ZoneInfo) -> Schedule:
    chains = chain_codes(session, chain)
    if chain is not None and not chains:
        raise d.InvalidInput.at(["query", "chain"], f"Unknown chain '{chain}'.")
    calendar = working_calendar_of(session)
    months = [str(p) for p in periods_of(ItemKind.MONTHLY_DISPATCH, year)]
    quarters = [str(p) for p in periods_of(ItemKind.QUARTERLY_INSPECTION, year)]
    done: dict[str, dict[tuple[str, str], DoneAt | None]] = {code: {} for code, _ in chains}
    for r in DispatchRepo(session).submitted(months, chain):
        done.setdefault(r.chain, {})[(ItemKind.MONTHLY_DISPATCH.value, r.period)] = local(r.submitted_at, tz)
    for r in InspectionRepo(session).held(quarters, chain):
        done.setdefault(r.chain, {})[(ItemKind.QUARTERLY_INSPECTION.value, r.period)] = r.held_on
    published = local(AppraisalRepo(session).published_at(year), tz)
    items: list[ScheduleItem] = []
    for code, _ in chains:
        chain_done = done[code]
        if published is not None:
            chain_done[(ItemKind.ANNUAL_APPRAISAL.value, str(year))] = published
        items.extend(chain_schedule(code, year, calendar=calendar, today=today, done=chain_done))
    return Schedule(year=year, items=items, chain_names=dict(chains))
