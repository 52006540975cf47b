"""Annual plans (一链一表, SPEC §5): indicator progress against the elapsed year, and task deadlines.

- ``completion`` = actual / target, uncapped; a zero target counts as 1.
- ``expected`` = elapsed share of the plan year on ``today``: day-of-year / days-in-year, so 1 January is
  1/365 (1/366 in a leap year) and 31 December is 1; a past plan year is 1, a future one 0.
- ``status``: ``ahead`` when completion ≥ expected + 0.10, ``behind`` when completion < expected − 0.10,
  else ``on_track``.
- ``benchmark_gap`` = actual − the benchmark city's value, where a benchmark is set (比学赶超).
- a task is overdue when it is not done and its due date is before today.

Number types: amounts and values (target, actual, benchmark, gap) stay ``Decimal`` as they arrive; fractions
(completion, expected) are returned as ``float``, but every comparison is made on exact rationals
(``fractions.Fraction``) so a boundary such as completion 0.3 against expected 0.2 + 0.10 is decided exactly,
not by float rounding. Pure: ``today`` is an argument.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

#: How far completion may stray from expected and still be on track.
TOLERANCE = Fraction(1, 10)

Amount = Decimal | int


class ProgressStatus(StrEnum):
    AHEAD = "ahead"
    ON_TRACK = "on_track"
    BEHIND = "behind"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


def _exact(x: Decimal | int | float | Fraction) -> Fraction:
    if isinstance(x, float):
        return Fraction(repr(x))  # 0.3 means 3/10, not its binary neighbour
    return Fraction(x)


def completion_fraction(actual: Amount, target: Amount) -> Fraction:
    """actual / target exactly, uncapped; a zero target counts as met (1)."""
    if target == 0:
        return Fraction(1)
    return _exact(actual) / _exact(target)


def completion(actual: Amount, target: Amount) -> float:
    return float(completion_fraction(actual, target))


def _days_in_year(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def expected_fraction(year: int, today: date) -> Fraction:
    """The elapsed share of ``year`` on ``today`` (inclusive of today), exactly."""
    if year < today.year:
        return Fraction(1)
    if year > today.year:
        return Fraction(0)
    return Fraction(today.timetuple().tm_yday, _days_in_year(year))


def expected_share(year: int, today: date) -> float:
    return float(expected_fraction(year, today))


def progress_status(completion: Fraction | Decimal | float, expected: Fraction | Decimal | float) -> ProgressStatus:
    c, e = _exact(completion), _exact(expected)
    if c >= e + TOLERANCE:
        return ProgressStatus.AHEAD
    if c < e - TOLERANCE:
        return ProgressStatus.BEHIND
    return ProgressStatus.ON_TRACK


def benchmark_gap(actual: Amount, benchmark: Amount | None) -> Decimal | None:
    """actual − benchmark value, or None when no benchmark is set."""
    if benchmark is None:
        return None
    return Decimal(actual) - Decimal(benchmark)


def annual_actual(monthly: Iterable[tuple[str, Amount]]) -> Decimal:
    """Sum manual monthly actuals ``(period "YYYY-MM", value)``; a later value for a month replaces an earlier."""
    by_month: dict[str, Decimal] = {}
    for period, value in monthly:
        by_month[period] = Decimal(value)
    return sum(by_month.values(), Decimal(0))


@dataclass(frozen=True, slots=True)
class IndicatorProgress:
    key: str
    target: Decimal
    actual: Decimal
    completion: float  # uncapped, 1 = 100 %
    expected: float  # 0–1
    status: ProgressStatus
    benchmark_gap: Decimal | None = None


def indicator_progress(
    *, key: str, target: Amount, actual: Amount, year: int, today: date, benchmark: Amount | None = None
) -> IndicatorProgress:
    done = completion_fraction(actual, target)
    expected = expected_fraction(year, today)
    return IndicatorProgress(
        key=key,
        target=Decimal(target),
        actual=Decimal(actual),
        completion=float(done),
        expected=float(expected),
        status=progress_status(done, expected),
        benchmark_gap=benchmark_gap(actual, benchmark),
    )


@dataclass(frozen=True, slots=True)
class TaskProgress:
    key: str
    status: TaskStatus
    overdue: bool


def task_overdue(*, status: TaskStatus | str, due_on: date, today: date) -> bool:
    """Not done and due before today (a task due today is not overdue yet)."""
    return TaskStatus(status) is not TaskStatus.DONE and due_on < today


def task_done_on_time(*, status: TaskStatus | str, done_on: date | None, due_on: date) -> bool:
    """Done by its due date: what the appraisal's ``tasks`` component counts."""
    return TaskStatus(status) is TaskStatus.DONE and done_on is not None and done_on <= due_on


def task_progress(*, key: str, status: TaskStatus | str, due_on: date, today: date) -> TaskProgress:
    status = TaskStatus(status)
    return TaskProgress(key=key, status=status, overdue=task_overdue(status=status, due_on=due_on, today=today))
