"""The working-day calendar (SPEC §4): an admin override per year on top of the maintained library."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.calendar_library import library_version, working_calendar
from service.db.rhythm import CalendarRepo
from service.db.tables import CalendarOverride
from service.domain import errors as d
from service.domain.access import Role
from service.domain.calendar import CalendarSource, WorkingCalendar, YearCalendar, year_calendar_from_lists
from service.domain.context import Ctx
from service.usecases.common import audit
from service.usecases.rhythm import check_version_or_absent


@dataclass(frozen=True, slots=True)
class CalendarView:
    calendar: YearCalendar  # the one in use for the year
    override: CalendarOverride | None
    library_version: str


def _dates(text: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in json.loads(text))


def _iso(days: frozenset[date]) -> list[str]:
    return [d.isoformat() for d in sorted(days)]


def _override_calendar(row: CalendarOverride) -> YearCalendar:
    return YearCalendar(row.year, _dates(row.holidays), _dates(row.workdays), CalendarSource.OVERRIDE)


def working_calendar_of(session: Session) -> WorkingCalendar:
    """The calendar the service uses now: the library's years with every stored override on top."""
    return working_calendar(_override_calendar(row) for row in CalendarRepo(session).all())


def get_calendar(session: Session, *, year: int) -> CalendarView:
    row = CalendarRepo(session).get(year)
    if row is not None:
        return CalendarView(_override_calendar(row), row, library_version())
    return CalendarView(working_calendar().year_calendar(year), None, library_version())


def _snapshot(row: CalendarOverride) -> dict[str, Any]:
    return {"holidays": json.loads(row.holidays), "workdays": json.loads(row.workdays)}


def put_calendar(
    session: Session, *, ctx: Ctx, year: int, holidays: list[date], workdays: list[date], if_match: int | None
) -> tuple[CalendarView, bool]:
    """Create (``True``) or replace the override of ``year``. Replacing needs If-Match; an unchanged
    replacement writes nothing. Audited ``calendar.created`` / ``calendar.updated``."""
    ctx.actor.require(Role.ADMIN, action="load the working-day calendar")
    cal = year_calendar_from_lists(year, holidays, workdays, loc=("body",))
    repo = CalendarRepo(session)
    row = repo.get(year, for_update=True)
    check_version_or_absent(row.version if row else None, if_match, required=True)
    new_holidays, new_workdays = json.dumps(_iso(cal.holidays)), json.dumps(_iso(cal.workdays))
    if row is None:
        row = CalendarOverride(year=year, holidays=new_holidays, workdays=new_workdays,
                               created_at=ctx.now, updated_at=ctx.now)
        try:
            repo.add(row)
        except IntegrityError as exc:  # PostgreSQL: another request created it meanwhile
            raise d.Conflict(f"The calendar of {year} was created concurrently; read it and retry.") from exc
        audit(session, ctx, action="calendar.created", entity="calendar", entity_id=str(year),
              before=None, after=_snapshot(row))
        return CalendarView(_override_calendar(row), row, library_version()), True
    before = _snapshot(row)
    row.holidays, row.workdays = new_holidays, new_workdays
    if _snapshot(row) != before:
        row.version += 1
        row.updated_at = ctx.now
        session.flush()
        audit(session, ctx, action="calendar.updated", entity="calendar", entity_id=str(year),
              before=before, after=_snapshot(row))
    return CalendarView(_override_calendar(row), row, library_version()), False
