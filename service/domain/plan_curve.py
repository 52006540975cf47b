"""A manual indicator's progress over the plan year, month by month (一链一表, SPEC §5): the cumulative actual
at the end of each month, its completion against the year's target and the share of the year elapsed by then —
the same rules as the plan's progress (``service/domain/plans.py``), applied at each month's end. Pure.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from service.domain.plans import Amount, annual_actual, completion, expected_share


@dataclass(frozen=True, slots=True)
class MonthPoint:
    month: int  # 1–12
    actual: Decimal  # cumulative, to the end of the month
    completion: float  # cumulative actual / target (a zero target counts as met)
    expected: float  # the share of the year elapsed at the month's end


def monthly_curve(monthly: Iterable[tuple[str, Amount]], *, target: Amount, year: int, until: date) -> list[MonthPoint]:
    """One point per month of ``year`` that has begun by ``until`` (all twelve for a past year, none for a future
    one); ``monthly`` holds the ``("YYYY-MM", value)`` actuals (a later value for a month replaces an earlier)."""
    by_month: dict[int, list[tuple[str, Amount]]] = {}
    for period, value in monthly:
        y, m = (int(x) for x in period.split("-"))
        if y == year:
            by_month.setdefault(m, []).append((period, value))
    points, seen = [], []
    for m in range(1, 13):
        if date(year, m, 1) > until:
            break
        seen += by_month.get(m, [])
        actual = annual_actual(seen)
        month_end = date(year, m, calendar.monthrange(year, m)[1])
        points.append(MonthPoint(m, actual, completion(actual, target), expected_share(year, month_end)))
    return points
