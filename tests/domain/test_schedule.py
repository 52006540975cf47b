"""The tracking rhythm: nominal and working-day due dates, provisional items, the five statuses."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from service.domain.calendar import WorkingCalendar, YearCalendar
from service.domain.errors import InvalidInput
from service.domain.periods import parse_period
from service.domain.schedule import (
    ItemKind,
    ItemStatus,
    chain_schedule,
    due_date,
    is_late,
    item_status,
    nominal_due_on,
    periods_of,
    schedule_item,
)
from tests.domain.test_calendar import LIBRARY

D = date.fromisoformat
M, Q, A = ItemKind.MONTHLY_DISPATCH, ItemKind.QUARTERLY_INSPECTION, ItemKind.ANNUAL_APPRAISAL
CAL = WorkingCalendar(library=LIBRARY)  # 2013 (January), 2025 and 2026 official; other years weekends only


@pytest.mark.parametrize(
    ("kind", "period", "nominal"),
    [
        (M, "2026-01", "2026-02-05"),
        (M, "2026-03", "2026-04-05"),
        (M, "2026-11", "2026-12-05"),
        (M, "2026-12", "2027-01-05"),  # December → 5 January of the next year
        (Q, "2026-Q1", "2026-04-15"),
        (Q, "2026-Q2", "2026-07-15"),
        (Q, "2026-Q3", "2026-10-15"),
        (Q, "2026-Q4", "2027-01-15"),
        (A, "2026", "2027-01-31"),
        (M, "2028-02", "2028-03-05"),
    ],
)
def test_nominal_due_on(kind, period, nominal):
    assert nominal_due_on(kind, parse_period(period)) == D(nominal)


@pytest.mark.parametrize(
    ("kind", "period"),
    [(M, "2026-Q1"), (Q, "2026-03"), (A, "2026-03"), (M, "2026")],
)
def test_kind_and_period_must_match(kind, period):
    with pytest.raises(InvalidInput):
        nominal_due_on(kind, parse_period(period))


# (kind, period, due_on, moved, provisional): every item of 2025 and 2026 on the official calendar.
SCHEDULE_2025 = [
    (M, "2025-01", "2025-02-05", False, False),
    (M, "2025-02", "2025-03-05", False, False),
    (M, "2025-03", "2025-04-07", True, False),  # 5 April: Qingming (4–6 April)
    (Q, "2025-Q1", "2025-04-15", False, False),
    (M, "2025-04", "2025-05-06", True, False),  # 5 May: Labour Day (1–5 May)
    (M, "2025-05", "2025-06-05", False, False),
    (M, "2025-06", "2025-07-07", True, False),  # Saturday
    (Q, "2025-Q2", "2025-07-15", False, False),
    (M, "2025-07", "2025-08-05", False, False),
    (M, "2025-08", "2025-09-05", False, False),
    (M, "2025-09", "2025-10-09", True, False),  # 5 October: National Day (1–8 October)
    (Q, "2025-Q3", "2025-10-15", False, False),
    (M, "2025-10", "2025-11-05", False, False),
    (M, "2025-11", "2025-12-05", False, False),
    (M, "2025-12", "2026-01-05", False, False),  # Monday after New Year and the adjusted Sunday 4 January
    (Q, "2025-Q4", "2026-01-15", False, False),
    (A, "2025", "2026-02-02", True, False),  # 31 January 2026 is a Saturday
]
SCHEDULE_2026 = [
    (M, "2026-01", "2026-02-05", False, False),
    (M, "2026-02", "2026-03-05", False, False),
    (M, "2026-03", "2026-04-07", True, False),  # 5 April: Qingming (4–6 April)
    (Q, "2026-Q1", "2026-04-15", False, False),
    (M, "2026-04", "2026-05-06", True, False),  # 5 May: Labour Day (1–5 May)
    (M, "2026-05", "2026-06-05", False, False),
    (M, "2026-06", "2026-07-06", True, False),  # Sunday
    (Q, "2026-Q2", "2026-07-15", False, False),
    (M, "2026-07", "2026-08-05", False, False),
    (M, "2026-08", "2026-09-07", True, False),  # Saturday
    (M, "2026-09", "2026-10-08", True, False),  # 5 October: National Day (1–7 October)
    (Q, "2026-Q3", "2026-10-15", False, False),
    (M, "2026-10", "2026-11-05", False, False),
    (M, "2026-11", "2026-12-07", True, False),  # Saturday
    (M, "2026-12", "2027-01-05", False, True),  # 2027 not published yet: weekends only
    (Q, "2026-Q4", "2027-01-15", False, True),
    (A, "2026", "2027-02-01", True, True),  # 31 January 2027 is a Sunday
]


@pytest.mark.parametrize(("year", "expected"), [(2025, SCHEDULE_2025), (2026, SCHEDULE_2026)])
def test_chain_schedule_due_dates(year, expected):
    items = chain_schedule("OPTICS", year, calendar=CAL, today=D("2026-11-24"))
    assert len(items) == 17
    got = [(i.kind, i.period, i.due_on.isoformat(), i.moved, i.provisional) for i in items]
    assert got == expected
    assert all(i.chain == "OPTICS" for i in items)
    assert all(i.moved is (i.due_on != i.nominal_due_on) for i in items)


@pytest.mark.parametrize(
    ("kind", "period", "calendar", "due_on", "moved", "provisional", "why"),
    [
        (M, "2025-09", CAL, "2025-10-09", True, False, "moved off the National Day holiday"),
        (M, "2012-12", CAL, "2013-01-05", False, False, "5 Jan 2013 is an adjusted Saturday workday: no move"),
        (M, "2013-12", CAL, "2014-01-06", True, True, "2014 unknown here: the Sunday moves to Monday, provisional"),
        (M, "2026-12", CAL.with_override(YearCalendar(2027, holidays={D("2027-01-05")})), "2027-01-06", True, False,
         "an override for 2027 decides and clears the provisional flag"),
        (Q, "2027-Q1", CAL, "2027-04-15", False, True, "weekends only"),
        (A, "2024", CAL, "2025-02-05", True, False, "31 Jan 2025 is in the Spring Festival holiday (28 Jan–4 Feb)"),
    ],
)
def test_due_date(kind, period, calendar, due_on, moved, provisional, why):
    due = due_date(kind, parse_period(period), calendar)
    assert (due.due_on, due.moved, due.provisional) == (D(due_on), moved, provisional), why


PERIOD_END = D("2026-03-31")  # the March 2026 dispatch
DUE = D("2026-04-07")


@pytest.mark.parametrize(
    ("today", "done_at", "status"),
    [
        ("2026-03-15", None, ItemStatus.UPCOMING),  # period running
        ("2026-03-31", None, ItemStatus.UPCOMING),  # last day of the period
        ("2026-04-01", None, ItemStatus.OPEN),  # period over, not yet due
        ("2026-04-07", None, ItemStatus.OPEN),  # due today
        ("2026-04-08", None, ItemStatus.OVERDUE),
        ("2026-12-31", None, ItemStatus.OVERDUE),
        ("2026-04-03", D("2026-04-02"), ItemStatus.DONE),
        ("2026-04-07", D("2026-04-07"), ItemStatus.DONE),  # on the due date is on time
        ("2026-03-10", D("2026-03-01"), ItemStatus.DONE),  # done while the period runs: done, not upcoming
        ("2026-12-31", D("2026-04-07"), ItemStatus.DONE),  # done stays done whatever today is
        ("2026-04-09", D("2026-04-08"), ItemStatus.DONE_LATE),
        ("2026-03-01", D("2026-04-08"), ItemStatus.DONE_LATE),  # whatever today is, even before it
        ("2026-04-08", datetime(2026, 4, 7, 23, 59, 59), ItemStatus.DONE),  # a datetime counts by its date
        ("2026-04-08", datetime(2026, 4, 8, 0, 0, 1), ItemStatus.DONE_LATE),
        ("2026-04-08", datetime(2026, 4, 7, 23, 0, tzinfo=timezone(timedelta(hours=8))), ItemStatus.DONE),
    ],
)
def test_item_status(today, done_at, status):
    assert item_status(period_end=PERIOD_END, due_on=DUE, today=D(today), done_at=done_at) is status


@pytest.mark.parametrize(
    ("done_at", "late"),
    [(D("2025-10-09"), False), (D("2025-10-10"), True), (datetime(2025, 10, 9, 18), False)],
)
def test_is_late(done_at, late):
    assert is_late(done_at, D("2025-10-09")) is late


def test_chain_schedule_statuses_on_a_given_day():
    done = {
        ("monthly_dispatch", "2026-09"): datetime(2026, 10, 8, 17, 30),  # on the moved due date: on time
        ("monthly_dispatch", "2026-10"): D("2026-11-06"),  # a day late
        (ItemKind.QUARTERLY_INSPECTION, "2026-Q3"): D("2026-10-12"),
    }
    items = {(i.kind, i.period): i for i in chain_schedule("OPTICS", 2026, calendar=CAL, today=D("2026-11-24"),
                                                           done=done)}
    expected = {
        (M, "2026-08"): ItemStatus.OVERDUE,
        (M, "2026-09"): ItemStatus.DONE,
        (M, "2026-10"): ItemStatus.DONE_LATE,
        (M, "2026-11"): ItemStatus.UPCOMING,
        (M, "2026-12"): ItemStatus.UPCOMING,
        (Q, "2026-Q3"): ItemStatus.DONE,
        (Q, "2026-Q4"): ItemStatus.UPCOMING,
        (A, "2026"): ItemStatus.UPCOMING,
    }
    assert {key: items[key].status for key in expected} == expected
    assert items[(M, "2026-09")].done_at == datetime(2026, 10, 8, 17, 30)
    after = {(i.kind, i.period): i.status for i in chain_schedule("OPTICS", 2026, calendar=CAL,
                                                                  today=D("2026-12-03"), done=done)}
    assert after[(M, "2026-11")] is ItemStatus.OPEN  # November over, due 7 December


@pytest.mark.parametrize(("kind", "count"), [(M, 12), (Q, 4), (A, 1)])
def test_periods_of(kind, count):
    periods = periods_of(kind, 2026)
    assert len(periods) == count and all(p.year == 2026 for p in periods)


def test_schedule_item_rejects_a_mismatched_period():
    with pytest.raises(InvalidInput):
        schedule_item(M, parse_period("2026-Q1"), chain="OPTICS", calendar=CAL, today=D("2026-11-24"))
