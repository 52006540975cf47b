"""A manual indicator's cumulative completion month by month against the elapsed share of the year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.domain.plan_curve import monthly_curve


def test_cumulative_by_month_to_today() -> None:
    points = monthly_curve([("2026-01", "10"), ("2026-03", Decimal("20")), ("2026-03", "30")], target="120",
                           year=2026, until=date(2026, 4, 2))
    assert [p.month for p in points] == [1, 2, 3, 4]
    assert [p.actual for p in points] == [Decimal(10), Decimal(10), Decimal(40), Decimal(40)]  # March replaced
    assert points[2].completion == pytest.approx(40 / 120)
    assert points[0].expected == pytest.approx(31 / 365) and points[2].expected == pytest.approx(90 / 365)


def test_past_and_future_years_and_a_zero_target() -> None:
    past = monthly_curve([("2025-12", "5"), ("2026-01", "99")], target=0, year=2025, until=date(2026, 6, 1))
    assert len(past) == 12 and past[-1].actual == Decimal(5) and past[-1].expected == 1.0
    assert all(p.completion == 1.0 for p in past)  # a zero target counts as met
    assert monthly_curve([], target=1, year=2027, until=date(2026, 6, 1)) == []
