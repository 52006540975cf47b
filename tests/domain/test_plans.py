"""Plan progress: completion, expected share of the year, ahead/on_track/behind, benchmark gap, overdue tasks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from service.domain.plans import (
    ProgressStatus,
    TaskStatus,
    annual_actual,
    benchmark_gap,
    completion,
    expected_fraction,
    expected_share,
    indicator_progress,
    progress_status,
    task_done_on_time,
    task_overdue,
    task_progress,
)

D = date.fromisoformat
AHEAD, ON_TRACK, BEHIND = ProgressStatus.AHEAD, ProgressStatus.ON_TRACK, ProgressStatus.BEHIND


@pytest.mark.parametrize(
    ("actual", "target", "expected"),
    [
        (Decimal("50"), Decimal("100"), 0.5),
        (Decimal("150"), Decimal("100"), 1.5),  # uncapped
        (Decimal("0"), Decimal("100"), 0.0),
        (Decimal("0"), Decimal("0"), 1.0),  # zero target counts as 1
        (Decimal("7.5"), Decimal("0.00"), 1.0),
        (Decimal("12500.50"), Decimal("25001.00"), 0.5),
        (3, 4, 0.75),
    ],
)
def test_completion(actual, target, expected):
    assert completion(actual, target) == expected


@pytest.mark.parametrize(
    ("year", "today", "expected"),
    [
        (2026, "2026-01-01", Fraction(1, 365)),  # first day counts as elapsed
        (2026, "2026-12-31", Fraction(1)),  # last day: the whole year
        (2026, "2026-11-24", Fraction(328, 365)),
        (2026, "2026-03-14", Fraction(73, 365)),  # exactly 0.2
        (2028, "2028-01-01", Fraction(1, 366)),  # leap year
        (2028, "2028-02-29", Fraction(60, 366)),  # the leap day exists
        (2028, "2028-12-31", Fraction(1)),
        (2025, "2026-01-01", Fraction(1)),  # past plan year
        (2027, "2026-12-31", Fraction(0)),  # future plan year
    ],
)
def test_expected(year, today, expected):
    assert expected_fraction(year, D(today)) == expected
    assert expected_share(year, D(today)) == float(expected)


@pytest.mark.parametrize(
    ("completion_value", "expected", "status"),
    [
        (Fraction(3, 10), Fraction(1, 5), AHEAD),  # exactly expected + 0.10 (0.2 + 0.1 > 0.3 in floats)
        (0.3, 0.2, AHEAD),  # floats count as the decimals they print as
        (Fraction(29, 100), Fraction(1, 5), ON_TRACK),
        (Fraction(1, 10), Fraction(1, 5), ON_TRACK),  # exactly expected − 0.10 is not behind
        (Fraction(9, 100), Fraction(1, 5), BEHIND),
        (0, 0, ON_TRACK),  # future year, nothing yet
        (Fraction(1, 10), 0, AHEAD),
        (1, 1, ON_TRACK),
        (Decimal("0.89"), 1, BEHIND),
        (Decimal("0.9"), 1, ON_TRACK),
        (Decimal("1.5"), 1, AHEAD),  # completion is uncapped
    ],
)
def test_progress_status(completion_value, expected, status):
    assert progress_status(completion_value, expected) is status


@pytest.mark.parametrize(
    ("target", "actual", "today", "benchmark", "completion_value", "expected", "status", "gap"),
    [
        # 30 of 100 on 14 March 2026 (expected exactly 0.2): ahead at the boundary
        ("100", "30", "2026-03-14", None, 0.3, 0.2, AHEAD, None),
        ("100", "15", "2026-03-14", "40", 0.15, 0.2, ON_TRACK, "-25"),
        ("100", "9.99", "2026-03-14", "5", 0.0999, 0.2, BEHIND, "4.99"),
        ("0", "0", "2026-11-24", None, 1.0, 328 / 365, AHEAD, None),  # zero target: met (1 ≥ 0.8986 + 0.10)
        ("0", "5", "2026-12-31", None, 1.0, 1.0, ON_TRACK, None),
        ("0", "0", "2026-01-01", None, 1.0, 1 / 365, AHEAD, None),
        ("100", "99", "2026-12-31", "120.5", 0.99, 1.0, ON_TRACK, "-21.5"),
        ("100", "89", "2026-12-31", None, 0.89, 1.0, BEHIND, None),
    ],
)
def test_indicator_progress(target, actual, today, benchmark, completion_value, expected, status, gap):
    p = indicator_progress(
        key="output", target=Decimal(target), actual=Decimal(actual), year=2026, today=D(today),
        benchmark=None if benchmark is None else Decimal(benchmark),
    )
    assert (p.completion, p.expected, p.status) == (pytest.approx(completion_value), pytest.approx(expected), status)
    assert p.benchmark_gap == (None if gap is None else Decimal(gap))
    assert isinstance(p.target, Decimal) and isinstance(p.actual, Decimal)


def test_indicator_progress_for_a_plan_year_in_the_past_and_future():
    past = indicator_progress(key="k", target=Decimal(10), actual=Decimal(5), year=2025, today=D("2026-11-24"))
    future = indicator_progress(key="k", target=Decimal(10), actual=Decimal(0), year=2027, today=D("2026-11-24"))
    assert (past.expected, past.status) == (1.0, BEHIND)
    assert (future.expected, future.status) == (0.0, ON_TRACK)


@pytest.mark.parametrize(("actual", "benchmark", "gap"), [(Decimal("10"), None, None),
                                                          (Decimal("10.5"), Decimal("12"), Decimal("-1.5")),
                                                          (Decimal("12"), Decimal("10"), Decimal("2"))])
def test_benchmark_gap(actual, benchmark, gap):
    assert benchmark_gap(actual, benchmark) == gap


@pytest.mark.parametrize(
    ("status", "due_on", "today", "overdue"),
    [
        ("open", "2026-06-30", "2026-07-01", True),
        ("open", "2026-06-30", "2026-06-30", False),  # due today: not yet overdue
        ("open", "2026-06-30", "2026-06-29", False),
        ("done", "2026-06-30", "2026-12-31", False),
        (TaskStatus.DONE, "2026-06-30", "2026-07-01", False),
    ],
)
def test_task_overdue(status, due_on, today, overdue):
    assert task_overdue(status=status, due_on=D(due_on), today=D(today)) is overdue
    assert task_progress(key="t1", status=status, due_on=D(due_on), today=D(today)).overdue is overdue


@pytest.mark.parametrize(
    ("status", "done_on", "on_time"),
    [("done", "2026-06-30", True), ("done", "2026-07-01", False), ("done", None, False), ("open", None, False)],
)
def test_task_done_on_time(status, done_on, on_time):
    done = None if done_on is None else D(done_on)
    assert task_done_on_time(status=status, done_on=done, due_on=D("2026-06-30")) is on_time


@pytest.mark.parametrize(
    ("monthly", "total"),
    [
        ([], Decimal("0")),
        ([("2026-01", Decimal("10.5")), ("2026-02", Decimal("4.5"))], Decimal("15.0")),
        ([("2026-01", Decimal("10")), ("2026-01", Decimal("12")), ("2026-03", 3)], Decimal("15")),  # replaced
    ],
)
def test_annual_actual(monthly, total):
    assert annual_actual(monthly) == total
