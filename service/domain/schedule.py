"""The tracking rhythm of a chain-year (SPEC §4): 月调度 · 季观摩 · 年考评 items, due dates and status.

Per chain and year: 12 ``monthly_dispatch`` items (period ``2026-03``, nominally due the 5th of the next month),
4 ``quarterly_inspection`` items (``2026-Q1``, due 15 days after the quarter ends: 15 April, 15 July,
15 October, 15 January) and 1 ``annual_appraisal`` (``2026``, due 31 January of the next year). A nominal due
date on a non-working day moves to the next working day of the :class:`WorkingCalendar`; an item is
``provisional`` when a year consulted for its due date is decided by weekends alone.

Status, given ``today`` and the moment the item was done (``done_at``, a date or datetime):

==============  =====================================================================
``done``        done on or before the due date (whatever today is)
``done_late``   done after the due date (whatever today is)
``upcoming``    not done, the period is not over yet (today ≤ period end)
``open``        not done, the period is over and the due date not passed (today ≤ due)
``overdue``     not done and today > due
==============  =====================================================================

``done_at`` is compared by its calendar date: pass a date, or a datetime already converted to the service's
time zone (Asia/Shanghai by default); this module reads no clock and knows no zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from service.domain.calendar import WorkingCalendar
from service.domain.errors import InvalidInput
from service.domain.periods import Period, PeriodKind


class ItemKind(StrEnum):
    MONTHLY_DISPATCH = "monthly_dispatch"
    QUARTERLY_INSPECTION = "quarterly_inspection"
    ANNUAL_APPRAISAL = "annual_appraisal"


class ItemStatus(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    DONE = "done"
    DONE_LATE = "done_late"
    OVERDUE = "overdue"


#: The period kind of each item kind, and the display order of kinds sharing a due date.
PERIOD_KIND: dict[ItemKind, PeriodKind] = {
    ItemKind.MONTHLY_DISPATCH: PeriodKind.MONTH,
    ItemKind.QUARTERLY_INSPECTION: PeriodKind.QUARTER,
    ItemKind.ANNUAL_APPRAISAL: PeriodKind.YEAR,
}
_KIND_ORDER = {kind: i for i, kind in enumerate(ItemKind)}

#: Nominal due dates: dispatch the 5th of the next month, inspection 15 days after the quarter,
#: appraisal 31 January of the next year.
DISPATCH_DUE_DAY = 5
INSPECTION_GRACE = timedelta(days=15)
APPRAISAL_DUE = (1, 31)  # (month, day) of the following year

DoneAt = date | datetime


@dataclass(frozen=True, slots=True)
class DueDate:
    nominal_on: date  # the rule's date
    due_on: date  # moved to the next working day when the rule's date is not one
    moved: bool
    provisional: bool  # a year consulted was decided by weekends alone


@dataclass(frozen=True, slots=True)
class ScheduleItem:
    kind: ItemKind
    period: str  # "2026-03", "2026-Q1", "2026"
    chain: str
    due_on: date
    nominal_due_on: date
    moved: bool
    provisional: bool
    status: ItemStatus
    done_at: DoneAt | None = None


def periods_of(kind: ItemKind, year: int) -> list[Period]:
    """The periods of ``kind`` in ``year``: 12 months, 4 quarters or the year itself."""
    period_kind = PERIOD_KIND[ItemKind(kind)]
    if period_kind is PeriodKind.MONTH:
        return [Period(PeriodKind.MONTH, year, m) for m in range(1, 13)]
    if period_kind is PeriodKind.QUARTER:
        return [Period(PeriodKind.QUARTER, year, q) for q in range(1, 5)]
    return [Period(PeriodKind.YEAR, year)]


def _check_kind(kind: ItemKind, period: Period) -> ItemKind:
    kind = ItemKind(kind)
    if period.kind is not PERIOD_KIND[kind]:
        raise InvalidInput.at(
            ["period"], f"A {kind.value} item needs a {PERIOD_KIND[kind].value} period, not '{period}'."
        )
    return kind


def nominal_due_on(kind: ItemKind, period: Period) -> date:
    """The rule's due date, before any move to a working day."""
    kind = _check_kind(kind, period)
    after = period.end + timedelta(days=1)  # first day after the period
    if kind is ItemKind.MONTHLY_DISPATCH:
        return after.replace(day=DISPATCH_DUE_DAY)
    if kind is ItemKind.QUARTERLY_INSPECTION:
        return period.end + INSPECTION_GRACE
    return date(period.year + 1, *APPRAISAL_DUE)


def due_date(kind: ItemKind, period: Period, calendar: WorkingCalendar) -> DueDate:
    nominal = nominal_due_on(kind, period)
    due = calendar.next_working_day(nominal)
    provisional = any(not calendar.covers(y) for y in range(nominal.year, due.year + 1))
    return DueDate(nominal, due, due != nominal, provisional)


def done_on(done_at: DoneAt) -> date:
    """The calendar date of a completion (a datetime counts by its own date; convert its zone first)."""
    return done_at.date() if isinstance(done_at, datetime) else done_at


def is_late(done_at: DoneAt, due_on: date) -> bool:
    """Late = done after the due date (a submission on the due date itself is on time)."""
    return done_on(done_at) > due_on


def item_status(*, period_end: date, due_on: date, today: date, done_at: DoneAt | None = None) -> ItemStatus:
    if done_at is not None:
        return ItemStatus.DONE_LATE if is_late(done_at, due_on) else ItemStatus.DONE
    if today <= period_end:
        return ItemStatus.UPCOMING
    if today <= due_on:
        return ItemStatus.OPEN
    return ItemStatus.OVERDUE


def schedule_item(
    kind: ItemKind,
    period: Period,
    *,
    chain: str,
    calendar: WorkingCalendar,
    today: date,
    done_at: DoneAt | None = None,
) -> ScheduleItem:
    kind = _check_kind(kind, period)
    due = due_date(kind, period, calendar)
    return ScheduleItem(
        kind=kind,
        period=str(period),
        chain=chain,
        due_on=due.due_on,
        nominal_due_on=due.nominal_on,
        moved=due.moved,
        provisional=due.provisional,
        status=item_status(period_end=period.end, due_on=due.due_on, today=today, done_at=done_at),
        done_at=done_at,
    )


def chain_schedule(
    chain: str,
    year: int,
    *,
    calendar: WorkingCalendar,
    today: date,
    done: Mapping[tuple[str, str], DoneAt | None] | None = None,
) -> list[ScheduleItem]:
    """The 17 items of ``chain`` in ``year``, ordered by due date (then dispatch, inspection, appraisal).

    ``done`` maps ``(kind, period)`` — e.g. ``("monthly_dispatch", "2026-03")`` — to when the item was done
    (a dispatch's ``submitted_at``, …); items not in it are not done.
    """
    done = done or {}
    items = [
        schedule_item(
            kind, period, chain=chain, calendar=calendar, today=today, done_at=done.get((kind.value, str(period)))
        )
        for kind in ItemKind
        for period in periods_of(kind, year)
    ]
    items.sort(key=lambda i: (i.due_on, _KIND_ORDER[i.kind], i.nominal_due_on, i.period))
    return items
