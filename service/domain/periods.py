"""Reporting periods: a year (2026), a quarter (2026-Q2) or a month (2026-05), with inclusive bounds."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from service.domain.errors import InvalidInput

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>\d)|(?P<month>\d{2})))?$")
MIN_YEAR, MAX_YEAR = 1990, 2100


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    year: int
    index: int = 0  # quarter 1–4 or month 1–12; 0 for a year

    @property
    def start(self) -> date:
        if self.kind is PeriodKind.YEAR:
            return date(self.year, 1, 1)
        if self.kind is PeriodKind.QUARTER:
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, self.index, 1)

    @property
    def end(self) -> date:
        if self.kind is PeriodKind.YEAR:
            return date(self.year, 12, 31)
        last_month = 3 * self.index if self.kind is PeriodKind.QUARTER else self.index
        return date(self.year, last_month, calendar.monthrange(self.year, last_month)[1])

    def __str__(self) -> str:
        if self.kind is PeriodKind.YEAR:
            return f"{self.year:04d}"
        if self.kind is PeriodKind.QUARTER:
            return f"{self.year:04d}-Q{self.index}"
        return f"{self.year:04d}-{self.index:02d}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def parse_period(text: str, *, field: str = "period") -> Period:
    """Parse ``2026``, ``2026-Q2`` or ``2026-05``; raise InvalidInput naming ``field`` otherwise."""
    match = _PATTERN.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise InvalidInput.at([field], f"'{text}' is not a period: use YYYY, YYYY-Qn or YYYY-MM.")
    year = int(match["year"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput.at([field], f"Year {year} is outside {MIN_YEAR}–{MAX_YEAR}.")
    if match["quarter"] is not None:
        quarter = int(match["quarter"])
        if not 1 <= quarter <= 4:
            raise InvalidInput.at([field], f"Quarter Q{quarter} does not exist: use Q1–Q4.")
        return Period(PeriodKind.QUARTER, year, quarter)
    if match["month"] is not None:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise InvalidInput.at([field], f"Month {month:02d} does not exist: use 01–12.")
        return Period(PeriodKind.MONTH, year, month)
    return Period(PeriodKind.YEAR, year)
