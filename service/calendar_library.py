"""Adapter: the official Chinese calendar of the PyPI package ``chinese-calendar`` as domain YearCalendars.

The package ships the State Council's schedule as two public dicts, ``holidays`` (dates off, weekends inside a
holiday period included) and ``workdays`` (adjusted working days, 调休), and raises NotImplementedError for a
year outside ``[min(holidays).year, max(holidays).year]``. Version 1.11.0 covers 2004–2026; a new release is
expected after each November's announcement. Until then an admin override (``PUT /calendar/{year}``) fills the
gap, and ``service.domain.calendar.WorkingCalendar`` lets the override win.

This is the only module that imports ``chinese_calendar``; the domain stays standard-library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import chinese_calendar

from service.domain.calendar import CalendarSource, WorkingCalendar, YearCalendar


@cache
def library_years() -> range:
    """The years the installed package knows (the same bounds as its own NotImplementedError check)."""
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def library_version() -> str:
    return getattr(chinese_calendar, "__version__", "unknown")


@cache
def library_calendars() -> tuple[YearCalendar, ...]:
    """One YearCalendar per covered year, built from the package's holiday and adjusted-workday tables."""
    holidays: dict[int, set] = {year: set() for year in library_years()}
    workdays: dict[int, set] = {year: set() for year in library_years()}
    for day in chinese_calendar.holidays:
        holidays[day.year].add(day)
    for day in chinese_calendar.workdays:
        workdays.setdefault(day.year, set()).add(day)
    return tuple(
        YearCalendar(year, frozenset(holidays[year]), frozenset(workdays.get(year, ())), CalendarSource.LIBRARY)
        for year in library_years()
    )


def library_calendar(year: int) -> YearCalendar | None:
    """The library's calendar for ``year``, or None when the package does not cover it."""
    if year not in library_years():
        return None
    return library_calendars()[year - library_years().start]


def working_calendar(overrides: Iterable[YearCalendar] = ()) -> WorkingCalendar:
    """The calendar the service uses: the library's years, with the stored admin overrides on top."""
    return WorkingCalendar(library=library_calendars(), overrides=overrides)
