"""Working days: explicit year calendars, the library adapter, overrides, weekends-only years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from service.domain.calendar import (
    CalendarSource,
    WorkingCalendar,
    YearCalendar,
    year_calendar_from_lists,
)
from service.domain.errors import InvalidInput


def span(first: str, last: str) -> frozenset[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return frozenset(a + timedelta(days=i) for i in range((b - a).days + 1))


def days(*isos: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in isos)


# The State Council notices (国务院办公厅关于2025年/2026年部分节假日安排的通知), typed in by hand so the domain tests do
# not depend on the library and the library is checked against them below.
OFFICIAL_2025 = YearCalendar(
    2025,
    holidays=days("2025-01-01")
    | span("2025-01-28", "2025-02-04")  # 春节
    | span("2025-04-04", "2025-04-06")  # 清明
    | span("2025-05-01", "2025-05-05")  # 劳动节
    | span("2025-05-31", "2025-06-02")  # 端午
    | span("2025-10-01", "2025-10-08"),  # 国庆 + 中秋
    workdays=days("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
    source=CalendarSource.LIBRARY,
)
OFFICIAL_2026 = YearCalendar(
    2026,
    holidays=span("2026-01-01", "2026-01-03")  # 元旦
    | span("2026-02-15", "2026-02-23")  # 春节
    | span("2026-04-04", "2026-04-06")  # 清明
    | span("2026-05-01", "2026-05-05")  # 劳动节
    | span("2026-06-19", "2026-06-21")  # 端午
    | span("2026-09-25", "2026-09-27")  # 中秋
    | span("2026-10-01", "2026-10-07"),  # 国庆
    workdays=days("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
    source=CalendarSource.LIBRARY,
)
# 2013: New Year 1–3 January, then Saturday 5 and Sunday 6 January were working days.
OFFICIAL_2013_JANUARY = YearCalendar(
    2013, holidays=span("2013-01-01", "2013-01-03"), workdays=days("2013-01-05", "2013-01-06"),
    source=CalendarSource.LIBRARY,
)
LIBRARY = (OFFICIAL_2013_JANUARY, OFFICIAL_2025, OFFICIAL_2026)
CAL = WorkingCalendar(library=LIBRARY)

D = date.fromisoformat


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        ("2025-09-30", True, "Tuesday"),
        ("2025-10-01", False, "National Day"),
        ("2025-10-06", False, "National Day + Mid-Autumn, a Monday"),
        ("2025-10-08", False, "last day of the National Day holiday, a Wednesday"),
        ("2025-10-09", True, "first working day after National Day"),
        ("2025-09-28", True, "adjusted workday, a Sunday"),
        ("2025-10-11", True, "adjusted workday, a Saturday"),
        ("2025-10-12", False, "ordinary Sunday"),
        ("2025-01-26", True, "Spring Festival adjusted Sunday"),
        ("2025-05-05", False, "Labour Day, a Monday"),
        ("2026-02-14", True, "Spring Festival adjusted Saturday"),
        ("2026-02-16", False, "Spring Festival eve, a Monday"),
        ("2026-02-23", False, "last day of Spring Festival, a Monday"),
        ("2026-02-24", True, "back to work"),
        ("2026-02-28", True, "adjusted Saturday"),
        ("2026-01-02", False, "New Year, a Friday"),
        ("2026-01-04", True, "adjusted Sunday"),
        ("2026-11-24", True, "ordinary Tuesday"),
        ("2026-11-28", False, "ordinary Saturday"),
        ("2027-01-01", True, "2027 unknown: a Friday counts as working"),
        ("2027-01-02", False, "2027 unknown: Saturday"),
        ("2027-02-08", True, "2027 unknown: weekends only, Spring Festival ignored"),
    ],
)
def test_is_working_day(day, working, why):
    assert CAL.is_working_day(D(day)) is working, why


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2025-10-05", "2025-10-09"),  # Sunday inside National Day
        ("2025-10-01", "2025-10-09"),
        ("2025-10-09", "2025-10-09"),  # a working day is its own next working day
        ("2025-10-11", "2025-10-11"),  # adjusted Saturday: no move
        ("2025-10-12", "2025-10-13"),
        ("2026-02-15", "2026-02-24"),  # Spring Festival 2026
        ("2026-02-14", "2026-02-14"),
        ("2026-01-01", "2026-01-04"),  # adjusted Sunday right after New Year
        ("2025-12-31", "2025-12-31"),
        ("2026-12-26", "2026-12-28"),
        ("2027-01-31", "2027-02-01"),  # weekends-only year
        ("2013-01-05", "2013-01-05"),  # adjusted Saturday of 2013
    ],
)
def test_next_working_day(day, expected):
    assert CAL.next_working_day(D(day)) == D(expected)


def test_next_working_day_crosses_into_a_weekends_only_year():
    cal = WorkingCalendar(library=[YearCalendar(2026, holidays=span("2026-12-28", "2026-12-31"), source="library")])
    assert cal.next_working_day(D("2026-12-26")) == D("2027-01-01")
    assert cal.is_provisional(D("2027-01-01")) and not cal.is_provisional(D("2026-12-26"))


OVERRIDE_2026 = YearCalendar(2026, holidays=days("2026-11-24"), workdays=days("2026-11-28"))
OVERRIDE_2027 = YearCalendar(
    2027, holidays=span("2027-02-06", "2027-02-13"), workdays=days("2027-01-31", "2027-02-20")
)


@pytest.mark.parametrize(
    ("overrides", "year", "source", "covers"),
    [
        ((), 2025, CalendarSource.LIBRARY, True),
        ((), 2026, CalendarSource.LIBRARY, True),
        ((), 2027, CalendarSource.WEEKENDS, False),
        ((), 2024, CalendarSource.WEEKENDS, False),
        ((OVERRIDE_2026,), 2026, CalendarSource.OVERRIDE, True),
        ((OVERRIDE_2027,), 2027, CalendarSource.OVERRIDE, True),
        ((OVERRIDE_2027,), 2026, CalendarSource.LIBRARY, True),
    ],
)
def test_source_for_and_covers(overrides, year, source, covers):
    cal = WorkingCalendar(library=LIBRARY, overrides=overrides)
    assert cal.source_for(year) is source
    assert cal.covers(year) is covers
    assert cal.year_calendar(year).source is source
    assert cal.year_calendar(year).provisional is (not covers)


@pytest.mark.parametrize(
    ("day", "library_says", "override_says"),
    [
        ("2026-11-24", True, False),  # override declares a Tuesday off
        ("2026-11-28", False, True),  # and a Saturday working
        ("2026-10-01", False, True),  # the override replaces the library's whole year: National Day not listed
        ("2026-02-14", True, False),  # nor the library's adjusted Saturday
    ],
)
def test_override_beats_library(day, library_says, override_says):
    assert WorkingCalendar(library=LIBRARY).is_working_day(D(day)) is library_says
    assert WorkingCalendar(library=LIBRARY, overrides=[OVERRIDE_2026]).is_working_day(D(day)) is override_says
    assert WorkingCalendar(library=LIBRARY).with_override(OVERRIDE_2026).is_working_day(D(day)) is override_says


def test_an_override_is_labelled_by_its_origin_not_its_value():
    cal = WorkingCalendar(overrides=[OFFICIAL_2025])  # a library-labelled value passed as an override
    assert cal.source_for(2025) is CalendarSource.OVERRIDE
    assert cal.year_calendar(2025).holidays == OFFICIAL_2025.holidays


@pytest.mark.parametrize(
    ("holidays", "workdays", "loc"),
    [
        (["2027-02-08"], ["2027-02-09"], ["body", "workdays", 0]),  # a Tuesday cannot be an adjusted workday
        (["2026-12-31"], [], ["body", "holidays", 0]),  # not in 2027
        ([], ["2027-02-06", "2028-01-01"], ["body", "workdays", 1]),  # not in 2027
        (["2027-02-06"], ["2027-02-06"], ["body", "workdays", 0]),  # both
    ],
)
def test_year_calendar_from_lists_rejects(holidays, workdays, loc):
    with pytest.raises(InvalidInput) as err:
        year_calendar_from_lists(2027, [D(d) for d in holidays], [D(d) for d in workdays])
    assert [e["loc"] for e in err.value.errors] == [loc]


def test_year_calendar_from_lists_accepts_weekend_holidays():
    cal = year_calendar_from_lists(2027, [D("2027-02-06"), D("2027-02-08")], [D("2027-01-31")])
    assert cal.source is CalendarSource.OVERRIDE
    assert cal.holidays == days("2027-02-06", "2027-02-08") and cal.workdays == days("2027-01-31")


def test_year_calendar_validates_itself():
    with pytest.raises(InvalidInput):
        YearCalendar(2027, workdays=days("2027-02-09"))


# --- the library adapter (service/calendar_library.py, the only importer of chinese_calendar) -------------

calendar_library = pytest.importorskip("service.calendar_library")


@pytest.mark.parametrize("official", [OFFICIAL_2025, OFFICIAL_2026, OFFICIAL_2013_JANUARY])
def test_library_matches_the_state_council_notices(official):
    lib = calendar_library.library_calendar(official.year)
    assert lib is not None and lib.source is CalendarSource.LIBRARY
    if official is OFFICIAL_2013_JANUARY:  # only January typed in
        assert official.holidays <= lib.holidays and official.workdays <= lib.workdays
    else:
        assert (lib.holidays, lib.workdays) == (official.holidays, official.workdays)


@pytest.mark.parametrize("year", [2025, 2026])
def test_library_calendar_agrees_with_the_package_day_by_day(year):
    import chinese_calendar

    cal = calendar_library.working_calendar()
    day = date(year, 1, 1)
    while day.year == year:
        assert cal.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_library_coverage():
    import chinese_calendar

    years = calendar_library.library_years()
    assert 2004 in years and 2025 in years and 2026 in years
    cal = calendar_library.working_calendar()
    for year in (years.start - 1, years.stop):  # just outside: the package itself refuses these
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(date(year, 6, 1))
        assert cal.source_for(year) is CalendarSource.WEEKENDS
    assert cal.source_for(2100) is CalendarSource.WEEKENDS


def test_2027_is_provisional_until_the_library_or_an_admin_knows_it():
    if 2027 in calendar_library.library_years():
        pytest.skip("the installed chinese-calendar already covers 2027")
    cal = calendar_library.working_calendar()
    assert cal.source_for(2027) is CalendarSource.WEEKENDS and not cal.covers(2027)
    assert cal.is_working_day(D("2027-02-08"))  # a Monday; its Spring Festival is not known yet
    loaded = calendar_library.working_calendar(overrides=[OVERRIDE_2027])
    assert loaded.source_for(2027) is CalendarSource.OVERRIDE
    assert not loaded.is_working_day(D("2027-02-08")) and loaded.is_working_day(D("2027-01-31"))
