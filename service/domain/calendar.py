"""Working days of the official Chinese calendar (法定节假日 and 调休), behind one small interface.

The State Council publishes each year's holidays in November of the year before. A year's calendar is explicit
data, a :class:`YearCalendar`: the dates off that are not ordinary weekend days (holidays, weekdays included)
and the adjusted working days (调休: weekend dates that are working days). Every other date is decided by the
weekday: Monday–Friday work, Saturday and Sunday rest.

:class:`WorkingCalendar` combines the year calendars of two origins, an override (loaded by an admin with
``PUT /calendar/{year}``) beating the maintained library (``service/calendar_library.py`` adapts the PyPI package
``chinese-calendar``; the domain never imports it). A year that neither knows is decided by weekends alone and
is *provisional*: its results may change once the year's schedule is published.

This module is pure: no clock, no I/O, no third-party imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from service.domain.errors import InvalidInput

#: ``date.weekday()`` of Saturday and Sunday.
WEEKEND_DAYS = frozenset({5, 6})
_ONE_DAY = timedelta(days=1)


class CalendarSource(StrEnum):
    """Which data decides a year: an admin override, the maintained library, or weekends alone."""

    OVERRIDE = "override"
    LIBRARY = "library"
    WEEKENDS = "weekends"


def is_weekend(day: date) -> bool:
    return day.weekday() in WEEKEND_DAYS


def _as_date(day: date) -> date:
    # datetime is a subclass of date but never equal to one: compare calendar days only.
    return day.date() if isinstance(day, datetime) else day


@dataclass(frozen=True, slots=True)
class YearCalendar:
    """One year's official exceptions to the weekday rule.

    ``holidays``: dates off (weekdays included; weekend dates inside a holiday period are allowed and change
    nothing). ``workdays``: adjusted working days, each a Saturday or Sunday. Every date lies in ``year``; no
    date is both. Iterables are stored as frozensets. Invalid data raises :class:`InvalidInput`; use
    :func:`year_calendar_from_lists` to get field errors that point at list positions.
    """

    year: int
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    source: CalendarSource = CalendarSource.OVERRIDE

    def __post_init__(self) -> None:
        holidays = frozenset(_as_date(d) for d in self.holidays)
        workdays = frozenset(_as_date(d) for d in self.workdays)
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "workdays", workdays)
        object.__setattr__(self, "source", CalendarSource(self.source))
        errors = _year_calendar_errors(self.year, sorted(holidays), sorted(workdays), loc=(), indexed=False)
        if errors:
            raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)

    @classmethod
    def weekends_only(cls, year: int) -> YearCalendar:
        """The calendar of a year nobody has data for: weekends alone decide."""
        return cls(year, frozenset(), frozenset(), CalendarSource.WEEKENDS)

    @property
    def provisional(self) -> bool:
        return self.source is CalendarSource.WEEKENDS

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        if day.year != self.year:
            raise ValueError(f"{day.isoformat()} is not in {self.year}.")
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return not is_weekend(day)


def _year_calendar_errors(
    year: int, holidays: Sequence[date], workdays: Sequence[date], *, loc: Sequence[str | int], indexed: bool
) -> list[dict[str, object]]:
    errors: list[dict[str, object]] = []

    def where(name: str, i: int) -> list[str | int]:
        return [*loc, name, i] if indexed else [*loc, name]

    holiday_set = set(holidays)
    for name, days in (("holidays", holidays), ("workdays", workdays)):
        for i, day in enumerate(days):
            if day.year != year:
                errors.append({"loc": where(name, i), "msg": f"{day.isoformat()} is not in {year}."})
            elif name == "workdays" and not is_weekend(day):
                errors.append({
                    "loc": where(name, i),
                    "msg": f"{day.isoformat()} is a {day.strftime('%A')}: adjusted workdays are Saturdays or Sundays.",
                })
            elif name == "workdays" and day in holiday_set:
                msg = f"{day.isoformat()} is listed both as holiday and workday."
                errors.append({"loc": where(name, i), "msg": msg})
    return errors


def year_calendar_from_lists(
    year: int,
    holidays: Sequence[date],
    workdays: Sequence[date],
    *,
    source: CalendarSource = CalendarSource.OVERRIDE,
    loc: Sequence[str | int] = ("body",),
) -> YearCalendar:
    """Build a year calendar from the lists of a request, with field errors at ``[*loc, "holidays", i]``."""
    holidays = [_as_date(d) for d in holidays]
    workdays = [_as_date(d) for d in workdays]
    errors = _year_calendar_errors(year, holidays, workdays, loc=loc, indexed=True)
    if errors:
        raise InvalidInput("; ".join(e["msg"] for e in errors), errors=errors)
    return YearCalendar(year, frozenset(holidays), frozenset(workdays), source)


class WorkingCalendar:
    """Working days over all years: overrides beat the library; other years fall back to weekends.

    Built from explicit data only, so every rule can be tested for any year::

        cal = WorkingCalendar(library=library_calendars(), overrides=[YearCalendar(2027, {...}, {...})])
    """

    __slots__ = ("_library", "_overrides")

    def __init__(self, library: Iterable[YearCalendar] = (), overrides: Iterable[YearCalendar] = ()) -> None:
        self._library = self._index(library, CalendarSource.LIBRARY)
        self._overrides = self._index(overrides, CalendarSource.OVERRIDE)

    @staticmethod
    def _index(calendars: Iterable[YearCalendar], source: CalendarSource) -> dict[int, YearCalendar]:
        indexed: dict[int, YearCalendar] = {}
        for cal in calendars:
            if cal.year in indexed:
                raise ValueError(f"Two {source.value} calendars for {cal.year}.")
            if cal.source is not source:  # the origin decides the source, whatever the value says
                cal = YearCalendar(cal.year, cal.holidays, cal.workdays, source)
            indexed[cal.year] = cal
        return indexed

    def with_override(self, calendar: YearCalendar) -> WorkingCalendar:
        """A copy in which ``calendar`` overrides its year (replacing an earlier override)."""
        overrides = {**self._overrides, calendar.year: calendar}
        return WorkingCalendar(self._library.values(), overrides.values())

    def source_for(self, year: int) -> CalendarSource:
        if year in self._overrides:
            return CalendarSource.OVERRIDE
        if year in self._library:
            return CalendarSource.LIBRARY
        return CalendarSource.WEEKENDS

    def covers(self, year: int) -> bool:
        """True when an override or the library knows ``year``; False when weekends alone decide."""
        return self.source_for(year) is not CalendarSource.WEEKENDS

    def year_calendar(self, year: int) -> YearCalendar:
        """The calendar in use for ``year`` (an empty weekends-only one when nothing covers it)."""
        return self._overrides.get(year) or self._library.get(year) or YearCalendar.weekends_only(year)

    def is_provisional(self, day: date) -> bool:
        return not self.covers(_as_date(day).year)

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        return self.year_calendar(day.year).is_working_day(day)

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it (across years too)."""
        day = _as_date(day)
        cal = self.year_calendar(day.year)
        while not cal.is_working_day(day):
            day += _ONE_DAY
            if day.year != cal.year:
                cal = self.year_calendar(day.year)
        return day

    def __repr__(self) -> str:
        return f"WorkingCalendar(library={sorted(self._library)}, overrides={sorted(self._overrides)})"
